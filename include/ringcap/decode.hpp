#pragma once
// Decoding for people and for log pipelines: tcpdump-style lines (tcpdump 4.99's wording for the
// protocols below) and JSON lines. It runs only where something is printed, never on the capture
// path, allocates nothing per packet (it appends to the caller's reused buffer) and reads every
// byte through bounds checks, so truncated or hostile packets end in a "[|proto]" marker.
//
// Protocols: Ethernet, 802.1Q/802.1ad (stacked), Linux SLL and SLL2, raw IP; ARP; IPv4 (with
// fragments); IPv6 with hop-by-hop, routing, fragment and destination-options headers; TCP;
// UDP; ICMP; ICMPv6 (echo, unreachable, neighbour and router discovery, MLD); DNS over UDP and
// TCP; the first line of HTTP on ports 80 and 8080, as tcpdump shows it.
//
//   ringcap::Decoder d(LinkType::ethernet, {.timestamps = TimestampFormat::epoch});
//   fmt::memory_buffer out;             // reused: grows once, then no allocation
//   for (const PacketView& p : batch) d.append_text(p, out);
//   write(1, out.data(), out.size()); out.clear();
#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include <ringcap/packet.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

// tcpdump's -t family: the stamp before each line.
enum class TimestampFormat {
    clock,           // default: HH:MM:SS.frac, local time
    none,            // -t
    epoch,           // -tt: seconds since 1970.frac
    since_previous,  // -ttt: delta from the previous packet printed
    date_clock,      // -tttt: YYYY-MM-DD HH:MM:SS.frac, local time
    since_first,     // -ttttt: delta from the first packet printed
};

// tcpdump's -x/-xx/-X/-XX: a hex dump under each line; -A/-AA: the bytes as ASCII text.
enum class HexDump { none, hex, hex_ascii, ascii };

struct DecodeOptions {
    TimestampFormat timestamps = TimestampFormat::clock;
    TimestampPrecision precision = TimestampPrecision::micro;  // 6 or 9 digits of fraction
    bool link_header = false;      // -e: MACs, EtherType, VLAN tags, SLL fields
    int verbosity = 0;             // -v: IPv4/IPv6 header fields, ARP hardware/protocol
    bool quick = false;            // -q: less protocol information ("tcp 0", "UDP, length 4")
    HexDump hex = HexDump::none;   // -x / -X / -A
    bool hex_link_header = false;  // -xx / -XX / -AA: the dump starts at the link-layer header
    // -S: absolute TCP sequence numbers. Otherwise, as tcpdump, numbers are relative to the
    // first ones seen for the connection (from a bounded table; see Decoder).
    bool absolute_tcp_seq = false;
    // Names of interface indexes (the SLL2 header's, and for JSON the packet's). Called per
    // packet; an empty answer prints "?" as tcpdump does for an unknown index.
    std::function<std::string_view(int ifindex)> interface_name;
};

// What a packet is, in fields: what JSON lines carry. Offsets and values are from the bytes;
// `has_*` says which layers were read whole. The same walk over the headers gives the text
// lines and flow_key() (<ringcap/flow.hpp>), so all three agree on where each layer starts.
struct PacketSummary {
    std::uint8_t dst_mac[6] = {}, src_mac[6] = {};
    bool has_mac = false;
    std::uint16_t ethertype = 0;  // innermost, after VLAN tags
    std::uint8_t vlan_count = 0;  // tags in the bytes, up to 8 (the first 4 reported)
    std::uint16_t vlan_tpid[4] = {}, vlan_id[4] = {};
    std::uint8_t vlan_pcp[4] = {};
    std::int16_t sll_pkttype = -1;  // SLL/SLL2 packet type; -1 without such a header
    std::int32_t sll_ifindex = -1;  // SLL2 interface index
    std::uint8_t ip_version = 0;    // 4, 6 or 0 (not IP)
    std::uint8_t src_ip[16] = {}, dst_ip[16] = {};
    std::uint8_t ip_proto = 0;      // IPv4 protocol / IPv6 upper-layer next header
    std::uint8_t ttl = 0;           // TTL / hop limit
    std::uint16_t ip_id = 0;        // IPv4 id (IPv6: low 16 bits of the fragment id)
    std::uint32_t frag_offset = 0;  // in bytes
    bool more_fragments = false, is_fragment = false;
    std::uint32_t ip_len = 0;  // IPv4 total length / IPv6 payload length + 40
    bool has_ports = false;
    std::uint16_t src_port = 0, dst_port = 0;
    std::uint8_t tcp_flags = 0;
    std::uint32_t tcp_seq = 0, tcp_ack = 0;
    std::uint16_t tcp_win = 0;
    bool has_tcp = false, has_udp = false, has_icmp = false, has_arp = false;
    std::uint8_t icmp_type = 0, icmp_code = 0;
    std::uint16_t arp_op = 0;
    std::uint8_t arp_sha[6] = {}, arp_spa[4] = {}, arp_tha[6] = {}, arp_tpa[4] = {};
    std::uint32_t payload_len = 0;  // L4 payload (TCP/UDP), from the headers' lengths
    bool has_dns = false;
    std::uint16_t dns_id = 0, dns_qtype = 0;
    std::uint8_t dns_rcode = 0;
    bool dns_response = false;
    std::uint16_t dns_qdcount = 0, dns_ancount = 0;
    std::span<const std::uint8_t> dns_message;  // the DNS message (for the query name)
    std::size_t dns_qname_at = 0;               // offset of the first question's name
    bool truncated = false;                     // the captured bytes end inside a header
};

// Fills `s` from the bytes of one packet of link type `link`. Never reads out of bounds.
void summarize(std::span<const std::byte> bytes, LinkType link, PacketSummary& s) noexcept;

// The name in DNS wire format at `at` of `message`, as tcpdump prints it ("www.example.test."),
// following compression pointers (bounded). Appends "[|domain]" when it runs off the end.
void append_dns_name(std::span<const std::uint8_t> message, std::size_t at,
                     fmt::memory_buffer& out);

// Stateful: -ttt/-ttttt need the previous and first timestamps, relative TCP sequence numbers
// a table of connections. The table has a fixed size (allocated once, in the constructor):
// tcpdump's grows without bound; here a connection evicted by a newer one starts again from
// absolute numbers on its next packet. One Decoder per output stream; not thread-safe.
class Decoder {
  public:
    explicit Decoder(LinkType link, DecodeOptions options = {});
    ~Decoder();
    Decoder(Decoder&&) noexcept;
    Decoder& operator=(Decoder&&) noexcept;

    // One tcpdump-style line and '\n' (with -x/-X the dump lines, with -v a second line as
    // tcpdump prints it).
    void append_text(const PacketView& p, fmt::memory_buffer& out);
    // One JSON object and '\n'. Strings are escaped, so any bytes make valid JSON.
    void append_json(const PacketView& p, fmt::memory_buffer& out);

    LinkType link() const noexcept { return link_; }
    const DecodeOptions& options() const noexcept { return options_; }

    struct TcpTable;

  private:
    LinkType link_;
    DecodeOptions options_;
    std::unique_ptr<TcpTable> tcp_;
    std::int64_t first_ns_ = -1, previous_ns_ = -1;
    std::int64_t cached_second_ = INT64_MIN;
    char clock_[24] = {};  // "YYYY-MM-DD HH:MM:SS" of cached_second_
};

}  // namespace ringcap
