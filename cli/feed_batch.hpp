#pragma once
// One batch's packets into a sink, as the capture loop (capture_cmd.cpp) and each fanout worker
// (group_cmd.cpp) hand them on: at most a budget of them, only those a user-space filter keeps
// (when the kernel refused the program; otherwise a constant true the compiler removes), and,
// after the kernel dropped packets, the first one carrying the count (pcapng epb_dropcount).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <ringcap/batch.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/rotating_writer.hpp>
#include <ringcap/sink_feeder.hpp>

namespace ringcap::cli {

// What a batch may take and how it is counted: at most `room` packets (no limit: the largest
// value); `fed` counts those handed on as they go, also when a write throws; with kBytes,
// `bytes` adds their wire lengths (for the live line).
struct FeedCount {
    std::uint64_t room = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t& fed;
    std::uint64_t& bytes;
};

// The keep predicate when the kernel runs the filter: every packet.
struct KeepAll {
    constexpr bool operator()(const PacketView&) const noexcept { return true; }
};

inline std::uint64_t room_under(std::uint64_t limit, std::uint64_t done) noexcept {
    return limit == 0 ? std::numeric_limits<std::uint64_t>::max() : limit - std::min(limit, done);
}

// The walk both share: up to count.room packets that `keep` keeps, each to put(p), in order;
// count.fed counts those put, also when put() throws.
template <bool kBytes, class Keep, class Put>
void feed_each(Batch& batch, FeedCount count, const Keep& keep, const Put& put) {
    std::uint64_t n = 0;
    try {
        batch.for_each([&](const PacketView& p) {
            if (n == count.room) return false;
            if (!keep(p)) return true;
            if constexpr (kBytes) count.bytes += p.wire_len();
            put(p);
            ++n;
            return true;
        });
    } catch (...) {
        count.fed += n;  // those before the failed write are counted (and written)
        throw;
    }
    count.fed += n;
}

template <bool kBytes, class Keep>
void feed_batch(Batch& batch, SinkFeeder& feed, FeedCount count, const Keep& keep) {
    // The common `-w FILE`: straight into the file's buffer, no chunk of views. When every packet
    // goes (no -c limit reached in this batch, the kernel runs the filter, no byte count for
    // the live line), the file's own batch loop; otherwise write() per packet.
    if (PcapWriter* file = feed.file()) {
        if constexpr (!kBytes && std::is_same_v<Keep, KeepAll>) {
            if (count.room >= batch.size()) {  // the whole batch, in the file's own loop
                const std::uint64_t before = file->records();
                try {
                    file->write_all(batch);
                } catch (...) {
                    count.fed += file->records() - before;  // those before the failed write
                    throw;
                }
                count.fed += batch.size();
                return;
            }
        }
        return feed_each<kBytes>(batch, count, keep,
                                 [file](const PacketView& p) { file->write(p); });
    }
    feed_each<kBytes>(batch, count, keep, [&feed](const PacketView& p) { feed.push(p); });
}

// A batch the kernel marked as losing (`drops` packets dropped before it): its first packet goes
// to `file` on its own, carrying the drops, then the rest as usual. Rare: only after the ring
// was full. Without a file (printing, --process) the drops are only counted elsewhere.
template <bool kBytes, class Keep>
void feed_marked_batch(Batch& batch, SinkFeeder& feed, RotatingWriter* file, std::uint64_t drops,
                       FeedCount count, const Keep& keep) {
    feed_each<kBytes>(batch, count, keep, [&](const PacketView& p) {
        if (drops != 0 && file != nullptr) {
            feed.drain();
            file->write_with_drops(p, drops);
        } else {
            feed.push(p);
        }
        drops = 0;
    });
}

}  // namespace ringcap::cli
