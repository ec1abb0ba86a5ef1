// What a capture delivers: exact bytes and metadata for frames of every size, VLAN tags put back,
// snaplen, promiscuous membership, and the cooked "any" capture.
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>

#include <utility>

#include "live_test.hpp"

namespace ringcap::test {
namespace {

class Frames : public LiveTest {};
RINGCAP_LIVE_SUITE(Frames);

// Destination addresses and the packet type the receiver gives each.
const std::vector<std::pair<Mac, std::uint8_t>> kDestinations = {
    {VethPair::cap_mac, PACKET_HOST},
    {kStranger, PACKET_OTHERHOST},
    {kBroadcast, PACKET_BROADCAST},
    {kMulticast, PACKET_MULTICAST},
};

void expect_in_order_and_recent(const std::vector<Captured>& got, std::int64_t before,
                                std::int64_t after) {
    constexpr std::int64_t slack = 50'000'000;  // clock granularity, not a latency bound
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_GE(got[i].ts_ns, before - slack) << "frame " << i;
        EXPECT_LE(got[i].ts_ns, after + slack) << "frame " << i;
        if (i > 0) {
            EXPECT_GE(got[i].ts_ns, got[i - 1].ts_ns) << "timestamps go back at " << i;
        }
    }
}

TEST_P(Frames, EverySizeArrivesByteForByteWithItsPacketType) {
    Capture cap = open(options());
    EXPECT_EQ(cap.info().link_type, LinkType::ethernet);
    EXPECT_EQ(cap.info().ifindex, pair_->cap_ifindex());
    EXPECT_EQ(cap.info().layout.version, version());

    const std::vector<std::size_t> sizes = {60,  61,  64,   65,   100,  127,  128,  256,
                                            512, 999, 1000, 1024, 1400, 1500, 1513, 1514};
    std::vector<Bytes> sent;
    std::vector<std::uint8_t> types;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const auto& [dst, type] = kDestinations[i % kDestinations.size()];
        sent.push_back(
            test_frame(dst, VethPair::peer_mac, sizes[i], static_cast<std::uint32_t>(i)));
        types.push_back(type);
    }
    const std::int64_t before = realtime_ns();
    from_peer().send(sent);
    const auto got = collect(cap, sent.size());
    const std::int64_t after = realtime_ns();

    ASSERT_TRUE(same_frames(got, sent));
    for (std::size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i) + " of " + std::to_string(sizes[i]) + " bytes");
        EXPECT_EQ(got[i].caplen, sizes[i]);
        EXPECT_EQ(got[i].wire_len, sizes[i]);
        EXPECT_FALSE(got[i].truncated);
        EXPECT_EQ(got[i].pkttype, types[i]);
        EXPECT_FALSE(got[i].outgoing);
        EXPECT_EQ(got[i].ifindex, pair_->cap_ifindex());
        EXPECT_FALSE(got[i].has_vlan);
    }
    expect_in_order_and_recent(got, before, after);
    const CaptureStats st = cap.stats();
    EXPECT_EQ(st.packets, sent.size());
    EXPECT_EQ(st.drops, 0u);
    // The counters add up across reads (the kernel resets its own on each read).
    EXPECT_EQ(cap.stats().packets, sent.size());
}

TEST_P(Frames, JumboFramesArriveWhole) {
    pair_->set_mtu(9000);
    Capture cap = open(options());
    if (version() == TpacketVersion::v2) {
        EXPECT_GE(cap.info().layout.frame_size, 9014u);
    }

    const std::vector<std::size_t> sizes = {9014, 9013, 9000, 8192, 4097, 1514, 60, 9014};
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < sizes.size(); ++i)
        sent.push_back(test_frame(VethPair::cap_mac, VethPair::peer_mac, sizes[i],
                                  static_cast<std::uint32_t>(100 + i)));
    const std::int64_t before = realtime_ns();
    from_peer().send(sent);
    const auto got = collect(cap, sent.size());
    const std::int64_t after = realtime_ns();

    ASSERT_TRUE(same_frames(got, sent));
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].caplen, sizes[i]) << "frame " << i;
        EXPECT_EQ(got[i].wire_len, sizes[i]) << "frame " << i;
        EXPECT_EQ(got[i].pkttype, PACKET_HOST) << "frame " << i;
    }
    expect_in_order_and_recent(got, before, after);
    EXPECT_EQ(cap.stats().drops, 0u);
}

