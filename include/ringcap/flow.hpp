#pragma once
// FlowKey: what a packet belongs to, from its bytes (IP addresses, transport protocol and ports,
// VLAN). Processes, fanout workers, drop counts and exports are all keyed by it.
//
//   if (auto key = ringcap::flow_key(p.bytes(), cap.info().link_type)) table[*key] += 1;
//
// Addresses are 16 bytes for both families (IPv4 in the first 4, the rest zero), so one key type
// and one hash serve both. Ports are 0 for protocols without them; for ICMP/ICMPv6 they hold the
// type (src_port) and code (dst_port), as Community ID and NetFlow do.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>

#include <ringcap/types.hpp>

namespace ringcap {

struct FlowKey {
    std::array<std::uint8_t, 16> src_ip{};
    std::array<std::uint8_t, 16> dst_ip{};
    std::uint16_t src_port = 0;  // host byte order
    std::uint16_t dst_port = 0;
    std::uint8_t ip_version = 0;  // 4 or 6
    std::uint8_t protocol = 0;    // IPPROTO_TCP, IPPROTO_UDP, ...
    std::uint16_t vlan_id = 0;    // outermost 802.1Q/802.1ad tag's id; 0 without one

    friend bool operator==(const FlowKey&, const FlowKey&) = default;

    // The same key seen from the other end.
    FlowKey reversed() const noexcept {
        FlowKey r = *this;
        r.src_ip = dst_ip;
        r.dst_ip = src_ip;
        r.src_port = dst_port;
        r.dst_port = src_port;
        return r;
    }
    // One key for both directions: the end with the smaller (address, port) is the source.
    // Says whether the packet's own key had to be reversed to get it.
    FlowKey canonical(bool* reversed_out = nullptr) const noexcept {
        const int c = std::memcmp(src_ip.data(), dst_ip.data(), src_ip.size());
        const bool swap = c > 0 || (c == 0 && src_port > dst_port);
        if (reversed_out != nullptr) *reversed_out = swap;
        return swap ? reversed() : *this;
    }
};

// The flow of a packet of link type `link` (Ethernet with VLAN tags, Linux SLL/SLL2, raw IP);
// nullopt when it is not IPv4/IPv6 (ARP, other EtherTypes, an IP version that disagrees with the
// EtherType), when its IP header makes no sense (IPv4 header length < 20 or > the total length)
// or is cut before its end (IPv4 options and IPv6 extension headers count: the protocol is not
// known before them), or after 16 IPv6 extension headers. A packet cut inside its transport header
// (TCP 20 bytes, UDP 8, ICMP/ICMPv6 type and code), and every IP fragment but the first, gets ports
// 0; `protocol` is then still the IPv4 protocol or the IPv6 fragment header's next header. The VLAN
// id is from tags in the bytes (the kernel strips a live capture's outer tag: see
// PacketView::vlan_id()). The same walk over the headers as the text and JSON printers'; never
// reads out of bounds, allocates nothing, formats nothing.
std::optional<FlowKey> flow_key(std::span<const std::byte> bytes, LinkType link) noexcept;

}  // namespace ringcap

template <>
struct std::hash<ringcap::FlowKey> {
    // Multiply-xorshift over the key's words: cheap, and good enough for open-addressing tables.
    std::size_t operator()(const ringcap::FlowKey& k) const noexcept {
        std::uint64_t w[5];
        std::memcpy(w, k.src_ip.data(), 16);
        std::memcpy(w + 2, k.dst_ip.data(), 16);
        w[4] = std::uint64_t(k.src_port) | std::uint64_t(k.dst_port) << 16 |
               std::uint64_t(k.protocol) << 32 | std::uint64_t(k.ip_version) << 40 |
               std::uint64_t(k.vlan_id) << 48;
        std::uint64_t h = 0x9e3779b97f4a7c15ull;
        for (std::uint64_t x : w) {
            h = (h ^ x) * 0xbf58476d1ce4e5b9ull;
            h ^= h >> 31;
        }
        return static_cast<std::size_t>(h);
    }
};
