// The TX ring's head without a kernel: frames are handed out in ring order (across block ends
// with a gap, and round the wrap), a frame the kernel still holds stops the head, and a frame it
// refused is taken back and counted.
#include <gtest/gtest.h>

#include <ringcap/detail/walkers.hpp>

#include "synthetic_ring.hpp"

namespace ringcap::test {
namespace {

class TxWalker : public ::testing::Test {
  protected:
    // 3 frames a block, a 160-byte gap at each block's end, 9 frames in all; the kernel holds
    // none (TP_STATUS_AVAILABLE, 0).
    SyntheticRing ring{4096, 3, 1312};
    detail::TxFrameWalker head{ring.map()};
    std::uint64_t refused = 0;

    std::byte* frame(std::uint32_t index) { return ring.frame(index / 3, index % 3); }
    std::uint32_t tp_len(std::uint32_t index) {
        return reinterpret_cast<tpacket2_hdr*>(frame(index))->tp_len;
    }
};

TEST_F(TxWalker, HandsOutFramesInRingOrderUntilTheKernelHoldsThemAll) {
    for (std::uint32_t i = 0; i < 9; ++i) {
        EXPECT_EQ(head.free_frame(refused), frame(i)) << "frame " << i;
        head.send_head(100 + i);
        EXPECT_EQ(frame_status(frame(i)), TP_STATUS_SEND_REQUEST);
        EXPECT_EQ(tp_len(i), 100 + i);
    }
    // Round the ring: frame 0 is still the kernel's, so nothing is free.
    EXPECT_EQ(head.head(), frame(0));
    EXPECT_EQ(head.free_frame(refused), nullptr);
    EXPECT_EQ(head.in_flight(refused), 9u);

    set_frame_status(frame(0), TP_STATUS_SENDING);
    EXPECT_EQ(head.free_frame(refused), nullptr);
    set_frame_status(frame(0), TP_STATUS_AVAILABLE);  // sent
    EXPECT_EQ(head.free_frame(refused), frame(0));
    EXPECT_EQ(head.in_flight(refused), 8u);
    head.send_head(60);
    EXPECT_EQ(head.free_frame(refused), nullptr) << "frame 1 is still in flight";
    EXPECT_EQ(refused, 0u);
}

TEST_F(TxWalker, RefusedFramesAreTakenBackAndCounted) {
    head.send_head(60);
    head.send_head(60);
    // The kernel refused frame 0 (TP_STATUS_WRONG_FORMAT, without PACKET_LOSS) and sent frame 1.
    set_frame_status(frame(0), TP_STATUS_WRONG_FORMAT);
    set_frame_status(frame(1), TP_STATUS_AVAILABLE);
    EXPECT_EQ(head.in_flight(refused), 0u);
    EXPECT_EQ(refused, 1u);
    EXPECT_EQ(frame_status(frame(0)), TP_STATUS_AVAILABLE);
    EXPECT_EQ(head.in_flight(refused), 0u);
    EXPECT_EQ(refused, 1u) << "counted twice";

    // At the head: taken back when asked for a free frame.
    for (std::uint32_t i = 2; i < 9; ++i) head.send_head(60);
    ASSERT_EQ(head.head(), frame(0));
    head.send_head(60);
    set_frame_status(frame(1), TP_STATUS_WRONG_FORMAT);
    EXPECT_EQ(head.free_frame(refused), frame(1));
    EXPECT_EQ(refused, 2u);
    EXPECT_EQ(frame_status(frame(1)), TP_STATUS_AVAILABLE);
    EXPECT_EQ(head.free_frame(refused), frame(1));
    EXPECT_EQ(refused, 2u);
}

}  // namespace
}  // namespace ringcap::test
