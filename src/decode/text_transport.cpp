// The layer above IP as tcpdump prints it: TCP (flags, sequence numbers relative to the
// connection's first, window, options; HTTP and DNS payloads), UDP (DNS), ICMP by
// text_icmp.cpp, and for other protocols their number and length.
#include "text.hpp"

namespace ringcap::detail {
namespace {

// "src.sport > dst.dport: " (IPv6 after extension headers: the ports alone).
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
            put_addresses(t.o, e);
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

struct TcpHeader {
    std::uint16_t sport, dport;
    std::uint32_t hlen;  // data offset * 4
    std::uint32_t seq, ack;
    std::uint16_t win, urp;
    std::uint8_t flags;
};
constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10, kUrg = 0x20;

void put_too_long(Out& o, std::uint32_t hlen, std::uint32_t length) {
    put(o, " [bad hdr length ");
    put_uint(o, hlen);
    put(o, " - too long, > ");
    put_uint(o, length);
    put(o, ']');
}

// One option whose `dlen` data bytes at `d` were captured.
void put_tcp_option(Out& o, Bytes b, std::uint8_t kind, std::size_t d, std::size_t dlen,
                    std::uint32_t thack) {
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
        case 5:  // SACK blocks, relative to the connection's first acknowledgment
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
}

// The options between byte 20 and `hlen`, comma-separated; false when the line ends inside
// them (cut, or an option whose length makes no sense).
bool put_tcp_options(Text& t, Bytes b, std::uint32_t hlen, std::uint32_t thack) {
    Out& o = t.o;
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
            return false;
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
        put_tcp_option(o, b, kind, i + 2, len - 2u, thack);
        i += len;
    }
    return true;
}

// ", seq 1:11, ack 1, win 502, urg 3": what tcpdump prints of the numbers.
void put_tcp_numbers(Text& t, const TcpHeader& h, std::uint32_t payload) {
    Out& o = t.o;
    if (t.opt.verbosity > 1 || payload > 0 || (h.flags & (kFin | kSyn | kRst))) {
        put(o, ", seq ");
        put_uint(o, h.seq);
        if (payload > 0) {
            put(o, ':');
            put_uint(o, static_cast<std::uint32_t>(h.seq + payload));
        }
    }
    if (h.flags & kAck) {
        put(o, ", ack ");
        put_uint(o, h.ack);
    }
    put(o, ", win ");
    put_uint(o, h.win);
    if (h.flags & kUrg) {
        put(o, ", urg ");
        put_uint(o, h.urp);
    }
}

// The data after the header: HTTP's first line on ports 80 and 8080, DNS on port 53.
bool print_tcp_payload(Text& t, const TcpHeader& h, Bytes data, std::uint32_t payload) {
    if (h.sport == 80 || h.dport == 80 || h.sport == 8080 || h.dport == 8080) {
        print_http(t, data, payload);
    } else if (h.sport == 53 || h.dport == 53) {  // after the 2-byte length
        if (payload < 2 || !data.has(0, 2)) return t.trunc("domain", true);
        put(t.o, ' ');
        return print_dns(t, data.from(2), payload - 2);
    }
    return true;
}

// Flags, numbers, options, length, payload: the TCP header read whole (20 bytes and more).
bool print_tcp_header(Text& t, Bytes b, std::uint32_t length, const Ends& e, TcpHeader h) {
    Out& o = t.o;
    if (t.opt.quick) {
        put(o, "tcp ");
        put_uint(o, length - h.hlen);
        if (h.hlen > length) put_too_long(o, h.hlen, length);
        return true;
    }
    put(o, "Flags [");
    if (h.flags == 0) put(o, "none");
    put_tcp_flags(o, h.flags);
    put(o, ']');
    std::uint32_t thack = 0;
    if (!t.opt.absolute_tcp_seq && (h.flags & kAck) && t.tcp) {
        const auto r = t.tcp->relate(e.src, e.dst, e.v6 ? 16 : 4, h.sport, h.dport, h.seq, h.ack,
                                     (h.flags & kSyn) != 0);
        h.seq = r.seq;
        h.ack = r.ack;
        thack = r.base_ack;
    }
    if (h.hlen > length) return put_too_long(o, h.hlen, length), true;
    const std::uint32_t payload = length - h.hlen;
    put_tcp_numbers(t, h, payload);
    if (h.hlen > 20) {
        put(o, ", options [");
        if (!put_tcp_options(t, b, h.hlen, thack)) return false;
        put(o, ']');
    }
    put(o, ", length ");
    put_uint(o, payload);
    if (payload == 0 || (h.flags & kRst)) return true;
    return print_tcp_payload(t, h, b.from(h.hlen).first(payload), payload);
}

bool print_tcp(Text& t, Bytes b, std::uint32_t length, const Ends& e) {
    Out& o = t.o;
    if (!b.has(0, 4)) {
        put_addresses(o, e);
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
    return print_tcp_header(t, b, length, e,
                            {.sport = sport,
                             .dport = dport,
                             .hlen = hlen,
                             .seq = b.be32(4),
                             .ack = b.be32(8),
                             .win = b.be16(14),
                             .urp = b.be16(18),
                             .flags = b.u8(13)});
}

}  // namespace

bool print_upper(Text& t, const Dissection& d, const Ends& e) {
    switch (d.proto) {
        case kIpprotoTcp:
            return print_tcp(t, d.l4, d.l4_len, e);
        case kIpprotoUdp:
            return print_udp(t, d.l4, d.l4_len, e);
        case kIpprotoIcmp:
            return print_icmp(t, d.l4, d.l4_len);
        case kIpprotoIcmp6:
            return print_icmp6(t, d.l4, d.l4_len);
        default:  // tcpdump: two spaces here
            put(t.o, " ip-proto-");
            put_uint(t.o, d.proto);
            put(t.o, ' ');
            put_uint(t.o, d.l4_len);
            return true;
    }
}

}  // namespace ringcap::detail
