#pragma once
// Ring geometry: the user's wishes (RingGeometry) turned into the values the kernel gets
// (RingLayout), checked against the rules packet_set_ring() enforces, so a bad size fails here
// with the rule named instead of as EINVAL from setsockopt. Pure functions, testable without root.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <ringcap/options.hpp>

namespace ringcap {

struct RingLayout {
    TpacketVersion version = TpacketVersion::v3;
    std::size_t block_size = 0;
    std::size_t block_count = 0;
    std::size_t frame_size = 0;
    std::size_t frame_count = 0;  // frames_per_block() * block_count, as the kernel demands
    std::chrono::milliseconds block_timeout{0};
    // How the size was chosen when the caller left it to plan_ring() (for a banner), else empty.
    std::string sized_by;

    std::size_t frames_per_block() const noexcept { return block_size / frame_size; }
    std::size_t total_bytes() const noexcept { return block_size * block_count; }
};

// Facts about the link that shape the ring.
struct LinkFacts {
    std::size_t mtu = 1500;        // network-layer MTU of the interface
    std::size_t link_header = 14;  // bytes before the network header (0 when cooked)
    std::size_t reserve = 4;       // PACKET_RESERVE: room ringcap needs in front of the packet
    // TSO/UFO/GSO/GRO on: the stack hands the tap packets of up to 64 KiB, whatever the MTU
    // (libpcap sizes its frames for that too). V2 frames must hold them or they are cut short.
    bool offloads = false;
    // Link speed in bits per second (ethtool / sysfs "speed"); 0 when the link does not say
    // (lo, any, tunnels), which the default ring size takes as 10 Gb/s.
    std::uint64_t speed_bps = 0;
};

inline constexpr std::size_t kDefaultV3BlockSize = 256u << 10;
inline constexpr std::size_t kDefaultV2BlockSize = 64u << 10;
// The default V3 ring (RingGeometry::buffer_size unset): room for kRideOut of traffic at the
// link's line rate (this socket's share of it), rounded up to a power of two, and for kRideOut
// of block timeouts at low rates (each expiry hands over a block, however empty), between
// kMinDefaultBufferSize and kMaxDefaultBufferSize. A capture that stops after N packets needs
// at most N blocks (a block holds the largest packet), and gets at least kMinDefaultBlocks.
inline constexpr std::chrono::milliseconds kRideOut{50};
inline constexpr std::uint64_t kAssumedSpeedBps = 10'000'000'000;  // when the link does not say
inline constexpr std::size_t kMinDefaultBufferSize = 4u << 20;
inline constexpr std::size_t kMaxDefaultBufferSize = 64u << 20;
inline constexpr std::size_t kMinDefaultBlocks = 4;
// V2 holds one packet per frame, and with offloads a frame is 64 KiB: 64 MiB would be only ~1000
// frames, which a 2 Mpps burst fills in half a millisecond of scheduling delay. So the default
// V2 ring is sized for this many frames, between 64 MiB and kMaxDefaultV2BufferSize (and for N
// frames, at least kMinDefaultV2Frames, when the capture stops after N packets).
inline constexpr std::size_t kDefaultV2Frames = 4096;
inline constexpr std::size_t kMinDefaultV2Frames = 256;
inline constexpr std::size_t kMaxDefaultV2BufferSize = 256u << 20;

// Bytes of a ring frame before the packet data: tpacketN header + sockaddr_ll, aligned, plus
// the 16 bytes of link-header room and the reserve (net/packet/af_packet.c, tpacket_rcv).
std::size_t frame_overhead(TpacketVersion version, std::size_t reserve) noexcept;

// Derives and validates. Throws ringcap::Error(EINVAL) naming the violated rule and the value.
RingLayout plan_ring(TpacketVersion version, const RingGeometry& wish, std::uint32_t snaplen,
                     const LinkFacts& link, std::size_t page_size);

}  // namespace ringcap
