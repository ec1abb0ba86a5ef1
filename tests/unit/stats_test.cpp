// Counters add up: kernel reads (which reset the kernel's 32-bit counters) into 64-bit totals,
// workers merged with +=, writer failures counted.
#include <gtest/gtest.h>

#include <cstdint>

#include <ringcap/stats.hpp>

namespace ringcap {
namespace {

TEST(RingCounters, KernelReadsAddUpPast32Bits) {
    // Each read of PACKET_STATISTICS returns what happened since the last one.
    RingCounters total;
    const tpacket_stats_v3 read{
        .tp_packets = 4'000'000'000u, .tp_drops = 3'000'000'000u, .tp_freeze_q_cnt = 7};
    total += ring_counters_from(read);
    total += ring_counters_from(read);
    EXPECT_EQ(total.packets, 8'000'000'000u);
    EXPECT_EQ(total.drops, 6'000'000'000u);
    EXPECT_EQ(total.freeze_q_count, 14u);

    total += ring_counters_from(tpacket_stats_v3{});  // nothing happened since
    EXPECT_EQ(total.packets, 8'000'000'000u);
}

TEST(RingCounters, V2ReadsHaveNoFreezeCount) {
    RingCounters total;
    total += ring_counters_from(tpacket_stats{.tp_packets = 10, .tp_drops = 3});
    total += ring_counters_from(tpacket_stats{.tp_packets = 5, .tp_drops = 0});
    EXPECT_EQ(total.packets, 15u);
    EXPECT_EQ(total.drops, 3u);
    EXPECT_EQ(total.freeze_q_count, 0u);
}

TEST(RingCounters, WorkersMerge) {
    const RingCounters a{.packets = 1, .drops = 2, .freeze_q_count = 3};
    const RingCounters b{.packets = 10, .drops = 20, .freeze_q_count = 30};
    RingCounters all;
    all += a;
    all += b;
    EXPECT_EQ(all.packets, 11u);
    EXPECT_EQ(all.drops, 22u);
    EXPECT_EQ(all.freeze_q_count, 33u);
    const CaptureStats same = all;  // Capture::stats() returns these
    EXPECT_EQ(same.packets, 11u);
}

TEST(WriterCounters, CountFailuresAndMerge) {
    WriterCounters w;
    w.add_short_write();
    w.add_short_write();
    w.add_write_error(ENOSPC);
    w.add_blocked(std::chrono::microseconds(5));
    w.add_blocked(std::chrono::microseconds(7));
    EXPECT_EQ(w.short_writes, 2u);
    EXPECT_EQ(w.write_errors, 1u);
    EXPECT_EQ(w.last_error, ENOSPC);
    EXPECT_EQ(w.blocked, std::chrono::microseconds(12));

    WriterCounters other;
    other.add_write_error(EIO);
    WriterCounters merged = w;
    merged += other;
    EXPECT_EQ(merged.write_errors, 2u);
    EXPECT_EQ(merged.short_writes, 2u);
    EXPECT_EQ(merged.last_error, EIO);
    merged += WriterCounters{};  // no failure: the last error stays
    EXPECT_EQ(merged.last_error, EIO);
    EXPECT_EQ(merged.blocked, std::chrono::microseconds(12));
}

}  // namespace
}  // namespace ringcap
