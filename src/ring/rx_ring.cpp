#include "ring/rx_ring.hpp"

#include <algorithm>

namespace ringcap::detail {
namespace {

// From the block's opening (ts_first_pkt is set by prb_open_block(), whatever its name says) to
// its last packet.
std::chrono::nanoseconds fill_time(const tpacket_block_desc& block) noexcept {
    const tpacket_hdr_v1& h = block.hdr.bh1;
    const std::int64_t first =
        std::int64_t(h.ts_first_pkt.ts_sec) * 1'000'000'000 + h.ts_first_pkt.ts_nsec;
    const std::int64_t last =
        std::int64_t(h.ts_last_pkt.ts_sec) * 1'000'000'000 + h.ts_last_pkt.ts_nsec;
    return std::chrono::nanoseconds(last > first ? last - first : 0);
}

}  // namespace

std::optional<Batch> RxRing::take_block() noexcept {
    for (std::uint32_t tries = 0; tries < map_.block_count; ++tries) {
        auto& block = *reinterpret_cast<tpacket_block_desc*>(map_.block(next_block_));
        // Not ready, or still held by a Batch from an earlier round: nothing new yet.
        if (!ready(block)) return std::nullopt;
        next_block_ = map_.next_block(next_block_);
        last_seq_ = block.hdr.bh1.seq_num;  // ours now: the kernel does not write it meanwhile
        last_fill_ = retired_by_timer(block) ? std::chrono::nanoseconds(0) : fill_time(block);
        if (V3BlockWalker::packet_count(block) == 0) {  // nothing in it: straight back
            hand_to_kernel(block);
            continue;
        }
        mark_handed_out(block);
        return Batch(block, fixup_);
    }
    return std::nullopt;
}

std::optional<std::uint64_t> RxRing::filling_block() const noexcept {
    if (version_ != TpacketVersion::v3 || map_.block_count == 0) return std::nullopt;
    // Once every block handed over has been taken, the next one is the block the kernel opened
    // after the last we took, unless it had to wait for us (the ring was full): then it still
    // holds an old lap's header, and its sequence number says so.
    auto& block = *reinterpret_cast<tpacket_block_desc*>(map_.block(next_block_));
    const std::optional<FillingBlock> f = peek_filling(block);
    if (!f || f->seq != last_seq_ + 1 || f->packets == 0) return std::nullopt;
    return f->seq;
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
