// The RX ring walkers without a kernel: RxRing takes batches off a ring laid out in an ordinary
// buffer (synthetic_ring.hpp) and Batch walks them, for V3 blocks (packets chained by
// tp_next_offset, block status words) and V2 frames (across block ends with a gap, and the wrap).
// Checked: order and bytes of every packet, which status words are marked handed out and which
// go back to the kernel, and that VLAN and cooked (SLL2) fix-ups happen in place exactly once.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include <ringcap/batch.hpp>

#include "ring/rx_ring.hpp"
#include "synthetic_ring.hpp"

namespace ringcap::test {
namespace {

using detail::FramePosition;
using detail::RxRing;

constexpr detail::Fixup kPlain{.cooked = false, .snaplen = 262144};

// Every packet of a batch, by range-for and by for_each: both must agree.
std::vector<Bytes> packets_of(Batch& b) {
    std::vector<Bytes> by_range, by_for_each;
    for (const PacketView& p : b) by_range.push_back(bytes_of(p));
    b.for_each([&](const PacketView& p) { by_for_each.push_back(bytes_of(p)); });
    EXPECT_EQ(by_range, by_for_each);
    return by_range;
}

PacketSpec numbered(std::uint32_t seq, std::size_t len) {
    return {.bytes = numbered_frame(seq, len),
            .ts_ns = 1'700'000'000'000'000'000 + seq,
            .rxhash = 0xab00 + seq};
}

// ---------------------------------------------------------------------------------------------
// RingMap: position arithmetic, checked against addresses computed independently.

TEST(RingMap, StepsThroughEveryFrameAcrossBlockGapsAndWraps) {
    // 4096-byte blocks of 1312-byte frames: 3 frames a block and a 160-byte gap at its end.
    SyntheticRing ring(4096, 3, 1312);
    const detail::RingMap map = ring.map();
    ASSERT_EQ(map.frames_per_block, 3u);
    ASSERT_EQ(map.frame_count(), 9u);
    FramePosition p{};
    for (std::uint32_t k = 0; k < 2 * 9 + 2; ++k, p = map.next(p)) {
        const std::uint32_t block = (k / 3) % 3, slot = k % 3;
        EXPECT_EQ(p, (FramePosition{block, slot})) << "step " << k;
        EXPECT_EQ(map.frame(p), ring.base() + block * 4096 + slot * 1312) << "step " << k;
        EXPECT_LE(static_cast<std::size_t>(map.frame(p) - map.block(block)) + 1312, 4096u)
            << "a frame runs past its block";
    }
    EXPECT_EQ(map.next_block(2), 0u);
    EXPECT_EQ(map.next_block(0), 1u);
    std::vector<std::byte*> seen;
    map.for_each_frame([&](std::byte* f) { seen.push_back(f); });
    ASSERT_EQ(seen.size(), 9u);
    EXPECT_EQ(seen[3], ring.frame(1, 0));
    EXPECT_EQ(seen[8], ring.frame(2, 2));
}

// ---------------------------------------------------------------------------------------------
// V3 blocks.

TEST(V3Walker, WalksChainedPacketsWithTheirMetadata) {
    SyntheticRing ring(8192, 1, 8192);
    const std::vector<PacketSpec> packets = {numbered(0, 60), numbered(1, 1514), numbered(2, 99)};
    fill_v3_block(ring.block(0), packets);
    detail::V3BlockWalker w(*reinterpret_cast<tpacket_block_desc*>(ring.block(0)));
    for (std::size_t i = 0; i < packets.size(); ++i) {
        if (i != 0) w.advance();
        const PacketView v = w.view();
        EXPECT_EQ(bytes_of(v), packets[i].bytes) << "packet " << i;
        EXPECT_EQ(v.wire_len(), packets[i].bytes.size());
        EXPECT_EQ(v.ts_ns(), packets[i].ts_ns);
        EXPECT_EQ(v.rxhash(), packets[i].rxhash);
        EXPECT_EQ(v.ifindex(), 7);
        EXPECT_EQ(v.pkttype(), PACKET_HOST);
        EXPECT_FALSE(v.has_vlan());
    }
}

TEST(V3Ring, TakesReadyBlocksInOrderSkipsEmptyOnesAndNeverHandsOutAHeldBlock) {
    SyntheticRing ring(8192, 3, 8192);
    fill_v3_block(ring.block(0), {numbered(0, 100), numbered(1, 200), numbered(2, 300)});
    fill_v3_block(ring.block(1), {});  // retired by the timer with nothing in it
    fill_v3_block(ring.block(2), {numbered(3, 400), numbered(4, 500)});
    RxRing rx(TpacketVersion::v3, ring.map(), kPlain);

    std::optional<Batch> a = rx.take();
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->version(), TpacketVersion::v3);
    ASSERT_EQ(a->size(), 3u);
    EXPECT_EQ(packets_of(*a), (std::vector<Bytes>{numbered_frame(0, 100), numbered_frame(1, 200),
                                                  numbered_frame(2, 300)}));
    EXPECT_EQ(block_status(ring.block(0)), TP_STATUS_USER | detail::kHandedOut);

