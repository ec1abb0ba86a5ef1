#pragma once
// Taking packets off an RX ring, a batch at a time: the next ready V3 block, or the run of ready
// V2 frames from where the last batch ended. This runs once per batch, so it is out of line
// here; the walkers a Batch then iterates with are inline in include/ringcap/detail/walkers.hpp.
// No kernel needed: the unit tests drive it over a ring laid out in an ordinary buffer.
#include <chrono>
#include <cstdint>
#include <optional>

#include <ringcap/batch.hpp>
#include <ringcap/detail/walkers.hpp>
#include <ringcap/types.hpp>

namespace ringcap::detail {

class RxRing {
  public:
    // Most V2 frames in one batch.
    static constexpr std::uint32_t kMaxV2Batch = 256;

    RxRing() = default;
    RxRing(TpacketVersion version, const RingMap& map, const Fixup& fixup) noexcept
        : version_(version), map_(map), fixup_(fixup) {}

    // The next ready block (V3) or run of ready frames (V2), marked handed out so that reading
    // round the ring never gives memory a live Batch holds a second time; nullopt when nothing
    // is ready. One branch on the version per batch, none per packet.
    std::optional<Batch> take() noexcept {
        return version_ == TpacketVersion::v3 ? take_block() : take_frames();
    }

    // V3: the sequence number of the block the kernel is filling, when it holds packets no batch
    // has had yet (they come when the block is full or its retire timer expires); nullopt when
    // there is none (V2 hands every frame over as soon as it is filled).
    std::optional<std::uint64_t> filling_block() const noexcept;
    // V3: whether the block with this sequence number has been handed out.
    bool taken(std::uint64_t seq) const noexcept { return last_seq_ >= seq; }
    // V3: how long the last block handed out took to fill, from its opening to its last packet,
    // when it was handed over because it was full (not by its retire timer); else 0.
    std::chrono::nanoseconds last_fill_time() const noexcept { return last_fill_; }

  private:
    std::optional<Batch> take_block() noexcept;
    std::optional<Batch> take_frames() noexcept;

    TpacketVersion version_ = TpacketVersion::v3;
    RingMap map_{};
    Fixup fixup_{};
    std::uint32_t next_block_ = 0;  // V3
    std::uint64_t last_seq_ = 0;    // V3: sequence number of the last block handed out
    std::chrono::nanoseconds last_fill_{0};
    FramePosition next_frame_{};  // V2
};

}  // namespace ringcap::detail
