#pragma once
// Reading a socket's ring counters from the kernel.
#include <ringcap/stats.hpp>
#include <ringcap/types.hpp>

#include <ringcap/detail/walkers.hpp>

#include "sys/fd.hpp"

namespace ringcap::detail {

// One read of PACKET_STATISTICS (tpacket_stats_v3 on a V3 socket, tpacket_stats otherwise): the
// counts since the previous read, which the kernel resets. Add it to a running total.
RingCounters read_ring_counters(const sys::Fd& fd, TpacketVersion version);

// PACKET_ROLLOVER_STATS tp_all: packets a fanout socket with rollover passed on, since it joined
// (the kernel keeps this one running; it is not reset on read).
std::uint64_t read_rolled_over(const sys::Fd& fd);

// Capture::ring_fill(): the share of blocks (V3) or frames (V2) with TP_STATUS_USER set.
double ring_fill(const RingMap& map, TpacketVersion version) noexcept;

}  // namespace ringcap::detail
