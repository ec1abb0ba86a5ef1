#pragma once
// Waiting on an fd, and a periodic timer fd (for sources that have no kernel fd to wait on).
#include <chrono>
#include <cstdint>

#include "sys/fd.hpp"

namespace ringcap::sys {

// poll(2) for POLLIN: true when readable, false on timeout or when a signal interrupted it.
bool wait_readable(int fd, std::chrono::milliseconds timeout);

// timerfd (CLOCK_MONOTONIC, non-blocking) readable once per `period`, first after one period.
Fd periodic_timer(std::chrono::nanoseconds period);

// Expirations since the last call (reads the timer fd; 0 when none is pending).
std::uint64_t timer_expirations(const Fd& timer);

}  // namespace ringcap::sys
