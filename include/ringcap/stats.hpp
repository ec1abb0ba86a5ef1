#pragma once
// Counters by stage of the path a packet takes, each a plain aggregate that adds up with +=, so
// counts from several reads, several sockets (the workers of a fanout group) or several files
// merge the same way. Today: the socket's ring (PACKET_STATISTICS) and the file writer. The loss
// ledger adds its stages beside these, in the same shape: the NIC (rx_dropped, rx_missed), the
// per-CPU backlog (/proc/net/softnet_stat), kfree_skb drop reasons.
#include <linux/if_packet.h>

#include <chrono>
#include <cstdint>

namespace ringcap {

// One socket's ring, as PACKET_STATISTICS counts it (net/packet/af_packet.c).
struct RingCounters {
    std::uint64_t packets = 0;         // passed the filter, including the dropped ones (tcpdump's
                                       // "received by filter")
    std::uint64_t drops = 0;           // ring full (tcpdump's "dropped by kernel")
    std::uint64_t freeze_q_count = 0;  // V3: times the ring was frozen because no block was free
    // Fanout with rollover: packets this socket passed on to another of its group because its
    // own ring was full (PACKET_ROLLOVER_STATS tp_all). Not in `packets`.
    std::uint64_t rolled_over = 0;

    RingCounters& operator+=(const RingCounters& o) noexcept {
        packets += o.packets;
        drops += o.drops;
        freeze_q_count += o.freeze_q_count;
        rolled_over += o.rolled_over;
        return *this;
    }
};

// The kernel's counters as one read of PACKET_STATISTICS returns them: what happened since the
// previous read, because the kernel resets them on every read. They are 32-bit: add them up into
// RingCounters (64-bit) and read again before 2^32 packets pass.
RingCounters ring_counters_from(const tpacket_stats& kernel) noexcept;     // V1/V2
RingCounters ring_counters_from(const tpacket_stats_v3& kernel) noexcept;  // V3

// What Capture::stats() returns.
using CaptureStats = RingCounters;

// The failures of a file writer (the records and bytes it wrote are its own to count).
struct WriterCounters {
    std::uint64_t short_writes = 0;       // write() took part of a buffer (the rest retried)
    std::uint64_t write_errors = 0;       // write() failed (ENOSPC, EIO, EPIPE, ...)
    int last_error = 0;                   // errno of the latest failure, 0 if none
    std::chrono::nanoseconds blocked{0};  // time the capture waited for the writer

    void add_short_write() noexcept { ++short_writes; }
    void add_write_error(int err) noexcept {
        ++write_errors;
        last_error = err;
    }
    void add_blocked(std::chrono::nanoseconds waited) noexcept { blocked += waited; }

    WriterCounters& operator+=(const WriterCounters& o) noexcept {
        short_writes += o.short_writes;
        write_errors += o.write_errors;
        if (o.last_error != 0) last_error = o.last_error;
        blocked += o.blocked;
        return *this;
    }
};

}  // namespace ringcap
