// summarize(): the fields of a packet, for JSON lines and flow keys. The same bounds-checked
// walk as the text printer, without the wording.
#include <cstring>
#include <ringcap/decode.hpp>

#include "bytes.hpp"

namespace ringcap {
namespace {

using detail::Bytes;

void summarize_l4(Bytes b, std::uint32_t length, PacketSummary& s) {
    switch (s.ip_proto) {
        case 6: {
            if (!b.has(0, 20)) {
                s.truncated = true;
                return;
            }
            s.has_tcp = s.has_ports = true;
            s.src_port = b.be16(0);
            s.dst_port = b.be16(2);
            s.tcp_seq = b.be32(4);
            s.tcp_ack = b.be32(8);
            s.tcp_flags = b.u8(13);
            s.tcp_win = b.be16(14);
            const std::uint32_t hlen = (b.u8(12) >> 4) * 4u;
            s.payload_len = length > hlen ? length - hlen : 0;
            if ((s.src_port == 53 || s.dst_port == 53) && s.payload_len > 2 && b.has(hlen, 2)) {
                const Bytes m = b.from(hlen + 2);
                if (m.has(0, 12)) {
                    s.has_dns = true;
                    s.dns_message = {m.p, std::min<std::size_t>(m.n, s.payload_len - 2)};
                }
            }
            break;
        }
        case 17: {
            if (!b.has(0, 8)) {
                s.truncated = true;
                return;
            }
            s.has_udp = s.has_ports = true;
            s.src_port = b.be16(0);
            s.dst_port = b.be16(2);
            const std::uint16_t ulen = b.be16(4);
            s.payload_len = ulen >= 8 ? ulen - 8u : 0;
            if ((s.src_port == 53 || s.dst_port == 53) && b.has(8, 12)) {
                s.has_dns = true;
                s.dns_message = {b.p + 8, std::min<std::size_t>(b.n - 8, s.payload_len)};
            }
            break;
        }
        case 1:
        case 58:
            if (!b.has(0, 2)) {
                s.truncated = true;
                return;
            }
            s.has_icmp = true;
            s.icmp_type = b.u8(0);
            s.icmp_code = b.u8(1);
            break;
        default:
            break;
    }
    if (s.has_dns) {
        const Bytes m{s.dns_message.data(), s.dns_message.size()};
        s.dns_id = m.be16(0);
        const std::uint16_t flags = m.be16(2);
        s.dns_response = flags & 0x8000;
        s.dns_rcode = flags & 0xf;
        s.dns_qdcount = m.be16(4);
        s.dns_ancount = m.be16(6);
        s.dns_qname_at = 12;
        if (s.dns_qdcount > 0) {
            // The type follows the first name.
            std::size_t at = 12;
            for (int labels = 0; labels < 128 && m.has(at, 1); ++labels) {
                const std::uint8_t len = m.u8(at);
                if ((len & 0xc0) == 0xc0) {
                    at += 2;
                    break;
                }
                if (len == 0) {
                    at += 1;
                    break;
                }
                at += 1 + (len & 0x3f);
            }
            s.dns_qtype = m.be16(at);
            if (!m.has(at, 2)) s.truncated = true;
        }
    }
}

void summarize_ip(Bytes b, PacketSummary& s) {
    if (!b.has(0, 1)) {
        s.truncated = true;
        return;
    }
    const std::uint8_t ver = b.u8(0) >> 4;
    if (ver == 4) {
        if (!b.has(0, 20)) {
            s.truncated = true;
            return;
        }
        const std::uint32_t hlen = (b.u8(0) & 0xf) * 4u, len = b.be16(2);
        s.ip_version = 4;
        std::memcpy(s.src_ip, b.p + 12, 4);
        std::memcpy(s.dst_ip, b.p + 16, 4);
        s.ip_proto = b.u8(9);
        s.ttl = b.u8(8);
        s.ip_id = b.be16(4);
        s.ip_len = len;
        const std::uint16_t off = b.be16(6);
        s.frag_offset = (off & 0x1fffu) * 8;
        s.more_fragments = off & 0x2000;
        s.is_fragment = s.frag_offset != 0 || s.more_fragments;
        if (hlen < 20 || len < hlen) return;
        if (s.frag_offset == 0) summarize_l4(b.first(len).from(hlen), len - hlen, s);
    } else if (ver == 6) {
        if (!b.has(0, 40)) {
            s.truncated = true;
            return;
        }
        s.ip_version = 6;
        std::memcpy(s.src_ip, b.p + 8, 16);
        std::memcpy(s.dst_ip, b.p + 24, 16);
        s.ttl = b.u8(7);
        const std::uint32_t len = b.be16(4) + 40u;
        s.ip_len = len;
        std::uint8_t nh = b.u8(6);
        std::size_t at = 40;
        for (int i = 0; i < 16; ++i) {
            if (nh == 0 || nh == 60 || nh == 43) {
                if (!b.has(at, 2)) {
                    s.truncated = true;
                    return;
                }
                nh = b.u8(at);
                at += (b.u8(at + 1) + 1u) * 8;
            } else if (nh == 44) {
                if (!b.has(at, 8)) {
                    s.truncated = true;
                    return;
                }
                s.is_fragment = true;
                s.frag_offset = b.be16(at + 2) & 0xfff8u;
                s.more_fragments = b.be16(at + 2) & 1;
                s.ip_id = static_cast<std::uint16_t>(b.be32(at + 4));
                nh = b.u8(at);
                at += 8;
            } else {
                break;
            }
        }
        s.ip_proto = nh;
        if (s.frag_offset == 0 && at <= len)
            summarize_l4(b.first(len).from(at), len - static_cast<std::uint32_t>(at), s);
    }
}

}  // namespace

void summarize(std::span<const std::byte> bytes, LinkType link, PacketSummary& s) noexcept {
    s = PacketSummary{};
    const Bytes b{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
    std::size_t at = 0;
    std::uint16_t type = 0;
    switch (link) {
        case LinkType::ethernet:
            if (!b.has(0, 14)) {
                s.truncated = true;
                return;
            }
            s.has_mac = true;
            std::memcpy(s.dst_mac, b.p, 6);
            std::memcpy(s.src_mac, b.p + 6, 6);
            type = b.be16(12);
            at = 14;
            while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
                if (!b.has(at, 4)) {
                    s.truncated = true;
                    return;
                }
                if (s.vlan_count < 4) {
                    s.vlan_tpid[s.vlan_count] = type;
                    s.vlan_id[s.vlan_count] = b.be16(at) & 0xfff;
                    s.vlan_pcp[s.vlan_count] = static_cast<std::uint8_t>(b.be16(at) >> 13);
                }
                if (s.vlan_count < 255) ++s.vlan_count;
                type = b.be16(at + 2);
                at += 4;
            }
            break;
        case LinkType::linux_sll2:
            if (!b.has(0, 20)) {
                s.truncated = true;
                return;
            }
            type = b.be16(0);
            s.sll_ifindex = static_cast<std::int32_t>(b.be32(4));
            s.sll_pkttype = b.u8(10);
            if (b.u8(11) == 6) {
                s.has_mac = true;
                std::memcpy(s.src_mac, b.p + 12, 6);
            }
            at = 20;
            break;
        case LinkType::linux_sll:
            if (!b.has(0, 16)) {
                s.truncated = true;
                return;
            }
            type = b.be16(14);
            s.sll_pkttype = static_cast<std::int16_t>(b.be16(0));
            if (b.be16(4) == 6) {
                s.has_mac = true;
                std::memcpy(s.src_mac, b.p + 6, 6);
            }
            at = 16;
            break;
        case LinkType::raw:
            if (!b.has(0, 1)) {
                s.truncated = true;
                return;
            }
            type = (b.u8(0) >> 4) == 6 ? 0x86dd : 0x0800;
            break;
        default:
            return;
    }
    s.ethertype = type;
    const Bytes rest = b.from(at);
    if (type == 0x0800 || type == 0x86dd) {
        summarize_ip(rest, s);
    } else if (type == 0x0806) {
        if (!rest.has(0, 28)) {
            s.truncated = true;
            return;
        }
        if (rest.be16(2) == 0x0800 && rest.u8(4) == 6 && rest.u8(5) == 4) {
            s.has_arp = true;
            s.arp_op = rest.be16(6);
            std::memcpy(s.arp_sha, rest.p + 8, 6);
            std::memcpy(s.arp_spa, rest.p + 14, 4);
            std::memcpy(s.arp_tha, rest.p + 18, 6);
            std::memcpy(s.arp_tpa, rest.p + 24, 4);
        }
    }
}

}  // namespace ringcap