    std::optional<Batch> b = rx.take();  // block 1 is empty: straight back, then block 2
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(block_status(ring.block(1)), TP_STATUS_KERNEL);
    EXPECT_EQ(packets_of(*b), (std::vector<Bytes>{numbered_frame(3, 400), numbered_frame(4, 500)}));

    // Round the ring to block 0 again: still held by `a`, so not handed out a second time.
    EXPECT_FALSE(rx.take().has_value());
    a.reset();  // the destructor hands it back
    EXPECT_EQ(block_status(ring.block(0)), TP_STATUS_KERNEL);
    EXPECT_FALSE(rx.take().has_value()) << "a block the kernel owns was handed out";

    // The kernel fills block 0 again: it is next.
    fill_v3_block(ring.block(0), {numbered(5, 64)});
    std::optional<Batch> c = rx.take();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(packets_of(*c), std::vector<Bytes>{numbered_frame(5, 64)});
    b->release();
    EXPECT_EQ(block_status(ring.block(2)), TP_STATUS_KERNEL);
    EXPECT_TRUE(b->empty());
    b->release();  // a no-op
    EXPECT_EQ(block_status(ring.block(2)), TP_STATUS_KERNEL);
}

TEST(V3Ring, NothingReadyIsNullopt) {
    SyntheticRing ring(8192, 2, 8192);
    fill_v3_block(ring.block(0), {numbered(0, 100)}, TP_STATUS_KERNEL);
    fill_v3_block(ring.block(1), {numbered(1, 100)});
    RxRing rx(TpacketVersion::v3, ring.map(), kPlain);
    EXPECT_FALSE(rx.take().has_value()) << "blocks are taken in ring order";
}

// ---------------------------------------------------------------------------------------------
// V2 frames.

class V2Ring : public ::testing::Test {
  protected:
    // 3 frames a block, a 160-byte gap at each block's end, 9 frames in all.
    SyntheticRing ring{4096, 3, 1312};

    // A length per packet, so that a packet in the wrong frame shows.
    static std::size_t length(std::uint32_t seq) { return 60 + 10 * (seq % 50); }
    // Fills the frames at ring indexes first .. first + n - 1 (wrapping) with packets seq...
    void fill(std::uint32_t first, std::uint32_t n, std::uint32_t seq) {
        for (std::uint32_t k = 0; k < n; ++k) {
            const std::uint32_t i = (first + k) % 9;
            fill_v2_frame(ring.frame(i / 3, i % 3), numbered(seq + k, length(seq + k)));
        }
    }
    std::vector<Bytes> expected(std::uint32_t n, std::uint32_t seq) {
        std::vector<Bytes> out;
        for (std::uint32_t k = 0; k < n; ++k)
            out.push_back(numbered_frame(seq + k, length(seq + k)));
        return out;
    }
    std::uint32_t status(std::uint32_t index) {
        return frame_status(ring.frame(index / 3, index % 3));
    }
};

TEST_F(V2Ring, TakesRunsOfReadyFramesAcrossBlockEndsAndTheWrap) {
    RxRing rx(TpacketVersion::v2, ring.map(), kPlain);
    fill(0, 7, 100);  // frames 0..6: blocks 0 and 1 and the first of block 2
    std::optional<Batch> a = rx.take();
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->version(), TpacketVersion::v2);
    EXPECT_EQ(packets_of(*a), expected(7, 100));
    for (std::uint32_t i = 0; i < 7; ++i)
        EXPECT_EQ(status(i), TP_STATUS_USER | detail::kHandedOut) << "frame " << i;
    EXPECT_EQ(status(7), 0u);
    a->release();
    for (std::uint32_t i = 0; i < 7; ++i) EXPECT_EQ(status(i), TP_STATUS_KERNEL) << "frame " << i;

    // The next run starts at frame 7 and wraps: 7, 8, 0, 1, 2.
    fill(7, 5, 200);
    std::optional<Batch> b = rx.take();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(packets_of(*b), expected(5, 200));
    for (std::uint32_t i : {7u, 8u, 0u, 1u, 2u})
        EXPECT_EQ(status(i), TP_STATUS_USER | detail::kHandedOut) << "frame " << i;
    EXPECT_EQ(status(3), TP_STATUS_KERNEL);
    b.reset();
    for (std::uint32_t i : {7u, 8u, 0u, 1u, 2u}) EXPECT_EQ(status(i), TP_STATUS_KERNEL);
    EXPECT_FALSE(rx.take().has_value());
}

