#pragma once
// Counters by stage of the path a packet takes, each a plain aggregate that adds up with +=, so
// counts from several reads, several sockets (the workers of a fanout group) or several files
// merge the same way: the socket's ring (PACKET_STATISTICS), the file writer, and the loss
// ledger's other stages (loss.hpp): the NIC, the per-CPU backlog, the stack's drop reasons.
#include <linux/if_packet.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/types.hpp>

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
    // Packets the writer took that never reached the file: cut off at a failed write (the file
    // ends with its last whole record) or still buffered when the final write failed.
    std::uint64_t records_lost = 0;
    // Packets the writer took (records put into its buffer), lost ones included.
    std::uint64_t records = 0;
    // A writer with a queue between capture and disk: times the capture found it full and
    // waited. The live capture writes on its own thread, with no queue: this stays 0 there.
    std::uint64_t queue_full = 0;

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
        records_lost += o.records_lost;
        records += o.records;
        queue_full += o.queue_full;
        return *this;
    }
    std::uint64_t lost() const noexcept { return records_lost; }
};

// How long packets waited in the ring: per batch, the age of its oldest packet when user space
// got it (one clock read per batch, never per packet). Log-linear buckets: four per power of two
// of nanoseconds, so a percentile is known to within 25% (the bucket's upper bound is given),
// enough to tell 20 us from 1 ms from 1 s, which is what explains latency.
struct LatencyHistogram {
    static constexpr std::size_t kBuckets = 4 + 62 * 4;
    std::array<std::uint64_t, kBuckets> buckets{};
    std::uint64_t count = 0;
    std::int64_t max_ns = 0;

    static constexpr std::size_t bucket_of(std::uint64_t v) noexcept {
        if (v < 4) return static_cast<std::size_t>(v);
        const int e = std::bit_width(v) - 1;  // 2..63
        return 4 + static_cast<std::size_t>(e - 2) * 4 + ((v >> (e - 2)) & 3);
    }
    // The smallest age that no longer falls into bucket `i`.
    static constexpr std::uint64_t bucket_end(std::size_t i) noexcept {
        if (i < 4) return i + 1;
        const std::size_t e = (i - 4) / 4 + 2, sub = (i - 4) % 4;
        return std::uint64_t(5 + sub) << (e - 2);
    }

    void record(std::int64_t age_ns) noexcept {
        if (age_ns < 0) age_ns = 0;  // the clock stepped back: count it as fresh
        ++buckets[bucket_of(static_cast<std::uint64_t>(age_ns))];
        ++count;
        if (age_ns > max_ns) max_ns = age_ns;
    }
    // The upper end of the bucket holding quantile q (0..1) of the ages, at most the largest
    // age seen; 0 when nothing was recorded.
    std::int64_t quantile_ns(double q) const noexcept;

    LatencyHistogram& operator+=(const LatencyHistogram& o) noexcept {
        for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
        count += o.count;
        if (o.max_ns > max_ns) max_ns = o.max_ns;
        return *this;
    }
};

// ---------------------------------------------------------------------------------------------
// The loss ledger: where packets were lost between the wire and the file, stage by stage, as
// deltas since the capture started (64-bit). A counter that cannot be read here is nullopt or
// carries the reason in `unavailable`: it is reported as unavailable, never as zero.

// A counter and its name, as the driver or the kernel names it.
struct NamedCount {
    std::string name;
    std::uint64_t count = 0;
};

// One interface's own counters (the kernel's rtnl_link_stats64, what
// /sys/class/net/IF/statistics shows, read over rtnetlink in the caller's network namespace)
// and its driver's (ethtool -S: the ETHTOOL_GSTATS ioctl).
struct NicCounters {
    std::string interface;
    // Packets the device or its driver dropped on receive: no buffer, the core's own drops
    // (e.g. no protocol handler, a full backlog on that device's path). Every device has it.
    std::optional<std::uint64_t> rx_dropped;
    // The hardware's receive counters: missed (no room in the NIC's ring), FIFO overruns,
    // ring overruns. nullopt on a device without hardware (no parent device, as
    // /sys/class/net/IF/device shows it: veth, bridges, tun, lo), whose driver never counts them.
    std::optional<std::uint64_t> rx_missed, rx_fifo, rx_over;
    // Driver counters whose names speak of loss (drop, miss, discard, fifo, overrun, no_buf,
    // error), each as a delta; `driver_unavailable` says why there are none (the driver has no
    // ethtool statistics, e.g. loopback).
    std::vector<NamedCount> driver;
    std::string driver_unavailable;

