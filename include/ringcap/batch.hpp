#pragma once
// Batch: packets handed over by the kernel in one go (a V3 block, or a run of ready V2 frames).
// Move-only; its destructor gives the ring memory back to the kernel, which ends the life of
// every PacketView taken from it. Iteration is inline: no call, allocation or syscall per packet.
#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <utility>

#include <ringcap/detail/ring_status.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

namespace detail {

// Where frames live in the mapping; V2 frames do not straddle blocks, so a block may end in a gap.
struct RingShape {
    std::byte* base = nullptr;
    std::size_t block_size = 0;
    std::size_t frame_size = 0;
    std::uint32_t frames_per_block = 0;
    std::uint32_t block_count = 0;
};

// What must be done to a packet in place before the user sees it.
struct Fixup {
    bool cooked = false;        // build the LINKTYPE_LINUX_SLL2 header in front of it
    std::uint32_t snaplen = 0;  // caplen never exceeds it, even after we add bytes
};

inline constexpr std::size_t kSll2HeaderLen = 20;
inline constexpr std::size_t kVlanTagLen = 4;

inline void put_be16(std::byte* p, std::uint16_t v) noexcept {
    p[0] = std::byte(v >> 8);
    p[1] = std::byte(v & 0xff);
}

template <class Hdr>
inline sockaddr_ll& sll_of(Hdr& h) noexcept {
    return *reinterpret_cast<sockaddr_ll*>(reinterpret_cast<std::byte*>(&h) +
                                           TPACKET_ALIGN(sizeof(Hdr)));
}

// Puts back into the bytes what the kernel kept aside: the VLAN tag it stripped into metadata
// (veth and most NICs do), and for cooked captures the SLL2 header. There is room in front of
// tp_mac because Capture sets PACKET_RESERVE to the bytes we may add (libpcap does the same).
template <class Hdr>
[[gnu::noinline]] void fix_up(Hdr& h, std::uint32_t flags, std::uint16_t tci, std::uint16_t tpid,
                              const Fixup& fx) noexcept {
    const bool vlan = flags & TP_STATUS_VLAN_VALID;
    if (!(flags & TP_STATUS_VLAN_TPID_VALID)) tpid = 0x8100;
    std::byte* data = reinterpret_cast<std::byte*>(&h) + h.tp_mac;
    std::size_t added = 0;
    if (fx.cooked) {
        const sockaddr_ll& sll = sll_of(h);
        added = kSll2HeaderLen + (vlan ? kVlanTagLen : 0);
        std::byte* hdr = data - added;
        if (vlan) {
            put_be16(hdr, tpid);
            put_be16(hdr + kSll2HeaderLen, tci);
            std::memcpy(hdr + kSll2HeaderLen + 2, &sll.sll_protocol, 2);
        } else {
            std::memcpy(hdr, &sll.sll_protocol, 2);
        }
        put_be16(hdr + 2, 0);
        const std::uint32_t ifindex = static_cast<std::uint32_t>(sll.sll_ifindex);
        put_be16(hdr + 4, static_cast<std::uint16_t>(ifindex >> 16));
        put_be16(hdr + 6, static_cast<std::uint16_t>(ifindex & 0xffff));
        put_be16(hdr + 8, sll.sll_hatype);
        hdr[10] = std::byte(sll.sll_pkttype);
        hdr[11] = std::byte(sll.sll_halen);
        std::memcpy(hdr + 12, sll.sll_addr, 8);
    } else {
        if (h.tp_snaplen < 12) return;  // not even the MAC addresses: leave it alone
        added = kVlanTagLen;
        std::memmove(data - added, data, 12);
        put_be16(data - added + 12, tpid);
        put_be16(data - added + 14, tci);
    }
    h.tp_mac -= static_cast<std::uint16_t>(added);
    const std::uint32_t grown = h.tp_snaplen + static_cast<std::uint32_t>(added);
    h.tp_snaplen = grown < fx.snaplen ? grown : fx.snaplen;
    h.tp_len += static_cast<std::uint32_t>(added);
}

}  // namespace detail

class Batch {
  public:
    class iterator {
      public:
        using value_type = PacketView;
        using difference_type = std::ptrdiff_t;
        using iterator_category = std::input_iterator_tag;

        iterator() = default;
        PacketView operator*() const noexcept;
        iterator& operator++() noexcept {
            if (++index_ < batch_->count_) {
                step();
                batch_->prepare(index_, hdr_);
            }
            return *this;
        }
        void operator++(int) noexcept { ++*this; }
        bool operator==(std::default_sentinel_t) const noexcept { return index_ >= batch_->count_; }

      private:
        friend class Batch;
        explicit iterator(Batch* b) noexcept
            : batch_(b), hdr_(b->first_), block_(b->v2_block_), slot_(b->v2_slot_) {
            if (b->count_ != 0) b->prepare(0, hdr_);
        }
        void step() noexcept;

        Batch* batch_ = nullptr;
        std::byte* hdr_ = nullptr;
        std::uint32_t index_ = 0;
        std::uint32_t block_ = 0;  // V2 position: block and slot within it
        std::uint32_t slot_ = 0;
    };

