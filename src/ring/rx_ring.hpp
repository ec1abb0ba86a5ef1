#pragma once
// Taking packets off an RX ring, a batch at a time: the next ready V3 block, or the run of ready
// V2 frames from where the last batch ended. This runs once per batch, so it is out of line
// here; the walkers a Batch then iterates with are inline in include/ringcap/detail/walkers.hpp.
// No kernel needed: the unit tests drive it over a ring laid out in an ordinary buffer.
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

  private:
    std::optional<Batch> take_block() noexcept;
    std::optional<Batch> take_frames() noexcept;

    TpacketVersion version_ = TpacketVersion::v3;
    RingMap map_{};
    Fixup fixup_{};
    std::uint32_t next_block_ = 0;  // V3
    FramePosition next_frame_{};    // V2
};

}  // namespace ringcap::detail
