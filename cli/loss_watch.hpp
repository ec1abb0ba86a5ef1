#pragma once
// The loss ledger around one capture (issue 13): the NIC, backlog and stack stages from a
// LossMonitor, the ring's counters from the sockets, the writer's from the output file, the
// delivery latency from the batches; printed on SIGUSR1, as a live status line on a terminal,
// and at the end (with --stats, or whenever something was lost).
//
// The capture loop calls on_batch() per batch (inline: one subtraction and a histogram bucket,
// with the clock read the loop makes anyway) and tick() per turn (a compare unless a line is
// due). Everything else happens a few times a second at most.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/batch.hpp>
#include <ringcap/capture.hpp>
#include <ringcap/pcapng_writer.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/stats.hpp>

#include "command_line.hpp"
#include "signals.hpp"

namespace ringcap {
class RotatingWriter;
}

namespace ringcap::cli {

class LossWatch {
  public:
    // Where the ring stage comes from: the sockets' counters (accumulated, one per worker), and
    // how full their rings are (0..1, the fullest). Called from the thread that calls tick().
    struct RingSource {
        std::function<std::vector<RingCounters>()> counters;
        std::function<double()> fill;
    };
    // The NIC, backlog and stack stages of `interfaces`, as the options ask. Open it before
    // privileges are dropped (-Z): the stack's BPF program needs them to load, not to be read.
    static LossMonitor open_monitor(const CliOptions& o,
                                    const std::vector<std::string>& interfaces);
    // `monitor` from open_monitor(), `info` of the first socket (ring version and timeout),
    // `outputs` (their writer counters, summed, for those that are files).
    LossWatch(const CliOptions& o, LossMonitor monitor, const CaptureInfo& info, RingSource ring,
              const std::vector<Sink*>& outputs);

    // Per batch, before its packets are handed on. Returns the ring's drops since the last
    // batch that carried them, when the kernel marked this batch as losing (or a counter read
    // meanwhile saw new drops): the first packet of the batch carries them (epb_dropcount).
    std::uint32_t on_batch(const Batch& batch, std::int64_t now_ns) noexcept {
        latency_.record(now_ns - batch.oldest_ts_ns());
        if (batch.ring_was_losing() || seen_drops_ != marked_drops_) [[unlikely]]
            return take_drops();
        return 0;
    }
    // Worker w's batch of a group (its own histogram), from its thread.
    void on_worker_batch(std::size_t worker, const Batch& batch, std::int64_t now_ns) noexcept {
        workers_[worker].latency.record(now_ns - batch.oldest_ts_ns());
    }
    // Worker w's batch was marked losing and its socket's drops are now `drops_now`: how many
    // its next packet carries (those not carried by an earlier one).
    std::uint64_t worker_drops(std::size_t worker, std::uint64_t drops_now) noexcept {
        const std::uint64_t n = drops_now - workers_[worker].marked_drops;
        workers_[worker].marked_drops = drops_now;
        return n;
    }
    // Per turn of the loop: the status line and SIGUSR1. `captured` and `bytes` so far
    // (kBytesUnknown: the loop does not count them, and the line shows no Mbit/s).
    static constexpr std::uint64_t kBytesUnknown = UINT64_MAX;
    void tick(std::int64_t now_ns, std::uint64_t captured, std::uint64_t bytes) {
        const bool asked = status_requested();
        if (asked || now_ns >= next_due_ns_) [[unlikely]]
            slow_tick(now_ns, captured, bytes, asked);
    }
    // The file that takes epb_dropcount (the output when it is a file), or nullptr.
    RotatingWriter* file() const noexcept { return files_.size() == 1 ? files_[0] : nullptr; }
    // The live line is on: the loop should count bytes for it.
    bool wants_bytes() const noexcept { return live_; }

    // The ring's counters now (each read goes through here, so drops are noticed for the EPBs).
    std::vector<RingCounters> ring_now();
    // An ISB's counts for the whole capture, `delivered` packets so far (pcapng).
    PcapngWriter::Statistics file_statistics(std::uint64_t delivered);
    // The loop ended on an error (the writer's, or the capture's) with `captured` packets handed
    // to the output: a writer that failed lost, besides what it cut, what it never took.
    void capture_failed(int err, std::uint64_t captured) noexcept {
        failure_ = err;
        failed_at_ = captured;
    }

    // How full the rings were, looked at every `every` (doctor): the fullest seen, the mean,
    // and how many looks found them 90% full or more.
    struct FillTrace {
        double max = 0, sum = 0;
        std::uint64_t looks = 0, nearly_full = 0;
        std::vector<double> per_second;  // the fullest look of each second since trace_fill()
        double mean() const noexcept { return looks ? sum / double(looks) : 0; }
    };
    void trace_fill(std::chrono::milliseconds every);
    const FillTrace& fill_trace() const noexcept { return fill_; }

    LossLedger ledger();
    // The end: after tcpdump's three lines, the ledger's lines (--stats: every stage; otherwise
    // the stages that lost something) or its JSON. Clears the live line first.
    void report_end(std::uint64_t captured);

  private:
    struct alignas(64) WorkerState {
        LatencyHistogram latency;
        std::uint64_t marked_drops = 0;
    };
    std::uint32_t take_drops() noexcept;
    void slow_tick(std::int64_t now_ns, std::uint64_t captured, std::uint64_t bytes, bool asked);
    void show_line(std::int64_t now_ns, std::uint64_t captured, std::uint64_t bytes);
    void clear_line();
    void schedule(std::int64_t now_ns);

    const CliOptions& o_;
    CaptureInfo info_;
    RingSource ring_;
    std::vector<RotatingWriter*> files_;
    LossMonitor monitor_;
    TpacketVersion version_;
    std::chrono::milliseconds block_timeout_;
    LatencyHistogram latency_;
    std::vector<WorkerState> workers_;
    std::uint64_t seen_drops_ = 0;    // the ring's drops as last read
    std::uint64_t marked_drops_ = 0;  // of which packets already carry this many
    int failure_ = 0;
    std::uint64_t failed_at_ = 0;
    bool live_ = false;
    bool line_shown_ = false;
    std::int64_t next_due_ns_ = INT64_MAX;  // the next line or fill look
    std::int64_t next_line_ns_ = INT64_MAX;
    std::int64_t fill_every_ns_ = 0;  // 0: no fill trace
    std::int64_t next_fill_ns_ = INT64_MAX;
    std::int64_t fill_start_ns_ = 0;
    FillTrace fill_;
    std::int64_t last_line_ns_ = 0;
    std::uint64_t last_packets_ = 0, last_bytes_ = 0;
};

}  // namespace ringcap::cli
