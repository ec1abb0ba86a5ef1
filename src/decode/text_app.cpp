// Application payloads tcpdump decodes by port: DNS (UDP and TCP port 53; its one-line
// summary of the header, questions and answers) and the first line of HTTP on ports 80 and 8080.
#include "text.hpp"

namespace ringcap::detail {
namespace {
constexpr CodeName kDnsTypeNames[] = {
    {1, "A"},     {2, "NS"},    {5, "CNAME"},  {6, "SOA"},   {12, "PTR"},    {13, "HINFO"},
    {15, "MX"},   {16, "TXT"},  {28, "AAAA"},  {33, "SRV"},  {35, "NAPTR"},  {39, "DNAME"},
    {41, "OPT"},  {43, "DS"},   {46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"}, {50, "NSEC3"},
    {52, "TLSA"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},  {251, "IXFR"},  {252, "AXFR"},
    {255, "ANY"}, {257, "CAA"},
};
const char* dns_type_name(std::uint16_t t) { return name_of(kDnsTypeNames, t, nullptr); }

void put_dns_type(Out& o, std::uint16_t t) {
    if (const char* n = dns_type_name(t))
        put(o, n);
    else {
        put(o, "Type");
        put_uint(o, t);
    }
}

constexpr CodeName kDnsClassNames[] = {{3, "CHAOS"}, {4, "HS"}, {255, "ANY"}};
void put_dns_class(Out& o, std::uint16_t c) {
    if (const char* n = name_of(kDnsClassNames, c, nullptr)) return put(o, n);
    put(o, "(Class ");
    put_uint(o, c);
    put(o, ')');
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
        for (std::size_t i = 0; i < len; ++i) put_safe_char(t.o, m.u8(at + 1 + i));
        put(t.o, '.');
        any = true;
        at += 1 + len;
        printed += len;
    }
    put(t.o, "<LOOP>");
    return true;
}

// An answer's data (rdlen bytes at rd, all captured) as tcpdump prints it without -v; false
// when the line ends inside it.
bool put_dns_rdata(Text& t, Bytes m, std::uint16_t type, std::size_t rd, std::uint16_t rdlen) {
    Out& o = t.o;
    switch (type) {
        case 1:  // A
            if (rdlen >= 4) {
                put(o, ' ');
                put_ipv4(o, m.p + rd);
            }
            return true;
        case 28:  // AAAA
            if (rdlen >= 16) {
                put(o, ' ');
                put_ipv6(o, m.p + rd);
            }
            return true;
        case 2:  // NS, CNAME, PTR, DNAME: a name
        case 5:
        case 12:
        case 39:
            put(o, ' ');
            return put_dns_name(t, m, rd);
        case 15:  // MX: the exchange, then the preference
            put(o, ' ');
            if (rdlen < 2 || !put_dns_name(t, m, rd + 2)) return false;
            put(o, ' ');
            put_uint(o, m.be16(rd));
            return true;
        case 16:  // TXT: each string quoted
            for (std::size_t i = rd; i < rd + rdlen;) {
                const std::uint8_t n = m.u8(i);
                if (i + 1 + n > rd + rdlen) return t.trunc("domain", true);
                put(o, " \"");
                for (std::size_t k = 0; k < n; ++k) put_safe_char(o, m.u8(i + 1 + k));
                put(o, '"');
                i += 1 + n;
            }
            return true;
        case 33:  // SRV: "target:port priority weight"
            if (rdlen < 6) return true;
            put(o, ' ');
            if (!put_dns_name(t, m, rd + 6)) return false;
            put(o, ':');
            put_uint(o, m.be16(rd + 4));
            put(o, ' ');
            put_uint(o, m.be16(rd));
            put(o, ' ');
            put_uint(o, m.be16(rd + 2));
            return true;
        default:
            return true;
    }
}

// One answer record, as tcpdump prints it without -v: type and data. Returns the offset after
// it, 0 when the line ended inside it.
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
    return put_dns_rdata(t, m, type, rd, rdlen) ? rd + rdlen : 0;
}

struct DnsHeader {
    std::uint16_t flags, qd, an, ns, ar;
};

// A response's answers, from `at`. tcpdump prints them while bytes remain: a record whose name
// or fixed fields are cut ends the list quietly; answers never reached are then marked as cut.
bool print_dns_answers(Text& t, Bytes m, std::size_t at, unsigned left) {
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
        put(t.o, ',');
        if (!answer()) return false;
    }
    if (left) return t.trunc("domain", true);
    return true;
}

