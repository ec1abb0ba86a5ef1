// The decoder against what tcpdump 4.99.3 printed for the same bytes (decode_test_data.hpp,
// generated once from tcpdump's output and fixed there), plus what tcpdump cannot tell us:
// truncation at every length and hostile lengths end in one bounded line, JSON stays valid,
// and a warm decoder allocates nothing per packet. tests/cli/test_decode.py compares with
// tcpdump itself, at test time, on real traffic.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <random>
#include <ringcap/decode.hpp>
#include <ringcap/flow.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Allocations made by this process while `g_counting` is set.
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

}  // namespace

// GCC cannot see that these pair with each other; they do.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
    if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using ringcap::DecodeOptions;
using ringcap::Decoder;
using ringcap::HexDump;
using ringcap::LinkType;
using ringcap::PacketView;
using ringcap::TimestampFormat;

struct FrameCase {
    const char* name;
    const char* hex;
    std::string_view plain;  // tcpdump -n -t
    std::string_view link;   // tcpdump -n -t -e
    std::string_view quick;  // tcpdump -n -t -q
};
struct CookedCase {
    const char* name;
    std::uint32_t link_type;
    const char* hex;
    std::string_view plain;
    std::string_view link;
};
struct TruncCase {
    const char* name;
    std::size_t caplen;
    std::string_view expected;
};

#include "decode_test_data.hpp"

