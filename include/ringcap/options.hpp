#pragma once
// Capture configuration as aggregates, filled with designated initializers in declaration order:
//   Capture::open({.interface = "veth0", .version = TpacketVersion::v3, .filter = "tcp"});
// Every default lives here, in one place, with the reason for it.
#include <linux/filter.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/types.hpp>

namespace ringcap {

using namespace std::chrono_literals;

// How long a packet may wait in a V3 ring before it is handed over: the block retire timeout.
// The kernel hands a block to user space when it is full or when this expires, so at rates that
// do not fill a block in time every expiry wakes the reader (~10 us of CPU on a VM) for the few
// packets the block holds. Which bound fits depends on who waits for the packets:
//   kPromptDelivery: a person reads printed lines, a pipe feeds another program, an application
//     reacts to traffic. p99 delivery ~1 ms at 500 pps; ~1000 wake-ups a second whenever
//     traffic flows, whatever its rate. The library's default: it cannot know who waits.
//   kBatchedDelivery: packets go to a file or are only counted, and nobody watches them arrive.
//     ~10 wake-ups a second at low rates; a block that fills is handed over at once whatever
//     the bound, so high rates are not delayed. What a stop, a -c count or a rotation deadline
//     then waits for is at most this long: Capture::drain() takes the block being filled when
//     the kernel retires it.
// The ringcap command chooses per output (cli/output.hpp, choose_latency()); --max-latency MS
// overrides it. V2 frames (low_latency) are handed over one by one, as they are filled.
inline constexpr std::chrono::milliseconds kPromptDelivery{1};
inline constexpr std::chrono::milliseconds kBatchedDelivery{100};
// The kernel keeps the timeout in 16 bits (struct tpacket_kbdq_core, retire_blk_tov).
inline constexpr std::chrono::milliseconds kMaxBlockTimeout{65535};

// What the user asks of the ring. Unset fields are derived (see plan_ring() in geometry.hpp).
struct RingGeometry {
    // Total ring memory (tcpdump -B, here in bytes). Default: sized by the rule in geometry.hpp
    // (default_buffer_size()): 50 ms of the link's line rate for this socket's share of it, and
    // enough blocks to ride out a 50 ms stall at low rates, between 4 and 64 MiB; a capture that
    // ends after N packets gets no more than N blocks. 10 Gb/s links (and links of unknown
    // speed: lo, any) get 64 MiB, 1 Gb/s links 8 MiB.
    std::optional<std::size_t> buffer_size;
    // V3 default 256 KiB: holds ~2000 small frames or four 64 KiB GSO packets per block, and an
    // order-6 allocation is easy for the kernel to find. V2 default: 64 KiB, or one frame if
    // larger.
    std::optional<std::size_t> block_size;
    // V2 only (V3 packs packets back to back). Default: header + min(snaplen, MTU + 18).
    std::optional<std::size_t> frame_size;
    // V3 block retire timeout: the delivery bound described above. 1 ms (kPromptDelivery), not
    // libpcap's 1000 ms (seed 000), unless the caller knows nobody waits for each packet.
    std::chrono::milliseconds block_timeout = kPromptDelivery;
    // What the default buffer_size may take into account besides the link's speed: the number
    // of sockets sharing the link's packets (a fanout group's workers: each takes about 1/N of
    // them), and the most packets the capture will ever take (0: no limit; -c N).
    std::size_t sharing_sockets = 1;
    std::uint64_t packet_limit = 0;
};

// PACKET_FANOUT (packet_mmap.rst, "AF_PACKET fanout mode"): several sockets on one interface
// share its packets; the mode decides which socket gets each one.
enum class FanoutMode {
    hash,      // by flow: the kernel's hash of addresses and ports (symmetric: both directions
               // of a connection go to the same socket)
    lb,        // round robin
    cpu,       // by the CPU the packet arrived on
    rollover,  // fill one socket, move to the next when its ring is full
    rnd,       // at random
    qm,        // by the NIC's receive queue (skb queue mapping)
    cbpf,      // a classic BPF program returns the socket's index
    ebpf,      // an eBPF program (BPF_PROG_TYPE_SOCKET_FILTER) returns the socket's index
};

// Flags on top of the mode (a separate bitmask, not folded into the mode).
enum class FanoutFlags : std::uint16_t {
    none = 0,
    defrag = 0x8000,           // reassemble IP fragments before choosing, so they follow their flow
    rollover = 0x1000,         // a socket whose ring is full passes the packet to the next one
    ignore_outgoing = 0x4000,  // outgoing packets are not fanned out (nor captured)
};
constexpr FanoutFlags operator|(FanoutFlags a, FanoutFlags b) noexcept {
    return FanoutFlags(std::uint16_t(a) | std::uint16_t(b));
}
constexpr bool has(FanoutFlags set, FanoutFlags f) noexcept {
    return (std::uint16_t(set) & std::uint16_t(f)) != 0;
}

// "hash,defrag": a mode and its flags as words.
std::string fanout_name(FanoutMode mode, FanoutFlags flags);

struct FanoutOptions {
    FanoutMode mode = FanoutMode::hash;
    FanoutFlags flags = FanoutFlags::defrag;
    // The group to join, shared with other sockets (other processes too) that give the same id
    // and the same mode and flags. nullopt: the kernel picks an id no other group in the network
    // namespace uses (PACKET_FANOUT_FLAG_UNIQUEID), reported in CaptureInfo::fanout_group.
    std::optional<std::uint16_t> group;
    // cbpf: the program that picks the socket (loads are relative to the network header).
    std::vector<sock_filter> program;
    // ebpf: a loaded program's fd (the caller keeps it open until every socket has joined).
    int program_fd = -1;
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
    // Join a PACKET_FANOUT group after bind (CaptureGroup does this for its workers).
    std::optional<FanoutOptions> fanout;
};

}  // namespace ringcap