// "* 2/0/0 A 192.0.2.80, A 192.0.2.81": rcode, flags, counts, answers.
bool print_dns_response(Text& t, Bytes m, const DnsHeader& h) {
    Out& o = t.o;
    static constexpr const char* kRcodes[16] = {"",         " FormErr", " ServFail", " NXDomain",
                                                " NotImp",  " Refused", " YXDomain", " YXRRSet",
                                                " NXRRSet", " NotAuth", " NotZone",  " Resp11",
                                                " Resp12",  " Resp13",  " Resp14",   " NoChange"};
    put(o, kRcodes[h.flags & 0xf]);
    if (h.flags & 0x0400) put(o, '*');
    if (!(h.flags & 0x0080)) put(o, '-');
    if (h.flags & 0x0200) put(o, '|');
    if (h.qd != 1) {
        put(o, " [");
        put_uint(o, h.qd);
        put(o, "q]");
    }
    std::size_t at = 12;
    for (unsigned i = 0; i < h.qd; ++i) {
        at = skip_dns_name(m, at);
        if (at == 0) return t.trunc("domain", true);
        at += 4;  // type and class: tcpdump skips them unread
    }
    put(o, ' ');
    put_uint(o, h.an);
    put(o, '/');
    put_uint(o, h.ns);
    put(o, '/');
    put_uint(o, h.ar);
    return print_dns_answers(t, m, at, h.an);
}

// "+ [1au] AAAA? www.example.test.": flags, counts, questions.
bool print_dns_query(Text& t, Bytes m, const DnsHeader& h) {
    Out& o = t.o;
    if (h.flags & 0x0100) put(o, '+');
    if (h.flags & 0x0010) put(o, '%');
    if (h.flags & 0x06cf) {
        put(o, " [b2&3=0x");
        put_hex(o, h.flags);
        put(o, ']');
    }
    // tcpdump's order: answers, questions (when not one), authority, additional.
    const struct {
        std::uint16_t n;
        const char* what;
        bool shown;
    } counts[] = {{h.an, "a]", h.an != 0},
                  {h.qd, "q]", h.qd != 1},
                  {h.ns, "n]", h.ns != 0},
                  {h.ar, "au]", h.ar != 0}};
    for (const auto& c : counts)
        if (c.shown) {
            put(o, " [");
            put_uint(o, c.n);
            put(o, c.what);
        }
    std::size_t at = 12;
    for (unsigned i = 0; i < h.qd; ++i) {
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
    return true;
}

}  // namespace

bool print_dns(Text& t, Bytes m, std::uint32_t length) {
    m = m.first(length);
    if (!m.has(0, 12)) return t.trunc("domain", true);
    Out& o = t.o;
    const DnsHeader h{
        .flags = m.be16(2), .qd = m.be16(4), .an = m.be16(6), .ns = m.be16(8), .ar = m.be16(10)};
    static constexpr const char* kOps[16] = {"",         " iquery",   " status",   " op3",
                                             " notify",  " update",   " op6",      " op7",
                                             " op8",     " updateA",  " updateD",  " updateDA",
                                             " updateM", " updateMA", " zoneInit", " zoneRef"};
    put_uint(o, m.be16(0));  // id
    put(o, kOps[h.flags >> 11 & 0xf]);
    if (!((h.flags & 0x8000) ? print_dns_response(t, m, h) : print_dns_query(t, m, h)))
        return false;
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
        put_safe_char(t.o, c);
    }
}

}  // namespace ringcap::detail

namespace ringcap {

void append_dns_name(std::span<const std::uint8_t> message, std::size_t at,
                     fmt::memory_buffer& out) {
    static const DecodeOptions kDefaults{};
    detail::Text t{out, kDefaults, nullptr};
    detail::put_dns_name(t, detail::Bytes{message.data(), message.size()}, at);
}

}  // namespace ringcap
