#include "sys/timer.hpp"

#include <sys/prctl.h>
#include <time.h>

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

}  // namespace ringcap::sys
