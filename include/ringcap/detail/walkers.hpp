#pragma once
// The ring walkers: how ringcap steps through the memory it shares with the kernel.
//   RingMap        where blocks and frames lie in the mapping; the one place that turns a
//                  position (block, slot) into an address and steps to the next position.
//   V3BlockWalker  the packets of one V3 block, chained by tp_next_offset.
//   V2FrameWalker  V2 frames in ring order, over block ends (and their gaps) and the wrap.
//   TxFrameWalker  the TX ring's head: the next frame to fill, handed to the kernel in order.
// They live here, in a public detail header, and not in src/ring/, because Batch iteration and
// Injector::next_frame()/commit() are inline in public headers: no call per packet (STYLE.md,
// "Headers"). What runs once per ring (tpacket_req, setsockopt, the ENOMEM shrink, mmap) and
// once per batch (taking blocks and frames off the ring) is out of line in src/ring/. Status
// words are read and written only through ring_status.hpp.
#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>

#include <ringcap/detail/fix_up.hpp>
#include <ringcap/detail/ring_status.hpp>
#include <ringcap/packet.hpp>

namespace ringcap::detail {

struct FramePosition {
    std::uint32_t block = 0;
    std::uint32_t slot = 0;  // frame within the block
    bool operator==(const FramePosition&) const = default;
};

// packet_mmap.rst, "Mapping and use of the circular buffer (ring)": block_count blocks of
// block_size bytes back to back. A frame never straddles two blocks: a block holds
// frames_per_block = block_size / frame_size frames from its start and ends in a gap when
// frame_size does not divide block_size. (V3 blocks are not cut into frames: there only block()
// and next_block() apply.)
struct RingMap {
    std::byte* base = nullptr;
    std::size_t block_size = 0;
    std::size_t frame_size = 0;
    std::uint32_t frames_per_block = 0;
    std::uint32_t block_count = 0;

    std::uint32_t frame_count() const noexcept { return frames_per_block * block_count; }
    std::byte* block(std::uint32_t b) const noexcept { return base + b * block_size; }
    std::uint32_t next_block(std::uint32_t b) const noexcept { return ++b == block_count ? 0 : b; }
    std::byte* frame(FramePosition p) const noexcept {
        return block(p.block) + p.slot * frame_size;
    }
    FramePosition next(FramePosition p) const noexcept {
        if (++p.slot == frames_per_block) {
            p.slot = 0;
            p.block = next_block(p.block);
        }
        return p;
    }
    // Every frame once, in ring order from the first.
    template <class F>
    void for_each_frame(F&& f) const {
        FramePosition p{};
        for (std::uint32_t i = 0; i < frame_count(); ++i, p = next(p)) f(frame(p));
    }
};

template <class Hdr>
inline PacketView view_of(Hdr& h, std::uint32_t flags, std::uint32_t tci, std::uint32_t tpid,
                          std::uint32_t rxhash) noexcept {
    const sockaddr_ll& sll = sll_of(h);
    return {reinterpret_cast<const std::byte*>(&h) + h.tp_mac,
            h.tp_snaplen,
            h.tp_len,
            PacketTime{h.tp_sec, h.tp_nsec},
            sll.sll_ifindex,
            sll.sll_pkttype,
            flags,
            static_cast<std::uint16_t>(tci),
            static_cast<std::uint16_t>((flags & TP_STATUS_VLAN_TPID_VALID) ? tpid : 0x8100),
            rxhash};
}

// The packets of one V3 block we own (packet_mmap.rst, "TPACKET_V3"): the first at
// offset_to_first_pkt, each next one tp_next_offset further on (0 on the last).
class V3BlockWalker {
  public:
    V3BlockWalker() = default;
    explicit V3BlockWalker(tpacket_block_desc& block) noexcept
        : hdr_(reinterpret_cast<std::byte*>(&block) + block.hdr.bh1.offset_to_first_pkt) {}

    static std::uint32_t packet_count(const tpacket_block_desc& block) noexcept {
        return block.hdr.bh1.num_pkts;
    }

    tpacket3_hdr& header() const noexcept { return *reinterpret_cast<tpacket3_hdr*>(hdr_); }
    void advance() noexcept {
        hdr_ += header().tp_next_offset;
        // The kernel wrote these lines on another CPU: start fetching the next header while
        // the caller works on this packet (tp_next_offset is 0 on the last one: harmless).
        __builtin_prefetch(hdr_ + header().tp_next_offset);
    }
    // One compare in the common case (no tag to put back, not cooked); the work is out of line.
    void prepare(const Fixup& fx) const noexcept {
        tpacket3_hdr& h = header();
        const std::uint32_t flags = packet_flags(h);
        if ((flags & TP_STATUS_VLAN_VALID) || fx.cooked) [[unlikely]]
            fix_up(h, flags, static_cast<std::uint16_t>(h.hv1.tp_vlan_tci), h.hv1.tp_vlan_tpid, fx);
    }
    PacketView view() const noexcept {
        tpacket3_hdr& h = header();
        return view_of(h, packet_flags(h), h.hv1.tp_vlan_tci, h.hv1.tp_vlan_tpid, h.hv1.tp_rxhash);
    }

