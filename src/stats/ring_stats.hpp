#pragma once
// Reading a socket's ring counters from the kernel.
#include <ringcap/stats.hpp>
#include <ringcap/types.hpp>

#include "sys/fd.hpp"

namespace ringcap::detail {

// One read of PACKET_STATISTICS (tpacket_stats_v3 on a V3 socket, tpacket_stats otherwise): the
// counts since the previous read, which the kernel resets. Add it to a running total.
RingCounters read_ring_counters(const sys::Fd& fd, TpacketVersion version);

}  // namespace ringcap::detail
