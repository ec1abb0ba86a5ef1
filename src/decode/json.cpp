// Decoder::append_json: one JSON object per packet, from summarize()'s fields.
#include <algorithm>
#include <cstring>
#include <ringcap/decode.hpp>

#include "bytes.hpp"

namespace ringcap {
namespace {

using detail::Out;
using detail::put;
using detail::put_uint;

void key(Out& o, std::string_view k) {
    put(o, ",\"");
    put(o, k);
    put(o, "\":");
}
void str(Out& o, std::string_view v) {
    put(o, '"');
    detail::put_json_escaped(o, v);
    put(o, '"');
}
void mac(Out& o, std::string_view k, const std::uint8_t* m) {
    key(o, k);
    put(o, '"');
    detail::put_mac(o, m);
    put(o, '"');
}
void ipv4(Out& o, std::string_view k, const std::uint8_t* a) {
    key(o, k);
    put(o, '"');
    detail::put_ipv4(o, a);
    put(o, '"');
}
void boolean(Out& o, std::string_view k, bool v) {
    key(o, k);
    put(o, v ? "true" : "false");
}
void num(Out& o, std::string_view k, std::uint64_t v) {
    key(o, k);
    put_uint(o, v);
}

const char* direction_name(int pkttype) {
    static constexpr const char* kNames[] = {"in", "broadcast", "multicast", "otherhost", "out"};
    return pkttype >= 0 && pkttype < 5 ? kNames[pkttype] : nullptr;
}

// Interface, direction (the live ring's packet type, or the cooked header's in a file),
// lengths, MACs, EtherType and VLAN tags.
void put_link(Out& o, const PacketView& p, const PacketSummary& s, const DecodeOptions& opt) {
    const int ifindex = s.sll_ifindex >= 0 ? s.sll_ifindex : p.ifindex();
    const std::string_view name =
        opt.interface_name ? opt.interface_name(ifindex) : std::string_view{};
    key(o, "ifindex");
    detail::put_int(o, ifindex);
    if (!name.empty()) {
        key(o, "interface");
        str(o, name);
    }
    const int pkttype = s.sll_pkttype >= 0 ? s.sll_pkttype : p.pkttype();
    if (const char* d =
            (s.sll_pkttype >= 0 || p.ifindex() > 0) ? direction_name(pkttype) : nullptr) {
        key(o, "direction");
        str(o, d);
    }
    num(o, "caplen", p.caplen());
    num(o, "len", p.wire_len());
    if (s.has_mac) {
        mac(o, "src_mac", s.src_mac);
        mac(o, "dst_mac", s.dst_mac);
    }
    if (s.ethertype) num(o, "ethertype", s.ethertype);
    if (!s.vlan_count) return;
    key(o, "vlan");
    put(o, '[');
    for (unsigned i = 0; i < s.vlan_count && i < 4; ++i) {
        if (i) put(o, ',');
        put(o, "{\"tpid\":");
        put_uint(o, s.vlan_tpid[i]);
        put(o, ",\"id\":");
        put_uint(o, s.vlan_id[i]);
        put(o, ",\"pcp\":");
        put_uint(o, s.vlan_pcp[i]);
        put(o, '}');
    }
    put(o, ']');
}

void put_arp(Out& o, const PacketSummary& s) {
    num(o, "arp_op", s.arp_op);
    mac(o, "arp_sha", s.arp_sha);
    ipv4(o, "arp_spa", s.arp_spa);
    mac(o, "arp_tha", s.arp_tha);
    ipv4(o, "arp_tpa", s.arp_tpa);
}

void put_ip(Out& o, const PacketSummary& s) {
    const auto addr = [&](std::string_view k, const std::uint8_t* a) {
        key(o, k);
        put(o, '"');
        s.ip_version == 4 ? detail::put_ipv4(o, a) : detail::put_ipv6(o, a);
        put(o, '"');
    };
    num(o, "ip_version", s.ip_version);
    addr("src_ip", s.src_ip);
    addr("dst_ip", s.dst_ip);
    num(o, "ip_proto", s.ip_proto);
    num(o, "ttl", s.ttl);
    num(o, "ip_len", s.ip_len);
    if (s.ip_version == 4) num(o, "ip_id", s.ip_id);
    if (s.is_fragment) {
        num(o, "frag_offset", s.frag_offset);
        boolean(o, "more_fragments", s.more_fragments);
    }
}

void put_transport(Out& o, const PacketSummary& s) {
    if (s.has_ports) {
        num(o, "src_port", s.src_port);
        num(o, "dst_port", s.dst_port);
    }
    if (s.has_tcp) {
        key(o, "tcp_flags");
        put(o, '"');
        detail::put_tcp_flags(o, s.tcp_flags);
        put(o, '"');
        num(o, "tcp_seq", s.tcp_seq);
        num(o, "tcp_ack", s.tcp_ack);
        num(o, "tcp_win", s.tcp_win);
    }
    if (s.has_tcp || s.has_udp) num(o, "payload_len", s.payload_len);
    if (s.has_icmp) {
        num(o, "icmp_type", s.icmp_type);
        num(o, "icmp_code", s.icmp_code);
    }
}

void put_dns(Out& o, const PacketSummary& s) {
    num(o, "dns_id", s.dns_id);
    boolean(o, "dns_response", s.dns_response);
    num(o, "dns_rcode", s.dns_rcode);
    num(o, "dns_answers", s.dns_ancount);
    if (s.dns_qdcount == 0) return;
    num(o, "dns_qtype", s.dns_qtype);
    // The name as tcpdump prints it, then escaped for JSON: printed into the tail of the
    // buffer, then moved out and re-appended escaped.
    key(o, "dns_qname");
    const std::size_t mark = o.size();
    append_dns_name(s.dns_message, s.dns_qname_at, o);
    char name_buf[1100];
    const std::size_t n = std::min<std::size_t>(o.size() - mark, sizeof name_buf);
    std::memcpy(name_buf, o.data() + mark, n);
    o.resize(mark);
    str(o, {name_buf, n});
}

}  // namespace

void Decoder::append_json(const PacketView& p, fmt::memory_buffer& out) {
    PacketSummary s;
    summarize(p.bytes(), link_, s);
    put(out, "{\"ts_ns\":");
    detail::put_int(out, p.ts_ns());
    put_link(out, p, s, options_);
    if (s.has_arp) put_arp(out, s);
    if (s.ip_version) put_ip(out, s);
    put_transport(out, s);
    if (s.has_dns) put_dns(out, s);
    if (s.truncated) boolean(out, "truncated", true);
    put(out, "}\n");
}

}  // namespace ringcap
