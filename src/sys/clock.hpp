#pragma once
// Clocks and calendars: the one place ringcap reads the time.
#include <time.h>

#include <cstdint>
#include <ctime>

namespace ringcap::sys {

// CLOCK_REALTIME in ns since the epoch: what packet timestamps are in.
inline std::int64_t realtime_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// CLOCK_MONOTONIC in ns: for deadlines and durations.
inline std::int64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// CLOCK_BOOTTIME in ns: the kernel's clock for task start times and BPF event times
// (bpf_ktime_get_boot_ns); counts suspend, unlike CLOCK_MONOTONIC.
inline std::int64_t boottime_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The broken-down local time of `t` (the TZ environment as the C library reads it).
inline std::tm local_time(std::time_t t) noexcept {
    std::tm tm{};
    ::localtime_r(&t, &tm);
    return tm;
}

// The broken-down UTC time of `t`.
inline std::tm utc_time(std::time_t t) noexcept {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    return tm;
}

}  // namespace ringcap::sys
