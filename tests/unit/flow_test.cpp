// flow_key() on packets built here byte by byte: every link type, VLAN tags, IPv6 extension
// headers, ICMP, fragments, and packets cut at the edges that change the answer. Then FlowKey's
// canonical()/reversed() and its hash.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ringcap/flow.hpp>
#include <unordered_map>
#include <vector>

namespace {

using ringcap::FlowKey;
using ringcap::LinkType;
using Frame = std::vector<std::uint8_t>;

constexpr std::uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58;

void add(Frame& f, std::initializer_list<std::uint8_t> bytes) { f.insert(f.end(), bytes); }
void add16(Frame& f, std::uint16_t v) { add(f, {std::uint8_t(v >> 8), std::uint8_t(v)}); }
void add32(Frame& f, std::uint32_t v) {
    add16(f, std::uint16_t(v >> 16));
    add16(f, std::uint16_t(v));
}
Frame operator+(Frame a, const Frame& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

const std::array<std::uint8_t, 4> kV4a{192, 0, 2, 1}, kV4b{198, 51, 100, 7};
const std::array<std::uint8_t, 16> kV6a{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const std::array<std::uint8_t, 16> kV6b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

// Ethernet: two MACs, then the tags (TPID, TCI) and the EtherType.
Frame ethernet(std::uint16_t type,
               std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> tags = {}) {
    Frame f;
    add(f, {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01});
    for (auto [tpid, tci] : tags) {
        add16(f, tpid);
        add16(f, tci);
    }
    add16(f, type);
    return f;
}
// Linux SLL: packet type, ARPHRD, address length, 8 address bytes, protocol.
Frame sll(std::uint16_t proto) {
    Frame f;
    add(f, {0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0});
    add16(f, proto);
    return f;
}
// Linux SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 bytes.
Frame sll2(std::uint16_t proto) {
    Frame f;
    add16(f, proto);
    add(f, {0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0});
    return f;
}

// IPv4 header (20 bytes, or more with options) for `payload` bytes of `proto`.
Frame ipv4(std::uint8_t proto, std::size_t payload, std::uint16_t frag = 0,
           std::array<std::uint8_t, 4> src = kV4a, std::array<std::uint8_t, 4> dst = kV4b,
           std::size_t options = 0) {
    Frame f;
    add(f, {std::uint8_t(0x40 | (20 + options) / 4), 0});
    add16(f, std::uint16_t(20 + options + payload));
    add(f, {0x12, 0x34});
    add16(f, frag);
    add(f, {64, proto, 0, 0});
    f.insert(f.end(), src.begin(), src.end());
    f.insert(f.end(), dst.begin(), dst.end());
    f.insert(f.end(), options, 1);  // NOPs
    return f;
}
Frame ipv6(std::uint8_t next, std::size_t payload, std::array<std::uint8_t, 16> src = kV6a,
           std::array<std::uint8_t, 16> dst = kV6b) {
    Frame f;
    add(f, {0x60, 0, 0, 0});
    add16(f, std::uint16_t(payload));
    add(f, {next, 64});
    f.insert(f.end(), src.begin(), src.end());
    f.insert(f.end(), dst.begin(), dst.end());
    return f;
}
// Hop-by-hop or destination options (8 bytes: next header, length 0, a PadN option).
Frame options_header(std::uint8_t next) { return {next, 0, 1, 4, 0, 0, 0, 0}; }
Frame fragment_header(std::uint8_t next, std::uint16_t offset, bool more) {
    Frame f{next, 0};
    add16(f, std::uint16_t(offset | (more ? 1 : 0)));
    add32(f, 0xabcd);
    return f;
}
Frame tcp(std::uint16_t sport, std::uint16_t dport) {
    Frame f;
    add16(f, sport);
    add16(f, dport);
    add32(f, 1000);
    add32(f, 0);
    add(f, {0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0});
    return f;
}
Frame udp(std::uint16_t sport, std::uint16_t dport, std::size_t payload = 0) {
    Frame f;
    add16(f, sport);
    add16(f, dport);
    add16(f, std::uint16_t(8 + payload));
    add16(f, 0);
    f.insert(f.end(), payload, 0x61);
    return f;
}
Frame icmp(std::uint8_t type, std::uint8_t code) { return {type, code, 0, 0, 0, 1, 0, 1}; }

std::optional<FlowKey> key(const Frame& f, LinkType link = LinkType::ethernet,
                           std::size_t caplen = SIZE_MAX) {
    return ringcap::flow_key(
        std::span(reinterpret_cast<const std::byte*>(f.data()), std::min(caplen, f.size())), link);
}

FlowKey v4(std::uint8_t proto, std::uint16_t sport, std::uint16_t dport, std::uint16_t vlan = 0) {
    FlowKey k;
    std::copy(kV4a.begin(), kV4a.end(), k.src_ip.begin());
    std::copy(kV4b.begin(), kV4b.end(), k.dst_ip.begin());
    k.src_port = sport;
    k.dst_port = dport;
    k.ip_version = 4;
    k.protocol = proto;
    k.vlan_id = vlan;
    return k;
}
FlowKey v6(std::uint8_t proto, std::uint16_t sport, std::uint16_t dport) {
    FlowKey k;
    k.src_ip = kV6a;
    k.dst_ip = kV6b;
    k.src_port = sport;
    k.dst_port = dport;
    k.ip_version = 6;
    k.protocol = proto;
    return k;
}

TEST(FlowKey, EthernetIpv4TcpAndUdp) {
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kTcp, 20) + tcp(40000, 80)), v4(kTcp, 40000, 80));
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kUdp, 12) + udp(5353, 53, 4)), v4(kUdp, 5353, 53));
    // IPv4 options move the transport header; addresses fill the first 4 of the 16 bytes.
    const auto k = key(ethernet(0x0800) + ipv4(kTcp, 20, 0, kV4a, kV4b, 8) + tcp(1, 2));
    EXPECT_EQ(k, v4(kTcp, 1, 2));
    for (std::size_t i = 4; i < 16; ++i) EXPECT_EQ(k->src_ip[i] | k->dst_ip[i], 0);
}