TEST_P(Frames, PromiscuousMembershipLastsAsLongAsTheCapture) {
    ASSERT_EQ(pair_->cap_promiscuity(), 0);
    {
        Capture cap = open(options());  // promiscuous by default
        EXPECT_EQ(pair_->cap_promiscuity(), 1);
        const std::vector<Bytes> sent = {test_frame(kStranger, VethPair::peer_mac, 100, 1)};
        from_peer().send(sent);
        const auto got = collect(cap, sent.size());
        ASSERT_TRUE(same_frames(got, sent));
        EXPECT_EQ(got[0].pkttype, PACKET_OTHERHOST);
    }
    EXPECT_EQ(pair_->cap_promiscuity(), 0) << "closing the capture must drop the membership";

    CaptureOptions o = options();
    o.promiscuous = false;
    Capture cap = open(o);
    EXPECT_EQ(pair_->cap_promiscuity(), 0);
    // veth has no address filter: frames for other hosts still reach the socket, typed OTHERHOST.
    const std::vector<Bytes> sent = {test_frame(VethPair::cap_mac, VethPair::peer_mac, 100, 2),
                                     test_frame(kStranger, VethPair::peer_mac, 100, 3)};
    from_peer().send(sent);
    const auto got = collect(cap, sent.size());
    ASSERT_TRUE(same_frames(got, sent));
    EXPECT_EQ(got[0].pkttype, PACKET_HOST);
    EXPECT_EQ(got[1].pkttype, PACKET_OTHERHOST);
}

// The tagged frames of the VLAN tests: IPv4/UDP inside, several sizes and tags.
struct Tagged {
    Bytes frame;
    std::uint16_t tci;
};

std::vector<Tagged> tagged_frames(std::uint16_t tpid) {
    const std::vector<std::pair<std::size_t, std::uint16_t>> shapes = {
        {18, tci(3, 42)},  // 64 bytes tagged
        {100, tci(3, 42)},   {1000, tci(0, 1)},
        {1472, tci(3, 42)},                     // 1518 bytes tagged: a full-MTU frame plus its tag
        {200, tci(7, 4094)}, {200, tci(5, 0)},  // priority tag, VID 0
        {200, tci(0, 0)},                       // all-zero TCI: still a tag
    };
    std::vector<Tagged> out;
    std::uint32_t seq = 0;
    for (const auto& [payload, t] : shapes) {
        const Bytes inner = udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1", "10.0.0.2",
                                      40000, 9, seq++, payload);
        out.push_back({with_vlan(inner, tpid, t), t});
    }
    return out;
}

void expect_tags_put_back(const std::vector<Captured>& got, const std::vector<Tagged>& sent,
                          std::uint16_t tpid) {
    for (std::size_t i = 0; i < got.size() && i < sent.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i) + ", TCI " + std::to_string(sent[i].tci));
        EXPECT_TRUE(got[i].has_vlan);
        EXPECT_TRUE(got[i].status & TP_STATUS_VLAN_TPID_VALID);
        EXPECT_EQ(got[i].vlan_tci, sent[i].tci);
        EXPECT_EQ(got[i].vlan_id, sent[i].tci & 0x0fff);
        EXPECT_EQ(got[i].vlan_tpid, tpid);
        EXPECT_EQ(got[i].caplen, sent[i].frame.size());
        EXPECT_EQ(got[i].wire_len, sent[i].frame.size());
        EXPECT_FALSE(got[i].truncated);
    }
}

std::vector<Bytes> frames_of(const std::vector<Tagged>& t) {
    std::vector<Bytes> out;
    for (const Tagged& x : t) out.push_back(x.frame);
    return out;
}

// veth (like most NICs) strips the outer tag into skb metadata before the packet socket sees the
// frame; ringcap must put it back so the bytes are what was on the wire, as tcpdump shows them.
TEST_P(Frames, Dot1QTagIsPutBackIntoTheBytes) {
    Capture cap = open(options());
    const auto sent = tagged_frames(ETH_P_8021Q);
    from_peer().send(frames_of(sent));
    const auto got = collect(cap, sent.size());
    ASSERT_TRUE(same_frames(got, frames_of(sent)));
    expect_tags_put_back(got, sent, ETH_P_8021Q);
    EXPECT_EQ(cap.stats().packets, sent.size());
}

// 802.1ad (S-tag, 0x88a8) is stripped too (eth_type_vlan() covers both TPIDs); the kernel reports
// the TPID (TP_STATUS_VLAN_TPID_VALID) and ringcap puts back the right one.
TEST_P(Frames, Dot1adTagIsPutBackWithItsTpid) {
    Capture cap = open(options());
    auto sent = tagged_frames(ETH_P_8021AD);
    // 1518 bytes: af_packet's send path allows the 4 bytes over MTU only for a 0x8100 tag
    // (packet_extra_vlan_len_allowed), so an 802.1ad frame that size fails with EMSGSIZE.
    sent.erase(sent.begin() + 3);
    from_peer().send(frames_of(sent));
    const auto got = collect(cap, sent.size());
    ASSERT_TRUE(same_frames(got, frames_of(sent)));
    expect_tags_put_back(got, sent, ETH_P_8021AD);
}

