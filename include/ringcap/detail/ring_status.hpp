#pragma once
// The ring's ownership handshake, and the only code that reads or writes the status words that
// carry it (V3 block_status, V2 tp_status). Packet-mmap.rst: the kernel sets TP_STATUS_USER when
// it has filled a block/frame; user space gives it back by storing TP_STATUS_KERNEL.
// Acquire on the read pairs with the kernel's smp_wmb() before it sets the status, so the packet
// bytes are visible before we look at them; release on the hand-back makes sure we finished
// reading before the kernel may overwrite (libpcap #898 was this bug with plain accesses).
#include <linux/if_packet.h>

#include <atomic>
#include <cstdint>
#include <optional>

namespace ringcap::detail {

inline void hand_to_kernel(tpacket_block_desc& block) noexcept {
    std::atomic_ref<std::uint32_t>(block.hdr.bh1.block_status)
        .store(TP_STATUS_KERNEL, std::memory_order_release);
}

inline void hand_to_kernel(tpacket2_hdr& frame) noexcept {
    std::atomic_ref<std::uint32_t>(frame.tp_status)
        .store(TP_STATUS_KERNEL, std::memory_order_release);
}

// ringcap's own mark on a block or frame it has given to a Batch. The kernel waits for
// TP_STATUS_KERNEL (0) before it touches one again and never sets this bit itself (its flags
// are bits 0-8 and 29-31), so the mark only tells the reader, going round the ring, that a live
// Batch still holds this memory and it must not be handed out a second time.
// hand_to_kernel() clears it.
inline constexpr std::uint32_t kHandedOut = 1u << 24;

inline bool ready(std::uint32_t& status) noexcept {
    const std::uint32_t s = std::atomic_ref<std::uint32_t>(status).load(std::memory_order_acquire);
    return (s & TP_STATUS_USER) && !(s & kHandedOut);
}
inline bool ready(tpacket_block_desc& block) noexcept { return ready(block.hdr.bh1.block_status); }
inline bool ready(tpacket2_hdr& frame) noexcept { return ready(frame.tp_status); }

// For a look at how full the ring is, from any thread: the kernel filled this block or frame and
// user space has not given it back yet (whether or not a Batch holds it).
inline bool filled(std::uint32_t& status) noexcept {
    return std::atomic_ref<std::uint32_t>(status).load(std::memory_order_relaxed) & TP_STATUS_USER;
}

// Only on memory we own (ready() was true): the kernel does not write the word meanwhile.
inline void mark_handed_out(std::uint32_t& status) noexcept {
    std::atomic_ref<std::uint32_t> s(status);
    s.store(s.load(std::memory_order_relaxed) | kHandedOut, std::memory_order_relaxed);
}
inline void mark_handed_out(tpacket_block_desc& block) noexcept {
    mark_handed_out(block.hdr.bh1.block_status);
}
inline void mark_handed_out(tpacket2_hdr& frame) noexcept { mark_handed_out(frame.tp_status); }

// Whether the kernel handed a V3 block over because its retire timer expired (TP_STATUS_BLK_TMO)
// rather than because it was full. Only on a block we own (ready() was true).
inline bool retired_by_timer(const tpacket_block_desc& block) noexcept {
    return (block.hdr.bh1.block_status & TP_STATUS_BLK_TMO) != 0;
}

// A look at a V3 block that is the kernel's (status TP_STATUS_KERNEL), which it may be filling
// right now: its sequence number (prb_open_block() numbers blocks 1, 2, ... as it opens them) and
// how many packets it holds so far. Both may change while we look, and a packet counted may not
// be copied yet: this only says whether something is still to come, never that it may be read.
struct FillingBlock {
    std::uint64_t seq = 0;
    std::uint32_t packets = 0;
};
inline std::optional<FillingBlock> peek_filling(tpacket_block_desc& block) noexcept {
    const std::uint32_t s =
        std::atomic_ref<std::uint32_t>(block.hdr.bh1.block_status).load(std::memory_order_acquire);
    if (s != TP_STATUS_KERNEL) return std::nullopt;  // handed over, or held by a Batch
    return FillingBlock{
        .seq = std::atomic_ref<__u64>(block.hdr.bh1.seq_num).load(std::memory_order_relaxed),
        .packets =
            std::atomic_ref<std::uint32_t>(block.hdr.bh1.num_pkts).load(std::memory_order_relaxed)};
}

}  // namespace ringcap::detail

namespace ringcap::detail {

// Per-packet flags (VLAN_VALID, LOSING, ...) of a V2 frame we already own: the acquire in
// ready() ordered everything after it, so a plain read is enough here. Our own mark is not
// a kernel flag and is left out.
inline std::uint32_t owned_frame_flags(const tpacket2_hdr& frame) noexcept {
    return frame.tp_status & ~kHandedOut;
}

// Flags of a V3 block we own (TP_STATUS_LOSING: the kernel had dropped packets, the ring being
// full, when it closed this block; prb_close_block() in net/packet/af_packet.c). Our own mark
// is left out.
inline std::uint32_t owned_block_flags(const tpacket_block_desc& block) noexcept {
    return block.hdr.bh1.block_status & ~kHandedOut;
}

// Per-packet flags of a packet in a V3 block we own. Here the word carries only flags: ownership
// is the block's (block_status), and the kernel wrote these before it handed the block over.
inline std::uint32_t packet_flags(const tpacket3_hdr& packet) noexcept { return packet.tp_status; }

}  // namespace ringcap::detail

namespace ringcap::detail {

// TX ring (packet_mmap.rst, "TX_RING"): the kernel sets frames it has finished with to
// TP_STATUS_AVAILABLE, or TP_STATUS_WRONG_FORMAT when it refused one without PACKET_LOSS (with
// PACKET_LOSS, which ringcap sets, a refused frame is dropped and marked TP_STATUS_AVAILABLE);
// user space fills a frame and stores TP_STATUS_SEND_REQUEST. Acquire on the read means the
// kernel is done with the bytes before we overwrite them; release on the request means our bytes
// and tp_len are visible before the kernel sees the request.
inline std::uint32_t tx_status(tpacket2_hdr& frame) noexcept {
    return std::atomic_ref<std::uint32_t>(frame.tp_status).load(std::memory_order_acquire);
}

inline void request_send(tpacket2_hdr& frame) noexcept {
    std::atomic_ref<std::uint32_t>(frame.tp_status)
        .store(TP_STATUS_SEND_REQUEST, std::memory_order_release);
}

// A frame the kernel refused, taken back for reuse (it is ours while WRONG_FORMAT).
inline void reclaim(tpacket2_hdr& frame) noexcept {
    std::atomic_ref<std::uint32_t>(frame.tp_status)
        .store(TP_STATUS_AVAILABLE, std::memory_order_relaxed);
}

}  // namespace ringcap::detail