TEST(FlowKey, Ipv6ExtensionHeadersBeforeTcp) {
    // Hop-by-hop (0), destination options (60), then TCP.
    const Frame f = ethernet(0x86dd) + ipv6(0, 16 + 20) + options_header(60) +
                    options_header(kTcp) + tcp(443, 50000);
    EXPECT_EQ(key(f), v6(kTcp, 443, 50000));
    EXPECT_EQ(key(ethernet(0x86dd) + ipv6(kUdp, 8) + udp(1, 2)), v6(kUdp, 1, 2));
}

TEST(FlowKey, VlanTagsGiveTheOutermostId) {
    const Frame ip = ipv4(kUdp, 8) + udp(1000, 2000);
    EXPECT_EQ(key(ethernet(0x0800, {{0x8100, 0xa02a}}) + ip), v4(kUdp, 1000, 2000, 42));
    // QinQ: 802.1ad outer tag 100 around 802.1Q 42; and 802.1Q in 802.1Q.
    EXPECT_EQ(key(ethernet(0x0800, {{0x88a8, 100}, {0x8100, 42}}) + ip), v4(kUdp, 1000, 2000, 100));
    EXPECT_EQ(key(ethernet(0x0800, {{0x8100, 0x2000 | 200}, {0x8100, 42}}) + ip),
              v4(kUdp, 1000, 2000, 200));
    // A tag cut short: not a flow.
    EXPECT_EQ(key(ethernet(0x0800, {{0x8100, 42}}) + ip, LinkType::ethernet, 16), std::nullopt);
}