    Batch() = default;
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    Batch(Batch&& o) noexcept { *this = std::move(o); }
    Batch& operator=(Batch&& o) noexcept {
        if (this != &o) {
            release();
            version_ = o.version_;
            shape_ = o.shape_;
            fixup_ = o.fixup_;
            block_ = std::exchange(o.block_, nullptr);
            first_ = o.first_;
            count_ = std::exchange(o.count_, 0);
            prepared_ = o.prepared_;
            v2_block_ = o.v2_block_;
            v2_slot_ = o.v2_slot_;
        }
        return *this;
    }
    ~Batch() { release(); }

    iterator begin() noexcept { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    TpacketVersion version() const noexcept { return version_; }

    // Gives the memory back to the kernel now; the batch is empty afterwards.
    void release() noexcept;

  private:
    friend class Capture;

    void prepare(std::uint32_t index, std::byte* hdr) noexcept;

    TpacketVersion version_ = TpacketVersion::v3;
    detail::RingShape shape_{};
    detail::Fixup fixup_{};
    tpacket_block_desc* block_ = nullptr;  // V3: the block we own
    std::byte* first_ = nullptr;           // first packet header
    std::uint32_t count_ = 0;
    std::uint32_t prepared_ = 0;  // packets already fixed up in place (idempotence)
    std::uint32_t v2_block_ = 0;  // V2: position of the first frame
    std::uint32_t v2_slot_ = 0;
};

inline void Batch::iterator::step() noexcept {
    if (batch_->version_ == TpacketVersion::v3) {
        hdr_ += reinterpret_cast<tpacket3_hdr*>(hdr_)->tp_next_offset;
        // The kernel wrote these lines on another CPU: start fetching the next header while
        // the caller works on this packet (tp_next_offset is 0 on the last one: harmless).
        __builtin_prefetch(hdr_ + reinterpret_cast<tpacket3_hdr*>(hdr_)->tp_next_offset);
        return;
    }
    const detail::RingShape& s = batch_->shape_;
    if (++slot_ == s.frames_per_block) {
        slot_ = 0;
        if (++block_ == s.block_count) block_ = 0;
    }
    hdr_ = s.base + block_ * s.block_size + slot_ * s.frame_size;
}

// Per packet: one compare in the common case (no tag to put back, not cooked); the work itself
// is out of line in fix_up().
[[gnu::always_inline]] inline void Batch::prepare(std::uint32_t index, std::byte* hdr) noexcept {
    if (index != prepared_) return;  // already done by an earlier pass over this batch
    ++prepared_;
    if (version_ == TpacketVersion::v3) {
        auto& h = *reinterpret_cast<tpacket3_hdr*>(hdr);
        if ((h.tp_status & TP_STATUS_VLAN_VALID) || fixup_.cooked) [[unlikely]]
            detail::fix_up(h, h.tp_status, static_cast<std::uint16_t>(h.hv1.tp_vlan_tci),
                           h.hv1.tp_vlan_tpid, fixup_);
    } else {
        auto& h = *reinterpret_cast<tpacket2_hdr*>(hdr);
        const std::uint32_t flags = detail::owned_frame_flags(h);
        if ((flags & TP_STATUS_VLAN_VALID) || fixup_.cooked) [[unlikely]]
            detail::fix_up(h, flags, h.tp_vlan_tci, h.tp_vlan_tpid, fixup_);
    }
}

namespace detail {

template <class Hdr>
inline PacketView view_of(Hdr& h, std::uint32_t flags, std::uint32_t tci, std::uint32_t tpid,
                          std::uint32_t rxhash) noexcept {
    const sockaddr_ll& sll = sll_of(h);
    return {reinterpret_cast<const std::byte*>(&h) + h.tp_mac,
            h.tp_snaplen,
            h.tp_len,
            std::int64_t(h.tp_sec) * 1'000'000'000 + h.tp_nsec,
            sll.sll_ifindex,
            sll.sll_pkttype,
            flags,
            static_cast<std::uint16_t>(tci),
            static_cast<std::uint16_t>((flags & TP_STATUS_VLAN_TPID_VALID) ? tpid : 0x8100),
            rxhash};
}

}  // namespace detail

inline PacketView Batch::iterator::operator*() const noexcept {
    if (batch_->version_ == TpacketVersion::v3) {
        auto& h = *reinterpret_cast<tpacket3_hdr*>(hdr_);
        return detail::view_of(h, h.tp_status, h.hv1.tp_vlan_tci, h.hv1.tp_vlan_tpid,
                               h.hv1.tp_rxhash);
    }
    auto& h = *reinterpret_cast<tpacket2_hdr*>(hdr_);
    return detail::view_of(h, detail::owned_frame_flags(h), h.tp_vlan_tci, h.tp_vlan_tpid, 0);
}

inline void Batch::release() noexcept {
    if (count_ == 0 && block_ == nullptr) return;
    if (version_ == TpacketVersion::v3) {
        if (block_ != nullptr) detail::hand_to_kernel(*block_);
    } else {
        std::uint32_t blk = v2_block_, slot = v2_slot_;
        for (std::uint32_t i = 0; i < count_; ++i) {
            auto* h = reinterpret_cast<tpacket2_hdr*>(shape_.base + blk * shape_.block_size +
                                                      slot * shape_.frame_size);
            detail::hand_to_kernel(*h);
            if (++slot == shape_.frames_per_block) {
                slot = 0;
                if (++blk == shape_.block_count) blk = 0;
            }
        }
    }
    block_ = nullptr;
    count_ = 0;
    prepared_ = 0;
}

}  // namespace ringcap
