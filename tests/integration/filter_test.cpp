// Filters run in the kernel and match what a live tcpdump on the same interface matches; the
// direction setting picks received and/or sent frames.
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <optional>
#include <set>

#include "live_test.hpp"

namespace ringcap::test {
namespace {

// One frame of each kind the filters below tell apart, addressed from `src` to `dst`.
std::vector<Bytes> mixed_frames(const Mac& dst, const Mac& src) {
    const auto vlan = [](const Bytes& f, std::uint16_t vid) {
        return with_vlan(f, ETH_P_8021Q, tci(3, vid));
    };
    return {
        /* 0 */ udp_frame(dst, src, "10.0.0.1", "10.0.0.2", 40000, 9, 0),
        /* 1 */ udp_frame(dst, src, "10.0.0.3", "10.0.0.4", 40000, 9, 1),
        /* 2 */ udp_frame(dst, src, "10.0.0.2", "10.0.0.5", 40000, 5353, 2),
        /* 3 */ udp_frame(dst, src, "10.0.0.6", "10.0.0.7", 5353, 40000, 3),
        /* 4 */ udp_frame(dst, src, "10.0.0.6", "10.0.0.7", 40000, 5354, 4),
        /* 5 */ tcp_frame(dst, src, "10.0.0.6", "10.0.0.7", 40000, 5353, 0x18, 5),  // PSH|ACK
        /* 6 */ tcp_frame(dst, src, "10.0.0.6", "10.0.0.7", 40000, 80, 0x02, 6),    // SYN
        /* 7 */ tcp_frame(dst, src, "10.0.0.6", "10.0.0.7", 40000, 80, 0x10, 7),    // ACK
        /* 8 */ tcp_frame(dst, src, "10.0.0.6", "10.0.0.7", 40000, 80, 0x12, 8),    // SYN|ACK
        /* 9 */ tcp_frame(dst, src, "10.0.0.6", "10.0.0.7", 40000, 80, 0x19, 9),    // FIN|PSH|ACK
        /* 10 */ arp_request(src, "10.0.0.1", "10.0.0.2"),
        /* 11 */ vlan(udp_frame(dst, src, "10.0.0.8", "10.0.0.9", 40000, 5353, 11), 42),
        /* 12 */ vlan(tcp_frame(dst, src, "10.0.0.8", "10.0.0.9", 40000, 80, 0x18, 12), 42),
        /* 13 */ vlan(udp_frame(dst, src, "10.0.0.8", "10.0.0.9", 40000, 5353, 13), 43),
        /* 14 */ vlan(udp_frame(dst, src, "10.0.0.1", "10.0.0.2", 40000, 9, 14), 42),
        /* 15 */ test_frame(dst, src, 100, 15),
    };
}

std::vector<Bytes> pick(const std::vector<Bytes>& all, const std::vector<std::size_t>& which) {
    std::vector<Bytes> out;
    for (std::size_t i : which) out.push_back(all.at(i));
    return out;
}

class KernelFilter : public LiveTest {
  protected:
    // Sends the mix from the far end (received on cap_if, tags stripped by veth) or from cap_if
    // itself (sent, tags still in the bytes), and checks that exactly `expected` arrive, that the
    // kernel counted only those, and that tcpdump running at the same time saw the same bytes.
    void check(const std::string& expr, bool incoming, const std::vector<std::size_t>& expected) {
        SCOPED_TRACE("filter '" + expr + "', frames " + (incoming ? "received" : "sent"));
        const std::vector<Bytes> all = incoming
                                           ? mixed_frames(VethPair::cap_mac, VethPair::peer_mac)
                                           : mixed_frames(VethPair::peer_mac, VethPair::cap_mac);
        const std::vector<Bytes> want = pick(all, expected);

        Capture cap = open(options(expr));
        std::optional<Tcpdump> tcpdump;
        if (Tcpdump::available()) tcpdump.emplace(pair_->cap_ns(), pair_->cap_if(), expr);
        (incoming ? from_peer() : from_cap()).send(all);

        const auto got = collect(cap, want.size(), 3s, 300ms);
        EXPECT_TRUE(same_frames(got, want));
        const CaptureStats st = cap.stats();
        EXPECT_EQ(st.packets, want.size()) << "the kernel counted frames the filter rejects";
        EXPECT_EQ(st.drops, 0u);
        for (const Captured& c : got) EXPECT_EQ(c.outgoing, !incoming);

        if (tcpdump) {
            const std::vector<Bytes> seen = tcpdump->finish(want.size());
            std::vector<Bytes> ours;
            for (const Captured& c : got) ours.push_back(c.bytes);
            EXPECT_EQ(ours, seen) << "ringcap and tcpdump disagree: " << ours.size() << " vs "
                                  << seen.size() << " frames";
        }
    }

