// Filter: libpcap compilation, user-space matching on hand-built frames, the tcpdump -d dump,
// and the rewrites for the kernel (cooked SLL2 offsets, -Q out).
//
// The kernel-side programs use ancillary loads (SKF_AD_*) that libpcap's user-space interpreter
// cannot run, so this file carries a small classic-BPF interpreter with the kernel's semantics
// for them; the rewritten programs must decide exactly as the originals do on the SLL2 frame.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/if_packet.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/filter.hpp>

namespace ringcap {
namespace {

using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------------
// Frames.

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v));
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

std::uint32_t ip4(const char* s) {
    in_addr a{};
    inet_pton(AF_INET, s, &a);
    return ntohl(a.s_addr);
}

constexpr std::uint16_t kEthIp = 0x0800, kEthArp = 0x0806, kEthIp6 = 0x86dd;

Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, 1000);     // seq
    put32(b, 0);        // ack
    b.push_back(0x50);  // data offset 5
    b.push_back(flags);
    put16(b, 65535);  // window
    put32(b, 0);      // checksum, urgent
    return b;
}

Bytes udp(std::uint16_t sport, std::uint16_t dport, std::size_t payload = 8) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, static_cast<std::uint16_t>(8 + payload));
    put16(b, 0);
    b.resize(b.size() + payload, 0xab);
    return b;
}

Bytes ipv4(const char* src, const char* dst, std::uint8_t proto, const Bytes& l4,
           std::uint16_t frag = 0) {
    Bytes b;
    b.push_back(0x45);
    b.push_back(0);
    put16(b, static_cast<std::uint16_t>(20 + l4.size()));
    put16(b, 0x1234);  // id
    put16(b, frag);    // flags + fragment offset
    b.push_back(64);
    b.push_back(proto);
    put16(b, 0);  // checksum: not checked by filters
    put32(b, ip4(src));
    put32(b, ip4(dst));
    append(b, l4);
    return b;
}

Bytes ipv6(std::uint8_t next, const Bytes& l4) {
    Bytes b;
    put32(b, 0x60000000);
    put16(b, static_cast<std::uint16_t>(l4.size()));
    b.push_back(next);
    b.push_back(64);
    for (int i = 0; i < 15; ++i) b.push_back(0xfe);
    b.push_back(1);
    for (int i = 0; i < 15; ++i) b.push_back(0xfe);
    b.push_back(2);
    append(b, l4);
    return b;
}

// ARP request: who-has tpa tell spa.
Bytes arp(const char* spa, const char* tpa) {
    Bytes b;
    put16(b, 1);       // Ethernet
    put16(b, kEthIp);  // IPv4
    b.push_back(6);
    b.push_back(4);
    put16(b, 1);  // request
    for (std::uint8_t x : {0x02, 0, 0, 0, 0, 0x01}) b.push_back(x);
    put32(b, ip4(spa));
    for (int i = 0; i < 6; ++i) b.push_back(0);
    put32(b, ip4(tpa));
    return b;
}

// A packet as the network layer sees it: what the kernel filter of a cooked socket gets.
struct NetPacket {
    const char* name;
    std::uint16_t protocol;  // ethertype
    Bytes l3;
};

Bytes ethernet(const NetPacket& p) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    put16(b, p.protocol);
    append(b, p.l3);
    return b;
}

struct Sll2Meta {
    std::uint32_t ifindex = 2;
    std::uint16_t hatype = 1;  // ARPHRD_ETHER
    std::uint8_t pkttype = PACKET_HOST;
};

// LINKTYPE_LINUX_SLL2: protocol, reserved, ifindex, hatype, pkttype, addr len, 8 bytes address.
Bytes sll2(const NetPacket& p, const Sll2Meta& m) {
    Bytes b;
    put16(b, p.protocol);
    put16(b, 0);
    put32(b, m.ifindex);
    put16(b, m.hatype);
    b.push_back(m.pkttype);
    b.push_back(6);
    for (std::uint8_t x : {0x02, 0, 0, 0, 0, 0x01, 0, 0}) b.push_back(x);
    append(b, p.l3);
    return b;
}

