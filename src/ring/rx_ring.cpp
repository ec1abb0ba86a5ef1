#include "ring/rx_ring.hpp"

#include <algorithm>

namespace ringcap::detail {

std::optional<Batch> RxRing::take_block() noexcept {
    for (std::uint32_t tries = 0; tries < map_.block_count; ++tries) {
        auto& block = *reinterpret_cast<tpacket_block_desc*>(map_.block(next_block_));
        // Not ready, or still held by a Batch from an earlier round: nothing new yet.
        if (!ready(block)) return std::nullopt;
        next_block_ = map_.next_block(next_block_);
        if (V3BlockWalker::packet_count(block) == 0) {  // nothing in it: straight back
            hand_to_kernel(block);
            continue;
        }
        mark_handed_out(block);
        return Batch(block, fixup_);
    }
    return std::nullopt;
}

std::optional<Batch> RxRing::take_frames() noexcept {
    // Never more than the ring holds: when every frame is ready, walking on would wrap around
    // and hand out the same frames again.
    const std::uint32_t limit = std::min(kMaxV2Batch, map_.frame_count());
    V2FrameWalker w(map_, next_frame_);
    std::uint32_t n = 0;
    // Stops at a frame not filled yet, or held by an earlier Batch.
    for (; n < limit && ready(w.header()); ++n, w.advance()) mark_handed_out(w.header());
    if (n == 0) return std::nullopt;
    const FramePosition first = std::exchange(next_frame_, w.position());
    return Batch(map_, first, n, fixup_);
}

}  // namespace ringcap::detail
