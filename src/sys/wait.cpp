#include "sys/wait.hpp"

#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

namespace ringcap::sys {

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n == -1) {
        if (errno == EINTR) return false;
        throw_errno("poll");
    }
    return n > 0;
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
