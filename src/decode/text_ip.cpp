// IPv4 and IPv6 as tcpdump prints them: with -v the header's fields on a line of their own,
// the IPv6 extension headers in the chain, and the header problems it names instead of the
// packet. The upper layer is text_transport.cpp's.
#include "text.hpp"

namespace ringcap::detail {
namespace {

constexpr CodeName kIpprotoNames[] = {
    {0, "Options"}, {1, "ICMP"},     {2, "IGMP"},      {4, "IPIP"},   {6, "TCP"},    {17, "UDP"},
    {41, "IPv6"},   {43, "Routing"}, {44, "Fragment"}, {47, "GRE"},   {50, "ESP"},   {51, "AH"},
    {58, "ICMPv6"}, {89, "OSPF"},    {103, "PIM"},     {112, "VRRP"}, {132, "SCTP"},
};
const char* ipproto_name(std::uint8_t p) { return name_of(kIpprotoNames, p, "unknown"); }

// "TCP (6)": the -v form of a protocol number.
void put_ipproto(Out& o, std::uint8_t proto) {
    put(o, ipproto_name(proto));
    put(o, " (");
    put_uint(o, proto);
    put(o, ')');
}

// tcpdump -v: ", bad cksum 1234 (->abcd)!" when the header's checksum is wrong.
void put_bad_checksum(Out& o, Bytes b, std::uint32_t hlen) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < hlen; i += 2) sum += b.be16(i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    if (sum == 0xffff) return;
    const std::uint16_t have = b.be16(10);
    std::uint32_t s = sum + static_cast<std::uint16_t>(~have);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    put(o, ", bad cksum ");
    put_hex(o, have);
    put(o, " (->");
    put_hex(o, static_cast<std::uint16_t>(~s));
    put(o, ")!");
}

// tcpdump -v: "(tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)".
void put_ipv4_fields(Out& o, Bytes b, const Dissection& d) {
    const std::uint8_t tos = b.u8(1);
    const std::uint16_t off = b.be16(6);
    put(o, "(tos 0x");
    put_hex(o, tos);
    static constexpr const char* kEcn[] = {"", ",ECT(1)", ",ECT(0)", ",CE"};
    put(o, kEcn[tos & 3]);
    put(o, ", ttl ");
    put_uint(o, b.u8(8));
    put(o, ", id ");
    put_uint(o, b.be16(4));
    put(o, ", offset ");
    put_uint(o, d.frag_offset);
    put(o, ", flags [");
    if (!(off & 0xe000)) put(o, "none");
    if (off & 0x2000) put(o, '+');
    if (off & 0x4000) put(o, "DF");
    if (off & 0x8000) put(o, "rsvd");
    put(o, "], proto ");
    put_ipproto(o, d.proto);
    put(o, ", length ");
    put_uint(o, d.ip_len);
    if (b.has(0, d.ip_hlen)) put_bad_checksum(o, b, d.ip_hlen);
    put(o, ")\n    ");
}

// Less than an IPv4 header: on the wire ("truncated-ip 12") or in the capture ("[|ip]").
void print_ipv4_short(Text& t, Bytes b, std::uint32_t wire) {
    if (wire < 20) {
        if (!t.opt.link_header) put(t.o, "IP ");
        put(t.o, "truncated-ip ");
        put_uint(t.o, wire);
        return;
    }
    if (b.has(0, 1) && !t.opt.link_header) put(t.o, "IP ");  // tcpdump: once a byte is in
    t.trunc("ip", b.has(0, 1));
}

// What tcpdump says instead of the packet when the IPv4 header makes no sense; false if none.
bool put_ipv4_problem(Out& o, Bytes b, const Dissection& d) {
    if (d.ip_version != 4) {
        put(o, "IP4 [version ");  // tcpdump's wording differs by case; ours says what it is
        put_uint(o, b.u8(0) >> 4);
        put(o, ']');
    } else if (d.ip_hlen < 20) {
        put(o, "bad-hlen ");
        put_uint(o, d.ip_hlen);
    } else if (d.ip_len < d.ip_hlen) {
        put(o, "bad-len ");
        put_uint(o, d.ip_len);
    } else {
        return false;
    }
    return true;
}

// tcpdump -v: "(class 0x10, flowlabel 0x12345, hlim 64, next-header TCP (6) payload length:
// 20) ".
void put_ipv6_fields(Out& o, Bytes b) {
    const std::uint32_t word0 = b.be32(0);
    put(o, '(');
    if (word0 & 0x0ff00000) {
        put(o, "class 0x");
        put_hex_w(o, (word0 >> 20) & 0xff, 2);
        put(o, ", ");
    }
    if (word0 & 0xfffff) {
        put(o, "flowlabel 0x");
        put_hex_w(o, word0 & 0xfffff, 5);
        put(o, ", ");
    }
    put(o, "hlim ");
    put_uint(o, b.u8(7));
    put(o, ", next-header ");
    put_ipproto(o, b.u8(6));
    put(o, " payload length: ");
    put_uint(o, b.be16(4));
    put(o, ") ");
}

// An IPv6 fragment header: "frag (0|1448) ", with -v its identification first.
bool print_ipv6_frag(Text& t, Bytes pkt, std::size_t at, std::uint32_t len) {
    Out& o = t.o;
    if (!pkt.has(at, 4)) return t.trunc("frag6");
    const std::uint16_t offlg = pkt.be16(at + 2);
    const std::uint32_t rest = len > at ? len - static_cast<std::uint32_t>(at) : 0;
    put(o, "frag (");
    if (t.opt.verbosity > 0) {
        put(o, "0x");
        put_hex_w(o, pkt.be32(at + 4), 8);
        put(o, ':');
    }
    put_uint(o, offlg & 0xfff8u);
    put(o, '|');
    put_uint(o, rest >= 8 ? rest - 8 : 0);
    put(o, ')');
    if ((offlg & 0xfff8) != 0) return false;  // no upper-layer header in this one
    put(o, ' ');
    return pkt.has(at, 8);  // tcpdump: no marker here
}

// One extension header the walk entered; false when the line ends there.
bool print_ipv6_ext(Text& t, Bytes pkt, Ipv6Ext x, std::uint32_t len) {
    Out& o = t.o;
    const std::size_t at = x.at;
    if (x.type == 44) return print_ipv6_frag(t, pkt, at, len);
    const char* name = x.type == 0 ? "hbhopt" : x.type == 60 ? "dstopt" : "srcrt";
    if (!pkt.has(at, x.type == 43 ? 4 : 2)) return t.trunc(name);
    const std::size_t hl = (pkt.u8(at + 1) + 1u) * 8;
    if (x.type == 43) {
        put(o, "srcrt (len=");
        put_uint(o, pkt.u8(at + 1));
        put(o, ", type=");
        put_uint(o, pkt.u8(at + 2));
        put(o, ", segleft=");
        put_uint(o, pkt.u8(at + 3));
        put(o, ") ");
    }
    if (!pkt.has(at, hl)) return t.trunc(name);
    if (x.type != 43) put(o, x.type == 0 ? "HBH " : "DSTOPT ");
    return true;
}

}  // namespace