  private:
    std::byte* hdr_ = nullptr;
};

// V2 frames we own, in ring order from a position (one packet per frame).
class V2FrameWalker {
  public:
    V2FrameWalker() = default;
    V2FrameWalker(const RingMap& ring, FramePosition at) noexcept
        : ring_(ring), pos_(at), hdr_(ring.frame(at)) {}

    tpacket2_hdr& header() const noexcept { return *reinterpret_cast<tpacket2_hdr*>(hdr_); }
    FramePosition position() const noexcept { return pos_; }
    void advance() noexcept {
        pos_ = ring_.next(pos_);
        hdr_ = ring_.frame(pos_);
    }
    void prepare(const Fixup& fx) const noexcept {
        tpacket2_hdr& h = header();
        const std::uint32_t flags = owned_frame_flags(h);
        if ((flags & TP_STATUS_VLAN_VALID) || fx.cooked) [[unlikely]]
            fix_up(h, flags, h.tp_vlan_tci, h.tp_vlan_tpid, fx);
    }
    PacketView view() const noexcept {
        tpacket2_hdr& h = header();
        return view_of(h, owned_frame_flags(h), h.tp_vlan_tci, h.tp_vlan_tpid, 0);
    }
    // Gives `count` frames from here back to the kernel (this walker stays where it is).
    void hand_back(std::uint32_t count) const noexcept {
        V2FrameWalker w = *this;
        for (std::uint32_t i = 0; i < count; ++i, w.advance()) hand_to_kernel(w.header());
    }

  private:
    RingMap ring_{};
    FramePosition pos_{};
    std::byte* hdr_ = nullptr;
};

// The head of a TX ring (packet_mmap.rst, "TX_RING"): frames are filled in ring order and the
// kernel sends them and hands them back in that order, so the next frame to fill is always the
// head, and a head the kernel still holds means every frame is in flight.
class TxFrameWalker {
  public:
    TxFrameWalker() = default;
    explicit TxFrameWalker(const RingMap& ring) noexcept : ring_(ring), hdr_(ring.frame({})) {}

    // The head frame if the kernel is done with it, else nullptr. A frame the kernel refused
    // (TP_STATUS_WRONG_FORMAT) is taken back for reuse and counted in `refused`.
    std::byte* free_frame(std::uint64_t& refused) noexcept {
        return kernel_holds(header(), refused) ? nullptr : hdr_;
    }
    std::byte* head() const noexcept { return hdr_; }
    FramePosition position() const noexcept { return pos_; }
    // Asks the kernel to send the head frame, `len` bytes (tp_len) from its data, and moves on.
    void send_head(std::uint32_t len) noexcept {
        header().tp_len = len;
        request_send(header());
        pos_ = ring_.next(pos_);
        hdr_ = ring_.frame(pos_);
    }
    // Frames the kernel still holds, counted over the whole ring; refused ones are taken back
    // and counted in `refused`.
    std::uint64_t in_flight(std::uint64_t& refused) const noexcept {
        std::uint64_t busy = 0;
        ring_.for_each_frame([&](std::byte* f) {
            busy += kernel_holds(*reinterpret_cast<tpacket2_hdr*>(f), refused);
        });
        return busy;
    }
    const RingMap& ring() const noexcept { return ring_; }

  private:
    tpacket2_hdr& header() const noexcept { return *reinterpret_cast<tpacket2_hdr*>(hdr_); }
    // Whether the kernel still holds the frame (to send, or sending it). One it refused is ours
    // again while TP_STATUS_WRONG_FORMAT: taken back (TP_STATUS_AVAILABLE) and counted.
    static bool kernel_holds(tpacket2_hdr& h, std::uint64_t& refused) noexcept {
        const std::uint32_t s = tx_status(h);
        if (s & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) return true;
        if (s & TP_STATUS_WRONG_FORMAT) {
            ++refused;
            reclaim(h);
        }
        return false;
    }

    RingMap ring_{};
    FramePosition pos_{};
    std::byte* hdr_ = nullptr;
};

}  // namespace ringcap::detail