// Q-in-Q: only the outer tag is stripped into metadata; the inner one stays in the bytes.
TEST_P(Frames, QinQOuterTagIsPutBackInnerTagUntouched) {
    Capture cap = open(options());
    const Bytes inner =
        udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1", "10.0.0.2", 40000, 9, 7, 300);
    const Bytes c_tagged = with_vlan(inner, ETH_P_8021Q, tci(3, 42));
    const std::vector<Tagged> sent = {{with_vlan(c_tagged, ETH_P_8021AD, tci(5, 100)), tci(5, 100)},
                                      {with_vlan(c_tagged, ETH_P_8021Q, tci(1, 200)), tci(1, 200)}};
    from_peer().send(frames_of(sent));
    const auto got = collect(cap, sent.size());
    ASSERT_TRUE(same_frames(got, frames_of(sent)));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].vlan_tpid, ETH_P_8021AD);
    EXPECT_EQ(got[0].vlan_id, 100);
    EXPECT_EQ(got[1].vlan_tpid, ETH_P_8021Q);
    EXPECT_EQ(got[1].vlan_id, 200);
    for (const Captured& c : got) EXPECT_EQ(c.wire_len, c.bytes.size());
}

TEST_P(Frames, SnaplenCutsTheCopyNotTheLength) {
    CaptureOptions o = options();
    o.snaplen = 100;
    Capture cap = open(o);
    EXPECT_EQ(cap.info().snaplen, 100u);

    const Bytes big = test_frame(VethPair::cap_mac, VethPair::peer_mac, 1000, 1);
    const Bytes small = test_frame(VethPair::cap_mac, VethPair::peer_mac, 60, 2);
    const Bytes exact = test_frame(VethPair::cap_mac, VethPair::peer_mac, 100, 3);
    // 1000 bytes on the wire with the tag; 996 in the kernel once it is stripped.
    const Bytes big_tagged = with_vlan(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1",
                                                 "10.0.0.2", 40000, 9, 4, 1000 - 46),
                                       ETH_P_8021Q, tci(3, 42));
    // 98 bytes tagged, 94 stripped: the kernel copies it whole, and with the tag it still fits.
    const Bytes near_tagged = with_vlan(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1",
                                                  "10.0.0.2", 40000, 9, 5, 98 - 46),
                                        ETH_P_8021Q, tci(3, 42));
    // 102 bytes tagged, 98 stripped: under snaplen in the kernel, over it once the tag is back.
    const Bytes over_tagged = with_vlan(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1",
                                                  "10.0.0.2", 40000, 9, 6, 102 - 46),
                                        ETH_P_8021Q, tci(3, 42));
    ASSERT_EQ(big_tagged.size(), 1000u);
    ASSERT_EQ(near_tagged.size(), 98u);
    ASSERT_EQ(over_tagged.size(), 102u);
    const std::vector<Bytes> sent = {big, small, exact, big_tagged, near_tagged, over_tagged};
    from_peer().send(sent);
    const auto got = collect(cap, sent.size());
    ASSERT_EQ(got.size(), sent.size());

    for (std::size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i) + " of " + std::to_string(sent[i].size()));
        const std::size_t want = std::min<std::size_t>(sent[i].size(), 100);
        EXPECT_EQ(got[i].caplen, want);
        EXPECT_EQ(got[i].bytes.size(), want);
        EXPECT_LE(got[i].caplen, 100u);
        EXPECT_EQ(got[i].wire_len, sent[i].size());
        EXPECT_EQ(got[i].truncated, sent[i].size() > 100);
        EXPECT_EQ(got[i].bytes, Bytes(sent[i].begin(), sent[i].begin() + want))
            << hex(got[i].bytes) << "\n"
            << hex(sent[i]);
    }
    EXPECT_TRUE(got[3].has_vlan);
    EXPECT_EQ(got[3].vlan_id, 42);
}

