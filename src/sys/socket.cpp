#include "sys/socket.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>

namespace ringcap::sys {

void bind_packet(const Fd& fd, int ifindex, std::uint16_t ethertype, const std::string& interface) {
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ethertype);
    addr.sll_ifindex = ifindex;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == -1)
        throw_errno("bind(AF_PACKET, " + interface + ")");
}

PollResult poll_one(const Fd& fd, short events, std::chrono::milliseconds timeout) noexcept {
    pollfd p{.fd = fd.get(), .events = events, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) == -1) return {.error = errno};
    return {.revents = p.revents};
}

int send_ring_nowait(const Fd& fd) noexcept {
    return ::send(fd.get(), nullptr, 0, MSG_DONTWAIT) == -1 ? errno : 0;
}

}  // namespace ringcap::sys
