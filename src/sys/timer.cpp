#include "sys/timer.hpp"

#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace ringcap::sys {

bool sleep_until_monotonic(std::int64_t deadline_ns) noexcept {
    const timespec ts{.tv_sec = deadline_ns / 1'000'000'000,
                      .tv_nsec = deadline_ns % 1'000'000'000};
    // clock_nanosleep returns the error instead of setting errno.
    return ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != EINTR;
}

bool set_thread_timer_slack(std::chrono::nanoseconds slack) noexcept {
    return ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(slack.count()), 0, 0, 0) == 0;
}

Fd periodic_timer(std::chrono::nanoseconds period) {
    Fd fd = Fd::adopt(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!fd) throw_errno("timerfd_create");
    const auto ns = period.count();
    const timespec ts{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
    const itimerspec spec{.it_interval = ts, .it_value = ts};
    if (::timerfd_settime(fd.get(), 0, &spec, nullptr) == -1) throw_errno("timerfd_settime");
    return fd;
}

std::uint64_t timer_expirations(const Fd& timer) {
    std::uint64_t n = 0;
    if (::read(timer.get(), &n, sizeof n) != static_cast<ssize_t>(sizeof n)) return 0;
    return n;
}

}  // namespace ringcap::sys
