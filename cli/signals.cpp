#include "signals.hpp"

#include "sys/process.hpp"

namespace ringcap::cli {
namespace {

StopSource g_stop;  // the one piece of global state: a signal handler has nowhere else to write

void on_signal(int) { g_stop.request_stop(); }

}  // namespace

StopToken stop_on_signals() {
    sys::on_interrupt_signals(on_signal);
    sys::ignore_broken_pipe();  // a closed pipe becomes EPIPE from write(), reported there
    return g_stop;
}

}  // namespace ringcap::cli
