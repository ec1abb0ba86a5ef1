// plan_ring(): the defaults it derives and every rule it enforces, without a socket.
// Expected numbers come from the kernel ABI: sizeof(tpacket3_hdr) = 48, sizeof(tpacket2_hdr) = 32,
// sizeof(sockaddr_ll) = 20, TPACKET_ALIGNMENT = 16, so TPACKET3_HDRLEN = 68, TPACKET2_HDRLEN = 52.
#include <gtest/gtest.h>
#include <linux/if_packet.h>

#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/geometry.hpp>

namespace ringcap {
namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * 1024;

// What Capture::open() passes for an Ethernet interface and for "any" (cooked, SLL2 + VLAN room).
const LinkFacts kEthernet{.mtu = 1500, .link_header = 14, .reserve = 4};
const LinkFacts kAny{.mtu = 65536, .link_header = 0, .reserve = 24};

TEST(FrameOverhead, MatchesTpacketRcvNetoff) {
    // TPACKET_ALIGN(hdrlen + 16) + reserve.
    EXPECT_EQ(frame_overhead(TpacketVersion::v3, 0), 96u);  // ALIGN(68 + 16) = 96
    EXPECT_EQ(frame_overhead(TpacketVersion::v3, 4), 100u);
    EXPECT_EQ(frame_overhead(TpacketVersion::v2, 0), 80u);  // ALIGN(52 + 16) = 80
    EXPECT_EQ(frame_overhead(TpacketVersion::v2, 24), 104u);
}

// ---------------------------------------------------------------------------------------------
// Accepted geometries: the full derived layout.

struct LayoutCase {
    const char* name;
    TpacketVersion version;
    RingGeometry wish;
    std::uint32_t snaplen;
    LinkFacts link;
    std::size_t page_size;
    // expected
    std::size_t block_size;
    std::size_t block_count;
    std::size_t frame_size;
    std::size_t frame_count;
};

class PlanRingLayout : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(PlanRingLayout, DerivesExpectedLayout) {
    const LayoutCase& c = GetParam();
    const RingLayout l = plan_ring(c.version, c.wish, c.snaplen, c.link, c.page_size);
    EXPECT_EQ(l.version, c.version);
    EXPECT_EQ(l.block_size, c.block_size);
    EXPECT_EQ(l.block_count, c.block_count);
    EXPECT_EQ(l.frame_size, c.frame_size);
    EXPECT_EQ(l.frame_count, c.frame_count);
    EXPECT_EQ(l.block_timeout, c.wish.block_timeout);

