#pragma once
// Socket calls: options (typed, the option and its value named in the error, and a try_ form for
// callers with a fallback), bind, poll and send. The poll and send wrappers return errno instead
// of throwing because their callers treat EINTR and EAGAIN as outcomes, not failures.
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

#include "sys/fd.hpp"

namespace ringcap::sys {

// 0, or the errno of the refusal.
template <class T>
int try_setsockopt(const Fd& fd, int level, int option, const T& value) noexcept {
    return ::setsockopt(fd.get(), level, option, &value, sizeof(T)) == -1 ? errno : 0;
}

// Throws ringcap::Error "setsockopt(NAME, DETAIL)".
template <class T>
void setsockopt(const Fd& fd, int level, int option, const T& value, const char* name,
                const std::string& detail = {}, std::string hint = {}) {
    if (const int err = try_setsockopt(fd, level, option, value); err != 0)
        throw Error(err,
                    "setsockopt(" + std::string(name) + (detail.empty() ? "" : ", " + detail) + ")",
                    std::move(hint));
}

template <class T>
T getsockopt(const Fd& fd, int level, int option, const char* name) {
    T value{};
    socklen_t len = sizeof(T);
    if (::getsockopt(fd.get(), level, option, &value, &len) == -1)
        throw_errno("getsockopt(" + std::string(name) + ")");
    return value;
}

// Binds an AF_PACKET socket to `ifindex` (0: every interface) for `ethertype` (host byte order;
// 0: none, for a socket that only transmits). Throws "bind(AF_PACKET, INTERFACE)".
void bind_packet(const Fd& fd, int ifindex, std::uint16_t ethertype, const std::string& interface);

struct PollResult {
    short revents = 0;  // 0 on timeout
    int error = 0;      // errno when poll() failed; EINTR: a signal came first
};

// poll(2) on one fd.
PollResult poll_one(const Fd& fd, short events, std::chrono::milliseconds timeout) noexcept;

// send(fd, NULL, 0, MSG_DONTWAIT): asks a TX ring's socket to transmit every frame marked
// TP_STATUS_SEND_REQUEST. 0, or errno (EAGAIN/ENOBUFS: the kernel could not take them all now).
int send_ring_nowait(const Fd& fd) noexcept;

}  // namespace ringcap::sys