    // What this stage lost: rx_dropped, missed, fifo, over (the driver's counters often count
    // the same packets again, so they are shown, not added).
    std::uint64_t lost() const noexcept {
        return rx_dropped.value_or(0) + rx_missed.value_or(0) + rx_fifo.value_or(0) +
               rx_over.value_or(0);
    }
};

// /proc/net/softnet_stat: each CPU's input backlog (net.core.netdev_max_backlog packets) and the
// softirq's budget. Shared by the whole host: every interface and every process counts here.
struct BacklogCounters {
    struct Cpu {
        int cpu = 0;
        std::uint64_t dropped = 0;       // the backlog was full (netdev_max_backlog)
        std::uint64_t time_squeeze = 0;  // the softirq ran out of budget with work left
        std::uint64_t flow_limit = 0;    // dropped by the flow limit (net.core.flow_limit_*)
    };
    std::vector<Cpu> cpus;    // every CPU, deltas since start
    std::string unavailable;  // why it could not be read, if it could not

    std::uint64_t dropped() const noexcept;
    std::uint64_t time_squeeze() const noexcept;
    std::uint64_t flow_limit() const noexcept;
    std::uint64_t lost() const noexcept { return dropped() + flow_limit(); }
};

// The kernel's own drop reasons (tracepoint skb/kfree_skb, its `reason` field: enum
// skb_drop_reason, named as the running kernel's BTF names it), for packets on the captured
// interfaces only.
struct StackCounters {
    struct Drop {
        std::string reason;     // "NO_SOCKET", "OTHERHOST", ... (SKB_DROP_REASON_ left off)
        std::string interface;  // the skb's device
        std::uint64_t count = 0;
    };
    bool watched = false;     // asked for (LossMonitorOptions::watch_stack)
    std::string unavailable;  // why it is not watched although asked (no BPF privilege, ...)
    std::vector<Drop> drops;  // largest first

    std::uint64_t lost() const noexcept;
};

// Every stage, sampled at one moment.
struct LossLedger {
    std::chrono::nanoseconds elapsed{0};  // since the monitor started
    std::vector<NicCounters> nic;         // one per captured interface
    BacklogCounters backlog;
    StackCounters stack;
    std::vector<RingCounters> ring;        // one per socket (fanout worker), in worker order
    std::optional<WriterCounters> writer;  // nullopt: no file written
    LatencyHistogram latency;
    // What explains the latency: the ring version and the V3 block timeout.
    TpacketVersion version = TpacketVersion::v3;
    std::chrono::milliseconds block_timeout{0};

    RingCounters ring_total() const noexcept {
        RingCounters t;
        for (const RingCounters& r : ring) t += r;
        return t;
    }
    // Something was lost at some stage (the stack's drops count: they were seen on the wire).
    bool lost_any() const noexcept;
};

struct LossMonitorOptions {
    std::vector<std::string> interfaces;  // "any": every interface of the network namespace
    // Count the stack's drops by reason with a BPF program on tp_btf/kfree_skb (root, or
    // CAP_BPF + CAP_PERFMON). Off by default: it runs for every freed packet of the host.
    bool watch_stack = false;
};

// Reads the NIC, backlog and stack stages: baselines at open(), deltas since then at each
// sample(). The ring, writer and latency stages belong to the capture and its output: the caller
// fills them in. Opening never fails for want of privilege: what cannot be read is reported.
class LossMonitor {
  public:
    static LossMonitor open(const LossMonitorOptions& options);
    LossMonitor(LossMonitor&&) noexcept;
    LossMonitor& operator=(LossMonitor&&) noexcept;
    ~LossMonitor();

    // The stages since open(). Counters the kernel keeps in 32 bits (softnet_stat) are read
    // often enough to be followed past their wrap if sample() runs at least every few seconds.
    LossLedger sample();

  private:
    struct Impl;
    explicit LossMonitor(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ringcap