TEST(FlowKey, CookedAndRawLinkTypes) {
    const Frame ip = ipv4(kTcp, 20) + tcp(40000, 80);
    EXPECT_EQ(key(sll(0x0800) + ip, LinkType::linux_sll), v4(kTcp, 40000, 80));
    EXPECT_EQ(key(sll2(0x0800) + ip, LinkType::linux_sll2), v4(kTcp, 40000, 80));
    EXPECT_EQ(key(ip, LinkType::raw), v4(kTcp, 40000, 80));
    const Frame ip6 = ipv6(kUdp, 8) + udp(7, 9);
    EXPECT_EQ(key(sll(0x86dd) + ip6, LinkType::linux_sll), v6(kUdp, 7, 9));
    EXPECT_EQ(key(sll2(0x86dd) + ip6, LinkType::linux_sll2), v6(kUdp, 7, 9));
    EXPECT_EQ(key(ip6, LinkType::raw), v6(kUdp, 7, 9));
    // An 802.1Q tag after a cooked header.
    Frame tagged = sll(0x8100);
    add16(tagged, 42);
    add16(tagged, 0x0800);
    EXPECT_EQ(key(tagged + ip, LinkType::linux_sll), v4(kTcp, 40000, 80, 42));
    // Cut inside the cooked header; a link type not decoded.
    EXPECT_EQ(key(sll2(0x0800) + ip, LinkType::linux_sll2, 19), std::nullopt);
    EXPECT_EQ(key(ip, static_cast<LinkType>(147)), std::nullopt);
}

TEST(FlowKey, IcmpTypeAndCodeInThePorts) {
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kIcmp, 8) + icmp(8, 0)), v4(kIcmp, 8, 0));
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kIcmp, 8) + icmp(3, 3)), v4(kIcmp, 3, 3));
    EXPECT_EQ(key(ethernet(0x86dd) + ipv6(kIcmp6, 8) + icmp(128, 0)), v6(kIcmp6, 128, 0));
    EXPECT_EQ(key(ethernet(0x86dd) + ipv6(kIcmp6, 8) + icmp(1, 4)), v6(kIcmp6, 1, 4));
    // One byte of ICMP: no type and code.
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kIcmp, 8) + icmp(8, 0), LinkType::ethernet, 35),
              v4(kIcmp, 0, 0));
}

TEST(FlowKey, OnlyTheFirstFragmentHasPorts) {
    const Frame udp_part = udp(4000, 4001, 32);
    // IPv4: MF set at offset 0, then offset 185 * 8 without MF.
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kUdp, 40, 0x2000) + udp_part), v4(kUdp, 4000, 4001));
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kUdp, 40, 185) + udp_part), v4(kUdp, 0, 0));
    // IPv6: the fragment header's next header is the protocol.
    EXPECT_EQ(key(ethernet(0x86dd) + ipv6(44, 8 + 40) + fragment_header(kUdp, 0, true) + udp_part),
              v6(kUdp, 4000, 4001));
    EXPECT_EQ(
        key(ethernet(0x86dd) + ipv6(44, 8 + 40) + fragment_header(kUdp, 1480, false) + udp_part),
        v6(kUdp, 0, 0));
}

TEST(FlowKey, CutInsideTheIpHeaderIsNoFlow) {
    const Frame f = ethernet(0x0800) + ipv4(kTcp, 20) + tcp(1, 2);
    EXPECT_NE(key(f, LinkType::ethernet, 34), std::nullopt);
    EXPECT_EQ(key(f, LinkType::ethernet, 33), std::nullopt);
    EXPECT_EQ(key(f, LinkType::ethernet, 14), std::nullopt);
    EXPECT_EQ(key(f, LinkType::ethernet, 0), std::nullopt);
    // IPv4 options, IPv6 fixed header, an IPv6 extension header: the protocol is not known yet.
    EXPECT_EQ(key(ethernet(0x0800) + ipv4(kTcp, 20, 0, kV4a, kV4b, 8) + tcp(1, 2),
                  LinkType::ethernet, 14 + 27),
              std::nullopt);
    const Frame f6 = ethernet(0x86dd) + ipv6(0, 8 + 20) + options_header(kTcp) + tcp(1, 2);
    EXPECT_EQ(key(f6, LinkType::ethernet, 14 + 39), std::nullopt);
    EXPECT_EQ(key(f6, LinkType::ethernet, 14 + 47), std::nullopt);
    EXPECT_EQ(key(f6, LinkType::ethernet, 14 + 48), v6(kTcp, 0, 0));
}

