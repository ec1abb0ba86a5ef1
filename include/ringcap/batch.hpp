#pragma once
// Batch: packets handed over by the kernel in one go (a V3 block, or a run of ready V2 frames).
// Move-only; its destructor gives the ring memory back to the kernel, which ends the life of
// every PacketView taken from it. Iteration is inline: no call, allocation or syscall per packet.
//
// Two ways through a batch:
//   batch.for_each([&](const PacketView& p) { ... });   // the hot path
//   for (const PacketView& p : batch) { ... }           // range-for
// The ring version is chosen once, at Capture::open(). for_each() looks at it once per batch
// and then runs the tight loop of that version's walker (detail/walkers.hpp), with no version
// branch per packet. The range-for iterator is one type for both versions, so it keeps one
// branch on the version per packet (always taken the same way, so predicted); it is there for
// convenience, and for_each() is what ringcap's own loops use.
#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <type_traits>
#include <utility>

#include <ringcap/detail/walkers.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

namespace detail {
class RxRing;
}

class Batch {
  public:
    class iterator {
      public:
        using value_type = PacketView;
        using difference_type = std::ptrdiff_t;
        using iterator_category = std::input_iterator_tag;

        iterator() = default;
        PacketView operator*() const noexcept { return v3_ ? w3_.view() : w2_.view(); }
        iterator& operator++() noexcept {
            if (++index_ < batch_->count_) {
                if (v3_) {
                    w3_.advance();
                    batch_->prepare(index_, w3_);
                } else {
                    w2_.advance();
                    batch_->prepare(index_, w2_);
                }
            }
            return *this;
        }
        void operator++(int) noexcept { ++*this; }
        bool operator==(std::default_sentinel_t) const noexcept { return index_ >= batch_->count_; }

      private:
        friend class Batch;
        explicit iterator(Batch* b) noexcept
            : batch_(b), v3_(b->version_ == TpacketVersion::v3), w3_(b->v3_), w2_(b->v2_) {
            if (b->count_ == 0) return;
            if (v3_)
                b->prepare(0, w3_);
            else
                b->prepare(0, w2_);
        }

        Batch* batch_ = nullptr;
        std::uint32_t index_ = 0;
        bool v3_ = true;
        detail::V3BlockWalker w3_{};
        detail::V2FrameWalker w2_{};
    };

    Batch() = default;
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    Batch(Batch&& o) noexcept { *this = std::move(o); }
    Batch& operator=(Batch&& o) noexcept {
        if (this != &o) {
            release();
            version_ = o.version_;
            fixup_ = o.fixup_;
            count_ = std::exchange(o.count_, 0);
            prepared_ = std::exchange(o.prepared_, 0);
            block_ = std::exchange(o.block_, nullptr);
            v3_ = o.v3_;
            v2_ = o.v2_;
        }
        return *this;
    }
    ~Batch() { release(); }

    // Calls f(const PacketView&) for each packet in order. f returns void, or bool: false stops
    // the walk (the batch still holds all its packets until it is released). f must not release
    // or move this batch.
    template <class F>
    [[gnu::always_inline]] void for_each(F&& f) {
        if (count_ == 0) return;
        if (version_ == TpacketVersion::v3)
            walk(v3_, f);
        else
            walk(v2_, f);
    }

    iterator begin() noexcept { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    TpacketVersion version() const noexcept { return version_; }

    // When its oldest packet arrived (the first one's timestamp, CLOCK_REALTIME ns; 0 when
    // empty): clock now minus this is how long the batch waited before user space got it.
    std::int64_t oldest_ts_ns() const noexcept {
        if (count_ == 0) return 0;
        return version_ == TpacketVersion::v3 ? ts_of(v3_.header()) : ts_of(v2_.header());
    }
    // The kernel had dropped packets (its ring was full) and nobody had read PACKET_STATISTICS
    // since, when it handed this batch over: V3 marks the block (TP_STATUS_LOSING), V2 every
    // frame, of which the first is looked at. Reading the statistics clears the mark.
    bool ring_was_losing() const noexcept {
        if (count_ == 0) return false;
        return version_ == TpacketVersion::v3
                   ? (block_ != nullptr && (detail::owned_block_flags(*block_) & TP_STATUS_LOSING))
                   : (detail::owned_frame_flags(v2_.header()) & TP_STATUS_LOSING);
    }

    // Gives the memory back to the kernel now; the batch is empty afterwards.
    void release() noexcept {
        if (count_ == 0 && block_ == nullptr) return;
        if (version_ == TpacketVersion::v3) {
            if (block_ != nullptr) detail::hand_to_kernel(*block_);
        } else {
            v2_.hand_back(count_);
        }
        block_ = nullptr;
        count_ = 0;
        prepared_ = 0;
    }

  private:
    friend class detail::RxRing;

    template <class Hdr>
    static std::int64_t ts_of(const Hdr& h) noexcept {
        return std::int64_t(h.tp_sec) * 1'000'000'000 + h.tp_nsec;
    }  // the only maker of non-empty batches (src/ring/rx_ring.cpp)

    // V3: the packets of `block`, which the caller marked handed out.
    Batch(tpacket_block_desc& block, const detail::Fixup& fx) noexcept
        : version_(TpacketVersion::v3),
          fixup_(fx),
          count_(detail::V3BlockWalker::packet_count(block)),
          block_(&block),
          v3_(block) {}
    // V2: `count` frames from `first`, which the caller marked handed out.
    Batch(const detail::RingMap& ring, detail::FramePosition first, std::uint32_t count,
          const detail::Fixup& fx) noexcept
        : version_(TpacketVersion::v2), fixup_(fx), count_(count), v2_(ring, first) {}

    // Fixes up packet `index` in place unless an earlier pass over this batch did: the fix-ups
    // move bytes and must happen once.
    template <class Walker>
    [[gnu::always_inline]] void prepare(std::uint32_t index, const Walker& w) noexcept {
        if (index != prepared_) return;
        ++prepared_;
        w.prepare(fixup_);
    }

    // f(p), and whether to go on (f returns void or bool).
    template <class F>
    [[gnu::always_inline]] static bool go_on(F& f, const PacketView& p) {
        if constexpr (std::is_void_v<std::invoke_result_t<F&, const PacketView&>>) {
            f(p);
            return true;
        } else {
            return static_cast<bool>(f(p));
        }
    }

    // Inlined, as for_each() is, so that the caller's loop state stays in registers.
    template <class Walker, class F>
    [[gnu::always_inline]] void walk(Walker w, F& f) {
        const detail::Fixup fixup = fixup_;
        const std::uint32_t count = count_;
        for (std::uint32_t i = 0;; w.advance()) {
            // Each packet is fixed up once, by whichever walk reaches it first: prepared_ is
            // read and stored here, not kept, because f may walk this batch again (or throw).
            if (i >= prepared_) {
                prepared_ = i + 1;
                w.prepare(fixup);
            }
            if (!go_on(f, w.view()) || ++i == count) return;
        }
    }

    TpacketVersion version_ = TpacketVersion::v3;
    detail::Fixup fixup_{};
    std::uint32_t count_ = 0;
    std::uint32_t prepared_ = 0;           // packets already fixed up in place
    tpacket_block_desc* block_ = nullptr;  // V3: the block we hold
    detail::V3BlockWalker v3_{};           // V3: at the first packet
    detail::V2FrameWalker v2_{};           // V2: at the first frame
};

}  // namespace ringcap