TEST_F(V2Ring, ABatchNeverHoldsMoreThanTheRingAndHeldFramesAreNotHandedOutTwice) {
    RxRing rx(TpacketVersion::v2, ring.map(), kPlain);
    fill(0, 9, 0);  // every frame ready: walking on would come round to frame 0 again
    std::optional<Batch> all = rx.take();
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(all->size(), 9u);
    EXPECT_EQ(packets_of(*all), expected(9, 0));
    EXPECT_FALSE(rx.take().has_value()) << "frames a live Batch holds were handed out again";

    // Moving hands the frames over; the moved-from batch gives nothing back.
    Batch moved = std::move(*all);
    EXPECT_TRUE(all->empty());
    all.reset();
    EXPECT_EQ(status(0), TP_STATUS_USER | detail::kHandedOut);
    EXPECT_EQ(moved.size(), 9u);
    moved.release();
    for (std::uint32_t i = 0; i < 9; ++i) EXPECT_EQ(status(i), TP_STATUS_KERNEL);
}

TEST_F(V2Ring, StopsAtTheFirstFrameNotReady) {
    RxRing rx(TpacketVersion::v2, ring.map(), kPlain);
    fill(0, 2, 0);
    fill(3, 1, 5);  // frame 2 is still the kernel's: frame 3 must wait for it
    std::optional<Batch> a = rx.take();
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->size(), 2u);
    EXPECT_EQ(status(3), TP_STATUS_USER);
    EXPECT_FALSE(rx.take().has_value());
}

// ---------------------------------------------------------------------------------------------
// Fix-ups, in place and once.

Bytes with_tag(const Bytes& frame, std::uint16_t tpid, std::uint16_t tci) {
    Bytes out(frame.begin(), frame.begin() + 12);
    out.insert(out.end(), {std::uint8_t(tpid >> 8), std::uint8_t(tpid), std::uint8_t(tci >> 8),
                           std::uint8_t(tci)});
    out.insert(out.end(), frame.begin() + 12, frame.end());
    return out;
}

// Three passes (a partial range-for, a stopped for_each, then both whole): the tag is put back
// once, whichever way comes first.
void expect_fixed_once(Batch& b, const std::vector<Bytes>& want) {
    for (const PacketView& p : b) {
        EXPECT_EQ(bytes_of(p), want[0]);
        break;
    }
    std::size_t n = 0;
    b.for_each([&](const PacketView& p) {
        EXPECT_EQ(bytes_of(p), want[n]);
        return ++n < 2;
    });
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(packets_of(b), want);
    EXPECT_EQ(packets_of(b), want);
}

TEST(FixUp, VlanTagIsPutBackOnceOnV3) {
    SyntheticRing ring(8192, 1, 8192);
    std::vector<PacketSpec> packets = {numbered(0, 64), numbered(1, 80), numbered(2, 90)};
    for (PacketSpec& p : packets) {
        p.flags = TP_STATUS_VLAN_VALID;
        p.tci = 0x202a;  // priority 1, VLAN 42; no TPID given: 802.1Q
    }
    packets[2].flags |= TP_STATUS_VLAN_TPID_VALID;
    packets[2].tpid = 0x88a8;
    fill_v3_block(ring.block(0), packets);
    RxRing rx(TpacketVersion::v3, ring.map(), kPlain);
    std::optional<Batch> b = rx.take();
    ASSERT_TRUE(b.has_value());
    const std::vector<Bytes> want = {with_tag(packets[0].bytes, 0x8100, 0x202a),
                                     with_tag(packets[1].bytes, 0x8100, 0x202a),
                                     with_tag(packets[2].bytes, 0x88a8, 0x202a)};
    expect_fixed_once(*b, want);
    b->for_each([](const PacketView& p) {
        EXPECT_TRUE(p.has_vlan());
        EXPECT_EQ(p.vlan_id(), 42);
        EXPECT_EQ(p.wire_len(), p.caplen());
    });
    const auto& h =
        *reinterpret_cast<tpacket3_hdr*>(ring.block(0) + TPACKET_ALIGN(sizeof(tpacket_block_desc)));
    EXPECT_EQ(h.tp_mac, kMacOffset - 4) << "the tag was put back more than once";
}