    // The invariants packet_set_ring() checks hold for every accepted layout.
    EXPECT_EQ(l.block_size % c.page_size, 0u);
    EXPECT_EQ(l.frame_size % TPACKET_ALIGNMENT, 0u);
    EXPECT_GT(l.frames_per_block(), 0u);
    EXPECT_LE(l.frame_size, l.block_size);
    EXPECT_GT(l.block_count, 0u);
    EXPECT_EQ(l.frame_count, l.frames_per_block() * l.block_count);
    EXPECT_EQ(l.total_bytes(), l.block_size * l.block_count);
    // The default size is pinned by the expected counts above (V2 has its own rule).
    if (c.wish.buffer_size) {
        const std::size_t buffer = *c.wish.buffer_size;
        EXPECT_GE(l.total_bytes(), buffer);                 // rounded up ...
        EXPECT_LT(l.total_bytes() - buffer, l.block_size);  // ... by less than one block
    }
}

RingGeometry with_buffer(std::size_t b) { return {.buffer_size = b}; }

// A table: one case per comment, two lines each.
// clang-format off
const LayoutCase kLayouts[] = {
    // Defaults: 64 MiB, 256 KiB V3 blocks; frame = ALIGN(100 + 1518) = 1632, 160 per block.
    {"v3_defaults_ethernet", TpacketVersion::v3, {}, kDefaultSnaplen, kEthernet, kPage,
     256 * KiB, 256, 1632, 160 * 256},
    // V2: 64 KiB blocks; frame = ALIGN(84 + 1518) = 1616, 40 per block, 1024 blocks.
    {"v2_defaults_ethernet", TpacketVersion::v2, {}, kDefaultSnaplen, kEthernet, kPage,
     64 * KiB, 1024, 1616, 40 * 1024},
    // snaplen caps the frame: ALIGN(100 + 96) = 208 (V3), ALIGN(84 + 96) = 192 (V2).
    {"v3_snaplen_96", TpacketVersion::v3, {}, 96, kEthernet, kPage,
     256 * KiB, 256, 208, 1260 * 256},
    {"v2_snaplen_96", TpacketVersion::v2, {}, 96, kEthernet, kPage,
     64 * KiB, 1024, 192, 341 * 1024},
    // Jumbo MTU: ALIGN(100 + 9000 + 18) = 9120.
    {"v3_mtu_9000", TpacketVersion::v3, {}, kDefaultSnaplen, {.mtu = 9000}, kPage,
     256 * KiB, 256, 9120, 28 * 256},
    // "any": MTU 65536, no link header, 24 bytes reserve: ALIGN(120 + 65540) = 65664.
    {"v3_any", TpacketVersion::v3, {}, kDefaultSnaplen, kAny, kPage,
     256 * KiB, 256, 65664, 3 * 256},
    // V2 "any": one frame of ALIGN(104 + 65540) = 65648 is larger than 64 KiB, so a block is that
    // frame rounded up to pages (17 pages). The default V2 ring wants 4096 frames, 4096 * 69632
    // bytes, capped at 256 MiB: 268435456 / 69632 = 3855.1 rounds up to 3856 blocks.
    {"v2_any_block_is_one_frame_in_pages", TpacketVersion::v2, {}, kDefaultSnaplen, kAny, kPage,
     17 * kPage, 3856, 65648, 3856},
    // ... and with 64 MiB given, 964 of them.
    {"v2_any_64MiB", TpacketVersion::v2, with_buffer(64 * MiB), kDefaultSnaplen, kAny, kPage,
     17 * kPage, 964, 65648, 964},
    // V3 block smaller than the derived frame: the frame is the whole block.
    {"v3_small_block_caps_frame", TpacketVersion::v3,
     {.buffer_size = 1 * MiB, .block_size = 4096}, kDefaultSnaplen, kAny, kPage,
     4096, 256, 4096, 256},
    // Buffer rounding: up, never down, never to zero.
    {"v3_buffer_one_block", TpacketVersion::v3, with_buffer(256 * KiB), kDefaultSnaplen,
     kEthernet, kPage, 256 * KiB, 1, 1632, 160},
    {"v3_buffer_one_byte_over_rounds_up", TpacketVersion::v3, with_buffer(1 * MiB + 1),
     kDefaultSnaplen, kEthernet, kPage, 256 * KiB, 5, 1632, 160 * 5},
    {"v2_buffer_one_byte_under_rounds_up", TpacketVersion::v2, with_buffer(1 * MiB - 1),
     kDefaultSnaplen, kEthernet, kPage, 64 * KiB, 16, 1616, 40 * 16},
    // Explicit sizes are taken as given.
    {"v2_explicit_block_and_frame", TpacketVersion::v2,
     {.buffer_size = 8 * MiB, .block_size = 1 * MiB, .frame_size = 2048}, kDefaultSnaplen,
     kEthernet, kPage, 1 * MiB, 8, 2048, 512 * 8},
    {"v3_explicit_frame", TpacketVersion::v3, {.frame_size = 2048}, kDefaultSnaplen, kEthernet,
     kPage, 256 * KiB, 256, 2048, 128 * 256},
    {"v2_explicit_frame_larger_than_default_block", TpacketVersion::v2,
     {.buffer_size = 4 * MiB, .frame_size = 70000}, kDefaultSnaplen, kEthernet, kPage,
     18 * kPage, 57, 70000, 57},
    {"v3_block_timeout_kept", TpacketVersion::v3, {.block_timeout = std::chrono::milliseconds(7)},
     kDefaultSnaplen, kEthernet, kPage, 256 * KiB, 256, 1632, 160 * 256},
    // V2 has no block timeout, so 0 is fine there.
    {"v2_zero_timeout_ignored", TpacketVersion::v2, {.block_timeout = std::chrono::milliseconds(0)},
     kDefaultSnaplen, kEthernet, kPage, 64 * KiB, 1024, 1616, 40 * 1024},
    // 64 KiB pages (arm64, ppc64): the V2 default block is still one page-multiple.
    {"v2_64k_pages", TpacketVersion::v2, {}, kDefaultSnaplen, kEthernet, 64 * KiB,
     64 * KiB, 1024, 1616, 40 * 1024},
    {"v3_64k_pages_explicit_block", TpacketVersion::v3, {.block_size = 128 * KiB},
     kDefaultSnaplen, kEthernet, 64 * KiB, 128 * KiB, 512, 1632, 80 * 512},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Geometry, PlanRingLayout, ::testing::ValuesIn(kLayouts),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Rejected geometries: Error(EINVAL) whose message names the value and the rule.

struct RejectCase {
    const char* name;
    TpacketVersion version;
    RingGeometry wish;
    std::uint32_t snaplen;
    LinkFacts link;
    std::size_t page_size;
    std::vector<std::string> message_parts;  // each must appear in what()
};

class PlanRingRejects : public ::testing::TestWithParam<RejectCase> {};

TEST_P(PlanRingRejects, ThrowsEinvalNamingValueAndRule) {
    const RejectCase& c = GetParam();
    try {
        const RingLayout l = plan_ring(c.version, c.wish, c.snaplen, c.link, c.page_size);
        ADD_FAILURE() << "accepted: block_size=" << l.block_size << " block_count=" << l.block_count
                      << " frame_size=" << l.frame_size << " frame_count=" << l.frame_count;
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        const std::string what = e.what();
        EXPECT_NE(what.find("ring geometry"), std::string::npos) << what;
        for (const std::string& part : c.message_parts)
            EXPECT_NE(what.find(part), std::string::npos) << "'" << part << "' not in: " << what;
    }
}

// clang-format off
const RejectCase kRejects[] = {
    {"block_not_page_multiple", TpacketVersion::v3, {.block_size = 5000}, kDefaultSnaplen,
     kEthernet, kPage, {"block size 5000", "not a multiple of the page size", "(4096)"}},
    {"block_not_page_multiple_v2", TpacketVersion::v2, {.block_size = 6144}, kDefaultSnaplen,
     kEthernet, kPage, {"block size 6144", "not a multiple of the page size", "(4096)"}},
    {"block_not_64k_page_multiple", TpacketVersion::v3, {.block_size = 4096}, kDefaultSnaplen,
     kEthernet, 64 * KiB, {"block size 4096", "not a multiple of the page size", "(65536)"}},
    {"block_zero", TpacketVersion::v3, {.block_size = 0}, kDefaultSnaplen, kEthernet, kPage,
     {"block size 0", "page size"}},
    {"block_over_int_max", TpacketVersion::v3, {.block_size = std::size_t{1} << 31},
     kDefaultSnaplen, kEthernet, kPage, {"block size 2147483648", "INT_MAX"}},
    {"frame_not_aligned_v2", TpacketVersion::v2, {.frame_size = 1000}, kDefaultSnaplen,
     kEthernet, kPage, {"frame size 1000", "not a multiple of TPACKET_ALIGNMENT", "(16)"}},
    {"frame_not_aligned_v3", TpacketVersion::v3, {.frame_size = 2056}, kDefaultSnaplen,
     kEthernet, kPage, {"frame size 2056", "TPACKET_ALIGNMENT (16)"}},
    // TPACKET2_HDRLEN 52 + reserve 4 = 56.
    {"frame_too_small_v2", TpacketVersion::v2, {.frame_size = 48}, kDefaultSnaplen, kEthernet,
     kPage, {"frame size 48", "TPACKET_V2 header plus reserve", "56 bytes"}},
    // TPACKET3_HDRLEN 68 + reserve 4 = 72.
    {"frame_too_small_v3", TpacketVersion::v3, {.frame_size = 64}, kDefaultSnaplen, kEthernet,
     kPage, {"frame size 64", "TPACKET_V3 header plus reserve", "72 bytes"}},
    {"frame_too_small_counts_reserve", TpacketVersion::v2, {.frame_size = 64}, kDefaultSnaplen,
     kAny, kPage, {"frame size 64", "header plus reserve", "76 bytes"}},
    {"frame_zero", TpacketVersion::v2, {.frame_size = 0}, kDefaultSnaplen, kEthernet, kPage,
     {"frame size 0", "header plus reserve"}},
    {"frame_larger_than_block_v2", TpacketVersion::v2, {.block_size = 4096, .frame_size = 8192},
     kDefaultSnaplen, kEthernet, kPage, {"frame size 8192", "exceeds block size 4096"}},
    {"frame_larger_than_block_v3", TpacketVersion::v3, {.block_size = 4096, .frame_size = 4112},
     kDefaultSnaplen, kEthernet, kPage, {"frame size 4112", "exceeds block size 4096"}},
    // Derived V2 frame (ALIGN(104 + 65540) = 65648) does not fit an explicit 4 KiB block.
    {"derived_frame_larger_than_block_v2", TpacketVersion::v2, {.block_size = 4096},
     kDefaultSnaplen, kAny, kPage, {"frame size 65648", "exceeds block size 4096"}},
    {"buffer_smaller_than_block_v3", TpacketVersion::v3, {.buffer_size = 4096}, kDefaultSnaplen,
     kEthernet, kPage, {"buffer size 4096", "smaller than one block", "262144 bytes"}},
    {"buffer_smaller_than_block_v2", TpacketVersion::v2,
     {.buffer_size = 1 * MiB - 1, .block_size = 1 * MiB}, kDefaultSnaplen, kEthernet, kPage,
     {"buffer size 1048575", "smaller than one block", "1048576 bytes"}},
    {"buffer_zero", TpacketVersion::v3, {.buffer_size = 0}, kDefaultSnaplen, kEthernet, kPage,
     {"buffer size 0", "smaller than one block"}},
    {"zero_block_timeout_v3", TpacketVersion::v3, {.block_timeout = std::chrono::milliseconds(0)},
     kDefaultSnaplen, kEthernet, kPage, {"block timeout 0 ms", "at least 1 ms"}},
    {"negative_block_timeout_v3", TpacketVersion::v3,
     {.block_timeout = std::chrono::milliseconds(-5)}, kDefaultSnaplen, kEthernet, kPage,
     {"block timeout -5 ms", "at least 1 ms"}},
    // A V3 block must hold the aligned block descriptor (48) plus one minimal frame (72); only
    // reachable with a tiny page size, but the rule is checked on its own.
    {"v3_block_cannot_hold_descriptor", TpacketVersion::v3,
     {.buffer_size = 4096, .block_size = 112}, kDefaultSnaplen, kEthernet, 16,
     {"block size 112", "block descriptor and one frame", "120 bytes"}},
    // 64 frames per block x 2^26 blocks = 2^32 frames: tp_frame_nr would overflow.
    {"frame_count_overflows", TpacketVersion::v2,
     {.buffer_size = (std::size_t{1} << 26) * 4096, .block_size = 4096, .frame_size = 64},
     kDefaultSnaplen, kEthernet, kPage, {"overflows", "67108864 blocks"}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Geometry, PlanRingRejects, ::testing::ValuesIn(kRejects),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PlanRing, OverflowBoundaryIsAccepted) {
    // One block fewer than the overflow case: 64 x (2^26 - 1) frames fits in 32 bits.
    const RingLayout l = plan_ring(
        TpacketVersion::v2,
        {.buffer_size = ((std::size_t{1} << 26) - 1) * 4096, .block_size = 4096, .frame_size = 64},
        kDefaultSnaplen, kEthernet, kPage);
    EXPECT_EQ(l.frame_count, 64 * ((std::size_t{1} << 26) - 1));
    EXPECT_LE(l.frame_count, std::size_t{UINT_MAX});
}

}  // namespace
}  // namespace ringcap

namespace ringcap {
namespace {

// With segmentation/receive offloads the tap sees packets of up to 64 KiB on a 1500-byte link;
// V2 frames are sized for them (as libpcap does), unless snaplen is smaller.
TEST(PlanRingOffloads, V2FramesHoldSixtyFourKiBPackets) {
    LinkFacts link = kEthernet;
    link.offloads = true;
    const RingLayout l = plan_ring(TpacketVersion::v2, {}, kDefaultSnaplen, link, kPage);
    // ALIGN(80 + 4 + 65535 + 14 + 4) = 65648, one frame per 17-page block.
    EXPECT_EQ(l.frame_size, 65648u);
    EXPECT_EQ(l.block_size, 17 * kPage);
    EXPECT_EQ(l.frames_per_block(), 1u);
    const RingLayout small = plan_ring(TpacketVersion::v2, {}, 96, link, kPage);
    EXPECT_EQ(small.frame_size, 192u);  // ALIGN(84 + 96): snaplen still caps it
}

}  // namespace
}  // namespace ringcap

// The default ring size (RingGeometry::buffer_size unset): the rule in geometry.hpp, case by case.
namespace ringcap {
namespace {

constexpr std::uint64_t kGbps = 1'000'000'000;

struct SizeCase {
    const char* name;
    TpacketVersion version;
    RingGeometry wish;
    std::uint64_t speed_bps;
    std::size_t bytes;     // expected total
    const char* sized_by;  // must appear in RingLayout::sized_by
};

class DefaultRingSize : public ::testing::TestWithParam<SizeCase> {};

TEST_P(DefaultRingSize, FollowsTheRule) {
    const SizeCase& c = GetParam();
    LinkFacts link = kEthernet;
    link.speed_bps = c.speed_bps;
    const RingLayout l = plan_ring(c.version, c.wish, kDefaultSnaplen, link, kPage);
    EXPECT_EQ(l.total_bytes(), c.bytes) << l.sized_by;
    EXPECT_NE(l.sized_by.find(c.sized_by), std::string::npos) << l.sized_by;
}

const RingGeometry kBatched{.block_timeout = kBatchedDelivery};
const RingGeometry kPrompt{.block_timeout = kPromptDelivery};

// clang-format off
const SizeCase kSizes[] = {
    // 10 Gb/s x 50 ms = 62.5 MB, rounded up to 64 MiB; the same when the speed is unknown.
    {"ten_gigabit", TpacketVersion::v3, kBatched, 10 * kGbps, 64 * MiB, "50 ms at 10000 Mb/s"},
    {"unknown_speed_is_ten_gigabit", TpacketVersion::v3, kBatched, 0, 64 * MiB,
     "(link speed unknown)"},
    // 25 Gb/s would want 256 MiB: capped.
    {"capped", TpacketVersion::v3, kBatched, 25 * kGbps, 64 * MiB, "at most 64 MiB"},
    // 1 Gb/s x 50 ms = 6.25 MB -> 8 MiB.
    {"one_gigabit", TpacketVersion::v3, kBatched, kGbps, 8 * MiB, "50 ms at 1000 Mb/s"},
    // ... but at a 1 ms bound a 50 ms stall at low rate takes 50 blocks: 12.5 MiB.
    {"one_gigabit_prompt", TpacketVersion::v3, kPrompt, kGbps, 50 * 256 * KiB,
     "50 ms of 1 ms block timeouts"},
    // 100 Mb/s: 625 kB -> 1 MiB, raised to the 4 MiB floor.
    {"floor", TpacketVersion::v3, kBatched, kGbps / 10, 4 * MiB, "at least 4 MiB"},
    // Four fanout workers on 10 Gb/s: 2/4 of 62.5 MB each -> 32 MiB.
    {"fanout_share", TpacketVersion::v3,
     {.block_timeout = kBatchedDelivery, .sharing_sockets = 4}, 10 * kGbps, 32 * MiB,
     "for 1 of 4 sockets"},
    // -c 1: four blocks; -c 10: ten; -c 100000: the rule as without a limit.
    {"limit_one", TpacketVersion::v3, {.block_timeout = kBatchedDelivery, .packet_limit = 1},
     10 * kGbps, 4 * 256 * KiB, "sized for 1 packet"},
    {"limit_ten", TpacketVersion::v3, {.block_timeout = kBatchedDelivery, .packet_limit = 10},
     10 * kGbps, 10 * 256 * KiB, "sized for 10 packets"},
    {"limit_large", TpacketVersion::v3,
     {.block_timeout = kBatchedDelivery, .packet_limit = 100000}, 10 * kGbps, 64 * MiB,
     "50 ms at 10000 Mb/s"},
    // V2: 4096 frames (at least 64 MiB); with -c 1, 256 frames of 1616 bytes, 40 to a block.
    {"v2_default", TpacketVersion::v2, {}, 10 * kGbps, 64 * MiB, "4096 frames"},
    {"v2_limit", TpacketVersion::v2, {.packet_limit = 1}, 10 * kGbps, 7 * 64 * KiB,
     "sized for 1 packet"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Geometry, DefaultRingSize, ::testing::ValuesIn(kSizes),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DefaultRingSize, GivenSizeIsKeptAndNotExplained) {
    const RingLayout l = plan_ring(TpacketVersion::v3, {.buffer_size = 2 * MiB, .packet_limit = 1},
                                   kDefaultSnaplen, kEthernet, kPage);
    EXPECT_EQ(l.total_bytes(), 2 * MiB);
    EXPECT_TRUE(l.sized_by.empty());
}

TEST(PlanRing, BlockTimeoutFitsTheKernelsSixteenBits) {
    EXPECT_EQ(plan_ring(TpacketVersion::v3, {.block_timeout = kMaxBlockTimeout}, kDefaultSnaplen,
                        kEthernet, kPage)
                  .block_timeout,
              kMaxBlockTimeout);
    try {
        plan_ring(TpacketVersion::v3, {.block_timeout = kMaxBlockTimeout + 1ms}, kDefaultSnaplen,
                  kEthernet, kPage);
        ADD_FAILURE() << "a 65536 ms timeout was accepted (the kernel would keep 0)";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("at most 65535 ms"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace ringcap