void put_addr(Out& o, const Ends& e, const std::uint8_t* a) {
    e.v6 ? put_ipv6(o, a) : put_ipv4(o, a);
}

void put_addresses(Out& o, const Ends& e) {
    put_addr(o, e, e.src);
    put(o, " > ");
    put_addr(o, e, e.dst);
}

void print_ipv4(Text& t, const Dissection& d) {
    Out& o = t.o;
    const Bytes b = d.bytes.from(d.net_at);
    const std::uint32_t wire = d.net_len;
    if (wire < 20 || !b.has(0, 20)) return print_ipv4_short(t, b, wire);
    if (!t.opt.link_header) put(o, "IP ");
    if (put_ipv4_problem(o, b, d)) return;
    if (wire < d.ip_len) {
        put(o, "truncated-ip - ");
        put_uint(o, d.ip_len - wire);
        put(o, " bytes missing! ");
    }
    if (t.opt.verbosity > 0) put_ipv4_fields(o, b, d);
    const Ends e{.src = d.src_ip, .dst = d.dst_ip};
    if (d.frag_offset != 0) {
        put_addresses(o, e);
        put(o, ": ip-proto-");
        put_uint(o, d.proto);
        return;
    }
    if (d.proto != kIpprotoTcp && d.proto != kIpprotoUdp) {
        put_addresses(o, e);
        put(o, ": ");
    }
    if (!d.ip_ok) return (void)t.trunc("ip");  // options cut
    print_upper(t, d, e);
}

void print_ipv6(Text& t, const Dissection& d) {
    Out& o = t.o;
    const Bytes b = d.bytes.from(d.net_at);
    const std::uint32_t wire = d.net_len;
    if (!b.has(0, 40)) {
        if (wire >= 40) return (void)t.trunc("ip6", true);
        if (!t.opt.link_header) put(o, "IP6 ");
        put(o, "truncated-ip6 ");
        put_uint(o, wire);
        return;
    }
    if (!t.opt.link_header) put(o, "IP6 ");
    if (d.ip_version != 6) {
        put(o, "version error: ");
        put_uint(o, b.u8(0) >> 4);
        put(o, " != 6");
        return;
    }
    if (wire < d.ip_len) {
        put(o, "truncated-ip6 - ");
        put_uint(o, d.ip_len - wire);
        put(o, " bytes missing!");
    }
    if (t.opt.verbosity > 0) put_ipv6_fields(o, b);
    const std::uint8_t nh = b.u8(6);
    const Ends e{.src = d.src_ip,
                 .dst = d.dst_ip,
                 .v6 = true,
                 .with_addresses = nh == kIpprotoTcp || nh == kIpprotoUdp};
    if (!e.with_addresses) {
        put_addresses(o, e);
        put(o, ": ");
    }
    const Bytes pkt = b.first(d.ip_len);
    for (int i = 0; i < d.ext_count; ++i)
        if (!print_ipv6_ext(t, pkt, d.ext[i], d.ip_len)) return;
    if (d.has_l4) print_upper(t, d, e);
}

}  // namespace ringcap::detail
