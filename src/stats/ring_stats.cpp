#include "stats/ring_stats.hpp"

#include "sys/socket.hpp"

namespace ringcap {

RingCounters ring_counters_from(const tpacket_stats& kernel) noexcept {
    return {.packets = kernel.tp_packets, .drops = kernel.tp_drops};
}

RingCounters ring_counters_from(const tpacket_stats_v3& kernel) noexcept {
    return {.packets = kernel.tp_packets,
            .drops = kernel.tp_drops,
            .freeze_q_count = kernel.tp_freeze_q_cnt};
}

namespace detail {

RingCounters read_ring_counters(const sys::Fd& fd, TpacketVersion version) {
    if (version == TpacketVersion::v3)
        return ring_counters_from(sys::getsockopt<tpacket_stats_v3>(
            fd, SOL_PACKET, PACKET_STATISTICS, "PACKET_STATISTICS"));
    return ring_counters_from(
        sys::getsockopt<tpacket_stats>(fd, SOL_PACKET, PACKET_STATISTICS, "PACKET_STATISTICS"));
}

std::uint64_t read_rolled_over(const sys::Fd& fd) {
    return sys::getsockopt<tpacket_rollover_stats>(fd, SOL_PACKET, PACKET_ROLLOVER_STATS,
                                                   "PACKET_ROLLOVER_STATS")
        .tp_all;
}

double ring_fill(const RingMap& map, TpacketVersion version) noexcept {
    std::uint64_t full = 0, total = 0;
    if (version == TpacketVersion::v3) {
        for (std::uint32_t b = 0; b < map.block_count; ++b, ++total) {
            auto& desc = *reinterpret_cast<tpacket_block_desc*>(map.block(b));
            full += filled(desc.hdr.bh1.block_status);
        }
    } else {
        map.for_each_frame([&](std::byte* f) {
            full += filled(reinterpret_cast<tpacket2_hdr*>(f)->tp_status);
            ++total;
        });
    }
    return total == 0 ? 0.0 : static_cast<double>(full) / static_cast<double>(total);
}

}  // namespace detail
}  // namespace ringcap