const std::vector<NetPacket>& packets() {
    static const std::vector<NetPacket> all = {
        {"tcp_syn_to_80", kEthIp, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80, 0x02))},
        {"tcp_pshack_from_80", kEthIp, ipv4("10.0.0.3", "10.0.0.4", 6, tcp(80, 5555, 0x18))},
        {"tcp_ack_8080", kEthIp, ipv4("10.0.0.3", "10.0.0.4", 6, tcp(40000, 8080, 0x10))},
        {"udp_dns", kEthIp, ipv4("10.0.0.2", "10.0.0.1", 17, udp(5353, 53))},
        {"udp_other", kEthIp, ipv4("192.168.1.1", "192.168.1.2", 17, udp(1000, 2000))},
        // Non-first fragment: its bytes at "port" offsets are payload, never ports.
        {"ip_fragment", kEthIp, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(80, 80, 0x18), 0x00b9)},
        {"arp_who_has", kEthArp, arp("10.0.0.5", "10.0.0.9")},
        {"ipv6_tcp_80", kEthIp6, ipv6(6, tcp(33333, 80, 0x02))},
        {"ipv6_udp", kEthIp6, ipv6(17, udp(1000, 2000))},
    };
    return all;
}

PacketView view_of(const Bytes& b, std::uint32_t caplen) {
    return PacketView(reinterpret_cast<const std::byte*>(b.data()), caplen,
                      static_cast<std::uint32_t>(b.size()), 0, 2, PACKET_HOST, 0, 0, 0, 0);
}
PacketView view_of(const Bytes& b) { return view_of(b, static_cast<std::uint32_t>(b.size())); }

// ---------------------------------------------------------------------------------------------
// Classic BPF as the kernel runs it (net/core/filter.c), ancillary loads included.

struct KernelSkb {
    const Bytes* data;  // from the network header on (cooked) or the MAC header (raw)
    std::uint16_t protocol;
    std::uint8_t pkttype;
    std::uint32_t ifindex;
    std::uint16_t hatype;
};

bool load(const KernelSkb& skb, std::uint16_t size, std::uint32_t off, std::uint32_t& out) {
    const Bytes& d = *skb.data;
    const std::size_t n = size == BPF_W ? 4 : size == BPF_H ? 2 : 1;
    if (off >= static_cast<std::uint32_t>(SKF_AD_OFF)) {  // ancillary: k in [-4096, 0)
        switch (off - static_cast<std::uint32_t>(SKF_AD_OFF)) {
            case SKF_AD_PROTOCOL:
                out = skb.protocol;
                return true;
            case SKF_AD_PKTTYPE:
                out = skb.pkttype;
                return true;
            case SKF_AD_IFINDEX:
                out = skb.ifindex;
                return true;
            case SKF_AD_HATYPE:
                out = skb.hatype;
                return true;
            default:
                ADD_FAILURE() << "unexpected ancillary load " << off;
                return false;
        }
    }
    if (off + n > d.size() || off + n < off) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) out = out << 8 | d[off + i];
    return true;
}