std::vector<std::byte> from_hex(std::string_view hex) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(
            static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

std::vector<std::byte> frame(std::string_view name) {
    for (const FrameCase& f : kFrames)
        if (name == f.name) return from_hex(f.hex);
    ADD_FAILURE() << "no frame " << name;
    return {};
}

PacketView view(const std::vector<std::byte>& bytes, std::size_t caplen, std::int64_t ts_ns = 0) {
    return {bytes.data(),
            static_cast<std::uint32_t>(caplen),
            static_cast<std::uint32_t>(bytes.size()),
            ts_ns,
            0,
            0,
            0,
            0,
            0,
            0};
}
PacketView view(const std::vector<std::byte>& bytes) { return view(bytes, bytes.size()); }

std::string text(const std::vector<std::byte>& bytes, DecodeOptions o,
                 LinkType link = LinkType::ethernet, std::size_t caplen = SIZE_MAX) {
    Decoder d(link, std::move(o));
    fmt::memory_buffer out;
    d.append_text(view(bytes, std::min(caplen, bytes.size())), out);
    return fmt::to_string(out);
}

DecodeOptions untimed() { return {.timestamps = TimestampFormat::none}; }

TEST(DecodeText, EveryFrameAsTcpdumpPrintsIt) {
    for (const FrameCase& f : kFrames) {
        SCOPED_TRACE(f.name);
        const auto bytes = from_hex(f.hex);
        EXPECT_EQ(text(bytes, untimed()), f.plain);
        DecodeOptions e = untimed();
        e.link_header = true;
        EXPECT_EQ(text(bytes, e), f.link);
        DecodeOptions q = untimed();
        q.quick = true;
        EXPECT_EQ(text(bytes, q), f.quick);
    }
}

TEST(DecodeText, DnsQueryCountsInTcpdumpsOrder) {
    // Two questions, one answer, three authority and four additional records in a query:
    // tcpdump 4.99.3 prints the counts answers first, then questions.
    const auto bytes = from_hex(
        "020000000002020000000001080045000040123400004011e475c0000201c000020280e80035002c0000"
        "0007010000020001000300040161047465737400000100010162047465737400001c0001");
    EXPECT_EQ(text(bytes, untimed()),
              "IP 192.0.2.1.33000 > 192.0.2.2.53: 7+ [1a] [2q] [3n] [4au] A? a.test. AAAA? "
              "b.test. (36)\n");
}

TEST(DecodeText, CookedAndRawLinkTypes) {
    for (const CookedCase& c : kCooked) {
        SCOPED_TRACE(c.name);
        const auto bytes = from_hex(c.hex);
        DecodeOptions o = untimed();
        // As on the machine that ran tcpdump: index 1 is lo, 999 has no name.
        o.interface_name = [](int ifindex) { return ifindex == 1 ? std::string_view("lo") : ""; };
        EXPECT_EQ(text(bytes, o, static_cast<LinkType>(c.link_type)), c.plain);
        o.link_header = true;
        EXPECT_EQ(text(bytes, o, static_cast<LinkType>(c.link_type)), c.link);
    }
}

std::string conversation(bool absolute) {
    DecodeOptions o = untimed();
    o.absolute_tcp_seq = absolute;
    Decoder d(LinkType::ethernet, o);
    fmt::memory_buffer out;
    for (const char* name : kConversation) {
        const auto bytes = frame(name);
        d.append_text(view(bytes), out);
    }
    return fmt::to_string(out);
}

TEST(DecodeText, TcpSequenceNumbersRelativeAfterTheFirstPacketAsTcpdump) {
    EXPECT_EQ(conversation(false), kConversationRelative);
    EXPECT_EQ(conversation(true), kConversationAbsolute);
}

TEST(DecodeText, TimestampFormats) {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    const auto bytes = frame("udp_plain");
    const std::int64_t stamps[] = {1700000000'000000000, 1700000001'500250000,
                                   1700000003'000250000};
    const std::pair<TimestampFormat, std::string_view> formats[] = {
        {TimestampFormat::clock, kStamps},
        {TimestampFormat::epoch, kStamps_tt},
        {TimestampFormat::since_previous, kStamps_ttt},
        {TimestampFormat::date_clock, kStamps_tttt},
        {TimestampFormat::since_first, kStamps_ttttt}};
    for (auto [format, expected] : formats) {
        Decoder d(LinkType::ethernet, {.timestamps = format});
        fmt::memory_buffer out;
        for (std::int64_t ts : stamps) d.append_text(view(bytes, bytes.size(), ts), out);
        EXPECT_EQ(fmt::to_string(out), expected) << static_cast<int>(format);
    }
}

TEST(DecodeText, NanosecondPrecisionAddsThreeDigits) {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    const auto bytes = frame("udp_plain");
    Decoder d(LinkType::ethernet, {.timestamps = TimestampFormat::epoch,
                                   .precision = ringcap::TimestampPrecision::nano});
    fmt::memory_buffer out;
    d.append_text(view(bytes, bytes.size(), 1700000001'500250123), out);
    EXPECT_EQ(fmt::to_string(out),
              "1700000001.500250123 IP 192.0.2.1.12345 > 192.0.2.2.9: UDP, length 20\n");
}

TEST(DecodeText, HexDumps) {
    const auto bytes = frame("icmp_echo");
    const struct {
        HexDump hex;
        bool with_link;
        std::string_view expected;
    } cases[] = {{HexDump::hex, false, kHex_x},
                 {HexDump::hex, true, kHex_xx},
                 {HexDump::hex_ascii, false, kHex_X},
                 {HexDump::hex_ascii, true, kHex_XX}};
    for (const auto& c : cases) {
        DecodeOptions o = untimed();
        o.hex = c.hex;
        o.hex_link_header = c.with_link;
        EXPECT_EQ(text(bytes, o), c.expected);
    }
}

TEST(DecodeText, VerboseIpv4HeaderAsTcpdump) {
    // tcpdump -v -t on icmp_echo and on vlan: the header line, then the rest indented.
    DecodeOptions o = untimed();
    o.verbosity = 1;
    EXPECT_EQ(text(frame("icmp_echo"), o),
              "IP (tos 0x0, ttl 64, id 4660, offset 0, flags [none], proto ICMP (1), length 84)\n"
              "    192.0.2.1 > 192.0.2.2: ICMP echo request, id 77, seq 3, length 64\n");
    EXPECT_EQ(text(frame("ipv4_frag_later"), o),
              "IP (tos 0x0, ttl 64, id 4660, offset 1480, flags [+], proto UDP (17), length 1500)\n"
              "    192.0.2.1 > 192.0.2.2: ip-proto-17\n");
    EXPECT_EQ(text(frame("icmp6_rs"), o).substr(0, 68),
              "IP6 (hlim 255, next-header ICMPv6 (58) payload length: 8) fe80::1 > ");
    EXPECT_EQ(text(frame("arp_request"), o),
              "ARP, Ethernet (len 6), IPv4 (len 4), Request who-has 192.0.2.2 tell 192.0.2.1, "
              "length 28\n");
}

TEST(DecodeText, TruncatedFramesEndAsTcpdumpShowsThem) {
    for (const TruncCase& c : kTruncated) {
        SCOPED_TRACE(std::string(c.name) + " cut to " + std::to_string(c.caplen));
        EXPECT_EQ(text(frame(c.name), untimed(), LinkType::ethernet, c.caplen), c.expected);
    }
}

// One line, ending in '\n', of bounded length: what every input must give.
void expect_one_bounded_line(const std::string& s, std::size_t limit = 4096) {
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(s.back(), '\n');
    EXPECT_EQ(s.find('\n'), s.size() - 1) << s;
    EXPECT_LT(s.size(), limit) << s;
}

TEST(DecodeText, CutAtEveryLengthIsOneLineAndMarkedWhereAHeaderIsCut) {
    for (const char* name : {"tcp_syn", "ipv6_tcp", "ipv6_hbh_mld2", "ipv6_frag_first",
                             "dns_resp_cname_aaaa", "dns_resp_mx_txt", "dns_query_edns",
                             "icmp_port_unreach", "icmp6_unreach_port", "qinq", "arp_reply"}) {
        const auto bytes = frame(name);
        const std::string full = text(bytes, untimed());
        for (std::size_t len = 0; len <= bytes.size(); ++len) {
            SCOPED_TRACE(std::string(name) + " cut to " + std::to_string(len));
            const std::string cut = text(bytes, untimed(), LinkType::ethernet, len);
            expect_one_bounded_line(cut);
            // Every header byte of tcp_syn and ipv6_tcp is read: any cut shows.
            if ((std::strcmp(name, "tcp_syn") == 0 || std::strcmp(name, "ipv6_tcp") == 0) &&
                len < bytes.size()) {
                EXPECT_NE(cut, full);
                EXPECT_NE(cut.find("[|"), std::string::npos) << cut;
            }
        }
    }
}

TEST(DecodeText, HostileLengthsStayBounded) {
    // IPv4 header length 60 in a 34-byte frame; total length 65535; TCP data offset 60.
    auto ip = frame("tcp_syn");
    ip[14] = std::byte{0x4f};
    expect_one_bounded_line(text(ip, untimed()));
    auto tcp = frame("tcp_syn");
    tcp[16] = tcp[17] = std::byte{0xff};
    tcp[14 + 20 + 12] = std::byte{0xf0};
    expect_one_bounded_line(text(tcp, untimed()));
    // A DNS response claiming 65535 answers, each a pointer back to the question.
    auto dns = frame("dns_resp_a");
    dns[14 + 20 + 8 + 6] = dns[14 + 20 + 8 + 7] = std::byte{0xff};
    const std::string many = text(dns, untimed());
    expect_one_bounded_line(many);
    // As tcpdump 4.99.3 prints it: the answers there are, then the marker for the rest.
    EXPECT_EQ(many,
              "IP 192.0.2.2.53 > 192.0.2.1.33000: 4660* 65535/0/0 A 192.0.2.80, A 192.0.2.81 "
              "[|domain]\n");
    // 300 stacked VLAN tags, then nothing.
    const std::vector<std::byte> vlan = frame("vlan");  // one vector: both iterators from it
    std::vector<std::byte> vlans(vlan.begin(), vlan.begin() + 12);
    for (int i = 0; i < 300; ++i)
        for (std::byte b : {std::byte{0x81}, std::byte{0x00}, std::byte{0x00}, std::byte{0x2a}})
            vlans.push_back(b);
    // As tcpdump 4.99 prints it: the last tag is cut ("[|vlan]"); with -e every tag before it.
    DecodeOptions e = untimed();
    e.link_header = true;
    const std::string tags = text(vlans, e);
    expect_one_bounded_line(tags, 16 * vlans.size());
    EXPECT_NE(tags.find("length 1212: vlan 42, p 0, ethertype 802.1Q (0x8100), vlan 42"),
              std::string::npos);
    EXPECT_TRUE(tags.ends_with("(0x8100), vlan 42, p 0,  [|vlan]\n")) << tags;
    EXPECT_EQ(text(vlans, untimed()), " [|vlan]\n");
    // IPv6 with 40 hop-by-hop headers chained.
    auto v6 = frame("ipv6_hbh_mld2");
    std::vector<std::byte> chain(v6.begin(), v6.begin() + 54);
    for (int i = 0; i < 40; ++i)
        for (int k = 0; k < 8; ++k) chain.push_back(std::byte{0});
    chain[14 + 4] = std::byte{0x01};
    chain[14 + 5] = std::byte{0x40};  // payload length 320
    expect_one_bounded_line(text(chain, untimed()));
}

TEST(DecodeText, RandomBytesOnEveryLinkTypeNeverCrash) {
    std::mt19937 rng(12345);
    const LinkType links[] = {LinkType::ethernet, LinkType::linux_sll2, LinkType::linux_sll,
                              LinkType::raw};
    // Mutations of real frames reach deep layers; pure noise covers the link layer.
    std::vector<std::vector<std::byte>> seeds;
    for (const FrameCase& f : kFrames) seeds.push_back(from_hex(f.hex));
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> b = seeds[rng() % seeds.size()];
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<std::byte>(rng());
        const std::size_t caplen = rng() % (b.size() + 1);
        DecodeOptions o = untimed();
        o.link_header = (i & 1) != 0;
        o.verbosity = (i & 2) ? 1 : 0;
        o.quick = (i & 4) != 0;
        const LinkType link = links[i % 4];
        const std::string s = text(b, o, link, caplen);
        ASSERT_FALSE(s.empty());
        ASSERT_EQ(s.back(), '\n');
        Decoder d(link);
        fmt::memory_buffer json;
        d.append_json(view(b, caplen), json);
        ASSERT_EQ(json[json.size() - 1], '\n');
        for (char c : std::string_view(json.data(), json.size() - 1))
            ASSERT_TRUE(static_cast<unsigned char>(c) >= 0x20 &&
                        static_cast<unsigned char>(c) < 0x7f)
                << "JSON must be printable ASCII (escaped): " << fmt::to_string(json);
    }
}

std::string json(const std::vector<std::byte>& bytes, LinkType link = LinkType::ethernet) {
    Decoder d(link);
    fmt::memory_buffer out;
    d.append_json(view(bytes, bytes.size(), 1700000000'123456789), out);
    return fmt::to_string(out);
}

TEST(DecodeJson, FieldsOfATcpSyn) {
    EXPECT_EQ(json(frame("tcp_syn")),
              R"({"ts_ns":1700000000123456789,"ifindex":0,"caplen":74,"len":74,)"
              R"("src_mac":"02:00:00:00:00:01","dst_mac":"02:00:00:00:00:02","ethertype":2048,)"
              R"("ip_version":4,"src_ip":"192.0.2.1","dst_ip":"192.0.2.2","ip_proto":6,"ttl":64,)"
              R"("ip_len":60,"ip_id":4660,"src_port":40000,"dst_port":80,"tcp_flags":"S",)"
              R"("tcp_seq":1000,"tcp_ack":0,"tcp_win":64240,"payload_len":0})"
              "\n");
}

TEST(DecodeJson, VlanStackAndDnsQuery) {
    const std::string q = json(frame("qinq"));
    EXPECT_NE(q.find(R"("vlan":[{"tpid":34984,"id":100,"pcp":2},{"tpid":33024,"id":42,"pcp":0}])"),
              std::string::npos)
        << q;
    const std::string d = json(frame("dns_query_edns"));
    EXPECT_NE(d.find(R"("dns_id":4661,"dns_response":false,"dns_rcode":0,"dns_answers":0,)"
                     R"("dns_qtype":28,"dns_qname":"www.example.test.")"),
              std::string::npos)
        << d;
    const std::string nx = json(frame("dns_nxdomain"));
    EXPECT_NE(nx.find(R"("dns_response":true,"dns_rcode":3)"), std::string::npos) << nx;
}

TEST(DecodeJson, HostileNamesAreEscaped) {
    // The label bytes a " b \ 0x01, then 0xff 0x80 z: tcpdump's M-/^ forms, then JSON escapes.
    const std::string s = json(frame("dns_hostile_name"));
    EXPECT_NE(s.find(R"("dns_qname":"a\"b\\^A.M-^?M-^@z.")"), std::string::npos) << s;
}

TEST(DecodeJson, CookedHeaderGivesInterfaceAndDirection) {
    for (const CookedCase& c : kCooked) {
        if (std::string_view(c.name) != "sll2_out_unknown_if") continue;
        Decoder d(LinkType::linux_sll2,
                  {.interface_name = [](int i) { return i == 999 ? "veth9" : ""; }});
        fmt::memory_buffer out;
        const auto bytes = from_hex(c.hex);
        d.append_json(view(bytes), out);
        const std::string s = fmt::to_string(out);
        EXPECT_NE(s.find(R"("ifindex":999,"interface":"veth9","direction":"out")"),
                  std::string::npos)
            << s;
        EXPECT_NE(
            s.find(R"("ip_version":6,"src_ip":"2001:db8::1","dst_ip":"2001:db8::2","ip_proto":58)"),
            std::string::npos)
            << s;
        EXPECT_NE(s.find(R"("icmp_type":128,"icmp_code":0)"), std::string::npos) << s;
    }
}

TEST(DecodeJson, ArpAddressesUnderTheirOwnKeys) {
    EXPECT_NE(json(frame("arp_request"))
                  .find(R"("arp_op":1,"arp_sha":"02:00:00:00:00:01","arp_spa":"192.0.2.1",)"
                        R"("arp_tha":"00:00:00:00:00:00","arp_tpa":"192.0.2.2"})"),
              std::string::npos)
        << json(frame("arp_request"));
}

TEST(DecodeJson, VlanTagAfterACookedHeader) {
    // The "vlan" frame (802.1Q 42, priority 5, IPv4/UDP) behind an SLL header instead of
    // Ethernet's: the text printer reads the tag there, and so do JSON and flow_key().
    const auto eth = frame("vlan");
    std::vector<std::byte> cooked = from_hex("0000000100060200000000010000");
    cooked.insert(cooked.end(), eth.begin() + 12, eth.end());
    const std::string s = json(cooked, LinkType::linux_sll);
    EXPECT_NE(s.find(R"("ethertype":2048,"vlan":[{"tpid":33024,"id":42,"pcp":5}],"ip_version":4,)"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find(R"("src_port":40000,"dst_port":9,)"), std::string::npos) << s;
    const auto key = ringcap::flow_key(std::span(cooked), LinkType::linux_sll);
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->vlan_id, 42);
    EXPECT_EQ(key->dst_port, 9);
}

// summarize() and flow_key() come from one walk: on every frame, whole and cut at every length,
// they agree on addresses, protocol and ports.
TEST(DecodeSummary, AgreesWithFlowKey) {
    for (const FrameCase& f : kFrames) {
        const auto bytes = from_hex(f.hex);
        for (std::size_t len = 0; len <= bytes.size(); ++len) {
            SCOPED_TRACE(std::string(f.name) + " cut to " + std::to_string(len));
            const std::span<const std::byte> cut(bytes.data(), len);
            ringcap::PacketSummary s;
            ringcap::summarize(cut, LinkType::ethernet, s);
            const auto key = ringcap::flow_key(cut, LinkType::ethernet);
            if (!key) {
                EXPECT_TRUE(s.ip_version == 0 || s.truncated);
                continue;
            }
            EXPECT_EQ(key->ip_version, s.ip_version);
            EXPECT_EQ(std::memcmp(key->src_ip.data(), s.src_ip, 16), 0);
            EXPECT_EQ(std::memcmp(key->dst_ip.data(), s.dst_ip, 16), 0);
            EXPECT_EQ(key->protocol, s.ip_proto);
            EXPECT_EQ(key->vlan_id, s.vlan_count ? s.vlan_id[0] : 0);
            if (s.has_ports) {
                EXPECT_EQ(key->src_port, s.src_port);
                EXPECT_EQ(key->dst_port, s.dst_port);
            } else if (s.has_icmp) {
                EXPECT_EQ(key->src_port, s.icmp_type);
                EXPECT_EQ(key->dst_port, s.icmp_code);
            } else {
                EXPECT_EQ(key->src_port | key->dst_port, 0);
            }
        }
    }
}

TEST(DecodeSummary, IpFragmentsAndPorts) {
    ringcap::PacketSummary s;
    const auto later = frame("ipv4_frag_later");
    ringcap::summarize(std::span(later), LinkType::ethernet, s);
    EXPECT_TRUE(s.is_fragment);
    EXPECT_TRUE(s.more_fragments);
    EXPECT_EQ(s.frag_offset, 1480u);
    EXPECT_FALSE(s.has_ports);  // no UDP header in a later fragment
    const auto v6 = frame("ipv6_frag_first");
    ringcap::summarize(std::span(v6), LinkType::ethernet, s);
    EXPECT_EQ(s.ip_version, 6);
    EXPECT_TRUE(s.is_fragment);
    EXPECT_EQ(s.ip_proto, 17);
    EXPECT_TRUE(s.has_udp);
    EXPECT_EQ(s.src_port, 4000);
    EXPECT_EQ(s.payload_len, 3000u);
}

TEST(DecodeAllocation, NonePerPacketOnceWarm) {
    std::vector<std::vector<std::byte>> frames;
    for (const FrameCase& f : kFrames) frames.push_back(from_hex(f.hex));
    DecodeOptions o{.timestamps = TimestampFormat::clock,
                    .link_header = true,
                    .verbosity = 1,
                    .hex = HexDump::hex_ascii};
    Decoder d(LinkType::ethernet, o);
    fmt::memory_buffer out;
    const auto all = [&] {
        for (const auto& f : frames) {
            d.append_text(view(f, f.size(), 1700000000'000000000), out);
            d.append_json(view(f, f.size(), 1700000000'000000000), out);
        }
    };
    all();  // warm: the buffer grows to its size
    out.clear();
    g_allocations = 0;
    g_counting = true;
    all();
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0);
}

}  // namespace