    void check_both(const std::string& expr, const std::vector<std::size_t>& received,
                    const std::vector<std::size_t>& sent) {
        check(expr, true, received);
        check(expr, false, sent);
    }
};
RINGCAP_LIVE_SUITE(KernelFilter);

// A frame veth received has its tag in metadata, so to a filter without "vlan" it looks untagged
// (frames 14, 11, 13, 12 below); a sent frame carries its tag in the bytes and does not. tcpdump
// behaves the same way, which check() verifies.
TEST_P(KernelFilter, Host) { check_both("host 10.0.0.2", {0, 2, 10, 14}, {0, 2, 10}); }

TEST_P(KernelFilter, UdpPort) { check_both("udp port 5353", {2, 3, 11, 13}, {2, 3}); }

TEST_P(KernelFilter, TcpFlagsByte) { check_both("tcp[13]=24", {5, 12}, {5}); }

TEST_P(KernelFilter, VlanId) { check_both("vlan 42", {11, 12, 14}, {11, 12, 14}); }

TEST_P(KernelFilter, VlanAndUdp) { check_both("vlan and udp", {11, 13, 14}, {11, 13, 14}); }

TEST_P(KernelFilter, VlanIdAndPort) { check_both("vlan 42 and udp port 5353", {11}, {11}); }

TEST_P(KernelFilter, NotVlan) {
    const std::vector<std::size_t> untagged = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15};
    check_both("not vlan", untagged, untagged);
}

TEST_P(KernelFilter, Arp) { check_both("arp", {10}, {10}); }

TEST_P(KernelFilter, EmptyFilterTakesEverything) {
    std::vector<std::size_t> all(16);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    check_both("", all, all);
}

TEST_P(KernelFilter, BadExpressionIsRejectedAtOpen) {
    try {
        open(options("udp port"));
        FAIL() << "a bad filter expression must throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        EXPECT_NE(std::string(e.what()).find("udp port"), std::string::npos) << e.what();
    }
}

// ---- Direction -----------------------------------------------------------------------------

class Directions : public LiveTest {
  protected:
    // Received frames (from the peer) and sent ones (from cap_if), interleaved; a tagged frame
    // and a UDP port 5353 frame in each direction.
    void SetUp() override {
        LiveTest::SetUp();
        if (IsSkipped()) return;
        const Mac& cap = VethPair::cap_mac;
        const Mac& peer = VethPair::peer_mac;
        received_ = {test_frame(cap, peer, 100, 1), test_frame(cap, peer, 1514, 2),
                     with_vlan(udp_frame(cap, peer, "10.0.0.1", "10.0.0.2", 1, 2, 3), ETH_P_8021Q,
                               tci(0, 42)),
                     udp_frame(cap, peer, "10.0.0.1", "10.0.0.2", 40000, 5353, 4)};
        sent_ = {test_frame(peer, cap, 100, 11), test_frame(peer, cap, 1514, 12),
                 with_vlan(udp_frame(peer, cap, "10.0.0.2", "10.0.0.1", 2, 1, 13), ETH_P_8021Q,
                           tci(0, 42)),
                 udp_frame(peer, cap, "10.0.0.2", "10.0.0.1", 40000, 5353, 14)};
    }

    // Sends them alternately; returns them in the order sent.
    std::vector<Bytes> send_both_ways() {
        RawSender in = from_peer();
        RawSender out = from_cap();
        std::vector<Bytes> order;
        for (std::size_t i = 0; i < received_.size(); ++i) {
            in.send(received_[i]);
            order.push_back(received_[i]);
            out.send(sent_[i]);
            order.push_back(sent_[i]);
        }
        return order;
    }

    void expect_directions(const std::vector<Captured>& got) {
        const std::set<Bytes> outgoing(sent_.begin(), sent_.end());
        for (const Captured& c : got) {
            const bool out = outgoing.count(c.bytes) != 0;
            EXPECT_EQ(c.outgoing, out) << hex(c.bytes);
            EXPECT_EQ(c.pkttype, out ? PACKET_OUTGOING : PACKET_HOST) << hex(c.bytes);
            EXPECT_EQ(c.ifindex, pair_->cap_ifindex());
            // A sent frame's tag was never stripped: it is in the bytes, not in the metadata.
            EXPECT_EQ(c.has_vlan, !out && be16_at(c.bytes, 12) == ETH_P_8021Q) << hex(c.bytes);
        }
    }

    std::vector<Bytes> received_, sent_;
};
RINGCAP_LIVE_SUITE(Directions);

TEST_P(Directions, InSeesOnlyReceivedFrames) {
    CaptureOptions o = options();
    o.direction = Direction::in;
    Capture cap = open(o);
    send_both_ways();
    const auto got = collect(cap, received_.size(), 3s, 300ms);
    EXPECT_TRUE(same_frames(got, received_));
    expect_directions(got);
    EXPECT_EQ(cap.stats().packets, received_.size());
}

TEST_P(Directions, OutSeesOnlySentFrames) {
    CaptureOptions o = options();
    o.direction = Direction::out;
    Capture cap = open(o);
    send_both_ways();
    const auto got = collect(cap, sent_.size(), 3s, 300ms);
    EXPECT_TRUE(same_frames(got, sent_));
    expect_directions(got);
    EXPECT_EQ(cap.stats().packets, sent_.size());
}

TEST_P(Directions, InoutSeesBoth) {
    Capture cap = open(options());  // inout is the default
    const std::vector<Bytes> order = send_both_ways();
    const auto got = collect(cap, order.size(), 3s, 300ms);
    EXPECT_TRUE(same_frames(got, order));
    expect_directions(got);
    EXPECT_EQ(cap.stats().packets, order.size());
}

TEST_P(Directions, OutCombinesWithAFilter) {
    CaptureOptions o = options("udp port 5353");
    o.direction = Direction::out;
    Capture cap = open(o);
    send_both_ways();
    const auto got = collect(cap, 1, 3s, 300ms);
    EXPECT_TRUE(same_frames(got, {sent_[3]}));
    expect_directions(got);
    EXPECT_EQ(cap.stats().packets, 1u);
}

TEST_P(Directions, InCombinesWithAFilter) {
    CaptureOptions o = options("udp port 5353 or vlan 42");
    o.direction = Direction::in;
    Capture cap = open(o);
    send_both_ways();
    const auto got = collect(cap, 2, 3s, 300ms);
    EXPECT_TRUE(same_frames(got, {received_[2], received_[3]}));
    expect_directions(got);
    EXPECT_EQ(cap.stats().packets, 2u);
}

}  // namespace
}  // namespace ringcap::test
