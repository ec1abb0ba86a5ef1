#pragma once
// netlink sock_diag (NETLINK_SOCK_DIAG, inet_diag): the TCP and UDP sockets of the caller's
// network namespace, with inode, owner uid, cookie and, for TCP, the byte and segment counts.
#include <array>
#include <cstdint>
#include <vector>

namespace ringcap::sys {

struct DiagSocket {
    std::uint8_t family = 0;    // AF_INET, AF_INET6
    std::uint8_t protocol = 0;  // IPPROTO_TCP, IPPROTO_UDP
    std::uint8_t state = 0;     // TCP_* (UDP: TCP_ESTABLISHED when connected, TCP_CLOSE if not)
    std::uint32_t uid = 0;
    std::uint64_t inode = 0;
    std::uint64_t cookie = 0;
    std::array<std::uint8_t, 16> local_addr{};  // network order, IPv4 in the first 4 bytes
    std::array<std::uint8_t, 16> remote_addr{};
    std::uint16_t local_port = 0;  // host order
    std::uint16_t remote_port = 0;
    bool has_counts = false;           // TCP: tcp_info came with it
    std::uint64_t bytes_sent = 0;      // payload, retransmissions included
    std::uint64_t bytes_retrans = 0;   // payload sent again
    std::uint64_t bytes_received = 0;  // payload, and the peer's FIN once it came
    std::uint32_t segs_out = 0;
    std::uint32_t segs_in = 0;
};

// Every socket of `protocol` and `family` (all states). Throws ringcap::Error.
std::vector<DiagSocket> sock_diag_dump(int family, int protocol);

}  // namespace ringcap::sys
