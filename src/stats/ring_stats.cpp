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

}  // namespace detail
}  // namespace ringcap
