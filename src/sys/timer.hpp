#pragma once
// Sleeping until a deadline, the timer slack that decides how late such a sleep may end, and
// periodic timer fds (for sources that have no kernel fd to wait on).
#include <chrono>
#include <cstdint>

#include "sys/fd.hpp"

namespace ringcap::sys {

// Sleeps until CLOCK_MONOTONIC reaches `deadline_ns` (absolute, as sys::monotonic_ns()).
// False when a signal ended the sleep early.
bool sleep_until_monotonic(std::int64_t deadline_ns) noexcept;

// prctl(PR_SET_TIMERSLACK): how much later than asked the kernel may end the sleeps of the
// CALLING THREAD (default 50 us, for grouping wake-ups). Not scoped to ringcap: it stays set for
// every later sleep of that thread, whoever makes it, and threads the thread creates afterwards
// inherit it (prctl(2)); other threads keep theirs. False if the kernel refused.
bool set_thread_timer_slack(std::chrono::nanoseconds slack) noexcept;

// timerfd (CLOCK_MONOTONIC, non-blocking) readable once per `period`, first after one period.
Fd periodic_timer(std::chrono::nanoseconds period);

// Expirations since the last call (reads the timer fd; 0 when none is pending).
std::uint64_t timer_expirations(const Fd& timer);

}  // namespace ringcap::sys