// Snaplen smaller than an Ethernet header plus tag: the copy is the first bytes of the tagged
// frame, never more than snaplen.
TEST_P(Frames, TinySnaplenWithVlanStaysWithinSnaplen) {
    CaptureOptions o = options();
    o.snaplen = 14;
    Capture cap = open(o);
    const Bytes tagged = with_vlan(
        udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1", "10.0.0.2", 40000, 9, 1, 100),
        ETH_P_8021Q, tci(3, 42));
    from_peer().send(std::vector<Bytes>{tagged});
    const auto got = collect(cap, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].caplen, 14u);
    EXPECT_EQ(got[0].bytes, Bytes(tagged.begin(), tagged.begin() + 14)) << hex(got[0].bytes) << "\n"
                                                                        << hex(tagged);
    EXPECT_EQ(got[0].wire_len, tagged.size());
}

// "any": a cooked SOCK_DGRAM capture of every interface in the namespace. Each packet starts with
// a 20-byte LINKTYPE_LINUX_SLL2 header, then the network-layer bytes.
TEST_P(Frames, AnyInterfaceGivesSll2Headers) {
    Capture cap = open({.interface = "any", .version = version()});
    EXPECT_EQ(cap.info().link_type, LinkType::linux_sll2);
    EXPECT_EQ(cap.info().ifindex, 0);

    const Bytes plain = test_frame(VethPair::cap_mac, VethPair::peer_mac, 200, 1);
    const Bytes bcast =
        udp_frame(kBroadcast, VethPair::peer_mac, "10.0.0.1", "10.0.0.255", 40000, 9, 2, 500);
    const Bytes tagged = with_vlan(
        udp_frame(kStranger, VethPair::peer_mac, "10.0.0.1", "10.0.0.2", 40000, 9, 3, 300),
        ETH_P_8021Q, tci(3, 42));
    const std::vector<Bytes> sent = {plain, bcast, tagged};
    const std::vector<std::uint8_t> types = {PACKET_HOST, PACKET_BROADCAST, PACKET_OTHERHOST};
    from_peer().send(sent);
    const auto got = collect(cap, sent.size());
    ASSERT_EQ(got.size(), sent.size());

    for (std::size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i));
        const Bytes& b = got[i].bytes;
        ASSERT_GE(b.size(), 20u);
        // protocol, reserved, ifindex, hatype, pkttype, halen, address (the sender's MAC)
        EXPECT_EQ(be16_at(b, 0), be16_at(sent[i], 12));
        EXPECT_EQ(be16_at(b, 2), 0);
        EXPECT_EQ(be32_at(b, 4), static_cast<std::uint32_t>(pair_->cap_ifindex()));
        EXPECT_EQ(be16_at(b, 8), ARPHRD_ETHER);
        EXPECT_EQ(std::to_integer<int>(b[10]), types[i]);
        EXPECT_EQ(std::to_integer<int>(b[11]), 6);
        EXPECT_EQ(Bytes(b.begin() + 12, b.begin() + 18),
                  Bytes(sent[i].begin() + 6, sent[i].begin() + 12));
        // then the frame from the network header on; for the tagged frame, TCI and inner type.
        EXPECT_EQ(Bytes(b.begin() + 20, b.end()), Bytes(sent[i].begin() + 14, sent[i].end()))
            << hex(b) << "\n"
            << hex(sent[i]);
        EXPECT_EQ(got[i].caplen, sent[i].size() - 14 + 20);
        EXPECT_EQ(got[i].wire_len, sent[i].size() - 14 + 20);
        EXPECT_EQ(got[i].ifindex, pair_->cap_ifindex());
        EXPECT_EQ(got[i].pkttype, types[i]);
    }
    EXPECT_TRUE(got[2].has_vlan);
    EXPECT_EQ(got[2].vlan_id, 42);
    EXPECT_EQ(cap.stats().packets, sent.size());
}

// On "any" the filter is moved past the cooked header for the kernel (Filter::for_kernel).
TEST_P(Frames, AnyInterfaceFilterRunsInTheKernel) {
    Capture cap = open({.interface = "any", .version = version(), .filter = "udp port 5353"});
    const Bytes match =
        udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1", "10.0.0.2", 40000, 5353, 1);
    const std::vector<Bytes> sent = {
        udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1", "10.0.0.2", 40000, 9, 0),
        match,
        tcp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1", "10.0.0.2", 40000, 5353, 0x18,
                  2),
        test_frame(VethPair::cap_mac, VethPair::peer_mac, 100, 3),
    };
    from_peer().send(sent);
    const auto got = collect(cap, 1, 3s, 300ms);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(Bytes(got[0].bytes.begin() + 20, got[0].bytes.end()),
              Bytes(match.begin() + 14, match.end()));
    EXPECT_EQ(cap.stats().packets, 1u);
}

}  // namespace
}  // namespace ringcap::test
