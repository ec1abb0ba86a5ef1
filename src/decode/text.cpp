// tcpdump-style lines. The wording follows tcpdump 4.99's printers for the same protocols
// (learned from its output, not its code): what it prints, in that order, and where a
// captured packet ends early, a " [|proto]" marker at that point.
#include <cstring>
#include <ctime>
#include <ringcap/decode.hpp>

#include "bytes.hpp"
#include "tcp_table.hpp"

namespace ringcap {
namespace {

using detail::Bytes;
using detail::Out;
using detail::put;
using detail::put_hex_w;
using detail::put_uint;

// A name for a protocol code, from a table: ethertypes, IP protocols, DNS types, ...
struct CodeName {
    std::uint16_t code;
    const char* name;
};
template <std::size_t N>
const char* name_of(const CodeName (&table)[N], std::uint16_t code, const char* unknown) {
    for (const CodeName& c : table)
        if (c.code == code) return c.name;
    return unknown;
}

constexpr CodeName kEthertypeNames[] = {
    {0x0800, "IPv4"},        {0x86dd, "IPv6"},         {0x0806, "ARP"},
    {0x8035, "Reverse ARP"}, {0x8100, "802.1Q"},       {0x88a8, "802.1Q-QinQ"},
    {0x88cc, "LLDP"},        {0x8847, "MPLS unicast"}, {0x8848, "MPLS multicast"},
    {0x888e, "EAPOL"},       {0x8863, "PPPoE D"},      {0x8864, "PPPoE S"},
};
const char* ethertype_name(std::uint16_t t) { return name_of(kEthertypeNames, t, "Unknown"); }

constexpr CodeName kIpprotoNames[] = {
    {0, "Options"}, {1, "ICMP"},     {2, "IGMP"},      {4, "IPIP"},   {6, "TCP"},    {17, "UDP"},
    {41, "IPv6"},   {43, "Routing"}, {44, "Fragment"}, {47, "GRE"},   {50, "ESP"},   {51, "AH"},
    {58, "ICMPv6"}, {89, "OSPF"},    {103, "PIM"},     {112, "VRRP"}, {132, "SCTP"},
};
const char* ipproto_name(std::uint8_t p) { return name_of(kIpprotoNames, p, "unknown"); }

constexpr CodeName kDnsTypeNames[] = {
    {1, "A"},     {2, "NS"},    {5, "CNAME"},  {6, "SOA"},   {12, "PTR"},    {13, "HINFO"},
    {15, "MX"},   {16, "TXT"},  {28, "AAAA"},  {33, "SRV"},  {35, "NAPTR"},  {39, "DNAME"},
    {41, "OPT"},  {43, "DS"},   {46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"}, {50, "NSEC3"},
    {52, "TLSA"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},  {251, "IXFR"},  {252, "AXFR"},
    {255, "ANY"}, {257, "CAA"},
};
const char* dns_type_name(std::uint16_t t) { return name_of(kDnsTypeNames, t, nullptr); }

// One packet being printed.
struct Text {
    Out& o;
    const DecodeOptions& opt;
    Decoder::TcpTable* tcp;
    bool cut = false;  // the captured bytes ended inside a header (-x then dumps them all)

    // tcpdump's marker where the captured bytes end inside what it was reading.
    // `checked`: where tcpdump tests the bounds itself (the -x dump then starts after the
    // link header); elsewhere its reads unwind the printer (the dump shows the whole packet).
    bool trunc(const char* proto, bool checked = false) {
        cut = cut || !checked;
        put(o, " [|");
        put(o, proto);
        put(o, ']');
        return false;
    }
};

void put_dns_type(Out& o, std::uint16_t t) {
    if (const char* n = dns_type_name(t))
        put(o, n);
    else {
        put(o, "Type");
        put_uint(o, t);
    }
}

void put_dns_class(Out& o, std::uint16_t c) {
    switch (c) {
        case 3:
            put(o, "CHAOS");
            break;
        case 4:
            put(o, "HS");
            break;
        case 255:
            put(o, "ANY");
            break;
        default:
            put(o, "(Class ");
            put_uint(o, c);
            put(o, ')');
    }
}

// Skips a name; returns the offset after it, or 0 when it runs off the message.
std::size_t skip_dns_name(Bytes m, std::size_t at) {
    for (int labels = 0; labels < 256; ++labels) {
        if (!m.has(at, 1)) return 0;
        const std::uint8_t len = m.u8(at);
        if ((len & 0xc0) == 0xc0) return m.has(at, 2) ? at + 2 : 0;
        if (len == 0) return at + 1;
        at += 1 + (len & 0x3f);
    }
    return 0;
}

// Appends a name; false when it ran off the end (the marker is then written).
bool put_dns_name(Text& t, Bytes m, std::size_t at) {
    bool any = false;
    // Compression pointers must point before where the name (or the last jump) started, as
    // tcpdump requires: so they cannot loop.
    std::size_t max_offset = at;
    std::size_t printed = 0;  // label bytes: a name has at most 255; pointers can loop
    for (int hops = 0; hops < 128 && printed <= 1024;) {
        if (!m.has(at, 1)) return t.trunc("domain", true);
        const std::uint8_t len = m.u8(at);
        if ((len & 0xc0) == 0xc0) {
            if (!m.has(at, 2)) return t.trunc("domain", true);
            const std::size_t to = static_cast<std::size_t>(len & 0x3f) << 8 | m.u8(at + 1);
            if (to >= max_offset) {
                put(t.o, "<BAD PTR>");
                return t.trunc("domain", true);
            }
            max_offset = to;
            at = to;
            ++hops;
            continue;
        }
        if ((len & 0xc0) != 0) {  // 0x40/0x80: extended label types
            put(t.o, "<ELT ");
            put_uint(t.o, len);
            put(t.o, '>');
            return true;
        }
        if (len == 0) {
            if (!any) put(t.o, '.');
            return true;
        }
        if (!m.has(at + 1, len)) return t.trunc("domain", true);
        for (std::size_t i = 0; i < len; ++i) detail::put_safe_char(t.o, m.u8(at + 1 + i));
        put(t.o, '.');
        any = true;
        at += 1 + len;
        printed += len;
    }
    put(t.o, "<LOOP>");
    return true;
}

// One answer record, as tcpdump prints it without -v: type and data.
std::size_t print_dns_rr(Text& t, Bytes m, std::size_t at) {
    const std::size_t after_name = skip_dns_name(m, at);
    if (after_name == 0 || !m.has(after_name, 10)) return t.trunc("domain", true), 0;
    const std::uint16_t type = m.be16(after_name), cls = m.be16(after_name + 2) & 0x7fff;
    const std::uint16_t rdlen = m.be16(after_name + 8);
    const std::size_t rd = after_name + 10;
    put(t.o, ' ');
    put_dns_type(t.o, type);
    if (cls != 1) {
        put(t.o, ' ');
        put_dns_class(t.o, cls);
    }
    if (!m.has(rd, rdlen)) return t.trunc("domain", true), 0;
    switch (type) {
        case 1:
            if (rdlen >= 4) {
                put(t.o, ' ');
                detail::put_ipv4(t.o, m.p + rd);
            }
            break;
        case 28:
            if (rdlen >= 16) {
                put(t.o, ' ');
                detail::put_ipv6(t.o, m.p + rd);
            }
            break;
        case 2:
        case 5:
        case 12:
        case 39:
            put(t.o, ' ');
            if (!put_dns_name(t, m, rd)) return 0;
            break;
        case 15:
            put(t.o, ' ');
            if (rdlen < 2 || !put_dns_name(t, m, rd + 2)) return 0;
            put(t.o, ' ');
            put_uint(t.o, m.be16(rd));
            break;
        case 16:
            for (std::size_t i = rd; i < rd + rdlen;) {
                const std::uint8_t n = m.u8(i);
                if (i + 1 + n > rd + rdlen) return t.trunc("domain", true), 0;
                put(t.o, " \"");
                for (std::size_t k = 0; k < n; ++k) detail::put_safe_char(t.o, m.u8(i + 1 + k));
                put(t.o, '"');
                i += 1 + n;
            }
            break;
        case 33:
            if (rdlen < 6) break;
            put(t.o, ' ');
            if (!put_dns_name(t, m, rd + 6)) return 0;
            put(t.o, ':');
            put_uint(t.o, m.be16(rd + 4));
            put(t.o, ' ');
            put_uint(t.o, m.be16(rd));
            put(t.o, ' ');
            put_uint(t.o, m.be16(rd + 2));
            break;
        default:
            break;
    }
    return rd + rdlen;
}

// A DNS message of `length` bytes (the captured part in m), tcpdump's one-line summary.
bool print_dns(Text& t, Bytes m, std::uint32_t length) {
    m = m.first(length);
    if (!m.has(0, 12)) return t.trunc("domain", true);
    Out& o = t.o;
    const std::uint16_t id = m.be16(0), flags = m.be16(2);
    const std::uint16_t qd = m.be16(4), an = m.be16(6), ns = m.be16(8), ar = m.be16(10);
    const unsigned opcode = flags >> 11 & 0xf, rcode = flags & 0xf;
    static constexpr const char* kOps[16] = {"",         " iquery",   " status",   " op3",
                                             " notify",  " update",   " op6",      " op7",
                                             " op8",     " updateA",  " updateD",  " updateDA",
                                             " updateM", " updateMA", " zoneInit", " zoneRef"};
    put_uint(o, id);
    put(o, kOps[opcode]);
    std::size_t at = 12;
    if (flags & 0x8000) {  // response
        static constexpr const char* kRcodes[16] = {
            "",          " FormErr", " ServFail", " NXDomain", " NotImp",  " Refused",
            " YXDomain", " YXRRSet", " NXRRSet",  " NotAuth",  " NotZone", " Resp11",
            " Resp12",   " Resp13",  " Resp14",   " NoChange"};
        put(o, kRcodes[rcode]);
        if (flags & 0x0400) put(o, '*');
        if (!(flags & 0x0080)) put(o, '-');
        if (flags & 0x0200) put(o, '|');
        if (qd != 1) {
            put(o, " [");
            put_uint(o, qd);
            put(o, "q]");
        }
        for (unsigned i = 0; i < qd; ++i) {
            at = skip_dns_name(m, at);
            if (at == 0) return t.trunc("domain", true);
            at += 4;  // type and class: tcpdump skips them unread
        }
        put(o, ' ');
        put_uint(o, an);
        put(o, '/');
        put_uint(o, ns);
        put(o, '/');
        put_uint(o, ar);
        // tcpdump prints answers while bytes remain. A record whose name or fixed fields are
        // cut ends the list quietly; answers never reached are then marked as cut.
        unsigned left = an;
        const auto answer = [&]() -> bool {
            const std::size_t after_name = skip_dns_name(m, at);
            if (after_name == 0 || !m.has(after_name, 10)) {
                at = m.n;
            } else {
                at = print_dns_rr(t, m, at);
                if (at == 0) return false;
            }
            --left;
            return true;
        };
        if (left && !answer()) return false;
        while (left && at < m.n) {
            put(o, ',');
            if (!answer()) return false;
        }
        if (left) return t.trunc("domain", true);
    } else {  // query
        if (flags & 0x0100) put(o, '+');
        if (flags & 0x0010) put(o, '%');
        if (flags & 0x06cf) {
            put(o, " [b2&3=0x");
            detail::put_hex(o, flags);
            put(o, ']');
        }
        // tcpdump's order: answers, questions (when not one), authority, additional.
        const struct {
            std::uint16_t n;
            const char* what;
            bool shown;
        } counts[] = {
            {an, "a]", an != 0}, {qd, "q]", qd != 1}, {ns, "n]", ns != 0}, {ar, "au]", ar != 0}};
        for (const auto& c : counts)
            if (c.shown) {
                put(o, " [");
                put_uint(o, c.n);
                put(o, c.what);
            }
        for (unsigned i = 0; i < qd; ++i) {
            const std::size_t after = skip_dns_name(m, at);
            if (after == 0 || !m.has(after, 4)) return t.trunc("domain", true);
            put(o, ' ');
            put_dns_type(o, m.be16(after));
            if (const std::uint16_t cls = m.be16(after + 2) & 0x7fff; cls != 1) {
                put(o, ' ');
                put_dns_class(o, cls);
            }
            put(o, "? ");
            if (!put_dns_name(t, m, at)) return false;
            at = after + 4;
        }
    }
    put(o, " (");
    put_uint(o, length);
    put(o, ')');
    return true;
}

// The first line of an HTTP request or response, as tcpdump shows port 80/8080 payloads.
void print_http(Text& t, Bytes b, std::uint32_t length) {
    put(t.o, ": HTTP");
    bool line_end = false;
    for (std::size_t i = 0; i < b.n && !line_end; ++i) line_end = b.u8(i) == '\n';
    if (!line_end && b.n < length) {  // the first line is cut: tcpdump shows only the marker
        bool token_end = false;       // (none when even the first word is cut)
        for (std::size_t i = 0; i < b.n && !token_end; ++i)
            token_end = b.u8(i) == ' ' || b.u8(i) == '\r';
        if (token_end) t.trunc("http");
        return;
    }
    // A token ends at a space or line end; it must be printable and short.
    const auto token = [&](std::size_t from, std::size_t& end) -> bool {
        std::size_t i = from;
        while (i < b.n && b.u8(i) != ' ' && b.u8(i) != '\r' && b.u8(i) != '\n') {
            if (b.u8(i) < 0x21 || b.u8(i) > 0x7e || i - from >= 40) return false;
            ++i;
        }
        if (i == from || i >= b.n) return false;
        end = i;
        return true;
    };
    std::size_t e1 = 0;
    if (!token(0, e1)) return;
    const std::string_view first(reinterpret_cast<const char*>(b.p), e1);
    static constexpr std::string_view kMethods[] = {
        "OPTIONS",  "GET",       "HEAD",  "POST", "PUT",  "DELETE", "TRACE",  "CONNECT",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",   "UNLOCK", "SEARCH"};
    bool request_or_response = false;
    for (std::string_view m : kMethods) request_or_response |= first == m;
    if (!request_or_response) {
        std::size_t s = e1;
        while (s < b.n && b.u8(s) == ' ') ++s;
        std::size_t e2 = 0;
        request_or_response = token(s, e2) && e2 - s == 3 && b.u8(s) >= '0' && b.u8(s) <= '9' &&
                              b.u8(s + 1) >= '0' && b.u8(s + 1) <= '9' && b.u8(s + 2) >= '0' &&
                              b.u8(s + 2) <= '9';
    }
    if (!request_or_response) return;
    put(t.o, ": ");
    for (std::size_t i = 0; i < b.n; ++i) {
        const std::uint8_t c = b.u8(i);
        if (c == '\n' || (c == '\r' && i + 1 < b.n && b.u8(i + 1) == '\n')) return;
        detail::put_safe_char(t.o, c);
    }
}

// Where an upper layer sits: its addresses, and whether tcpdump prints them with the ports.
struct Ends {
    const std::uint8_t* src = nullptr;
    const std::uint8_t* dst = nullptr;
    bool v6 = false;
    bool with_addresses = true;  // IPv6: only when the fixed header's next header is TCP/UDP
};

void put_addr(Out& o, const Ends& e, const std::uint8_t* a) {
    e.v6 ? detail::put_ipv6(o, a) : detail::put_ipv4(o, a);
}

void put_endpoints(Out& o, const Ends& e, std::uint16_t sport, std::uint16_t dport) {
    if (e.with_addresses) {
        put_addr(o, e, e.src);
        put(o, '.');
    }
    put_uint(o, sport);
    put(o, " > ");
    if (e.with_addresses) {
        put_addr(o, e, e.dst);
        put(o, '.');
    }
    put_uint(o, dport);
    put(o, ": ");
}

bool print_udp(Text& t, Bytes b, std::uint32_t length, const Ends& e) {
    if (!b.has(0, 8)) {
        if (!b.has(0, 4)) {
            // After an IPv6 fragment header tcpdump shows no marker when no byte is left.
            if (!e.with_addresses) return b.n == 0 ? false : t.trunc("udp", true);
            put_addr(t.o, e, e.src);
            put(t.o, " > ");
            put_addr(t.o, e, e.dst);
            put(t.o, ": ");
            return t.trunc("udp", true);
        }
        put_endpoints(t.o, e, b.be16(0), b.be16(2));
        return t.trunc("udp", true);
    }
    const std::uint16_t sport = b.be16(0), dport = b.be16(2), ulen = b.be16(4);
    put_endpoints(t.o, e, sport, dport);
    if (ulen < 8) {
        put(t.o, "truncated-udplength ");
        put_uint(t.o, ulen);
        return true;
    }
    const std::uint32_t payload = ulen - 8u;
    if (!t.opt.quick && (sport == 53 || dport == 53)) {
        const std::uint32_t have = length >= 8 ? length - 8 : 0;
        return print_dns(t, b.from(8), payload < have ? payload : have);
    }
    put(t.o, "UDP, length ");
    put_uint(t.o, payload);
    return true;
}

void put_too_long(Out& o, std::uint32_t hlen, std::uint32_t length) {
    put(o, " [bad hdr length ");
    put_uint(o, hlen);
    put(o, " - too long, > ");
    put_uint(o, length);
    put(o, ']');
}

bool print_tcp(Text& t, Bytes b, std::uint32_t length, const Ends& e) {
    Out& o = t.o;
    if (!b.has(0, 4)) {
        put_addr(o, e, e.src);
        put(o, " > ");
        put_addr(o, e, e.dst);
        put(o, ':');
        return t.trunc("tcp", true);
    }
    const std::uint16_t sport = b.be16(0), dport = b.be16(2);
    put_endpoints(o, e, sport, dport);
    const std::uint32_t hlen = (b.u8(12) >> 4) * 4u;
    if (!b.has(0, 13)) return t.trunc("tcp", true);
    if (hlen < 20) {
        put(o, " tcp ");
        put_uint(o, length - hlen);
        put(o, " [bad hdr length ");
        put_uint(o, hlen);
        put(o, " - too short, < 20]");
        return true;
    }
    if (!b.has(0, 20)) return t.trunc("tcp", true);
    std::uint32_t seq = b.be32(4), ack = b.be32(8);
    const std::uint16_t win = b.be16(14), urp = b.be16(18);
    const std::uint8_t flags = b.u8(13);
    if (t.opt.quick) {
        put(o, "tcp ");
        put_uint(o, length - hlen);
        if (hlen > length) put_too_long(o, hlen, length);
        return true;
    }
    put(o, "Flags [");
    if (flags == 0) put(o, "none");
    detail::put_tcp_flags(o, flags);
    put(o, ']');
    std::uint32_t thack = 0;
    if (!t.opt.absolute_tcp_seq && (flags & 0x10) && t.tcp) {
        auto r =
            t.tcp->relate(e.src, e.dst, e.v6 ? 16 : 4, sport, dport, seq, ack, (flags & 0x02) != 0);
        seq = r.seq;
        ack = r.ack;
        thack = r.base_ack;
    }
    if (hlen > length) return put_too_long(o, hlen, length), true;
    const std::uint32_t payload = length - hlen;
    if (t.opt.verbosity > 1 || payload > 0 || (flags & 0x07)) {
        put(o, ", seq ");
        put_uint(o, seq);
        if (payload > 0) {
            put(o, ':');
            put_uint(o, static_cast<std::uint32_t>(seq + payload));
        }
    }
    if (flags & 0x10) {
        put(o, ", ack ");
        put_uint(o, ack);
    }
    put(o, ", win ");
    put_uint(o, win);
    if (flags & 0x20) {
        put(o, ", urg ");
        put_uint(o, urp);
    }
    if (hlen > 20) {
        put(o, ", options [");
        for (std::size_t i = 20; i < hlen;) {
            if (i > 20) put(o, ',');
            if (!b.has(i, 1)) return t.trunc("tcp");
            const std::uint8_t kind = b.u8(i);
            if (kind == 0 || kind == 1) {
                put(o, kind == 0 ? "eol" : "nop");
                ++i;
                continue;
            }
            if (!b.has(i + 1, 1)) return t.trunc("tcp");
            const std::uint8_t len = b.u8(i + 1);
            if (len < 2 || i + len > hlen) {
                put(o, "unknown-");
                put_uint(o, kind);
                put(o, " [bad opt]");
                return true;
            }
            if (!b.has(i, len)) {
                // tcpdump names the option, then stops where its data is cut (and, for the
                // options it length-checks first, closes with '>').
                static constexpr const char* kNames[9] = {"",     "", "mss", "wscale", "sackOK",
                                                          "sack", "", "",    "TS"};
                if (kind < 9 && kNames[kind][0]) put(o, kNames[kind]);
                t.trunc("tcp", true);
                if (kind == 3 || kind == 5 || kind == 8) put(o, '>');
                return false;
            }
            const std::size_t d = i + 2, dlen = len - 2u;
            switch (kind) {
                case 2:
                    put(o, "mss ");
                    put_uint(o, dlen >= 2 ? b.be16(d) : 0);
                    break;
                case 3:
                    put(o, "wscale ");
                    put_uint(o, dlen >= 1 ? b.u8(d) : 0);
                    break;
                case 4:
                    put(o, "sackOK");
                    break;
                case 5:
                    put(o, "sack ");
                    put_uint(o, dlen / 8);
                    put(o, ' ');
                    for (std::size_t k = 0; k + 8 <= dlen; k += 8) {
                        put(o, '{');
                        put_uint(o, static_cast<std::uint32_t>(b.be32(d + k) - thack));
                        put(o, ':');
                        put_uint(o, static_cast<std::uint32_t>(b.be32(d + k + 4) - thack));
                        put(o, '}');
                    }
                    break;
                case 8:
                    put(o, "TS val ");
                    put_uint(o, b.be32(d));
                    put(o, " ecr ");
                    put_uint(o, b.be32(d + 4));
                    break;
                default:
                    put(o, "unknown-");
                    put_uint(o, kind);
                    if (dlen) {
                        put(o, " 0x");
                        for (std::size_t k = 0; k < dlen; ++k) put_hex_w(o, b.u8(d + k), 2);
                    }
            }
            i += len;
        }
        put(o, ']');
    }
    put(o, ", length ");
    put_uint(o, payload);
    if (payload == 0 || (flags & 0x04)) return true;
    const Bytes data = b.from(hlen).first(payload);
    if (sport == 80 || dport == 80 || sport == 8080 || dport == 8080) {
        print_http(t, data, payload);
    } else if (sport == 53 || dport == 53) {
        if (payload < 2 || !data.has(0, 2)) return t.trunc("domain", true);
        put(o, ' ');
        return print_dns(t, data.from(2), payload - 2);
    }
    return true;
}

// The packet quoted in an ICMP error: its destination and, for TCP/UDP, port.
struct Quoted {
    bool ok = false, v6 = false;
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

bool print_icmp_body(Text& t, Bytes b, std::uint32_t length);

bool print_icmp(Text& t, Bytes b, std::uint32_t length) {
    const std::size_t mark = t.o.size();
    if (print_icmp_body(t, b, length)) return true;
    t.o.resize(mark);
    return t.trunc("icmp", true);
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
        case 3: {
            const Quoted q = quoted_ipv4(b.from(8));
            if (!q.ok) return t.trunc("icmp", true);
            const auto addr = [&] { detail::put_ipv4(o, q.dst); };
            switch (code) {
                case 0:
                    put(o, "net ");
                    addr();
                    put(o, " unreachable");
                    break;
                case 1:
                    put(o, "host ");
                    addr();
                    put(o, " unreachable");
                    break;
                case 2:
                    addr();
                    put(o, " protocol ");
                    put_uint(o, q.proto);
                    put(o, " unreachable");
                    break;
                case 3:
                    addr();
                    if (!q.has_port) return t.trunc("icmp", true);
                    put(o, q.proto == 6    ? " tcp port "
                           : q.proto == 17 ? " udp port "
                                           : " protocol ");
                    put_uint(o, q.proto == 6 || q.proto == 17 ? q.dport : q.proto);
                    put(o, " unreachable");
                    break;
                case 4:
                    addr();
                    put(o, " unreachable - need to frag (mtu ");
                    put_uint(o, b.be16(6));
                    put(o, ')');
                    break;
                default: {
                    static constexpr std::pair<const char*, const char*> kCodes[16] = {
                        {},
                        {},
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
                    if (code < 16) {
                        put(o, kCodes[code].first);
                        addr();
                        put(o, kCodes[code].second);
                    } else {
                        put(o, "type-#3, code ");
                        put_uint(o, code);
                    }
                }
            }
            break;
        }
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

void put_hex_dump(Out& o, Bytes b, bool ascii);

bool print_icmp6(Text& t, Bytes b, std::uint32_t length) {
    Out& o = t.o;
    if (!b.has(0, 1)) return t.trunc("icmp6");
    put(o, "ICMP6, ");
    const std::uint8_t type = b.u8(0), code = b.u8(1);
    if (!b.has(0, 2)) {  // tcpdump names the type, then reads the code
        put_icmp6_type(o, type);
        return t.trunc("icmp6");
    }
    const auto addr_at = [&](std::size_t off) -> bool {
        if (!b.has(off, 16)) return t.trunc("icmp6");
        detail::put_ipv6(o, b.p + off);
        return true;
    };
    if (type != 3) put_icmp6_type(o, type);
    switch (type) {
        case 1: {
            put(o, ", ");
            // The quoted IPv6 header starts at 8; its destination at 8 + 24. tcpdump names
            // the code, then prints the rest once the quoted header is there.
            static constexpr const char* kCodes[] = {"unreachable route", "unreachable prohibited",
                                                     "beyond scope", "unreachable address",
                                                     "unreachable port"};
            if (code <= 4) {
                put(o, kCodes[code]);
                // For the port: the quoted transport ports too (44 bytes after the ICMP header).
                const bool tcp_udp = b.u8(8 + 6) == 6 || b.u8(8 + 6) == 17;
                if (!b.has(8, code == 4 && tcp_udp ? 44 : 40)) return t.trunc("icmp6");
                put(o, code == 4 ? ", " : " ");
                addr_at(32);
            }
            if (code == 4) {
                const std::uint8_t nh = b.u8(8 + 6);
                if ((nh == 6 || nh == 17) && b.has(48, 4)) {
                    put(o, nh == 6 ? " tcp port " : " udp port ");
                    put_uint(o, b.be16(48 + 2));
                } else if (nh == 6 || nh == 17) {
                    return t.trunc("icmp6");
                } else {
                    put(o, " protocol ");
                    put_uint(o, nh);
                }
            } else if (code > 4) {
                put(o, "unknown code (");
                put_uint(o, code);
                put(o, ')');
            }
            break;
        }
        case 2:
            if (!b.has(4, 4)) return t.trunc("icmp6");
            put(o, ", mtu ");
            put_uint(o, b.be32(4));
            break;
        case 3:  // tcpdump words it by the code
            if (code == 0) {
                put(o, "time exceeded in-transit");
                if (b.has(32, 16)) {
                    put(o, " for ");
                    detail::put_ipv6(o, b.p + 32);
                }
            } else {
                put(o, "ip6 reassembly time exceeded");
            }
            break;
        case 128:
        case 129:
            if (!b.has(4, 4)) return t.trunc("icmp6");
            put(o, ", id ");
            put_uint(o, b.be16(4));
            put(o, ", seq ");
            put_uint(o, b.be16(6));
            break;
        case 133:  // tcpdump reads the code byte after printing the type's name
        case 134:
            if (!b.has(0, 2)) return t.trunc("icmp6");
            break;
        case 135:
            if (!b.has(8, 16)) return t.trunc("icmp6");
            put(o, ", who has ");
            addr_at(8);
            break;
        case 136:
            if (!b.has(8, 16)) return t.trunc("icmp6");
            put(o, ", tgt is ");
            addr_at(8);
            break;
        case 137:
            put(o, ", ");
            if (!addr_at(24)) return false;
            put(o, " to ");
            if (!addr_at(8)) return false;
            break;
        case 143:
            if (!b.has(6, 2)) return t.trunc("icmp6");
            put(o, ", ");
            put_uint(o, b.be16(6));
            put(o, " group record(s)");
            break;
        case 4: {  // tcpdump checks for the quoted header's destination first (ND_TCHECK)
            if (!b.has(32, 16)) return t.trunc("icmp6", true);
            static constexpr const char* kCodes[] = {", erroneous", ", next header", ", option",
                                                     ", incomplete header chain"};
            if (code > 3) {
                put(o, ", code-#");
                put_uint(o, code);
                break;
            }
            put(o, kCodes[code]);
            put(o, " - octet ");
            put_uint(o, b.be32(4));
            break;
        }
        case 130:  // MLD: version 1 is 24 bytes long, a version 2 query at least 28
            if (length != 24) {
                if (length < 28) {
                    put(o, " unknown-version (len ");
                    put_uint(o, length);
                    put(o, ") ");
                    break;
                }
                put(o, " v2");
                if (!b.has(8, 16)) return t.trunc("icmp6");
                put(o, " [gaddr ");
                addr_at(8);
                if (!b.has(26, 2)) return t.trunc("icmp6");
                if (const std::uint16_t sources = b.be16(26); sources != 0) {
                    put(o, ", ");
                    put_uint(o, sources);
                    put(o, " source(s)");
                }
                put(o, ']');
                break;
            }
            [[fallthrough]];
        case 131:
        case 132:
            if (b.has(0, 24)) {  // else nothing (tcpdump's mld6_print)
                put(o, "max resp delay: ");
                put_uint(o, b.be16(4));
                put(o, " addr: ");
                addr_at(8);
            }
            break;
        default:  // tcpdump names more (node information, mobile IPv6, mtrace): shown as these
            put(o, ", length ");
            put_uint(o, length);
            put_hex_dump(o, b, false);  // what was captured of the message, as tcpdump does
            return true;
    }
    put(o, ", length ");
    put_uint(o, length);
    return true;
}

bool print_upper(Text& t, std::uint8_t proto, Bytes b, std::uint32_t length, const Ends& e) {
    switch (proto) {
        case 6:
            return print_tcp(t, b, length, e);
        case 17:
            return print_udp(t, b, length, e);
        default:
            break;
    }
    if (proto != 1 && proto != 58) {  // tcpdump: two spaces here
        put(t.o, " ip-proto-");
        put_uint(t.o, proto);
        put(t.o, ' ');
        put_uint(t.o, length);
        return true;
    }
    return proto == 1 ? print_icmp(t, b, length) : print_icmp6(t, b, length);
}

bool print_ipv4(Text& t, Bytes b, std::uint32_t wire) {
    Out& o = t.o;
    if (wire < 20 || !b.has(0, 20)) {
        if (wire < 20) {
            if (!t.opt.link_header) put(o, "IP ");
            put(o, "truncated-ip ");
            put_uint(o, wire);
            return true;
        }
        if (b.has(0, 1) && !t.opt.link_header) put(o, "IP ");  // tcpdump: once a byte is in
        return t.trunc("ip", b.has(0, 1));
    }
    if (!t.opt.link_header) put(o, "IP ");
    const std::uint8_t ver = b.u8(0) >> 4;
    const std::uint32_t hlen = (b.u8(0) & 0xf) * 4u;
    if (ver != 4) {
        put(o, "IP4 [version ");  // tcpdump's wording differs by case; ours says what it is
        put_uint(o, ver);
        put(o, ']');
        return true;
    }
    if (hlen < 20) {
        put(o, "bad-hlen ");
        put_uint(o, hlen);
        return true;
    }
    const std::uint32_t len = b.be16(2);
    if (len < hlen) {
        put(o, "bad-len ");
        put_uint(o, len);
        return true;
    }
    if (wire < len) {
        put(o, "truncated-ip - ");
        put_uint(o, len - wire);
        put(o, " bytes missing! ");
    }
    const std::uint16_t off = b.be16(6);
    const std::uint8_t proto = b.u8(9);
    if (t.opt.verbosity > 0) {
        const std::uint8_t tos = b.u8(1);
        put(o, "(tos 0x");
        detail::put_hex(o, tos);
        static constexpr const char* kEcn[] = {"", ",ECT(1)", ",ECT(0)", ",CE"};
        put(o, kEcn[tos & 3]);
        put(o, ", ttl ");
        put_uint(o, b.u8(8));
        put(o, ", id ");
        put_uint(o, b.be16(4));
        put(o, ", offset ");
        put_uint(o, (off & 0x1fffu) * 8);
        put(o, ", flags [");
        if (!(off & 0xe000)) put(o, "none");
        if (off & 0x2000) put(o, '+');
        if (off & 0x4000) put(o, "DF");
        if (off & 0x8000) put(o, "rsvd");
        put(o, "], proto ");
        put(o, ipproto_name(proto));
        put(o, " (");
        put_uint(o, proto);
        put(o, "), length ");
        put_uint(o, len);
        if (b.has(0, hlen)) {
            std::uint32_t sum = 0;
            for (std::size_t i = 0; i < hlen; i += 2) sum += b.be16(i);
            while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
            if (sum != 0xffff) {
                const std::uint16_t have = b.be16(10);
                std::uint32_t s = sum + static_cast<std::uint16_t>(~have);
                while (s >> 16) s = (s & 0xffff) + (s >> 16);
                put(o, ", bad cksum ");
                detail::put_hex(o, have);
                put(o, " (->");
                detail::put_hex(o, static_cast<std::uint16_t>(~s));
                put(o, ")!");
            }
        }
        put(o, ")\n    ");
    }
    Ends e{.src = b.p + 12, .dst = b.p + 16};
    const std::uint32_t payload_len = len - hlen;
    // Within what was captured and within the IP length (Ethernet padding is not payload).
    const Bytes payload = b.first(len).from(hlen);
    if ((off & 0x1fff) != 0) {
        detail::put_ipv4(o, e.src);
        put(o, " > ");
        detail::put_ipv4(o, e.dst);
        put(o, ": ip-proto-");
        put_uint(o, proto);
        return true;
    }
    if (proto != 6 && proto != 17) {
        detail::put_ipv4(o, e.src);
        put(o, " > ");
        detail::put_ipv4(o, e.dst);
        put(o, ": ");
    }
    if (!b.has(0, hlen)) return t.trunc("ip");
    return print_upper(t, proto, payload, payload_len, e);
}

bool print_ipv6(Text& t, Bytes b, std::uint32_t wire) {
    Out& o = t.o;
    if (!b.has(0, 40)) {
        if (wire < 40) {
            if (!t.opt.link_header) put(o, "IP6 ");
            put(o, "truncated-ip6 ");
            put_uint(o, wire);
            return true;
        }
        return t.trunc("ip6", true);
    }
    if (!t.opt.link_header) put(o, "IP6 ");
    const std::uint32_t word0 = b.be32(0);
    if (word0 >> 28 != 6) {
        put(o, "version error: ");
        put_uint(o, word0 >> 28);
        put(o, " != 6");
        return true;
    }
    const std::uint32_t plen = b.be16(4), len = plen + 40;
    std::uint8_t nh = b.u8(6);
    if (wire < len) {
        put(o, "truncated-ip6 - ");
        put_uint(o, len - wire);
        put(o, " bytes missing!");
    }
    if (t.opt.verbosity > 0) {
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
        put(o, ipproto_name(nh));
        put(o, " (");
        put_uint(o, nh);
        put(o, ") payload length: ");
        put_uint(o, plen);
        put(o, ") ");
    }
    Ends e{.src = b.p + 8, .dst = b.p + 24, .v6 = true, .with_addresses = nh == 6 || nh == 17};
    const Bytes pkt = b.first(len);
    std::size_t at = 40;
    for (int headers = 0; headers < 16; ++headers) {
        if (at == 40 && nh != 6 && nh != 17) {
            detail::put_ipv6(o, e.src);
            put(o, " > ");
            detail::put_ipv6(o, e.dst);
            put(o, ": ");
        }
        const std::uint32_t rest = len > at ? len - static_cast<std::uint32_t>(at) : 0;
        switch (nh) {
            case 0:
            case 60: {
                if (!pkt.has(at, 2)) return t.trunc(nh == 0 ? "hbhopt" : "dstopt");
                const std::size_t hl = (pkt.u8(at + 1) + 1u) * 8;
                if (!pkt.has(at, hl)) return t.trunc(nh == 0 ? "hbhopt" : "dstopt");
                put(o, nh == 0 ? "HBH " : "DSTOPT ");
                nh = pkt.u8(at);
                at += hl;
                continue;
            }
            case 43: {
                if (!pkt.has(at, 4)) return t.trunc("srcrt");
                const std::size_t hl = (pkt.u8(at + 1) + 1u) * 8;
                put(o, "srcrt (len=");
                put_uint(o, pkt.u8(at + 1));
                put(o, ", type=");
                put_uint(o, pkt.u8(at + 2));
                put(o, ", segleft=");
                put_uint(o, pkt.u8(at + 3));
                put(o, ") ");
                if (!pkt.has(at, hl)) return t.trunc("srcrt");
                nh = pkt.u8(at);
                at += hl;
                continue;
            }
            case 44: {
                if (!pkt.has(at, 4)) return t.trunc("frag6");
                const std::uint16_t offlg = pkt.be16(at + 2);
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
                if ((offlg & 0xfff8) != 0) return true;  // no upper-layer header in this one
                put(o, ' ');
                if (!pkt.has(at, 8)) return false;  // tcpdump: no marker here
                nh = pkt.u8(at);
                at += 8;
                continue;
            }
            case 59:
                return true;
            default:
                return print_upper(t, nh, pkt.from(at), rest, e);
        }
    }
    return true;
}

bool print_arp(Text& t, Bytes b, std::uint32_t length) {
    Out& o = t.o;
    if (!b.has(0, 28)) return t.trunc("arp");
    if (!t.opt.link_header) put(o, "ARP, ");
    const std::uint16_t hrd = b.be16(0), pro = b.be16(2), op = b.be16(6);
    const std::uint8_t hln = b.u8(4), pln = b.u8(5);
    if (t.opt.verbosity > 0) {
        put(o, hrd == 1 ? "Ethernet" : "Unknown Hardware");
        put(o, " (len ");
        put_uint(o, hln);
        put(o, "), ");
        put(o, pro == 0x0800 ? "IPv4" : "Unknown Protocol");
        put(o, " (len ");
        put_uint(o, pln);
        put(o, "), ");
    }
    if (pro != 0x0800 || pln != 4 || hln != 6) {
        put(o, "Unknown Protocol (0x");
        put_hex_w(o, pro, 4);
        put(o, ")");
        put(o, ", length ");
        put_uint(o, length);
        return true;
    }
    if (!b.has(8, 20)) return t.trunc("arp");
    const std::uint8_t *sha = b.p + 8, *spa = b.p + 14, *tha = b.p + 18, *tpa = b.p + 24;
    switch (op) {
        case 1: {
            put(o, "Request who-has ");
            detail::put_ipv4(o, tpa);
            bool zero = true;
            for (int i = 0; i < 6; ++i) zero &= tha[i] == 0;
            if (!zero) {
                put(o, " (");
                detail::put_mac(o, tha);
                put(o, ')');
            }
            put(o, " tell ");
            detail::put_ipv4(o, spa);
            break;
        }
        case 2:
            put(o, "Reply ");
            detail::put_ipv4(o, spa);
            put(o, " is-at ");
            detail::put_mac(o, sha);
            break;
        default:
            put(o, "Unknown (");
            put_uint(o, op);
            put(o, ')');
    }
    put(o, ", length ");
    put_uint(o, length);
    return true;
}

void put_ethertype(Out& o, std::uint16_t type, bool quick = false) {
    if (quick) {  // tcpdump -q: the name alone, unless there is none
        if (std::strcmp(ethertype_name(type), "Unknown") != 0) return put(o, ethertype_name(type));
        put(o, "Unknown Ethertype (0x");
        put_hex_w(o, type, 4);
        return put(o, ')');
    }
    put(o, "ethertype ");
    put(o, ethertype_name(type));
    put(o, " (0x");
    put_hex_w(o, type, 4);
    put(o, ")");
}

// The hex dump tcpdump appends with -x/-X (and for payloads it cannot decode).
void put_hex_dump(Out& o, Bytes b, bool ascii) {
    for (std::size_t line = 0; line < b.n; line += 16) {
        put(o, "\n\t0x");
        put_hex_w(o, line, 4);
        put(o, ": ");
        const std::size_t n = b.n - line < 16 ? b.n - line : 16;
        std::size_t width = 0;
        for (std::size_t i = 0; i < n; i += 2) {
            put(o, ' ');
            put_hex_w(o, b.u8(line + i), 2);
            width += 3;
            if (i + 1 < n) {
                put_hex_w(o, b.u8(line + i + 1), 2);
                width += 2;
            }
        }
        if (!ascii) continue;
        for (; width < 40; ++width) put(o, ' ');
        put(o, "  ");
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t c = b.u8(line + i);
            put(o, c > 0x20 && c < 0x7f ? static_cast<char>(c) : '.');  // graphic only
        }
    }
}

// After the link layer: the protocol of `type`. Returns false when tcpdump would show the
// payload as a hex dump (a type it does not know).
bool print_ethertype_payload(Text& t, std::uint16_t type, Bytes b, std::uint32_t length) {
    switch (type) {
        case 0x0800:
            print_ipv4(t, b, length);
            return true;
        case 0x86dd:
            print_ipv6(t, b, length);
            return true;
        case 0x0806:
            print_arp(t, b, length);
            return true;
        default:
            return false;
    }
}

constexpr CodeName kSllDirections[] = {
    {0, "In"}, {1, "B"}, {2, "M"}, {3, "P"}, {4, "Out"},
};
const char* sll_direction(std::uint16_t pkttype) { return name_of(kSllDirections, pkttype, "?"); }

// An 802.1Q tag after a cooked (SLL/SLL2) header, as tcpdump shows it there: the inner
// EtherType by name only, the tag itself with -e. false when the tag was not captured.
bool cooked_tag(Text& t, Bytes b, std::size_t& at, std::uint16_t& type, std::uint32_t& length) {
    if (!b.has(at, 4)) return t.trunc("vlan");
    const std::uint16_t tci = b.be16(at);
    type = b.be16(at + 2);
    if (t.opt.link_header) {
        put(t.o, "vlan ");
        put_uint(t.o, tci & 0xfff);
        put(t.o, ", p ");
        put_uint(t.o, tci >> 13);
        if (tci & 0x1000) put(t.o, ", DEI");
        put(t.o, ", ");
    }
    put(t.o, "ethertype ");
    put(t.o, ethertype_name(type));
    put(t.o, ", ");
    at += 4;
    length = length > 4 ? length - 4 : 0;
    return true;
}

bool cooked_vlan(Text& t, Bytes b, std::size_t& at, std::uint16_t& type, std::uint32_t& length) {
    for (int tags = 0; type == 0x8100 && tags < 8; ++tags)
        if (!cooked_tag(t, b, at, type, length)) return false;
    return true;
}

// A cooked header's link-layer address: halen bytes (at most 8) in hex, colon-separated.
void put_link_address(Out& o, Bytes b, std::size_t at, std::size_t halen) {
    for (std::size_t i = 0; i < halen && i < 8; ++i) {
        if (i) put(o, ':');
        put_hex_w(o, b.u8(at + i), 2);
    }
}

// What follows an SLL or SLL2 header of `at` bytes: with -e the header (`header` prints its
// fields), a VLAN tag, then the payload, or for a type tcpdump does not know, its hex dump.
template <class Header>
std::size_t print_cooked(Text& t, Bytes b, std::uint32_t wire, std::size_t at, std::uint16_t type,
                         const Header& header) {
    Out& o = t.o;
    const auto header_and_length = [&] {
        header();
        put(o, ", length ");
        put_uint(o, wire);
        put(o, ": ");
    };
    if (t.opt.link_header) header_and_length();
    std::uint32_t length = wire > at ? wire - static_cast<std::uint32_t>(at) : 0;
    if (!cooked_vlan(t, b, at, type, length)) return at;
    if (print_ethertype_payload(t, type, b.from(at), length)) return at;
    if (!t.opt.link_header) header_and_length();
    if (t.opt.hex == HexDump::none) put_hex_dump(o, b.from(at), true);
    return at;
}

std::size_t print_link(Text& t, LinkType link, Bytes b, std::uint32_t wire);

}  // namespace

// Prints the packet after the timestamp. Returns how many bytes the link layer took (for -x).

std::size_t print_packet_text(Out& o, const DecodeOptions& opt, Decoder::TcpTable* tcp,
                              LinkType link, Bytes b, std::uint32_t wire) {
    Text t{o, opt, tcp};
    const std::size_t link_len = print_link(t, link, b, wire);
    return t.cut ? 0 : link_len;
}

namespace {
std::size_t print_link(Text& t, LinkType link, Bytes b, std::uint32_t wire) {
    Out& o = t.o;
    const DecodeOptions& opt = t.opt;
    std::uint16_t type = 0;
    std::size_t at = 0;
    switch (link) {
        case LinkType::ethernet: {
            if (!b.has(0, 14)) return t.trunc("ether"), t.cut = false, b.n;  // nothing left to dump
            const auto mac_header = [&] {
                detail::put_mac(o, b.p + 6);
                put(o, " > ");
                detail::put_mac(o, b.p);
                put(o, ", ");
            };
            type = b.be16(12);
            at = 14;
            if (opt.link_header) mac_header();
            if (type <= 1500) {
                if (!opt.link_header) mac_header();
                put(o, "802.3, length ");
                put_uint(o, wire);
                put(o, ": ");
                if (opt.hex == HexDump::none) put_hex_dump(o, b.from(at), true);
                return at;
            }
            if (opt.link_header) {
                put_ethertype(o, type, opt.quick);
                put(o, ", length ");
                put_uint(o, wire);
                put(o, ": ");
            }
            for (int tags = 0; (type == 0x8100 || type == 0x88a8 || type == 0x9100) && tags < 8;
                 ++tags) {
                if (!b.has(at, 4))
                    return t.trunc("vlan"), t.cut = false, b.n;  // nothing left to dump
                const std::uint16_t tci = b.be16(at);
                type = b.be16(at + 2);
                if (opt.link_header) {
                    put(o, "vlan ");
                    put_uint(o, tci & 0xfff);
                    put(o, ", p ");
                    put_uint(o, tci >> 13);
                    if (tci & 0x1000) put(o, ", DEI");
                    put(o, ", ");
                    put_ethertype(o, type, opt.quick);
                    put(o, ", ");
                }
                at += 4;
            }
            const std::uint32_t length = wire > at ? wire - static_cast<std::uint32_t>(at) : 0;
            if (!print_ethertype_payload(t, type, b.from(at), length)) {
                if (!opt.link_header) {
                    mac_header();
                    put_ethertype(o, type, opt.quick);
                    put(o, ", length ");
                    put_uint(o, wire);
                    put(o, ": ");
                }
                if (opt.hex == HexDump::none && !opt.quick) put_hex_dump(o, b.from(at), true);
            }
            return at;
        }
        case LinkType::linux_sll2: {
            if (!b.has(0, 20)) return t.trunc("sll2"), t.cut = false, b.n;  // nothing left to dump
            type = b.be16(0);
            const std::int32_t ifindex = static_cast<std::int32_t>(b.be32(4));
            const std::uint8_t pkttype = b.u8(10), halen = b.u8(11);
            std::string_view name =
                opt.interface_name ? opt.interface_name(ifindex) : std::string_view{};
            if (name.empty()) name = "?";
            put(o, name);
            for (std::size_t i = name.size(); i < 5; ++i) put(o, ' ');
            put(o, ' ');
            const char* dir = sll_direction(pkttype);
            put(o, dir);
            for (std::size_t i = std::strlen(dir); i < 3; ++i) put(o, ' ');
            put(o, ' ');
            return print_cooked(t, b, wire, 20, type, [&] {
                put(o, "ifindex ");
                put_uint(o, static_cast<std::uint32_t>(ifindex));
                put(o, ' ');
                put_link_address(o, b, 12, halen);
                put(o, ' ');
                put_ethertype(o, type);
            });
        }
        case LinkType::linux_sll: {
            if (!b.has(0, 16)) return t.trunc("sll"), t.cut = false, b.n;  // nothing left to dump
            type = b.be16(14);
            const std::uint16_t pkttype = b.be16(0), halen = b.be16(4);
            return print_cooked(t, b, wire, 16, type, [&] {
                const char* dir = sll_direction(pkttype);
                for (std::size_t i = std::strlen(dir); i < 3; ++i) put(o, ' ');
                put(o, dir);
                put(o, ' ');
                put_link_address(o, b, 6, halen);
                put(o, ' ');
                put_ethertype(o, type);
            });
        }
        case LinkType::raw:
        default: {
            if (link != LinkType::raw) {
                put(o, "[link type ");
                put_uint(o, static_cast<std::uint32_t>(link));
                put(o, " not decoded]");
                return 0;
            }
            if (opt.link_header) put(o, "ip: ");
            if (!b.has(0, 1)) return t.trunc("ip"), 0;
            const std::uint8_t ver = b.u8(0) >> 4;
            if (ver == 4)
                print_ipv4(t, b, wire);
            else if (ver == 6)
                print_ipv6(t, b, wire);
            else {
                put(o, "ip v");
                put_uint(o, ver);
            }
            return 0;
        }
    }
}

}  // namespace

// Hex dump appended after the line with -x/-X.
void append_hex_dump(Out& o, Bytes b, bool ascii) { put_hex_dump(o, b, ascii); }

}  // namespace ringcap

namespace ringcap {

void append_dns_name(std::span<const std::uint8_t> message, std::size_t at,
                     fmt::memory_buffer& out) {
    static const DecodeOptions kDefaults{};
    Text t{out, kDefaults, nullptr};
    put_dns_name(t, Bytes{message.data(), message.size()}, at);
}

}  // namespace ringcap
