#include "signals.hpp"

#include <atomic>

#include "sys/process.hpp"

namespace ringcap::cli {
namespace {

// The only global state: a signal handler has nowhere else to write.
StopSource g_stop;
std::atomic<bool> g_status{false};  // lock-free, so safe to set in a handler
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int) { g_stop.request_stop(); }
void on_status(int) { g_status.store(true, std::memory_order_relaxed); }

}  // namespace

bool status_requested() noexcept {
    return g_status.load(std::memory_order_relaxed) &&
           g_status.exchange(false, std::memory_order_relaxed);
}

StopToken stop_on_signals() {
    sys::on_interrupt_signals(on_signal);
    sys::on_status_signal(on_status);
    sys::ignore_broken_pipe();  // a closed pipe becomes EPIPE from write(), reported there
    return g_stop;
}

}  // namespace ringcap::cli
