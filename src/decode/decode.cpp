// The decoder: a parse of the captured bytes into a Layers record (every read bounds-checked),
// then two renderings of it, tcpdump's line and JSON.
#include <arpa/inet.h>
#include <linux/if_packet.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <iterator>

#include <ringcap/decode.hpp>

namespace ringcap {
namespace {

using Out = fmt::memory_buffer;

template <class... A>
void put(Out& out, fmt::format_string<A...> f, A&&... a) {
    fmt::format_to(std::back_inserter(out), f, std::forward<A>(a)...);
}
void put(Out& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

// Bounds-checked big-endian reads over the captured bytes.
struct Bytes {
    const std::uint8_t* p = nullptr;
    std::size_t n = 0;
    bool has(std::size_t off, std::size_t len) const noexcept { return off <= n && len <= n - off; }
    std::uint8_t u8(std::size_t o) const noexcept { return has(o, 1) ? p[o] : 0; }
    std::uint16_t u16(std::size_t o) const noexcept {
        return has(o, 2) ? static_cast<std::uint16_t>(p[o] << 8 | p[o + 1]) : 0;
    }
    std::uint32_t u32(std::size_t o) const noexcept {
        return has(o, 4) ? std::uint32_t(p[o]) << 24 | std::uint32_t(p[o + 1]) << 16 |
                               std::uint32_t(p[o + 2]) << 8 | p[o + 3]
                         : 0;
    }
    Bytes from(std::size_t o) const noexcept { return o <= n ? Bytes{p + o, n - o} : Bytes{p + n, 0}; }
};

void mac(Out& out, const std::uint8_t* m) {
    put(out, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

struct Address {
    int family = 0;  // 4 or 6
    std::uint8_t bytes[16] = {};
};

void address(Out& out, const Address& a) {
    char text[INET6_ADDRSTRLEN];
    if (a.family == 4)
        put(out, "{}.{}.{}.{}", a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
    else if (::inet_ntop(AF_INET6, a.bytes, text, sizeof text))
        put(out, std::string_view(text));
}

const char* ethertype_name(std::uint16_t t) {
    switch (t) {
        case 0x0800: return "IPv4";
        case 0x86dd: return "IPv6";
        case 0x0806: return "ARP";
        case 0x8100: return "802.1Q";
        case 0x88a8: return "802.1Q-QinQ";
        case 0x9100: return "802.1Q-9100";
        case 0x8035: return "Reverse ARP";
        case 0x88cc: return "LLDP";
        case 0x8847: return "MPLS unicast";
        case 0x888e: return "EAPOL";
        default: return nullptr;
    }
}

const char* ip_proto_name(std::uint8_t p) {
    switch (p) {
        case 1: return "ICMP";
        case 2: return "IGMP";
        case 6: return "TCP";
        case 17: return "UDP";
        case 41: return "IPv6";
        case 47: return "GRE";
        case 50: return "ESP";
        case 58: return "ICMPv6";
        case 132: return "SCTP";
        default: return nullptr;
    }
}

const char* dns_type_name(std::uint16_t t) {
    switch (t) {
        case 1: return "A";
        case 2: return "NS";
        case 5: return "CNAME";
        case 6: return "SOA";
        case 12: return "PTR";
        case 15: return "MX";
        case 16: return "TXT";
        case 28: return "AAAA";
        case 33: return "SRV";
        case 41: return "OPT";
        case 65: return "HTTPS";
        case 255: return "ANY";
        default: return nullptr;
    }
}

const char* dns_rcode_name(unsigned r) {
    static const char* const names[] = {"", " FormErr", " ServFail", " NXDomain", " NotImp",
                                        " Refused", " YXDomain", " YXRRSet", " NXRRSet",
                                        " NotAuth", " NotZone"};
    return r < std::size(names) ? names[r] : " Resp?";
}

// A byte of a DNS name or text: printable from `lowest` to '~', else \ooo as tcpdump escapes.
void escaped(Out& out, std::uint8_t ch, std::uint8_t lowest) {
    if (ch >= lowest && ch <= 0x7e)
        out.push_back(static_cast<char>(ch));
    else
        put(out, "\\{:03o}", ch);
}

// A DNS name at `off` (following compression pointers, at most 64 jumps and 255 bytes out) as
// tcpdump prints it: labels with dots, a final dot, "." for the root. Returns the offset after
// the name where it was found, or 0 if it runs out of the message.
std::size_t dns_name(const Bytes& m, std::size_t off, Out& out) {
    std::size_t end = 0, printed = 0;
    bool any = false;
    for (int jumps = 0; jumps < 64;) {
        if (!m.has(off, 1)) return 0;
        const std::uint8_t len = m.u8(off);
        if (len == 0) {
            if (!any) put(out, ".");
            return end ? end : off + 1;
        }
        if ((len & 0xc0) == 0xc0) {
            if (!m.has(off, 2)) return 0;
            if (!end) end = off + 2;
            off = (m.u16(off) & 0x3fff);
            ++jumps;
            continue;
        }
        if (len & 0xc0 || !m.has(off + 1, len)) return 0;
        for (std::size_t i = 0; i < len && printed < 255; ++i, ++printed)
            escaped(out, m.u8(off + 1 + i), 0x21);
        out.push_back('.');
        any = true;
        off += 1 + len;
    }
    return 0;
}

// tcpdump's DNS summary: "ID+ [1au] A? name. (len)" or "ID* q/n/a A 1.2.3.4, ... (len)".
void dns(const Bytes& m, std::size_t length, Out& out) {
    if (!m.has(0, 12)) {
        put(out, " [|domain]");
        return;
    }
    const std::uint16_t id = m.u16(0), flags = m.u16(2);
    const unsigned qd = m.u16(4), an = m.u16(6), ns = m.u16(8), ar = m.u16(10);
    const bool response = flags & 0x8000;
    const unsigned opcode = (flags >> 11) & 0xf, rcode = flags & 0xf;
    static const char* const ops[] = {"", " inv_q", " stat", " op3", " notify", " update",
                                      " op6", " op7", " op8", " updateA", " updateD",
                                      " updateDA", " updateM", " updateMA", " zoneInit",
                                      " zoneRef"};
    put(out, " {}{}", id, ops[opcode]);
    if (response) {
        put(out, std::string_view(dns_rcode_name(rcode)));
        if (flags & 0x0400) out.push_back('*');     // authoritative
        if (!(flags & 0x0080)) out.push_back('-');  // recursion not available
        if (flags & 0x0200) out.push_back('|');     // truncated
        if (flags & 0x0020) out.push_back('$');     // authentic data
        if (qd != 1) put(out, " [{}q]", qd);
        put(out, " {}/{}/{}", an, ns, ar);
        std::size_t off = 12;
        Out scratch;
        for (unsigned i = 0; i < qd && off; ++i) {  // skip the questions
            scratch.clear();
            off = dns_name(m, off, scratch);
            if (off) off += 4;
        }
        for (unsigned i = 0; i < an && off; ++i) {
            put(out, i ? "," : "");
            scratch.clear();
            const std::size_t after = dns_name(m, off, scratch);
            if (!after || !m.has(after, 10)) {
                put(out, " [|domain]");
                return;
            }
            const std::uint16_t type = m.u16(after), rdlen = m.u16(after + 8);
            const std::size_t rd = after + 10;
            if (!m.has(rd, rdlen)) {
                put(out, " [|domain]");
                return;
            }
            const char* tn = dns_type_name(type);
            if (tn)
                put(out, " {}", tn);
            else
                put(out, " Type{}", type);
            if (type == 1 && rdlen == 4) {
                Address a{4};
                std::memcpy(a.bytes, m.p + rd, 4);
                out.push_back(' ');
                address(out, a);
            } else if (type == 28 && rdlen == 16) {
                Address a{6};
                std::memcpy(a.bytes, m.p + rd, 16);
                out.push_back(' ');
                address(out, a);
            } else if (type == 5 || type == 2 || type == 12) {
                out.push_back(' ');
                dns_name(m, rd, out);
            } else if (type == 15 && rdlen >= 3) {
                out.push_back(' ');
                dns_name(m, rd + 2, out);
                put(out, " {}", m.u16(rd));
            } else if (type == 16) {
                for (std::size_t p = rd; p < rd + rdlen;) {
                    const std::uint8_t l = m.u8(p);
                    put(out, " \"");
                    for (std::size_t k = 0; k < l && p + 1 + k < rd + rdlen; ++k)
                        escaped(out, m.u8(p + 1 + k), 0x20);
                    out.push_back('"');
                    p += 1 + l;
                }
            }
            off = rd + rdlen;
        }
    } else {
        if (flags & 0x0100) out.push_back('+');  // recursion desired
        if (flags & 0x0010) out.push_back('%');  // checking disabled
        if (flags & 0x06cf) put(out, " [b2&3=0x{:x}]", flags);  // bits a query should not set
        if (opcode == 1) {  // inverse query
            if (qd) put(out, " [{}q]", qd);
            if (an != 1) put(out, " [{}a]", an);
        } else {
            if (an) put(out, " [{}a]", an);
            if (qd != 1) put(out, " [{}q]", qd);
        }
        if (ns) put(out, " [{}n]", ns);
        if (ar) put(out, " [{}au]", ar);
        std::size_t off = 12;
        for (unsigned i = 0; i < qd && off; ++i) {
            out.push_back(' ');
            Out name;
            const std::size_t after = dns_name(m, off, name);
            if (!after || !m.has(after, 4)) {
                put(out, "[|domain]");
                return;
            }
            const std::uint16_t type = m.u16(after);
            const char* tn = dns_type_name(type);
            if (tn)
                put(out, "{}? ", tn);
            else
                put(out, "Type{}? ", type);
            out.append(name.data(), name.data() + name.size());
            off = after + 4;
        }
    }
    put(out, " ({})", length);
}

const char* icmp6_type_name(std::uint8_t t) {
    switch (t) {
        case 1: return "destination unreachable";
        case 2: return "packet too big";
        case 3: return "time exceeded in-transit";
        case 128: return "echo request";
        case 129: return "echo reply";
        case 133: return "router solicitation";
        case 134: return "router advertisement";
        case 135: return "neighbor solicitation";
        case 136: return "neighbor advertisement";
        case 143: return "multicast listener report v2";
        default: return nullptr;
    }
}

// "Flags [S.]" letters, in tcpdump's order.
void tcp_flags(std::uint8_t f, Out& out) {
    if (f & 0x02) out.push_back('S');
    if (f & 0x01) out.push_back('F');
    if (f & 0x04) out.push_back('R');
    if (f & 0x08) out.push_back('P');
    if (f & 0x20) out.push_back('U');
    if (f & 0x40) out.push_back('E');
    if (f & 0x80) out.push_back('W');
    if (f & 0x10) out.push_back('.');
    if (f == 0) put(out, "none");
}

bool is_http_start(std::string_view line) {
    static constexpr std::string_view methods[] = {"GET ", "PUT ", "POST ", "HEAD ", "DELETE ",
                                                   "OPTIONS ", "TRACE ", "CONNECT ", "PATCH ",
                                                   "HTTP/1."};
    for (std::string_view m : methods)
        if (line.substr(0, m.size()) == m) return true;
    return false;
}

}  // namespace

Decoder::Decoder(DecodeOptions options)
    : options_(options), conversations_(new Conversation[kConversations]) {}

void Decoder::timestamp(std::int64_t ts, Out& out) {
    const bool nano = options_.nanoseconds;
    const auto frac = [&](std::int64_t ns) { return nano ? ns : ns / 1000; };
    const int width = nano ? 9 : 6;
    const auto clock_of = [&](std::int64_t t, bool with_date) {
        const std::time_t sec = static_cast<std::time_t>(t / 1'000'000'000 - (t % 1'000'000'000 < 0));
        std::int64_t ns = t % 1'000'000'000;
        if (ns < 0) ns += 1'000'000'000;
        std::tm tm{};
        ::localtime_r(&sec, &tm);
        if (with_date)
            put(out, "{:04}-{:02}-{:02} ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        put(out, "{:02}:{:02}:{:02}.{:0{}} ", tm.tm_hour, tm.tm_min, tm.tm_sec, frac(ns), width);
    };
    const auto delta = [&](std::int64_t d) {
        out.push_back(d < 0 ? '-' : ' ');
        d = d < 0 ? -d : d;
        const std::int64_t s = d / 1'000'000'000;
        put(out, "{:02}:{:02}:{:02}.{:0{}} ", s / 3600, s / 60 % 60, s % 60,
            frac(d % 1'000'000'000), width);
    };
    if (first_ts_ < 0) first_ts_ = ts;
    switch (options_.timestamps) {
        case TimestampFormat::none: break;
        case TimestampFormat::epoch:
            put(out, "{}.{:0{}} ", ts / 1'000'000'000, frac(ts % 1'000'000'000), width);
            break;
        case TimestampFormat::delta: delta(previous_ts_ < 0 ? 0 : ts - previous_ts_); break;
        case TimestampFormat::since_first: delta(ts - first_ts_); break;
        case TimestampFormat::date: clock_of(ts, true); break;
        case TimestampFormat::clock: clock_of(ts, false); break;
    }
    previous_ts_ = ts;
}

// The parse and the text rendering go together here: each layer prints itself as tcpdump does
// and hands the rest of the bytes to the next. `Ctx` carries what later layers need.
namespace {

struct Ctx {
    const DecodeOptions& o;
    Out& out;
    Decoder::Conversation* conversations;
    std::size_t conversation_count;
};

void ip_payload(Ctx& c, std::uint8_t proto, Bytes b, std::size_t length, const Address& src,
                const Address& dst, bool addresses_printed, bool later_fragment);

void ports_prefix(Ctx& c, const Address& src, const Address& dst, std::uint16_t sp,
                  std::uint16_t dp, bool with_addresses) {
    if (with_addresses) {
        address(c.out, src);
        put(c.out, ".{} > ", sp);
        address(c.out, dst);
        put(c.out, ".{}: ", dp);
    } else {
        put(c.out, "{} > {}: ", sp, dp);
    }
}

void udp(Ctx& c, Bytes b, const Address& src, const Address& dst, bool addresses) {
    if (!b.has(0, 8)) {
        if (addresses) {
            address(c.out, src);
            put(c.out, " > ");
            address(c.out, dst);
            put(c.out, ": ");
        }
        put(c.out, "[|udp]");
        return;
    }
    const std::uint16_t sp = b.u16(0), dp = b.u16(2), ulen = b.u16(4);
    ports_prefix(c, src, dst, sp, dp, addresses);
    const std::size_t payload = ulen >= 8 ? ulen - 8u : 0;
    if (!c.o.quick && (sp == 53 || dp == 53) && ulen >= 8) {
        c.out.resize(c.out.size() - 1);  // tcpdump: "port: ID..." (one space, from dns())
        dns(b.from(8), payload, c.out);
        return;
    }
    put(c.out, "UDP, length {}", payload);
}

void tcp(Ctx& c, Bytes b, std::size_t length, const Address& src, const Address& dst) {
    if (!b.has(0, 20)) {
        address(c.out, src);
        put(c.out, " > ");
        address(c.out, dst);
        put(c.out, ": [|tcp]");
        return;
    }
    const std::uint16_t sp = b.u16(0), dp = b.u16(2);
    std::uint32_t seq = b.u32(4), ack = b.u32(8);
    const std::size_t hlen = (b.u8(12) >> 4) * 4u;
    const std::uint8_t flags = b.u8(13);
    const std::uint16_t win = b.u16(14), urg = b.u16(18);
    ports_prefix(c, src, dst, sp, dp, true);
    if (hlen < 20 || hlen > length) {
        put(c.out, "[bad hdr length {} - too {}]", hlen, hlen < 20 ? "short, < 20" : "long");
        return;
    }
    const std::size_t payload = length - hlen;
    if (c.o.quick) {
        put(c.out, "tcp {}", payload);
        return;
    }
    // Relative sequence numbers, tcpdump's way (print-tcp.c): one entry per conversation,
    // ordered so that both directions find it.
    if (flags & 0x10) {
        const std::size_t alen = src.family == 4 ? 4 : 16;
        const int cmp = std::memcmp(src.bytes, dst.bytes, alen);
        const bool rev = sp > dp || (sp == dp && cmp > 0);
        Decoder::Conversation key;
        std::memcpy(key.addresses.data(), (rev ? dst : src).bytes, alen);
        std::memcpy(key.addresses.data() + 16, (rev ? src : dst).bytes, alen);
        key.ports = rev ? std::uint32_t(dp) << 16 | sp : std::uint32_t(sp) << 16 | dp;
        std::size_t h = key.ports;
        for (std::uint8_t x : key.addresses) h = h * 31 + x;
        Decoder::Conversation* slot = nullptr;
        for (std::size_t i = 0; i < 8; ++i) {  // short linear probe; then reuse
            Decoder::Conversation& s = c.conversations[(h + i) % c.conversation_count];
            if (!s.used || (s.ports == key.ports && s.addresses == key.addresses)) {
                slot = &s;
                break;
            }
        }
        if (!slot) slot = &c.conversations[h % c.conversation_count];
        const bool known = slot->used && slot->ports == key.ports && slot->addresses == key.addresses;
        if (!known || (flags & 0x02)) {
            *slot = key;
            slot->used = true;
            if (rev)
                slot->ack = seq, slot->seq = ack - 1;
            else
                slot->seq = seq, slot->ack = ack - 1;
        } else if (rev) {
            seq -= slot->ack, ack -= slot->seq;
        } else {
            seq -= slot->seq, ack -= slot->ack;
        }
    }
    put(c.out, "Flags [");
    tcp_flags(flags, c.out);
    put(c.out, "]");
    if (payload > 0 || (flags & 0x07))
        payload > 0 ? put(c.out, ", seq {}:{}", seq, std::uint32_t(seq + payload)) : put(c.out, ", seq {}", seq);
    if (flags & 0x10) put(c.out, ", ack {}", ack);
    put(c.out, ", win {}", win);
    if (flags & 0x20) put(c.out, ", urg {}", urg);
    if (hlen > 20) {
        put(c.out, ", options [");
        const Bytes opt{b.p + 20, b.has(20, hlen - 20) ? hlen - 20 : (b.n > 20 ? b.n - 20 : 0)};
        bool truncated = !b.has(20, hlen - 20);
        for (std::size_t i = 0; i < opt.n;) {
            if (i) c.out.push_back(',');
            const std::uint8_t kind = opt.u8(i);
            if (kind == 0) {
                put(c.out, "eol");
                break;
            }
            if (kind == 1) {
                put(c.out, "nop");
                ++i;
                continue;
            }
            const std::uint8_t len = opt.u8(i + 1);
            if (len < 2 || !opt.has(i, len)) {
                put(c.out, "bad opt");
                break;
            }
            switch (kind) {
                case 2: put(c.out, "mss {}", opt.u16(i + 2)); break;
                case 3: put(c.out, "wscale {}", opt.u8(i + 2)); break;
                case 4: put(c.out, "sackOK"); break;
                case 5:
                    put(c.out, "sack {} ", (len - 2) / 8);
                    for (std::size_t k = i + 2; k + 8 <= i + len; k += 8)
                        put(c.out, "{{{}:{}}}", opt.u32(k), opt.u32(k + 4));
                    break;
                case 8: put(c.out, "TS val {} ecr {}", opt.u32(i + 2), opt.u32(i + 6)); break;
                default: put(c.out, "unknown-{}", kind); break;
            }
            i += len;
        }
        if (truncated) put(c.out, "[|tcp]");
        put(c.out, "]");
    }
    put(c.out, ", length {}", payload);
    if (payload == 0) return;
    const Bytes data = b.from(hlen);
    if (sp == 80 || dp == 80 || sp == 8080 || dp == 8080) {
        const std::size_t n = std::min(data.n, payload);
        std::string_view text(reinterpret_cast<const char*>(data.p), n);
        const std::size_t eol = text.find("\r\n");
        std::string_view line = text.substr(0, eol == std::string_view::npos ? n : eol);
        if (eol != std::string_view::npos && is_http_start(line)) {
            put(c.out, ": HTTP: ");
            put(c.out, line);
        } else {
            put(c.out, ": HTTP");
        }
    } else if ((sp == 53 || dp == 53) && data.has(0, 2)) {
        dns(data.from(2), data.u16(0), c.out);
    }
}

void icmp(Ctx& c, Bytes b, std::size_t length) {
    if (!b.has(0, 8)) {
        put(c.out, "[|icmp]");
        return;
    }
    const std::uint8_t type = b.u8(0), code = b.u8(1);
    switch (type) {
        case 0:
        case 8:
            put(c.out, "ICMP echo {}, id {}, seq {}, length {}", type ? "request" : "reply",
                b.u16(4), b.u16(6), length);
            return;
        case 3: {
            const Bytes inner = b.from(8);
            if (code == 3 && inner.has(0, 20)) {
                const std::size_t ihl = (inner.u8(0) & 0xf) * 4u;
                Address d{4};
                std::memcpy(d.bytes, inner.p + 16, 4);
                put(c.out, "ICMP ");
                address(c.out, d);
                const std::uint8_t p = inner.u8(9);
                put(c.out, " {} port {} unreachable, length {}", p == 6 ? "tcp" : p == 17 ? "udp" : "proto",
                    inner.u16(ihl + 2), length);
                return;
            }
            put(c.out, "ICMP unreachable code {}, length {}", code, length);
            return;
        }
        case 11: put(c.out, "ICMP time exceeded in-transit, length {}", length); return;
        default: put(c.out, "ICMP type-#{}, length {}", type, length); return;
    }
}

void icmp6(Ctx& c, Bytes b, std::size_t length) {
    if (!b.has(0, 4)) {
        put(c.out, "ICMP6, [|icmp6]");
        return;
    }
    const std::uint8_t type = b.u8(0), code = b.u8(1);
    const char* name = icmp6_type_name(type);
    put(c.out, "ICMP6, ");
    if (!name) {
        put(c.out, "type-#{}, length {}", type, length);
        return;
    }
    put(c.out, std::string_view(name));
    const auto target = [&](std::size_t off) {
        if (!b.has(off, 16)) return;
        Address a{6};
        std::memcpy(a.bytes, b.p + off, 16);
        address(c.out, a);
    };
    switch (type) {
        case 128:
        case 129: put(c.out, ", id {}, seq {}", b.u16(4), b.u16(6)); break;
        case 135: put(c.out, ", who has "); target(8); break;
        case 136: put(c.out, ", tgt is "); target(8); break;
        case 143: put(c.out, ", {} group record(s)", b.u16(6)); break;
        case 1:
            if (code == 4 && b.has(8, 40)) {
                put(c.out, ", unreachable port, ");
                Address d{6};
                std::memcpy(d.bytes, b.p + 8 + 24, 16);
                address(c.out, d);
                const std::uint8_t nh = b.u8(8 + 6);
                put(c.out, " {} port {}", nh == 17 ? "udp" : nh == 6 ? "tcp" : "proto", b.u16(8 + 40 + 2));
            }
            break;
        default: break;
    }
    put(c.out, ", length {}", length);
}

void ip_payload(Ctx& c, std::uint8_t proto, Bytes b, std::size_t length, const Address& src,
                const Address& dst, bool addresses, bool later_fragment) {
    if (later_fragment) {
        const char* n = ip_proto_name(proto);
        if (addresses) {
            address(c.out, src);
            put(c.out, " > ");
            address(c.out, dst);
            put(c.out, ": ");
        }
        if (src.family == 4)
            put(c.out, "ip-proto-{}", proto);
        else if (n)
            put(c.out, "{}", n);
        return;
    }
    if (proto == 6) return tcp(c, b, length, src, dst);
    if (proto == 17) return udp(c, b, src, dst, addresses);
    if (addresses) {
        address(c.out, src);
        put(c.out, " > ");
        address(c.out, dst);
        put(c.out, ": ");
    }
    if (proto == 1) return icmp(c, b, length);
    if (proto == 58) return icmp6(c, b, length);
    const char* n = ip_proto_name(proto);
    if (n && proto != 132)
        put(c.out, "{}", n);
    else
        put(c.out, "ip-proto-{} {}", proto, length);
}

void ipv4(Ctx& c, Bytes b, std::size_t remaining) {
    put(c.out, "IP ");
    if (!b.has(0, 20)) {
        put(c.out, "[|ip]");
        return;
    }
    const std::size_t ihl = (b.u8(0) & 0xf) * 4u;
    const std::size_t total = b.u16(2);
    const std::uint16_t frag = b.u16(6);
    const std::uint8_t proto = b.u8(9);
    Address src{4}, dst{4};
    std::memcpy(src.bytes, b.p + 12, 4);
    std::memcpy(dst.bytes, b.p + 16, 4);
    if (c.o.verbose) {
        const char* pn = ip_proto_name(proto);
        put(c.out, "(tos 0x{:x}, ttl {}, id {}, offset {}, flags [{}], proto {} ({}), length {})\n    ",
            b.u8(1), b.u8(8), b.u16(4), (frag & 0x1fff) * 8,
            (frag & 0x4000) ? "DF" : (frag & 0x2000) ? "+" : "none", pn ? pn : "unknown", proto,
            total);
    }
    if (ihl < 20 || total < ihl) {
        put(c.out, "[bad ip header]");
        return;
    }
    const std::size_t length = std::min(total, remaining) - ihl;
    ip_payload(c, proto, b.from(ihl), length, src, dst, true, (frag & 0x1fff) != 0);
}

void ipv6(Ctx& c, Bytes b) {
    put(c.out, "IP6 ");
    if (!b.has(0, 40)) {
        put(c.out, "[|ip6]");
        return;
    }
    Address src{6}, dst{6};
    std::memcpy(src.bytes, b.p + 8, 16);
    std::memcpy(dst.bytes, b.p + 24, 16);
    std::size_t length = b.u16(4);
    std::uint8_t next = b.u8(6);
    if (c.o.verbose) {
        const std::uint32_t flow = b.u32(0) & 0xfffff;
        put(c.out, "(");
        if (flow) put(c.out, "flowlabel 0x{:05x}, ", flow);
        put(c.out, "hlim {}, next-header {} ({}) payload length: {}) ", b.u8(7),
            next == 0 ? "Options" : next == 43 ? "Routing" : next == 44 ? "Fragment"
            : next == 60 ? "DSTOPT" : ip_proto_name(next) ? ip_proto_name(next) : "unknown",
            next, length);
    }
    Bytes rest = b.from(40);
    bool printed = false;
    const auto addresses = [&] {
        if (printed) return;
        address(c.out, src);
        put(c.out, " > ");
        address(c.out, dst);
        put(c.out, ": ");
        printed = true;
    };
    for (int hops = 0; hops < 8; ++hops) {
        if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
            addresses();
            put(c.out, next == 0 ? "HBH " : next == 43 ? "srcrt " : "DSTOPT ");
            if (!rest.has(0, 8)) {
                put(c.out, "[|ip6]");
                return;
            }
            const std::size_t n = (rest.u8(1) + 1u) * 8;
            next = rest.u8(0);
            rest = rest.from(n);
            length = length >= n ? length - n : 0;
            continue;
        }
        if (next == 44) {  // fragment
            addresses();
            if (!rest.has(0, 8)) {
                put(c.out, "[|frag]");
                return;
            }
            const std::size_t off = rest.u16(2) & 0xfff8;
            put(c.out, "frag ({}|{})", off, length >= 8 ? length - 8 : 0);
            next = rest.u8(0);
            rest = rest.from(8);
            length = length >= 8 ? length - 8 : 0;
            if (off != 0) return;  // later fragments: only the fragment header is shown
            c.out.push_back(' ');
            break;
        }
        break;
    }
    ip_payload(c, next, rest, length, src, dst, !printed, false);
}

void arp(Ctx& c, Bytes b, std::size_t length) {
    put(c.out, "ARP, ");
    if (!b.has(0, 8)) {
        put(c.out, "[|arp]");
        return;
    }
    const std::uint8_t hl = b.u8(4), pl = b.u8(5);
    const std::uint16_t op = b.u16(6);
    if (b.u16(0) != 1 || b.u16(2) != 0x0800 || hl != 6 || pl != 4 || !b.has(8, 20)) {
        put(c.out, "hardware type {}, protocol 0x{:04x}, length {}", b.u16(0), b.u16(2), length);
        return;
    }
    if (c.o.verbose) put(c.out, "Ethernet (len 6), IPv4 (len 4), ");
    Address spa{4}, tpa{4};
    std::memcpy(spa.bytes, b.p + 14, 4);
    std::memcpy(tpa.bytes, b.p + 24, 4);
    if (op == 1) {
        put(c.out, "Request who-has ");
        address(c.out, tpa);
        put(c.out, " tell ");
        address(c.out, spa);
    } else if (op == 2) {
        put(c.out, "Reply ");
        address(c.out, spa);
        put(c.out, " is-at ");
        mac(c.out, b.p + 8);
    } else {
        put(c.out, "op {}", op);
    }
    put(c.out, ", length {}", length);
}

void network(Ctx& c, std::uint16_t type, Bytes b, std::size_t remaining) {
    switch (type) {
        case 0x0800: return ipv4(c, b, remaining);
        case 0x86dd: return ipv6(c, b);
        case 0x0806: return arp(c, b, remaining);
        default: {
            const char* n = ethertype_name(type);
            if (n)
                put(c.out, "{}, length {}", n, remaining);
            else
                put(c.out, "ethertype Unknown (0x{:04x}), length {}", type, remaining);
        }
    }
}

void hex_dump(const DecodeOptions& o, Bytes all, std::size_t link_len, Out& out);

// With -e the link header already named the protocol: tcpdump then drops the "IP "/"IP6 "/
// "ARP, " word that starts the network layer's text.
void drop_protocol_word(Out& out, std::size_t mark) {
    const std::string_view s(out.data() + mark, out.size() - mark);
    for (std::string_view word : {std::string_view("IP6 "), std::string_view("IP "),
                                  std::string_view("ARP, ")})
        if (s.substr(0, word.size()) == word) {
            std::memmove(out.data() + mark, out.data() + mark + word.size(), s.size() - word.size());
            out.resize(out.size() - word.size());
            return;
        }
}

// Returns the link header's length, VLAN tags included.
std::size_t ethernet(Ctx& c, Bytes b, std::size_t wire) {
    if (!b.has(0, 14)) {
        put(c.out, "[|ether]");
        return b.n;
    }
    std::uint16_t type = b.u16(12);
    std::size_t off = 14;
    // tcpdump shows what it cannot decode with its link header and a hex dump, -e or not.
    std::uint16_t inner = type;
    for (std::size_t o = 14; (inner == 0x8100 || inner == 0x88a8 || inner == 0x9100) && b.has(o, 4); o += 4)
        inner = b.u16(o + 2);
    const bool undecoded = inner != 0x0800 && inner != 0x86dd && inner != 0x0806;
    if (c.o.link_header || undecoded) {
        mac(c.out, b.p + 6);
        put(c.out, " > ");
        mac(c.out, b.p);
        const char* n = ethertype_name(type);
        if (c.o.quick && !n)
            put(c.out, ", Unknown Ethertype (0x{:04x}), length {}: ", type, wire);
        else
            put(c.out, ", ethertype {} (0x{:04x}), length {}: ", n ? n : "Unknown", type, wire);
    }
    for (int tags = 0; (type == 0x8100 || type == 0x88a8 || type == 0x9100) && tags < 8; ++tags) {
        if (!b.has(off, 4)) {
            put(c.out, "[|vlan]");
            return b.n;
        }
        const std::uint16_t tci = b.u16(off);
        type = b.u16(off + 2);
        if (c.o.link_header || undecoded) {
            const char* n = ethertype_name(type);
            put(c.out, "vlan {}, p {}, {}ethertype {} (0x{:04x}), ", tci & 0xfff, tci >> 13,
                (tci & 0x1000) ? "DEI, " : "", n ? n : "Unknown", type);
        }
        off += 4;
    }
    if (undecoded) {
        // "length N: " (the space stays, as in tcpdump) then the bytes
        DecodeOptions hex = c.o;
        hex.hex = HexDump::payload_ascii;
        if (c.o.hex == HexDump::none && !c.o.quick) hex_dump(hex, b, off, c.out);
        return off;
    }
    const std::size_t mark = c.out.size();
    network(c, type, b.from(off), wire > off ? wire - off : 0);
    if (c.o.link_header) drop_protocol_word(c.out, mark);
    return off;
}

void hex_dump(const DecodeOptions& o, Bytes all, std::size_t link_len, Out& out) {
    const bool with_link = o.hex == HexDump::all || o.hex == HexDump::all_ascii;
    const bool ascii = o.hex == HexDump::payload_ascii || o.hex == HexDump::all_ascii;
    const Bytes b = with_link ? all : all.from(link_len);
    for (std::size_t line = 0; line < b.n; line += 16) {
        put(out, "\n\t0x{:04x}:  ", line);
        const std::size_t n = std::min<std::size_t>(16, b.n - line);
        for (std::size_t i = 0; i < 16; ++i) {
            if (i < n)
                put(out, "{:02x}", b.p[line + i]);
            else if (ascii)
                put(out, "  ");
            if (i % 2 == 1 && (i + 1 < n || (ascii && i < 15))) out.push_back(' ');
        }
        if (ascii) {
            put(out, "  ");
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint8_t ch = b.p[line + i];
                out.push_back(ch > 0x20 && ch < 0x7f ? static_cast<char>(ch) : '.');  // as tcpdump
            }
        }
    }
}

}  // namespace

void Decoder::summarize(const PacketView& p, LinkType link, std::string_view interface, Out& out) {
    timestamp(p.ts_ns(), out);
    Ctx c{options_, out, conversations_.get(), kConversations};
    const Bytes b{reinterpret_cast<const std::uint8_t*>(p.data()), p.caplen()};
    std::size_t link_len = 0;
    switch (static_cast<std::uint32_t>(link)) {
        case 1:
            link_len = ethernet(c, b, p.wire_len());
            break;
        case 276: {  // LINUX_SLL2: protocol, reserved, ifindex, hatype, pkttype, addrlen, addr
            link_len = 20;
            if (!b.has(0, 20)) {
                put(out, "[|sll2]");
                break;
            }
            const std::uint8_t type = b.u8(10);
            static const char* const dirs[] = {"In ", "B  ", "M  ", "P  ", "Out"};
            put(out, "{:<5} {} ", interface, type < 5 ? dirs[type] : "?  ");
            const std::uint16_t proto = b.u16(0);
            // ringcap keeps the VLAN tag in cooked captures (libpcap drops it): look past it.
            std::uint16_t ethertype = proto;
            std::size_t off = 20;
            for (int tags = 0; (ethertype == 0x8100 || ethertype == 0x88a8) && b.has(off, 4) && tags < 8; ++tags) {
                ethertype = b.u16(off + 2);
                off += 4;
            }
            // What tcpdump cannot decode it shows with the -e header and a hex dump.
            const bool undecoded = ethertype != 0x0800 && ethertype != 0x86dd && ethertype != 0x0806;
            if (options_.link_header || undecoded) {
                put(out, "ifindex {} ", b.u32(4));
                const std::uint8_t alen = std::min<std::uint8_t>(b.u8(11), 8);
                for (std::uint8_t i = 0; i < alen; ++i) {
                    if (i) out.push_back(':');
                    put(out, "{:02x}", b.u8(12 + i));
                }
                const char* n = ethertype_name(proto);
                put(out, " ethertype {} (0x{:04x}), length {}: ", n ? n : "Unknown", proto, p.wire_len());
                for (std::size_t t = 20; t < off && options_.link_header; t += 4) {
                    const char* inner = ethertype_name(b.u16(t + 2));
                    put(out, "vlan {}, p {}, ethertype {} (0x{:04x}), ", b.u16(t) & 0xfff,
                        b.u16(t) >> 13, inner ? inner : "Unknown", b.u16(t + 2));
                }
            }
            if (undecoded) {
                link_len = off;
                if (options_.hex == HexDump::none && !options_.quick) {
                    DecodeOptions hex = options_;
                    hex.hex = HexDump::payload_ascii;
                    hex_dump(hex, b, off, out);
                }
                break;
            }
            const std::size_t mark = out.size();
            network(c, ethertype, b.from(off), p.wire_len() > off ? p.wire_len() - off : 0);
            if (options_.link_header) drop_protocol_word(out, mark);
            break;
        }
        case 101:
        case 12:
        case 14: {  // raw IP
            const std::uint8_t v = b.u8(0) >> 4;
            if (v == 4)
                ipv4(c, b, p.wire_len());
            else if (v == 6)
                ipv6(c, b);
            else
                put(out, "[|raw ip]");
            break;
        }
        default: put(out, "link type {}, length {}", static_cast<std::uint32_t>(link), p.wire_len());
    }
    if (options_.hex != HexDump::none) hex_dump(options_, b, link_len, out);
    out.push_back('\n');
}

// JSON: the same parse, fields instead of prose.
namespace {

void json_string(Out& out, std::string_view s) {
    out.push_back('"');
    for (char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\')
            out.push_back('\\'), out.push_back(ch);
        else if (u < 0x20 || u >= 0x7f)
            put(out, "\\u{:04x}", u);
        else
            out.push_back(ch);
    }
    out.push_back('"');
}

void json_address(Out& out, const char* key, const Address& a) {
    Out text;
    address(text, a);
    put(out, ",\"{}\":", key);
    json_string(out, std::string_view(text.data(), text.size()));
}

void json_l4(Out& out, std::uint8_t proto, Bytes b) {
    if (proto == 6 && b.has(0, 20)) {
        Out flags;
        tcp_flags(b.u8(13), flags);
        put(out, ",\"tcp\":{{\"sport\":{},\"dport\":{},\"seq\":{},\"ack\":{},\"window\":{},\"flags\":", b.u16(0),
            b.u16(2), b.u32(4), b.u32(8), b.u16(14));
        json_string(out, std::string_view(flags.data(), flags.size()));
        out.push_back('}');
    } else if (proto == 17 && b.has(0, 8)) {
        put(out, ",\"udp\":{{\"sport\":{},\"dport\":{},\"length\":{}}}", b.u16(0), b.u16(2), b.u16(4));
        if ((b.u16(0) == 53 || b.u16(2) == 53) && b.has(8, 12)) {
            const Bytes m = b.from(8);
            put(out, ",\"dns\":{{\"id\":{},\"response\":{},\"rcode\":{},\"questions\":{},\"answers\":{}",
                m.u16(0), (m.u16(2) & 0x8000) ? "true" : "false", m.u16(2) & 0xf, m.u16(4), m.u16(6));
            if (m.u16(4) > 0) {
                Out name;
                const std::size_t after = dns_name(m, 12, name);
                if (after && m.has(after, 4)) {
                    put(out, ",\"qname\":");
                    json_string(out, std::string_view(name.data(), name.size()));
                    put(out, ",\"qtype\":{}", m.u16(after));
                }
            }
            out.push_back('}');
        }
    } else if ((proto == 1 || proto == 58) && b.has(0, 2)) {
        put(out, ",\"{}\":{{\"type\":{},\"code\":{}}}", proto == 1 ? "icmp" : "icmp6", b.u8(0), b.u8(1));
    }
}

void json_network(Out& out, std::uint16_t type, Bytes b) {
    if (type == 0x0800 && b.has(0, 20)) {
        Address s{4}, d{4};
        std::memcpy(s.bytes, b.p + 12, 4);
        std::memcpy(d.bytes, b.p + 16, 4);
        const std::uint16_t frag = b.u16(6);
        put(out, ",\"ip\":{{\"version\":4,\"proto\":{},\"ttl\":{},\"id\":{},\"length\":{},\"fragment_offset\":{},\"more_fragments\":{}",
            b.u8(9), b.u8(8), b.u16(4), b.u16(2), (frag & 0x1fff) * 8, (frag & 0x2000) ? "true" : "false");
        json_address(out, "src", s);
        json_address(out, "dst", d);
        out.push_back('}');
        if ((frag & 0x1fff) == 0) json_l4(out, b.u8(9), b.from((b.u8(0) & 0xf) * 4u));
    } else if (type == 0x86dd && b.has(0, 40)) {
        Address s{6}, d{6};
        std::memcpy(s.bytes, b.p + 8, 16);
        std::memcpy(d.bytes, b.p + 24, 16);
        std::uint8_t next = b.u8(6);
        Bytes rest = b.from(40);
        bool later = false;
        for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60 || next == 44); ++i) {
            if (!rest.has(0, 8)) break;
            if (next == 44) later = (rest.u16(2) & 0xfff8) != 0;
            const std::size_t n = next == 44 ? 8 : (rest.u8(1) + 1u) * 8;
            next = rest.u8(0);
            rest = rest.from(n);
        }
        put(out, ",\"ip\":{{\"version\":6,\"proto\":{},\"hop_limit\":{},\"payload_length\":{}", next,
            b.u8(7), b.u16(4));
        json_address(out, "src", s);
        json_address(out, "dst", d);
        out.push_back('}');
        if (!later) json_l4(out, next, rest);
    } else if (type == 0x0806 && b.has(0, 28)) {
        Address s{4}, t{4};
        std::memcpy(s.bytes, b.p + 14, 4);
        std::memcpy(t.bytes, b.p + 24, 4);
        put(out, ",\"arp\":{{\"op\":{}", b.u16(6));
        json_address(out, "sender", s);
        json_address(out, "target", t);
        out.push_back('}');
    }
}

}  // namespace

void Decoder::json(const PacketView& p, LinkType link, std::string_view interface, Out& out) {
    static const char* const dirs[] = {"in", "broadcast", "multicast", "otherhost", "out"};
    put(out, "{{\"ts_ns\":{},\"interface\":", p.ts_ns());
    json_string(out, interface);
    const Bytes b{reinterpret_cast<const std::uint8_t*>(p.data()), p.caplen()};
    // The SLL2 header says the direction even when the file does not.
    const std::uint8_t type = static_cast<std::uint32_t>(link) == 276 && b.has(10, 1) ? b.u8(10) : p.pkttype();
    put(out, ",\"direction\":\"{}\",\"caplen\":{},\"len\":{}", type < 5 ? dirs[type] : "unknown",
        p.caplen(), p.wire_len());
    if (link == LinkType::ethernet && b.has(0, 14)) {
        Out src, dst;
        mac(src, b.p + 6);
        mac(dst, b.p);
        std::uint16_t type = b.u16(12);
        std::size_t off = 14;
        put(out, ",\"eth\":{{\"src\":\"{}\",\"dst\":\"{}\"", std::string_view(src.data(), src.size()),
            std::string_view(dst.data(), dst.size()));
        bool first = true;
        for (int tags = 0; (type == 0x8100 || type == 0x88a8) && b.has(off, 4) && tags < 8; ++tags) {
            put(out, "{}{}", first ? ",\"vlan\":[" : ",", b.u16(off) & 0xfff);
            first = false;
            type = b.u16(off + 2);
            off += 4;
        }
        if (!first) out.push_back(']');
        put(out, ",\"type\":{}}}", type);
        json_network(out, type, b.from(off));
    } else if (static_cast<std::uint32_t>(link) == 276 && b.has(0, 20)) {
        json_network(out, b.u16(0), b.from(20));
    } else if (b.has(0, 1)) {
        json_network(out, (b.u8(0) >> 4) == 6 ? 0x86dd : 0x0800, b);
    }
    put(out, std::string_view("}\n"));
}

}  // namespace ringcap
