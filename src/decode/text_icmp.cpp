// ICMP and ICMPv6 as tcpdump prints them: echo, unreachables (with the quoted packet's
// destination and port), time exceeded, parameter problems, neighbour and router discovery, MLD.
#include <utility>

#include "text.hpp"

namespace ringcap::detail {
namespace {

// The packet quoted in an ICMP error: its destination and, for TCP/UDP, port.
struct Quoted {
    bool ok = false;
    const std::uint8_t* dst = nullptr;
    std::uint8_t proto = 0;
    bool has_port = false;
    std::uint16_t dport = 0;
};

Quoted quoted_ipv4(Bytes q) {
    Quoted r;
    if (!q.has(0, 20)) return r;
    const std::size_t hl = (q.u8(0) & 0xf) * 4u;
    r.ok = true;
    r.dst = q.p + 16;
    r.proto = q.u8(9);
    if (q.has(hl, 4) && hl >= 20) r.has_port = true, r.dport = q.be16(hl + 2);
    return r;
}

// Destination unreachable codes other than 2-4, as words around the quoted destination.
constexpr std::pair<const char*, const char*> kUnreachable[16] = {
    {"net ", " unreachable"},
    {"host ", " unreachable"},
    {},
    {},
    {},
    {"", " unreachable - source route failed"},
    {"net ", " unreachable - unknown"},
    {"host ", " unreachable - unknown"},
    {"", " unreachable - source host isolated"},
    {"net ", " unreachable - admin prohibited"},
    {"host ", " unreachable - admin prohibited"},
    {"net ", " unreachable - tos prohibited"},
    {"host ", " unreachable - tos prohibited"},
    {"host ", " unreachable - admin prohibited filter"},
    {"host ", " unreachable - host precedence violation"},
    {"host ", " unreachable - precedence cutoff"}};

// "host 192.0.2.2 unreachable", "192.0.2.2 udp port 53 unreachable", ...
bool put_unreachable(Text& t, Bytes b, std::uint8_t code) {
    Out& o = t.o;
    const Quoted q = quoted_ipv4(b.from(8));
    if (!q.ok) return t.trunc("icmp", true);
    switch (code) {
        case 2:
            put_ipv4(o, q.dst);
            put(o, " protocol ");
            put_uint(o, q.proto);
            put(o, " unreachable");
            return true;
        case 3:
            put_ipv4(o, q.dst);
            if (!q.has_port) return t.trunc("icmp", true);
            put(o, q.proto == kIpprotoTcp   ? " tcp port "
                   : q.proto == kIpprotoUdp ? " udp port "
                                            : " protocol ");
            put_uint(o, q.proto == kIpprotoTcp || q.proto == kIpprotoUdp ? q.dport : q.proto);
            put(o, " unreachable");
            return true;
        case 4:
            put_ipv4(o, q.dst);
            put(o, " unreachable - need to frag (mtu ");
            put_uint(o, b.be16(6));
            put(o, ')');
            return true;
        default:
            if (code >= 16) {
                put(o, "type-#3, code ");
                put_uint(o, code);
                return true;
            }
            put(o, kUnreachable[code].first);
            put_ipv4(o, q.dst);
            put(o, kUnreachable[code].second);
            return true;
    }
}

bool print_icmp_body(Text& t, Bytes b, std::uint32_t length) {
    Out& o = t.o;
    if (!b.has(0, 4)) return t.trunc("icmp", true);
    put(o, "ICMP ");
    const std::uint8_t type = b.u8(0), code = b.u8(1);
    switch (type) {
        case 0:
        case 8:
            if (!b.has(4, 4)) return t.trunc("icmp", true);
            put(o, type == 8 ? "echo request, id " : "echo reply, id ");
            put_uint(o, b.be16(4));
            put(o, ", seq ");
            put_uint(o, b.be16(6));
            break;
        case 3:
            if (!put_unreachable(t, b, code)) return false;
            break;
        case 11:
            put(o, code == 0 ? "time exceeded in-transit" : "ip reassembly time exceeded");
            break;
        default:
            put(o, "type-#");
            put_uint(o, type);
    }
    put(o, ", length ");
    put_uint(o, length);
    return true;
}

constexpr CodeName kIcmp6TypeNames[] = {
    {1, "destination unreachable"},
    {2, "packet too big"},
    {3, "time exceeded"},
    {4, "parameter problem"},
    {128, "echo request"},
    {129, "echo reply"},
    {130, "multicast listener query"},
    {131, "multicast listener report"},
    {132, "multicast listener done"},
    {133, "router solicitation"},
    {134, "router advertisement"},
    {135, "neighbor solicitation"},
    {136, "neighbor advertisement"},
    {137, "redirect"},
    {143, "multicast listener report v2"},
};
void put_icmp6_type(Out& o, std::uint8_t type) {
    if (const char* name = name_of(kIcmp6TypeNames, type, nullptr)) return put(o, name);
    put(o, "unknown icmp6 type (");
    put_uint(o, type);
    put(o, ')');
}

// The IPv6 address at `off` of the message.
bool put_icmp6_addr(Text& t, Bytes b, std::size_t off) {
    if (!b.has(off, 16)) return t.trunc("icmp6");
    put_ipv6(t.o, b.p + off);
    return true;
}

// Destination unreachable. The quoted IPv6 header starts at 8, its destination at 8 + 24.
// tcpdump names the code, then prints the rest once the quoted header is there.
bool put_icmp6_unreachable(Text& t, Bytes b, std::uint8_t code) {
    Out& o = t.o;
    put(o, ", ");
    static constexpr const char* kCodes[] = {"unreachable route", "unreachable prohibited",
                                             "beyond scope", "unreachable address",
                                             "unreachable port"};
    if (code > 4) {
        put(o, "unknown code (");
        put_uint(o, code);
        put(o, ')');
        return true;
    }
    put(o, kCodes[code]);
    // For the port: the quoted transport ports too (44 bytes after the ICMP header).
    const std::uint8_t nh = b.u8(8 + 6);
    const bool tcp_udp = nh == kIpprotoTcp || nh == kIpprotoUdp;
    if (!b.has(8, code == 4 && tcp_udp ? 44 : 40)) return t.trunc("icmp6");
    put(o, code == 4 ? ", " : " ");
    put_icmp6_addr(t, b, 32);
    if (code != 4) return true;
    if (!tcp_udp) {
        put(o, " protocol ");
        put_uint(o, nh);
    } else {
        put(o, nh == kIpprotoTcp ? " tcp port " : " udp port ");
        put_uint(o, b.be16(48 + 2));
    }
    return true;
}

// Parameter problem: tcpdump checks for the quoted header's destination first (ND_TCHECK).
bool put_icmp6_parameter_problem(Text& t, Bytes b, std::uint8_t code) {
    Out& o = t.o;
    if (!b.has(32, 16)) return t.trunc("icmp6", true);
    static constexpr const char* kCodes[] = {", erroneous", ", next header", ", option",
                                             ", incomplete header chain"};
    if (code > 3) {
        put(o, ", code-#");
        put_uint(o, code);
        return true;
    }
    put(o, kCodes[code]);
    put(o, " - octet ");
    put_uint(o, b.be32(4));
    return true;
}

// MLD: version 1 messages are 24 bytes long, a version 2 query at least 28.
bool put_mld(Text& t, Bytes b, std::uint8_t type, std::uint32_t length) {
    Out& o = t.o;
    if (type == 130 && length != 24) {
        if (length < 28) {
            put(o, " unknown-version (len ");
            put_uint(o, length);
            put(o, ") ");
            return true;
        }
        put(o, " v2");
        if (!b.has(8, 16)) return t.trunc("icmp6");
        put(o, " [gaddr ");
        put_icmp6_addr(t, b, 8);
        if (!b.has(26, 2)) return t.trunc("icmp6");
        if (const std::uint16_t sources = b.be16(26); sources != 0) {
            put(o, ", ");
            put_uint(o, sources);
            put(o, " source(s)");
        }
        put(o, ']');
        return true;
    }
    if (b.has(0, 24)) {  // else nothing (tcpdump's mld6_print)
        put(o, "max resp delay: ");
        put_uint(o, b.be16(4));
        put(o, " addr: ");
        put_icmp6_addr(t, b, 8);
    }
    return true;
}

// Time exceeded: tcpdump words it by the code, with the quoted destination when it is there.
void put_icmp6_time_exceeded(Out& o, Bytes b, std::uint8_t code) {
    if (code != 0) return put(o, "ip6 reassembly time exceeded");
    put(o, "time exceeded in-transit");
    if (b.has(32, 16)) {
        put(o, " for ");
        put_ipv6(o, b.p + 32);
    }
}

// "ICMP6, " and the type's name are out: what the type says. false when the line ends.
bool put_icmp6_body(Text& t, Bytes b, std::uint8_t type, std::uint8_t code, std::uint32_t length) {
    Out& o = t.o;
    switch (type) {
        case 1:
            return put_icmp6_unreachable(t, b, code);
        case 2:
            if (!b.has(4, 4)) return t.trunc("icmp6");
            put(o, ", mtu ");
            put_uint(o, b.be32(4));
            return true;
        case 3:
            return put_icmp6_time_exceeded(o, b, code), true;
        case 4:
            return put_icmp6_parameter_problem(t, b, code);
        case 128:
        case 129:
            if (!b.has(4, 4)) return t.trunc("icmp6");
            put(o, ", id ");
            put_uint(o, b.be16(4));
            put(o, ", seq ");
            put_uint(o, b.be16(6));
            return true;
        case 130:
        case 131:
        case 132:
            return put_mld(t, b, type, length);
        case 133:  // router solicitation and advertisement: the name alone
        case 134:
            return true;
        case 135:
        case 136:
            if (!b.has(8, 16)) return t.trunc("icmp6");
            put(o, type == 135 ? ", who has " : ", tgt is ");
            return put_icmp6_addr(t, b, 8);
        case 137:
            put(o, ", ");
            if (!put_icmp6_addr(t, b, 24)) return false;
            put(o, " to ");
            return put_icmp6_addr(t, b, 8);
        case 143:
            if (!b.has(6, 2)) return t.trunc("icmp6");
            put(o, ", ");
            put_uint(o, b.be16(6));
            put(o, " group record(s)");
            return true;
        default:  // tcpdump names more (node information, mobile IPv6, mtrace): shown as these
            put(o, ", length ");
            put_uint(o, length);
            put_hex_dump(o, b, false);  // what was captured of the message, as tcpdump does
            return false;
    }
}

}  // namespace

bool print_icmp(Text& t, Bytes b, std::uint32_t length) {
    const std::size_t mark = t.o.size();
    if (print_icmp_body(t, b, length)) return true;
    t.o.resize(mark);
    return t.trunc("icmp", true);
}

bool print_icmp6(Text& t, Bytes b, std::uint32_t length) {
    Out& o = t.o;
    if (!b.has(0, 1)) return t.trunc("icmp6");
    put(o, "ICMP6, ");
    const std::uint8_t type = b.u8(0), code = b.u8(1);
    if (!b.has(0, 2)) {  // tcpdump names the type, then reads the code
        put_icmp6_type(o, type);
        return t.trunc("icmp6");
    }
    if (type != 3) put_icmp6_type(o, type);
    if (!put_icmp6_body(t, b, type, code, length)) return false;
    put(o, ", length ");
    put_uint(o, length);
    return true;
}

}  // namespace ringcap::detail