// A callback may walk its own batch again (the API forbids only releasing or moving it): the
// inner walk fixes up what the outer one has not reached, and neither does it twice.
TEST(FixUp, AWalkInsideAWalkFixesUpEachPacketOnce) {
    SyntheticRing ring(8192, 1, 8192);
    std::vector<PacketSpec> packets = {numbered(0, 64), numbered(1, 80), numbered(2, 90)};
    std::vector<Bytes> want;
    for (PacketSpec& p : packets) {
        p.flags = TP_STATUS_VLAN_VALID;
        p.tci = 0x202a;
        want.push_back(with_tag(p.bytes, 0x8100, 0x202a));
    }
    fill_v3_block(ring.block(0), packets);
    RxRing rx(TpacketVersion::v3, ring.map(), kPlain);
    std::optional<Batch> b = rx.take();
    ASSERT_TRUE(b.has_value());
    std::size_t n = 0;
    b->for_each([&](const PacketView& p) {
        EXPECT_EQ(bytes_of(p), want[n]);
        if (n++ == 0) {
            EXPECT_EQ(bytes_of(*b->begin()), want[0]);  // the packet the outer walk is at
            EXPECT_EQ(packets_of(*b), want);            // all of them, ahead of the outer walk
        }
    });
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(packets_of(*b), want);
}

TEST(FixUp, VlanTagIsPutBackOnceOnV2AndSnaplenStillHolds) {
    SyntheticRing ring(4096, 2, 2048);
    for (std::uint32_t i = 0; i < 3; ++i) {
        PacketSpec p = numbered(i, 100);
        p.flags = TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID;
        p.tci = 7;
        p.tpid = 0x8100;
        fill_v2_frame(ring.frame(i / 2, i % 2), p);
    }
    // snaplen 102: the tag adds 4 bytes to a 100-byte capture, and the last 2 are cut off.
    RxRing rx(TpacketVersion::v2, ring.map(), {.cooked = false, .snaplen = 102});
    std::optional<Batch> b = rx.take();
    ASSERT_TRUE(b.has_value());
    std::vector<Bytes> want;
    for (std::uint32_t i = 0; i < 3; ++i) {
        Bytes t = with_tag(numbered_frame(i, 100), 0x8100, 7);
        t.resize(102);
        want.push_back(t);
    }
    expect_fixed_once(*b, want);
    b->for_each([](const PacketView& p) {
        EXPECT_EQ(p.wire_len(), 104u);
        EXPECT_TRUE(p.is_truncated());
    });
}

// LINKTYPE_LINUX_SLL2: protocol, 2 reserved bytes, ifindex, hatype, packet type, address length,
// 8 address bytes; with a stripped tag, the TPID takes the protocol's place and the TCI and the
// real protocol follow the header.
Bytes sll2(std::uint16_t protocol, std::uint32_t ifindex, std::uint8_t pkttype) {
    Bytes h;
    const auto be = [&h](std::uint32_t v, int bytes) {
        for (int i = bytes - 1; i >= 0; --i) h.push_back(std::uint8_t(v >> (8 * i)));
    };
    be(protocol, 2);
    be(0, 2);
    be(ifindex, 4);
    be(1, 2);  // ARPHRD_ETHER
    h.push_back(pkttype);
    h.push_back(6);
    for (int i = 0; i < 6; ++i) h.push_back(std::uint8_t(0x40 + 6 + i));
    h.insert(h.end(), {0, 0});
    return h;
}

TEST(FixUp, CookedHeaderIsBuiltOnceInFrontOfEachPacket) {
    SyntheticRing ring(8192, 1, 8192);
    PacketSpec plain = numbered(0, 40);
    plain.ifindex = 0x01020304;
    plain.pkttype = PACKET_OUTGOING;
    PacketSpec tagged = numbered(1, 50);
    tagged.flags = TP_STATUS_VLAN_VALID;
    tagged.tci = 42;
    fill_v3_block(ring.block(0), {plain, tagged});
    RxRing rx(TpacketVersion::v3, ring.map(), {.cooked = true, .snaplen = 262144});
    std::optional<Batch> b = rx.take();
    ASSERT_TRUE(b.has_value());

    Bytes want0 = sll2(0x0800, 0x01020304, PACKET_OUTGOING);
    want0.insert(want0.end(), plain.bytes.begin(), plain.bytes.end());
    Bytes want1 = sll2(0x8100, 7, PACKET_HOST);
    want1.insert(want1.end(), {0, 42, 0x08, 0x00});
    want1.insert(want1.end(), tagged.bytes.begin(), tagged.bytes.end());
    const std::vector<Bytes> want = {want0, want1};
    EXPECT_EQ(packets_of(*b), want);
    EXPECT_EQ(packets_of(*b), want) << "the header was built twice";
}

}  // namespace
}  // namespace ringcap::test
