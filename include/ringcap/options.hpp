#pragma once
// Capture configuration as aggregates, filled with designated initializers in declaration order:
//   Capture::open({.interface = "veth0", .version = TpacketVersion::v3, .filter = "tcp"});
// Every default lives here, in one place, with the reason for it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <ringcap/types.hpp>

namespace ringcap {

using namespace std::chrono_literals;

// What the user asks of the ring. Unset fields are derived (see plan_ring() in geometry.hpp).
struct RingGeometry {
    // Total ring memory (tcpdump -B, here in bytes). Default 64 MiB: at ~1 Mpps of 64-byte
    // frames a V3 ring fills at ~130 MB/s, so 64 MiB rides out a half-second stall of the reader.
    std::optional<std::size_t> buffer_size;
    // V3 default 256 KiB: holds ~2000 small frames or four 64 KiB GSO packets per block, and an
    // order-6 allocation is easy for the kernel to find. V2 default: 64 KiB, or one frame if
    // larger.
    std::optional<std::size_t> block_size;
    // V2 only (V3 packs packets back to back). Default: header + min(snaplen, MTU + 18).
    std::optional<std::size_t> frame_size;
    // V3 block retire timeout. The kernel hands a block to user space only when it is full or
    // this expires, so it bounds latency at low rates: 1 ms, not libpcap's 1000 ms (seed 000).
    std::chrono::milliseconds block_timeout = 1ms;
};

struct CaptureOptions {
    std::string interface;                  // name, or "any" (cooked, all interfaces)
    std::optional<TpacketVersion> version;  // nullopt: V3, and V2 when low_latency
    bool low_latency = false;               // tcpdump --immediate-mode: V2 frames
    // Spin on the ring instead of sleeping in poll(), for this long (0: for the whole timeout of
    // each next_batch()), then poll. Trades a core for the wake-up latency of a sleeping thread,
    // which dominates on a VM. Implies V2 frames unless a version is given.
    std::optional<std::chrono::microseconds> busy_poll;
    RingGeometry ring{};
    std::string filter;  // tcpdump expression; empty = everything
    std::uint32_t snaplen = kDefaultSnaplen;
    bool promiscuous = true;  // tcpdump -p turns it off
    Direction direction = Direction::inout;
};

}  // namespace ringcap
