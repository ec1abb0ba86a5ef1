// Decoder: timestamps and the line around what text.cpp prints; the JSON object per packet.
#include <algorithm>
#include <cstring>
#include <ctime>
#include <ringcap/decode.hpp>
#include <tuple>

#include "bytes.hpp"
#include "sys/clock.hpp"
#include "tcp_table.hpp"

namespace ringcap {

std::size_t print_packet_text(detail::Out& o, const DecodeOptions& opt, Decoder::TcpTable* tcp,
                              LinkType link, detail::Bytes b, std::uint32_t wire);
void append_hex_dump(detail::Out& o, detail::Bytes b, bool ascii);

using detail::put;
using detail::put_uint;
using detail::put_uint_w;

Decoder::Decoder(LinkType link, DecodeOptions options)
    : link_(link), options_(std::move(options)), tcp_(std::make_unique<TcpTable>()) {}
Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

namespace {

void put_fraction(detail::Out& o, std::int64_t ns, bool nano) {
    put(o, '.');
    if (nano)
        put_uint_w(o, static_cast<std::uint64_t>(ns), 9);
    else
        put_uint_w(o, static_cast<std::uint64_t>(ns / 1000), 6);
}

// " HH:MM:SS.frac" or "-HH:MM:SS.frac": tcpdump's -ttt/-ttttt deltas.
void put_delta(detail::Out& o, std::int64_t delta_ns, bool nano) {
    put(o, delta_ns < 0 ? '-' : ' ');
    const std::uint64_t d = static_cast<std::uint64_t>(delta_ns < 0 ? -delta_ns : delta_ns);
    const std::uint64_t sec = d / 1'000'000'000;
    put_uint_w(o, sec / 3600, 2);
    put(o, ':');
    put_uint_w(o, sec / 60 % 60, 2);
    put(o, ':');
    put_uint_w(o, sec % 60, 2);
    put_fraction(o, static_cast<std::int64_t>(d % 1'000'000'000), nano);
}

// Floor division: timestamps before 1970 still split into a second and a positive fraction.
std::int64_t floor_sec(std::int64_t ns) {
    return ns >= 0 ? ns / 1'000'000'000 : (ns + 1) / 1'000'000'000 - 1;
}

}  // namespace

void Decoder::append_text(const PacketView& p, fmt::memory_buffer& out) {
    const bool nano = options_.precision == TimestampPrecision::nano;
    const std::int64_t ts = p.ts_ns();
    if (first_ns_ < 0 && previous_ns_ < 0) first_ns_ = previous_ns_ = ts;
    const std::int64_t sec = floor_sec(ts), frac = ts - sec * 1'000'000'000;
    switch (options_.timestamps) {
        case TimestampFormat::none:
            break;
        case TimestampFormat::epoch:
            detail::put_int(out, sec);
            put_fraction(out, frac, nano);
            put(out, ' ');
            break;
        case TimestampFormat::since_previous:
            put_delta(out, ts - previous_ns_, nano);
            put(out, ' ');
            break;
        case TimestampFormat::since_first:
            put_delta(out, ts - first_ns_, nano);
            put(out, ' ');
            break;
        case TimestampFormat::clock:
        case TimestampFormat::date_clock: {
            if (sec != cached_second_) {
                const std::time_t t = static_cast<std::time_t>(sec);
                const std::tm tm = sys::local_time(t);
                std::strftime(clock_, sizeof clock_, "%Y-%m-%d %H:%M:%S", &tm);
                cached_second_ = sec;
            }
            const std::string_view c(clock_);
            put(out,
                options_.timestamps == TimestampFormat::clock && c.size() > 11 ? c.substr(11) : c);
            put_fraction(out, frac, nano);
            put(out, ' ');
        }
    }
    previous_ns_ = ts;

    const detail::Bytes b{reinterpret_cast<const std::uint8_t*>(p.data()), p.caplen()};
    const std::size_t link_len =
        print_packet_text(out, options_, tcp_.get(), link_, b, p.wire_len());
    if (options_.hex != HexDump::none)
        append_hex_dump(out, options_.hex_link_header ? b : b.from(link_len),
                        options_.hex == HexDump::hex_ascii);
    put(out, '\n');
}

namespace {

void key(detail::Out& o, std::string_view k) {
    put(o, ",\"");
    put(o, k);
    put(o, "\":");
}
void str(detail::Out& o, std::string_view v) {
    put(o, '"');
    detail::put_json_escaped(o, v);
    put(o, '"');
}
void mac(detail::Out& o, const std::uint8_t* m) {
    put(o, '"');
    detail::put_mac(o, m);
    put(o, '"');
}
void boolean(detail::Out& o, bool v) { put(o, v ? "true" : "false"); }
void num(detail::Out& o, std::string_view k, std::uint64_t v) {
    key(o, k);
    put_uint(o, v);
}

const char* direction_name(int pkttype) {
    switch (pkttype) {
        case 0:
            return "in";
        case 1:
            return "broadcast";
        case 2:
            return "multicast";
        case 3:
            return "otherhost";
        case 4:
            return "out";
        default:
            return nullptr;
    }
}

}  // namespace

void Decoder::append_json(const PacketView& p, fmt::memory_buffer& out) {
    PacketSummary s;
    summarize(p.bytes(), link_, s);
    put(out, "{\"ts_ns\":");
    detail::put_int(out, p.ts_ns());
    const int ifindex = s.sll_ifindex >= 0 ? s.sll_ifindex : p.ifindex();
    std::string_view name =
        options_.interface_name ? options_.interface_name(ifindex) : std::string_view{};
    key(out, "ifindex");
    detail::put_int(out, ifindex);
    if (!name.empty()) {
        key(out, "interface");
        str(out, name);
    }
    // The live ring's packet type, or the cooked header's in a file.
    const int pkttype = s.sll_pkttype >= 0 ? s.sll_pkttype : p.pkttype();
    if (const char* d =
            (s.sll_pkttype >= 0 || p.ifindex() > 0) ? direction_name(pkttype) : nullptr) {
        key(out, "direction");
        str(out, d);
    }
    num(out, "caplen", p.caplen());
    num(out, "len", p.wire_len());
    if (s.has_mac) {
        key(out, "src_mac");
        mac(out, s.src_mac);
        key(out, "dst_mac");
        mac(out, s.dst_mac);
    }
    if (s.ethertype) {
        num(out, "ethertype", s.ethertype);
    }
    if (s.vlan_count) {
        key(out, "vlan");
        put(out, '[');
        for (unsigned i = 0; i < s.vlan_count && i < 4; ++i) {
            if (i) put(out, ',');
            put(out, "{\"tpid\":");
            put_uint(out, s.vlan_tpid[i]);
            put(out, ",\"id\":");
            put_uint(out, s.vlan_id[i]);
            put(out, ",\"pcp\":");
            put_uint(out, s.vlan_pcp[i]);
            put(out, '}');
        }
        put(out, ']');
    }
    if (s.has_arp) {
        num(out, "arp_op", s.arp_op);
        for (const auto& [name, hw, ip] : {std::tuple{"arp_sha", s.arp_sha, s.arp_spa},
                                           std::tuple{"arp_tha", s.arp_tha, s.arp_tpa}}) {
            key(out, name);
            mac(out, hw);
            key(out, name[5] == 's' ? "arp_spa" : "arp_tpa");
            put(out, '"');
            detail::put_ipv4(out, ip);
            put(out, '"');
        }
    }
    if (s.ip_version) {
        const auto addr = [&](const std::uint8_t* a) {
            put(out, '"');
            s.ip_version == 4 ? detail::put_ipv4(out, a) : detail::put_ipv6(out, a);
            put(out, '"');
        };
        num(out, "ip_version", s.ip_version);
        key(out, "src_ip");
        addr(s.src_ip);
        key(out, "dst_ip");
        addr(s.dst_ip);
        num(out, "ip_proto", s.ip_proto);
        num(out, "ttl", s.ttl);
        num(out, "ip_len", s.ip_len);
        if (s.ip_version == 4) {
            num(out, "ip_id", s.ip_id);
        }
        if (s.is_fragment) {
            num(out, "frag_offset", s.frag_offset);
            key(out, "more_fragments");
            boolean(out, s.more_fragments);
        }
    }
    if (s.has_ports) {
        num(out, "src_port", s.src_port);
        num(out, "dst_port", s.dst_port);
    }
    if (s.has_tcp) {
        key(out, "tcp_flags");
        put(out, '"');
        detail::put_tcp_flags(out, s.tcp_flags);
        put(out, '"');
        num(out, "tcp_seq", s.tcp_seq);
        num(out, "tcp_ack", s.tcp_ack);
        num(out, "tcp_win", s.tcp_win);
    }
    if (s.has_tcp || s.has_udp) {
        num(out, "payload_len", s.payload_len);
    }
    if (s.has_icmp) {
        num(out, "icmp_type", s.icmp_type);
        num(out, "icmp_code", s.icmp_code);
    }
    if (s.has_dns) {
        num(out, "dns_id", s.dns_id);
        key(out, "dns_response");
        boolean(out, s.dns_response);
        num(out, "dns_rcode", s.dns_rcode);
        num(out, "dns_answers", s.dns_ancount);
        if (s.dns_qdcount > 0) {
            num(out, "dns_qtype", s.dns_qtype);
            // The name as tcpdump prints it, then escaped for JSON: printed into the tail of
            // the buffer, then moved out and re-appended escaped.
            key(out, "dns_qname");
            const std::size_t mark = out.size();
            append_dns_name(s.dns_message, s.dns_qname_at, out);
            char name_buf[1100];
            const std::size_t n = std::min<std::size_t>(out.size() - mark, sizeof name_buf);
            std::memcpy(name_buf, out.data() + mark, n);
            out.resize(mark);
            str(out, {name_buf, n});
        }
    }
    if (s.truncated) {
        key(out, "truncated");
        boolean(out, true);
    }
    put(out, "}\n");
}

}  // namespace ringcap
