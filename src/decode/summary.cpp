// summarize(): the fields of a packet, for JSON lines, copied from what dissect() found.
#include <algorithm>
#include <cstring>
#include <ringcap/decode.hpp>

#include "dissect.hpp"

namespace ringcap {
namespace {

using detail::Bytes;
using detail::Dissection;

void fill_link(const Dissection& d, PacketSummary& s) {
    const Bytes b = d.bytes;
    if (!d.link_ok) return;
    switch (d.link) {
        case LinkType::ethernet:
            s.has_mac = true;
            std::memcpy(s.dst_mac, b.p, 6);
            std::memcpy(s.src_mac, b.p + 6, 6);
            break;
        case LinkType::linux_sll2:
            s.sll_ifindex = static_cast<std::int32_t>(b.be32(4));
            s.sll_pkttype = b.u8(10);
            if (b.u8(11) == 6) {
                s.has_mac = true;
                std::memcpy(s.src_mac, b.p + 12, 6);
            }
            break;
        case LinkType::linux_sll:
            s.sll_pkttype = static_cast<std::int16_t>(b.be16(0));
            if (b.be16(4) == 6) {
                s.has_mac = true;
                std::memcpy(s.src_mac, b.p + 6, 6);
            }
            break;
        default:
            break;
    }
    s.vlan_count = d.vlan_count;
    for (int i = 0; i < d.vlan_count && i < 4; ++i) {
        s.vlan_tpid[i] = d.vlan[i].tpid;
        s.vlan_id[i] = d.vlan[i].tci & 0xfff;
        s.vlan_pcp[i] = static_cast<std::uint8_t>(d.vlan[i].tci >> 13);
    }
    // The type behind the link header; none when the header or a tag was cut.
    if (d.cut != detail::Cut::link && d.cut != detail::Cut::vlan) s.ethertype = d.ethertype;
}

void fill_arp(const Dissection& d, PacketSummary& s) {
    const Bytes a = d.bytes.from(d.net_at);
    if (!a.has(0, 28) || a.be16(2) != 0x0800 || a.u8(4) != 6 || a.u8(5) != 4) return;
    s.has_arp = true;
    s.arp_op = a.be16(6);
    std::memcpy(s.arp_sha, a.p + 8, 6);
    std::memcpy(s.arp_spa, a.p + 14, 4);
    std::memcpy(s.arp_tha, a.p + 18, 6);
    std::memcpy(s.arp_tpa, a.p + 24, 4);
}

void fill_ip(const Dissection& d, PacketSummary& s) {
    const Bytes ip = d.bytes.from(d.net_at);
    const std::size_t alen = d.ip_version == 4 ? 4 : 16;
    s.ip_version = d.ip_version;
    std::memcpy(s.src_ip, d.src_ip, alen);
    std::memcpy(s.dst_ip, d.dst_ip, alen);
    s.ip_proto = d.proto;
    s.ttl = ip.u8(d.ip_version == 4 ? 8 : 7);
    s.ip_id = static_cast<std::uint16_t>(d.ip_id);
    s.ip_len = d.ip_len;
    s.frag_offset = d.frag_offset;
    s.more_fragments = d.more_fragments;
    s.is_fragment = d.is_fragment;
}

// The first question's type follows its name.
void fill_dns(PacketSummary& s) {
    const Bytes m{s.dns_message.data(), s.dns_message.size()};
    s.has_dns = true;
    s.dns_id = m.be16(0);
    const std::uint16_t flags = m.be16(2);
    s.dns_response = flags & 0x8000;
    s.dns_rcode = flags & 0xf;
    s.dns_qdcount = m.be16(4);
    s.dns_ancount = m.be16(6);
    s.dns_qname_at = 12;
    if (s.dns_qdcount == 0) return;
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

void fill_transport(const Dissection& d, PacketSummary& s) {
    const Bytes l4 = d.l4;
    switch (d.proto) {
        case detail::kIpprotoTcp:
            s.has_tcp = s.has_ports = true;
            s.tcp_seq = l4.be32(4);
            s.tcp_ack = l4.be32(8);
            s.tcp_flags = l4.u8(13);
            s.tcp_win = l4.be16(14);
            break;
        case detail::kIpprotoUdp:
            s.has_udp = s.has_ports = true;
            break;
        default:  // ICMP, ICMPv6: the walk's ports are the type and code
            s.has_icmp = true;
            s.icmp_type = static_cast<std::uint8_t>(d.src_port);
            s.icmp_code = static_cast<std::uint8_t>(d.dst_port);
            return;
    }
    s.src_port = d.src_port;
    s.dst_port = d.dst_port;
    s.payload_len = d.payload_len;
    if (s.src_port != 53 && s.dst_port != 53) return;
    Bytes m = d.payload;
    std::size_t n = s.payload_len;
    if (s.has_tcp) {  // after the 2-byte length
        if (n <= 2 || !m.has(0, 2)) return;
        m = m.from(2);
        n -= 2;
    }
    if (!m.has(0, 12)) return;
    s.dns_message = {m.p, std::min(m.n, n)};
    fill_dns(s);
}

}  // namespace

void summarize(std::span<const std::byte> bytes, LinkType link, PacketSummary& s) noexcept {
    s = PacketSummary{};
    const Bytes b{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
    const Dissection d = detail::dissect(link, b, static_cast<std::uint32_t>(bytes.size()));
    s.truncated = d.cut != detail::Cut::none;
    fill_link(d, s);
    if (d.net == detail::Net::arp) fill_arp(d, s);
    if (d.ip_version != 0) fill_ip(d, s);
    if (d.l4_ok) fill_transport(d, s);
}

}  // namespace ringcap
