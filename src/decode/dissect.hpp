#pragma once
// Private to decode/: the one walk over a packet's headers. dissect() finds where each layer
// starts and what it says (link header, VLAN tags, EtherType, IP header, extension headers,
// fragment, transport header, payload) and where the captured bytes end inside a header. Its
// consumers only word or copy what it found: the text printer (text_*.cpp) per layer,
// summarize() for JSON, and flow_key(). It reads every byte through Bytes' bounds checks,
// allocates nothing and formats nothing; the arrays are left unset past their counts.
//
// What the walk requires of each layer is what tcpdump's printers require (the text output is
// compared with tcpdump's), so a layer the walk calls whole is one the printer prints whole.
#include <cstdint>

#include <ringcap/types.hpp>

#include "bytes.hpp"

namespace ringcap::detail {

// Where the captured bytes ended inside a header the walk was reading.
enum class Cut : std::uint8_t { none, link, vlan, network, transport };

// What the link layer says follows it.
enum class Net : std::uint8_t {
    none,   // no link header read (cut, link type not decoded, 802.3 length field)
    ipv4,   // EtherType 0x0800 (raw IP: version 4)
    ipv6,   // EtherType 0x86dd (raw IP: version 6)
    arp,    // EtherType 0x0806
    other,  // any other EtherType (raw IP: another version)
};

inline constexpr std::uint16_t kEthertypeIpv4 = 0x0800, kEthertypeIpv6 = 0x86dd,
                               kEthertypeArp = 0x0806, kEthertypeVlan = 0x8100;
inline constexpr std::uint8_t kIpprotoIcmp = 1, kIpprotoTcp = 6, kIpprotoUdp = 17,
                              kIpprotoIcmp6 = 58;

struct VlanTag {
    std::uint16_t tpid;  // the EtherType that announced the tag
    std::uint16_t tci;   // priority (3 bits), DEI (1), VLAN id (12)
};

// An IPv6 extension header the walk entered: hop-by-hop (0), routing (43), fragment (44) or
// destination options (60), at `at` bytes from the IPv6 header's start.
struct Ipv6Ext {
    std::uint16_t at;
    std::uint8_t type;
};

struct Dissection {
    static constexpr int kMaxVlanTags = 8;  // kept; more are walked over (vlan_more)
    static constexpr int kMaxIpv6Headers = 16;

    Bytes bytes;             // the captured packet
    std::uint32_t wire = 0;  // its length on the wire
    LinkType link = LinkType::ethernet;
    Cut cut = Cut::none;

    // Link layer: `link_ok` once its header was read whole (never for a link type not decoded).
    bool link_ok = false;
    bool length_field = false;    // Ethernet: the type field is an 802.3 length (<= 1500)
    std::uint8_t vlan_count = 0;  // 802.1Q/802.1ad tags read whole, outermost first
    VlanTag vlan[kMaxVlanTags];
    std::uint16_t vlan_more = 0;  // tags past kMaxVlanTags, walked over as tcpdump does
    std::uint16_t ethertype = 0;  // the type after the tags (raw IP: from the IP version)
    std::uint32_t net_at = 0;     // where the network header starts
    std::uint32_t net_len = 0;    // the wire length from there
    Net net = Net::none;

    // Network layer. `ip_version` is 4 or 6 once the fixed header was read and its version
    // matched; `ip_ok` once the whole IP header was read and made sense (IPv4: header length
    // >= 20 and <= the total length, options captured; IPv6: the extension headers were read
    // to the upper-layer header, a fragment other than the first, or "no next header"; not
    // past 16 headers, where tcpdump stops reading).
    std::uint8_t ip_version = 0;
    bool ip_ok = false;
    const std::uint8_t* src_ip = nullptr;  // 4 or 16 bytes, in `bytes`
    const std::uint8_t* dst_ip = nullptr;
    std::uint32_t ip_hlen = 0;  // IPv4 header length (IHL * 4); IPv6: 40
    std::uint32_t ip_len = 0;   // IPv4 total length; IPv6 payload length + 40
    std::uint8_t proto = 0;     // IPv4 protocol; IPv6: the next header where the chain ended
    bool is_fragment = false, more_fragments = false;
    std::uint32_t frag_offset = 0;  // bytes
    std::uint32_t ip_id = 0;        // IPv4 identification; IPv6: the fragment header's
    std::uint8_t ext_count = 0;     // IPv6 extension headers entered (the last one may be cut)
    Ipv6Ext ext[kMaxIpv6Headers];

    // Transport layer. `has_l4` when an upper-layer header follows the IP header (first
    // fragment, header chain complete); `l4` its captured bytes within the IP length, `l4_len`
    // the length the IP header gives it. `l4_ok` once the TCP (20 bytes), UDP (8) or ICMP/ICMPv6
    // (type and code) header was read; ports are then TCP/UDP's, or ICMP's type and code.
    bool has_l4 = false;
    Bytes l4;
    std::uint32_t l4_len = 0;
    bool l4_ok = false;
    std::uint16_t src_port = 0, dst_port = 0;
    std::uint32_t tcp_hlen = 0;     // TCP data offset * 4 (as written, even if < 20)
    Bytes payload;                  // after the TCP/UDP header, within the IP length
    std::uint32_t payload_len = 0;  // TCP: l4_len - header; UDP: its length field - 8
};

// Walks `b`, a packet of link type `link` and wire length `wire`. Never reads out of bounds.
Dissection dissect(LinkType link, Bytes b, std::uint32_t wire) noexcept;

}  // namespace ringcap::detail