TEST(FlowKey, CutInsideTheTransportHeaderHasNoPorts) {
    const Frame t = ethernet(0x0800) + ipv4(kTcp, 20) + tcp(40000, 80);
    EXPECT_EQ(key(t, LinkType::ethernet, t.size() - 1), v4(kTcp, 0, 0));
    EXPECT_EQ(key(t, LinkType::ethernet, 34 + 4), v4(kTcp, 0, 0));
    const Frame u = ethernet(0x0800) + ipv4(kUdp, 8) + udp(1, 2);
    EXPECT_EQ(key(u, LinkType::ethernet, u.size() - 1), v4(kUdp, 0, 0));
    EXPECT_EQ(key(u, LinkType::ethernet, u.size()), v4(kUdp, 1, 2));
}

TEST(FlowKey, NotIpIsNoFlow) {
    Frame arp = ethernet(0x0806);
    add(arp, {0, 1, 8, 0, 6, 4, 0, 1});
    arp.insert(arp.end(), 20, 0);
    EXPECT_EQ(key(arp), std::nullopt);
    EXPECT_EQ(key(ethernet(0x88cc) + Frame(46, 0)), std::nullopt);  // LLDP
    // The EtherType says IPv4, the header says version 6; IPv4 header length 16.
    Frame wrong = ethernet(0x0800) + ipv4(kTcp, 20) + tcp(1, 2);
    wrong[14] = 0x65;
    EXPECT_EQ(key(wrong), std::nullopt);
    wrong[14] = 0x44;
    EXPECT_EQ(key(wrong), std::nullopt);
}

TEST(FlowKey, BothDirectionsShareOneCanonicalKey) {
    const FlowKey out = *key(ethernet(0x0800) + ipv4(kTcp, 20, 0, kV4a, kV4b) + tcp(40000, 80));
    const FlowKey back = *key(ethernet(0x0800) + ipv4(kTcp, 20, 0, kV4b, kV4a) + tcp(80, 40000));
    EXPECT_NE(out, back);
    EXPECT_EQ(out.reversed(), back);
    EXPECT_EQ(back.reversed(), out);
    bool out_reversed = true, back_reversed = false;
    EXPECT_EQ(out.canonical(&out_reversed), back.canonical(&back_reversed));
    EXPECT_FALSE(out_reversed);  // 192.0.2.1 < 198.51.100.7
    EXPECT_TRUE(back_reversed);
    EXPECT_EQ(out.canonical(), out);
    // Same addresses: the smaller port is the source.
    FlowKey self = v4(kUdp, 9000, 53);
    self.dst_ip = self.src_ip;
    EXPECT_EQ(self.canonical().src_port, 53);
}

TEST(FlowKey, EqualKeysHashEqual) {
    const std::hash<FlowKey> h;
    const FlowKey a = *key(ethernet(0x86dd) + ipv6(kUdp, 8) + udp(1, 2));
    const FlowKey b = *key(sll2(0x86dd) + ipv6(kUdp, 8) + udp(1, 2), LinkType::linux_sll2);
    EXPECT_EQ(a, b);
    EXPECT_EQ(h(a), h(b));
    EXPECT_NE(h(a), h(a.reversed()));
    EXPECT_EQ(h(a.canonical()), h(a.reversed().canonical()));
    std::unordered_map<FlowKey, int> packets;
    for (const FlowKey& k : {a, b, a.reversed()}) ++packets[k.canonical()];
    EXPECT_EQ(packets.size(), 1u);
    EXPECT_EQ(packets.begin()->second, 3);
}

}  // namespace
