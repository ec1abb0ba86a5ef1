// dissect(): the one walk over a packet's headers (see dissect.hpp).
#include "dissect.hpp"

namespace ringcap::detail {
namespace {

using D = Dissection;

void stop(D& d, Cut where) { d.cut = where; }

// The tags after the link header: 802.1Q (0x8100), 802.1ad (0x88a8) and the older 0x9100 after
// Ethernet; after a cooked header only 0x8100, as tcpdump reads them. Sets the innermost type.
bool read_tags(D& d, std::uint16_t type, bool cooked) {
    const auto is_tag = [cooked](std::uint16_t t) {
        return t == kEthertypeVlan || (!cooked && (t == 0x88a8 || t == 0x9100));
    };
    std::uint32_t at = d.net_at;
    for (; is_tag(type); at += 4) {
        if (!d.bytes.has(at, 4)) {
            d.ethertype = type;
            return stop(d, Cut::vlan), false;
        }
        if (d.vlan_count < D::kMaxVlanTags)
            d.vlan[d.vlan_count++] = {type, d.bytes.be16(at)};
        else
            ++d.vlan_more;
        type = d.bytes.be16(at + 2);
    }
    d.net_at = at;
    d.ethertype = type;
    d.net = type == kEthertypeIpv4   ? Net::ipv4
            : type == kEthertypeIpv6 ? Net::ipv6
            : type == kEthertypeArp  ? Net::arp
                                     : Net::other;
    return true;
}

// A fixed-size link header of `len` bytes whose EtherType is at `type_at`.
bool read_link_header(D& d, std::uint32_t len, std::uint32_t type_at, bool cooked) {
    if (!d.bytes.has(0, len)) return stop(d, Cut::link), false;
    d.link_ok = true;
    d.net_at = len;
    const std::uint16_t type = d.bytes.be16(type_at);
    if (!cooked && type <= 1500) {  // 802.3: a length, then LLC; nothing we decode
        d.length_field = true;
        d.ethertype = type;
        return false;
    }
    return read_tags(d, type, cooked);
}

// Raw IP: no link header; the version nibble says which IP (JSON calls anything but 6 IPv4).
bool read_raw(D& d) {
    d.link_ok = true;
    if (!d.bytes.has(0, 1)) return stop(d, Cut::network), false;
    const unsigned version = d.bytes.u8(0) >> 4;
    d.ethertype = version == 6 ? kEthertypeIpv6 : kEthertypeIpv4;
    d.net = version == 4 ? Net::ipv4 : version == 6 ? Net::ipv6 : Net::other;
    return true;
}

bool read_link(D& d) {
    switch (d.link) {
        case LinkType::ethernet:
            return read_link_header(d, 14, 12, false);
        case LinkType::linux_sll2:
            return read_link_header(d, 20, 0, true);
        case LinkType::linux_sll:
            return read_link_header(d, 16, 14, true);
        case LinkType::raw:
            return read_raw(d);
        default:
            return false;
    }
}

// The transport header in `l4` (within the IP length), `len` bytes long by the IP header.
void read_transport(D& d, Bytes l4, std::uint32_t len) {
    d.has_l4 = true;
    d.l4 = l4;
    d.l4_len = len;
    switch (d.proto) {
        case kIpprotoTcp:
            if (!l4.has(0, 20)) return stop(d, Cut::transport);
            d.tcp_hlen = (l4.u8(12) >> 4) * 4u;
            d.payload = l4.from(d.tcp_hlen);
            d.payload_len = len > d.tcp_hlen ? len - d.tcp_hlen : 0;
            break;
        case kIpprotoUdp: {
            if (!l4.has(0, 8)) return stop(d, Cut::transport);
            const std::uint16_t ulen = l4.be16(4);
            d.payload = l4.from(8);
            d.payload_len = ulen >= 8 ? ulen - 8u : 0;
            break;
        }
        case kIpprotoIcmp:
        case kIpprotoIcmp6:
            if (!l4.has(0, 2)) return stop(d, Cut::transport);
            d.l4_ok = true;
            d.src_port = l4.u8(0);  // type
            d.dst_port = l4.u8(1);  // code
            return;
        default:
            return;
    }
    d.l4_ok = true;
    d.src_port = l4.be16(0);
    d.dst_port = l4.be16(2);
}

// The fixed part of an IP header (`len` bytes, the source address at `src_at`, then the
// destination): false when it was cut or is of another version.
bool read_fixed_header(D& d, std::uint8_t version, std::uint32_t len, std::uint32_t src_at) {
    const Bytes b = d.bytes.from(d.net_at);
    if (!b.has(0, len)) return stop(d, Cut::network), false;
    if (b.u8(0) >> 4 != version) return false;
    d.ip_version = version;
    d.ip_hlen = len;
    d.src_ip = b.p + src_at;
    d.dst_ip = d.src_ip + (version == 4 ? 4 : 16);
    return true;
}

void read_ipv4(D& d) {
    if (!read_fixed_header(d, 4, 20, 12)) return;
    const Bytes b = d.bytes.from(d.net_at);
    d.ip_hlen = (b.u8(0) & 0xf) * 4u;
    d.ip_len = b.be16(2);
    d.proto = b.u8(9);
    d.ip_id = b.be16(4);
    const std::uint16_t off = b.be16(6);
    d.frag_offset = (off & 0x1fffu) * 8;
    d.more_fragments = (off & 0x2000) != 0;
    d.is_fragment = d.frag_offset != 0 || d.more_fragments;
    if (d.ip_hlen < 20 || d.ip_len < d.ip_hlen) return;  // tcpdump: bad-hlen, bad-len
    if (!b.has(0, d.ip_hlen)) return stop(d, Cut::network);
    d.ip_ok = true;
    if (d.frag_offset == 0)
        read_transport(d, b.first(d.ip_len).from(d.ip_hlen), d.ip_len - d.ip_hlen);
}

// One IPv6 extension header at `at` of `pkt` (the packet within the IPv6 length): false when
// the walk ends there (cut, or a fragment other than the first).
bool read_ipv6_ext(D& d, Bytes pkt, std::uint8_t& nh, std::size_t& at) {
    d.ext[d.ext_count++] = {static_cast<std::uint16_t>(at), nh};
    if (nh == 44) {
        if (!pkt.has(at, 8)) return stop(d, Cut::network), false;
        const std::uint16_t offlg = pkt.be16(at + 2);
        d.is_fragment = true;
        d.frag_offset = offlg & 0xfff8u;
        d.more_fragments = (offlg & 1) != 0;
        d.ip_id = pkt.be32(at + 4);
        nh = pkt.u8(at);
        at += 8;
        if (d.frag_offset == 0) return true;
        d.proto = nh;  // a later fragment: no upper-layer header in it
        d.ip_ok = true;
        return false;
    }
    // Hop-by-hop and destination options need their length byte; routing its first 4 bytes.
    if (!pkt.has(at, nh == 43 ? 4 : 2)) return stop(d, Cut::network), false;
    const std::size_t len = (pkt.u8(at + 1) + 1u) * 8;
    if (!pkt.has(at, len)) return stop(d, Cut::network), false;
    nh = pkt.u8(at);
    at += len;
    return true;
}

void read_ipv6(D& d) {
    if (!read_fixed_header(d, 6, 40, 8)) return;
    const Bytes b = d.bytes.from(d.net_at);
    d.ip_len = b.be16(4) + 40u;
    const Bytes pkt = b.first(d.ip_len);
    std::uint8_t nh = b.u8(6);
    std::size_t at = 40;
    for (int i = 0; i < D::kMaxIpv6Headers; ++i) {
        switch (nh) {
            case 0:
            case 43:
            case 44:
            case 60:
                if (!read_ipv6_ext(d, pkt, nh, at)) return;
                continue;
            case 59:  // no next header
                d.proto = nh;
                d.ip_ok = true;
                return;
            default:
                d.proto = nh;
                d.ip_ok = true;
                read_transport(d, pkt.from(at), static_cast<std::uint32_t>(d.ip_len - at));
                return;
        }
    }
    d.proto = nh;  // tcpdump stops after 16 headers; so does the walk, without an upper layer
}

}  // namespace

Dissection dissect(LinkType link, Bytes b, std::uint32_t wire) noexcept {
    Dissection d;
    d.bytes = b;
    d.wire = wire;
    d.link = link;
    if (!read_link(d)) return d;
    d.net_len = wire > d.net_at ? wire - d.net_at : 0;
    switch (d.net) {
        case Net::ipv4:
            read_ipv4(d);
            break;
        case Net::ipv6:
            read_ipv6(d);
            break;
        case Net::arp:  // Ethernet/IPv4 ARP is 28 bytes
            if (!b.has(d.net_at, 28)) stop(d, Cut::network);
            break;
        default:
            break;
    }
    return d;
}

}  // namespace ringcap::detail