std::uint32_t run_kernel(std::span<const sock_filter> prog, const KernelSkb& skb) {
    std::uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
    for (std::size_t pc = 0; pc < prog.size();) {
        const sock_filter& f = prog[pc++];
        const std::uint16_t cls = BPF_CLASS(f.code);
        switch (cls) {
            case BPF_LD:
            case BPF_LDX: {
                std::uint32_t v = 0;
                switch (BPF_MODE(f.code)) {
                    case BPF_IMM:
                        v = f.k;
                        break;
                    case BPF_LEN:
                        v = static_cast<std::uint32_t>(skb.data->size());
                        break;
                    case BPF_MEM:
                        v = mem[f.k];
                        break;
                    case BPF_ABS:
                        if (!load(skb, BPF_SIZE(f.code), f.k, v)) return 0;
                        break;
                    case BPF_IND:
                        if (!load(skb, BPF_SIZE(f.code), f.k + x, v)) return 0;
                        break;
                    case BPF_MSH:
                        if (!load(skb, BPF_B, f.k, v)) return 0;
                        v = (v & 0xf) << 2;
                        break;
                }
                (cls == BPF_LD ? a : x) = v;
                break;
            }
            case BPF_ST:
                mem[f.k] = a;
                break;
            case BPF_STX:
                mem[f.k] = x;
                break;
            case BPF_ALU: {
                const std::uint32_t s = BPF_SRC(f.code) == BPF_X ? x : f.k;
                switch (BPF_OP(f.code)) {
                    case BPF_ADD:
                        a += s;
                        break;
                    case BPF_SUB:
                        a -= s;
                        break;
                    case BPF_MUL:
                        a *= s;
                        break;
                    case BPF_DIV:
                        if (s == 0) return 0;
                        a /= s;
                        break;
                    case BPF_MOD:
                        if (s == 0) return 0;
                        a %= s;
                        break;
                    case BPF_AND:
                        a &= s;
                        break;
                    case BPF_OR:
                        a |= s;
                        break;
                    case BPF_XOR:
                        a ^= s;
                        break;
                    case BPF_LSH:
                        a = s < 32 ? a << s : 0;
                        break;
                    case BPF_RSH:
                        a = s < 32 ? a >> s : 0;
                        break;
                    case BPF_NEG:
                        a = -a;
                        break;
                }
                break;
            }
            case BPF_JMP: {
                if (BPF_OP(f.code) == BPF_JA) {
                    pc += f.k;
                    break;
                }
                const std::uint32_t s = BPF_SRC(f.code) == BPF_X ? x : f.k;
                bool c = false;
                switch (BPF_OP(f.code)) {
                    case BPF_JEQ:
                        c = a == s;
                        break;
                    case BPF_JGT:
                        c = a > s;
                        break;
                    case BPF_JGE:
                        c = a >= s;
                        break;
                    case BPF_JSET:
                        c = (a & s) != 0;
                        break;
                }
                pc += c ? f.jt : f.jf;
                break;
            }
            case BPF_RET:
                return BPF_RVAL(f.code) == BPF_K ? f.k : a;
            case BPF_MISC:
                if (BPF_MISCOP(f.code) == BPF_TAX)
                    x = a;
                else
                    a = x;
                break;
        }
    }
    ADD_FAILURE() << "program ran off its end";
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Matching on Ethernet frames.

struct MatchCase {
    const char* name;
    const char* expression;
    std::vector<std::string> accepted;  // names of packets() that match; all others must not
};

class FilterMatches : public ::testing::TestWithParam<MatchCase> {};

TEST_P(FilterMatches, AcceptsExactlyTheExpectedEthernetFrames) {
    const MatchCase& c = GetParam();
    const Filter f = Filter::compile(c.expression, LinkType::ethernet, kDefaultSnaplen);
    EXPECT_EQ(f.expression(), c.expression);
    ASSERT_FALSE(f.program().empty());
    for (const NetPacket& p : packets()) {
        const bool want =
            std::find(c.accepted.begin(), c.accepted.end(), p.name) != c.accepted.end();
        const Bytes frame = ethernet(p);
        EXPECT_EQ(f.matches(view_of(frame)), want) << "'" << c.expression << "' on " << p.name;
        // The kernel runs the very same program on a raw socket.
        const std::vector<sock_filter> k = f.for_kernel(LinkType::ethernet);
        const KernelSkb skb{&frame, p.protocol, PACKET_HOST, 2, 1};
        EXPECT_EQ(run_kernel(k, skb) != 0, want)
            << "kernel form of '" << c.expression << "' on " << p.name;
    }
}

// clang-format off
const MatchCase kMatches[] = {
    {"everything", "", {"tcp_syn_to_80", "tcp_pshack_from_80", "tcp_ack_8080", "udp_dns",
                        "udp_other", "ip_fragment", "arp_who_has", "ipv6_tcp_80", "ipv6_udp"}},
    {"host", "host 10.0.0.1", {"tcp_syn_to_80", "udp_dns", "ip_fragment"}},
    {"host_in_arp", "host 10.0.0.9", {"arp_who_has"}},
    {"src_host", "src host 10.0.0.1", {"tcp_syn_to_80", "ip_fragment"}},
    {"net", "net 192.168.0.0/16", {"udp_other"}},
    {"tcp_port_80", "tcp port 80", {"tcp_syn_to_80", "tcp_pshack_from_80", "ipv6_tcp_80"}},
    {"dst_port_80", "tcp dst port 80", {"tcp_syn_to_80", "ipv6_tcp_80"}},
    {"port_range", "tcp portrange 8000-9000", {"tcp_ack_8080"}},
    {"tcp_flags_byte", "tcp[13]=24", {"tcp_pshack_from_80"}},
    {"tcp_flags_symbolic", "tcp[tcpflags] & tcp-syn != 0", {"tcp_syn_to_80"}},
    {"udp", "udp", {"udp_dns", "udp_other", "ipv6_udp"}},
    {"udp_port_53", "udp port 53", {"udp_dns"}},
    {"arp", "arp", {"arp_who_has"}},
    {"not_ip", "not ip", {"arp_who_has", "ipv6_tcp_80", "ipv6_udp"}},
    {"ip6", "ip6", {"ipv6_tcp_80", "ipv6_udp"}},
    {"and_or", "(udp and host 10.0.0.1) or arp", {"udp_dns", "arp_who_has"}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Filter, FilterMatches, ::testing::ValuesIn(kMatches),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Filter, LoadsBeyondCaplenReject) {
    // The port is at byte 36 of the frame; with 30 bytes captured the filter cannot see it.
    const Filter f = Filter::compile("tcp port 80", LinkType::ethernet, kDefaultSnaplen);
    const Bytes frame = ethernet(packets()[0]);
    EXPECT_TRUE(f.matches(view_of(frame)));
    EXPECT_FALSE(f.matches(view_of(frame, 30)));
    EXPECT_TRUE(f.matches(view_of(frame, 38)));
}

TEST(Filter, SnaplenIsTheAcceptReturnValue) {
    const Filter f = Filter::compile("ip", LinkType::ethernet, 96);
    const Bytes frame = ethernet(packets()[0]);
    const KernelSkb skb{&frame, kEthIp, PACKET_HOST, 2, 1};
    EXPECT_EQ(run_kernel(f.for_kernel(LinkType::ethernet), skb), 96u);
}

TEST(Filter, CompileLiveFallsBackWithoutAUsableInterface) {
    const Filter live =
        Filter::compile_live("tcp port 80", "ringcap-nx0", LinkType::ethernet, kDefaultSnaplen);
    const Filter dead = Filter::compile("tcp port 80", LinkType::ethernet, kDefaultSnaplen);
    EXPECT_EQ(live.dump(), dead.dump());
    EXPECT_EQ(live.expression(), "tcp port 80");
}

// The live libpcap handle (a packet socket and ring of its own, ~45 ms at start-up) is opened
// only for what a live handle compiles differently.
TEST(Filter, LiveHandleOnlyForVlanAndPacketMetadata) {
    // (A host named vlan.example.com is a false yes: it only costs the handle.)
    for (const char* e : {"vlan", "vlan 42 and udp", "tcp or (vlan and ip)", "VLAN 7", "inbound",
                          "outbound and tcp", "ifindex 3", "not vlan", "host vlan.example.com"})
        EXPECT_TRUE(needs_live_handle(e)) << e;
    for (const char* e : {"", "tcp port 80", "udp", "host 10.0.0.1", "ether host 02:00:00:00:00:01",
                          "vlans", "port 8021", "icmp6", "mpls", "host myvlan"})
        EXPECT_FALSE(needs_live_handle(e)) << e;
}

// ---------------------------------------------------------------------------------------------
// Bad expressions.

struct BadCase {
    const char* name;
    const char* expression;
    LinkType link;
    const char* libpcap_says;  // part of libpcap's message
};

class FilterRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(FilterRejects, ErrorCarriesExpressionAndLibpcapMessage) {
    const BadCase& c = GetParam();
    try {
        const Filter f = Filter::compile(c.expression, c.link, kDefaultSnaplen);
        ADD_FAILURE() << "compiled:\n" << f.dump();
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        const std::string what = e.what();
        EXPECT_NE(what.find(std::string("'") + c.expression + "'"), std::string::npos) << what;
        EXPECT_NE(what.find(c.libpcap_says), std::string::npos) << what;
        EXPECT_NE(e.hint().find("pcap-filter"), std::string::npos) << e.hint();
    }
}

// clang-format off
const BadCase kBad[] = {
    {"dangling_and", "tcp and", LinkType::ethernet, "syntax error"},
    {"double_and", "tcp and and udp", LinkType::ethernet, "syntax error"},
    {"unbalanced_paren", "(udp or tcp", LinkType::ethernet, "syntax error"},
    {"port_too_large", "port 99999", LinkType::ethernet, "99999"},
    {"vlan_id_too_large", "vlan 5000", LinkType::ethernet, "5000"},
    {"unknown_ether_proto", "ether proto nosuchproto", LinkType::ethernet, "nosuchproto"},
    {"bad_on_sll2_too", "udp port", LinkType::linux_sll2, "syntax error"},
    // libpcap's optimizer refuses a program that can only return 0.
    {"rejects_everything", "tcp and udp", LinkType::ethernet, "rejects all packets"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Filter, FilterRejects, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// dump(): tcpdump -d.

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

TEST(FilterDump, OneNumberedLinePerInstruction) {
    for (const char* expr : {"", "ip", "tcp port 80", "tcp[13]=24", "not ip", "arp or udp"}) {
        SCOPED_TRACE(expr);
        const Filter f = Filter::compile(expr, LinkType::ethernet, kDefaultSnaplen);
        const std::string d = f.dump();
        ASSERT_FALSE(d.empty());
        EXPECT_EQ(d.back(), '\n');
        const std::vector<std::string> lines = lines_of(d);
        ASSERT_EQ(lines.size(), f.program().size());
        for (std::size_t i = 0; i < lines.size(); ++i) {
            char prefix[32];
            std::snprintf(prefix, sizeof prefix, "(%03zu) ", i);
            EXPECT_EQ(lines[i].rfind(prefix, 0), 0u) << lines[i];
            EXPECT_TRUE(std::regex_match(lines[i], std::regex(R"(\(\d{3}\) [a-z]+\s*.*)")))
                << lines[i];
        }
        EXPECT_TRUE(std::regex_match(lines.back(), std::regex(R"(\(\d{3}\) ret\s+#\d+)")))
            << lines.back();
    }
}

TEST(FilterDump, IpIsTcpdumpsFourLines) {
    // tcpdump -d -y EN10MB ip
    const std::vector<std::string> lines =
        lines_of(Filter::compile("ip", LinkType::ethernet, kDefaultSnaplen).dump());
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\(000\) ldh\s+\[12\])"))) << lines[0];
    EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(\(001\) jeq\s+#0x800\s+jt 2\s+jf 3)")))
        << lines[1];
    EXPECT_TRUE(std::regex_match(lines[2], std::regex(R"(\(002\) ret\s+#262144)"))) << lines[2];
    EXPECT_TRUE(std::regex_match(lines[3], std::regex(R"(\(003\) ret\s+#0)"))) << lines[3];
}

TEST(FilterDump, CArrayAndDecimalAsTcpdumpDdAndDdd) {
    // tcpdump -dd / -ddd -y EN10MB ip
    const Filter f = Filter::compile("ip", LinkType::ethernet, kDefaultSnaplen);
    EXPECT_EQ(f.dump(DumpStyle::c_array),
              "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n"
              "{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n");
    EXPECT_EQ(f.dump(DumpStyle::decimal), "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n");
}

TEST(Filter, AcceptAllKeepsSnaplen) {
    const std::vector<sock_filter> p = accept_all(100);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].code, BPF_RET | BPF_K);
    EXPECT_EQ(p[0].k, 100u);
}

// DLT_NULL: a 4-byte address family in the byte order of the machine that wrote the file.
// libpcap compares it with constants swapped for a file of the other byte order.
TEST(Filter, NullLinkTypeFollowsTheFilesByteOrder) {
    Bytes ip6_payload(40, 0);
    ip6_payload[0] = 0x60;
    ip6_payload[6] = 59;  // no next header
    const auto null_frame = [&](std::uint32_t af, bool big_endian) {
        Bytes b;
        for (int i = 0; i < 4; ++i)
            b.push_back(static_cast<std::uint8_t>(af >> (big_endian ? 24 - 8 * i : 8 * i)));
        append(b, ip6_payload);
        return b;
    };
    const LinkType null = static_cast<LinkType>(0);
    const Filter native = Filter::compile_for_file("ip6", null, 65535, false);
    const Filter swapped = Filter::compile_for_file("ip6", null, 65535, true);
    // This machine is little-endian: a swapped file was written big-endian.
    for (const std::uint32_t af : {24u, 28u, 30u}) {
        SCOPED_TRACE(af);
        EXPECT_TRUE(native.matches(view_of(null_frame(af, false))));
        EXPECT_FALSE(native.matches(view_of(null_frame(af, true))));
        EXPECT_TRUE(swapped.matches(view_of(null_frame(af, true))));
        EXPECT_FALSE(swapped.matches(view_of(null_frame(af, false))));
    }
    // Other link types compile as for a file in either order.
    EXPECT_EQ(Filter::compile_for_file("udp", LinkType::ethernet, 65535, true).dump(),
              Filter::compile("udp", LinkType::ethernet, 65535).dump());
    EXPECT_THROW(Filter::compile_for_file("udp port", null, 65535, true), Error);
}

TEST(Filter, LibpcapVersionIsNamed) {
    EXPECT_EQ(libpcap_version().rfind("libpcap version ", 0), 0u) << libpcap_version();
}

// ---------------------------------------------------------------------------------------------
// for_kernel(): cooked (SLL2) programs rewritten for a SOCK_DGRAM socket.

constexpr std::uint32_t kAd = static_cast<std::uint32_t>(SKF_AD_OFF);

bool is_packet_load(const sock_filter& f) {
    const std::uint16_t cls = BPF_CLASS(f.code), mode = BPF_MODE(f.code);
    return (cls == BPF_LD || cls == BPF_LDX) &&
           (mode == BPF_ABS || mode == BPF_IND || mode == BPF_MSH);
}

TEST(FilterForKernel, EthernetProgramIsUnchanged) {
    const Filter f = Filter::compile("tcp port 80 or arp", LinkType::ethernet, kDefaultSnaplen);
    const std::vector<sock_filter> k = f.for_kernel(LinkType::ethernet);
    ASSERT_EQ(k.size(), f.program().size());
    for (std::size_t i = 0; i < k.size(); ++i) {
        EXPECT_EQ(k[i].code, f.program()[i].code) << i;
        EXPECT_EQ(k[i].k, f.program()[i].k) << i;
        EXPECT_EQ(k[i].jt, f.program()[i].jt) << i;
        EXPECT_EQ(k[i].jf, f.program()[i].jf) << i;
    }
}

struct Sll2Case {
    const char* name;
    const char* expression;
    std::vector<std::uint32_t> ancillary;  // SKF_AD_* loads the kernel form must contain
};

class FilterSll2 : public ::testing::TestWithParam<Sll2Case> {};

TEST_P(FilterSll2, LoadsMoveBy20AndHeaderFieldsBecomeAncillary) {
    const Sll2Case& c = GetParam();
    const Filter f = Filter::compile(c.expression, LinkType::linux_sll2, kDefaultSnaplen);
    const std::span<const sock_filter> orig = f.program();
    const std::vector<sock_filter> k = f.for_kernel(LinkType::linux_sll2);
    ASSERT_EQ(k.size(), orig.size());
    std::vector<std::uint32_t> seen;
    for (std::size_t i = 0; i < k.size(); ++i) {
        SCOPED_TRACE("instruction " + std::to_string(i));
        EXPECT_EQ(k[i].code, orig[i].code);
        EXPECT_EQ(k[i].jt, orig[i].jt);
        EXPECT_EQ(k[i].jf, orig[i].jf);
        if (!is_packet_load(orig[i])) {
            EXPECT_EQ(k[i].k, orig[i].k);
            continue;
        }
        if (orig[i].k >= 20) {
            EXPECT_EQ(k[i].k, orig[i].k - 20);
            continue;
        }
        // A load inside the SLL2 header: only absolute loads of known fields are possible.
        ASSERT_EQ(BPF_MODE(orig[i].code), BPF_ABS);
        ASSERT_GE(k[i].k, kAd) << "header load left as a packet load at " << k[i].k;
        const std::uint32_t ad = k[i].k - kAd;
        seen.push_back(ad);
        const std::uint16_t size = BPF_SIZE(orig[i].code);
        switch (ad) {
            case SKF_AD_PROTOCOL:
                EXPECT_TRUE(orig[i].k == 0 && size == BPF_H);
                break;
            case SKF_AD_IFINDEX:
                EXPECT_TRUE(orig[i].k == 4 && size == BPF_W);
                break;
            case SKF_AD_HATYPE:
                EXPECT_TRUE(orig[i].k == 8 && size == BPF_H);
                break;
            case SKF_AD_PKTTYPE:
                EXPECT_TRUE(orig[i].k == 10 && size == BPF_B);
                break;
            default:
                ADD_FAILURE() << "unexpected ancillary " << ad;
        }
    }
    for (std::uint32_t want : c.ancillary)
        EXPECT_NE(std::find(seen.begin(), seen.end(), want), seen.end())
            << "no SKF_AD_OFF + " << want << " load in the kernel program";
}

TEST_P(FilterSll2, KernelFormDecidesAsLibpcapDoesOnTheSll2Frame) {
    const Sll2Case& c = GetParam();
    const Filter f = Filter::compile(c.expression, LinkType::linux_sll2, kDefaultSnaplen);
    const std::vector<sock_filter> k = f.for_kernel(LinkType::linux_sll2);
    int accepted = 0, rejected = 0;
    for (const NetPacket& p : packets()) {
        for (const Sll2Meta meta : {Sll2Meta{}, Sll2Meta{.ifindex = 3, .pkttype = PACKET_OUTGOING},
                                    Sll2Meta{.ifindex = 7, .pkttype = PACKET_BROADCAST}}) {
            SCOPED_TRACE(std::string(p.name) + " ifindex " + std::to_string(meta.ifindex) +
                         " pkttype " + std::to_string(meta.pkttype));
            const Bytes frame = sll2(p, meta);
            const bool user = f.matches(view_of(frame));
            const KernelSkb skb{&p.l3, p.protocol, meta.pkttype, meta.ifindex, meta.hatype};
            const std::uint32_t kernel = run_kernel(k, skb);
            EXPECT_EQ(kernel != 0, user);
            if (user) {
                EXPECT_EQ(kernel, kDefaultSnaplen);
            }
            (user ? accepted : rejected)++;
        }
    }
    // Every expression here splits the packets; a program that accepts all or none proves little.
    EXPECT_GT(accepted, 0);
    EXPECT_GT(rejected, 0);
}

// clang-format off
const Sll2Case kSll2[] = {
    {"ip", "ip", {SKF_AD_PROTOCOL}},
    {"tcp_port_80", "tcp port 80", {SKF_AD_PROTOCOL}},
    {"tcp_flags", "tcp[13]=24", {SKF_AD_PROTOCOL}},
    {"host", "host 10.0.0.1", {SKF_AD_PROTOCOL}},
    {"host_in_arp", "host 10.0.0.9", {SKF_AD_PROTOCOL}},
    {"udp", "udp", {SKF_AD_PROTOCOL}},
    {"arp", "arp", {SKF_AD_PROTOCOL}},
    {"not_ip", "not ip", {SKF_AD_PROTOCOL}},
    {"ip6_tcp", "ip6 and tcp", {SKF_AD_PROTOCOL}},
    {"outbound", "outbound", {SKF_AD_PKTTYPE}},
    {"inbound_udp", "inbound and udp", {SKF_AD_PKTTYPE, SKF_AD_PROTOCOL}},
    {"ifindex", "ifindex 3", {SKF_AD_IFINDEX}},
    {"ifindex_and_port", "ifindex 7 and tcp port 80", {SKF_AD_IFINDEX, SKF_AD_PROTOCOL}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Filter, FilterSll2, ::testing::ValuesIn(kSll2),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FilterForKernel, NonPacketLoadsAreLeftAlone) {
    // Packet length, immediates and scratch memory are not packet offsets: nothing to move.
    // (The kernel's length of a cooked packet lacks the 20 SLL2 bytes, as with libpcap's own
    // fix_program(); "greater"/"less" on -i any compare against the network-layer length.)
    const Filter f = Filter::compile("greater 50 and tcp[tcpflags] & tcp-syn != 0",
                                     LinkType::linux_sll2, kDefaultSnaplen);
    const std::vector<sock_filter> k = f.for_kernel(LinkType::linux_sll2);
    ASSERT_EQ(k.size(), f.program().size());
    int untouched = 0;
    for (std::size_t i = 0; i < k.size(); ++i) {
        const sock_filter& o = f.program()[i];
        const std::uint16_t mode = BPF_MODE(o.code);
        const std::uint16_t cls = BPF_CLASS(o.code);
        if ((cls == BPF_LD || cls == BPF_LDX) &&
            (mode == BPF_LEN || mode == BPF_IMM || mode == BPF_MEM)) {
            EXPECT_EQ(k[i].k, o.k) << "instruction " << i;
            ++untouched;
        }
    }
    EXPECT_GT(untouched, 0) << "expected a length load in:\n" << f.dump();
}

TEST(FilterForKernel, UnmappableCookedHeaderLoadThrows) {
    // Byte 12 is the link-layer address: the kernel offers no ancillary load for it.
    const Filter f = Filter::compile("link[12] = 2", LinkType::linux_sll2, kDefaultSnaplen);
    try {
        f.for_kernel(LinkType::linux_sll2);
        FAIL() << "for_kernel accepted a load of the SLL2 address";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        const std::string what = e.what();
        EXPECT_NE(what.find("link[12] = 2"), std::string::npos) << what;
        EXPECT_NE(what.find("byte 12"), std::string::npos) << what;
        EXPECT_FALSE(e.hint().empty());
    }
    // The same program is fine where no rewriting is needed.
    EXPECT_NO_THROW(f.for_kernel(LinkType::ethernet));
}

// ---------------------------------------------------------------------------------------------
// only_outgoing(): tcpdump -Q out.

TEST(FilterOnlyOutgoing, PrependsPkttypeCheck) {
    const Filter f = Filter::compile("tcp port 80", LinkType::ethernet, kDefaultSnaplen);
    const std::span<const sock_filter> prog = f.program();
    const std::vector<sock_filter> out = only_outgoing(prog);
    ASSERT_EQ(out.size(), prog.size() + 4);
    EXPECT_EQ(out[0].code, BPF_LD | BPF_B | BPF_ABS);
    EXPECT_EQ(out[0].k, kAd + SKF_AD_PKTTYPE);
    EXPECT_EQ(out[1].code, BPF_JMP | BPF_JEQ | BPF_K);
    EXPECT_EQ(out[1].k, static_cast<std::uint32_t>(PACKET_OUTGOING));
    EXPECT_EQ(out[2].code, BPF_RET | BPF_K);
    EXPECT_EQ(out[2].k, 0u);
    for (std::size_t i = 0; i < prog.size(); ++i) {
        EXPECT_EQ(out[i + 4].code, prog[i].code) << i;
        EXPECT_EQ(out[i + 4].k, prog[i].k) << i;
        EXPECT_EQ(out[i + 4].jt, prog[i].jt) << i;
        EXPECT_EQ(out[i + 4].jf, prog[i].jf) << i;
    }
}

TEST(FilterOnlyOutgoing, PassesOnlyOutgoingPacketsTheProgramAccepts) {
    for (const LinkType link : {LinkType::ethernet, LinkType::linux_sll2}) {
        for (const char* expr : {"", "tcp port 80", "not ip"}) {
            SCOPED_TRACE(std::string(expr) + (link == LinkType::ethernet ? " ethernet" : " sll2"));
            const Filter f = Filter::compile(expr, link, kDefaultSnaplen);
            const std::vector<sock_filter> base = f.for_kernel(link);
            const std::vector<sock_filter> out = only_outgoing(base);
            for (const NetPacket& p : packets()) {
                const Bytes frame = link == LinkType::ethernet ? ethernet(p) : p.l3;
                for (const std::uint8_t type : {PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST,
                                                PACKET_OTHERHOST, PACKET_OUTGOING}) {
                    const KernelSkb skb{&frame, p.protocol, type, 2, 1};
                    const std::uint32_t want = type == PACKET_OUTGOING ? run_kernel(base, skb) : 0;
                    EXPECT_EQ(run_kernel(out, skb), want)
                        << p.name << " pkttype " << static_cast<int>(type);
                }
            }
        }
    }
}

}  // namespace
}  // namespace ringcap
