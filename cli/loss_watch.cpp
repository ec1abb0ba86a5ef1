#include "loss_watch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include <ringcap/rotating_writer.hpp>

#include "loss_report.hpp"
#include "report.hpp"
#include "sys/clock.hpp"
#include "sys/file.hpp"

namespace ringcap::cli {
namespace {

constexpr std::int64_t kLineEveryNs = 250'000'000;  // the live line, four times a second

// The live line only on a terminal, not with -q, and not when packets are printed to the same
// terminal (the line would tear through them).
bool live_line(const CliOptions& o) {
    if (o.quiet_status || !sys::is_terminal(sys::kStderr)) return false;
    const bool printing = o.write_path.empty() && !o.count_only;
    return !(printing && sys::is_terminal(sys::kStdout));
}

}  // namespace

LossMonitor LossWatch::open_monitor(const CliOptions& o,
                                    const std::vector<std::string>& interfaces) {
    return LossMonitor::open({.interfaces = interfaces, .watch_stack = o.stats_drops});
}

LossWatch::LossWatch(const CliOptions& o, LossMonitor monitor, const CaptureInfo& info,
                     RingSource ring, const std::vector<Sink*>& outputs)
    : o_(o),
      info_(info),
      ring_(std::move(ring)),
      monitor_(std::move(monitor)),
      version_(info.layout.version),
      block_timeout_(info.layout.block_timeout),
      workers_(std::max<std::size_t>(ring_.counters().size(), 1)),  // one per socket
      live_(live_line(o)) {
    last_line_ns_ = sys::realtime_ns();
    if (live_) next_line_ns_ = last_line_ns_ + kLineEveryNs;
    for (Sink* out : outputs)
        if (auto* file = dynamic_cast<RotatingWriter*>(out)) files_.push_back(file);
    schedule(0);
}

std::vector<RingCounters> LossWatch::ring_now() {
    std::vector<RingCounters> r = ring_.counters();
    std::uint64_t drops = 0;
    for (const RingCounters& c : r) drops += c.drops;
    seen_drops_ = drops;
    return r;
}

std::uint32_t LossWatch::take_drops() noexcept {
    try {
        ring_now();  // clears the kernel's mark, and says how many
    } catch (const Error&) {
        // the socket failed: next_batch() says so
    }
    const std::uint64_t n = seen_drops_ - marked_drops_;
    marked_drops_ = seen_drops_;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX));
}

PcapngWriter::Statistics LossWatch::file_statistics(std::uint64_t delivered) {
    RingCounters t;
    for (const RingCounters& c : ring_now()) t += c;
    return {
        .received = t.packets, .dropped = t.drops, .os_dropped = t.drops, .delivered = delivered};
}

LossLedger LossWatch::ledger() {
    LossLedger l = monitor_.sample();
    l.ring = ring_now();
    if (!files_.empty()) {
        l.writer = WriterCounters{};
        for (const RotatingWriter* f : files_) *l.writer += f->writer_counters();
        if (failure_ != 0 && l.writer->write_errors != 0) {
            l.writer->last_error = failure_;
            if (failed_at_ > l.writer->records)
                l.writer->records_lost += failed_at_ - l.writer->records;
        }
    }
    l.latency = latency_;
    for (const WorkerState& w : workers_) l.latency += w.latency;
    l.version = version_;
    l.block_timeout = block_timeout_;
    return l;
}

void LossWatch::clear_line() {
    if (!line_shown_) return;
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    line_shown_ = false;
}

void LossWatch::schedule(std::int64_t now_ns) {
    if (live_ && now_ns >= next_line_ns_) next_line_ns_ = now_ns + kLineEveryNs;
    if (fill_every_ns_ != 0 && now_ns >= next_fill_ns_) next_fill_ns_ = now_ns + fill_every_ns_;
    next_due_ns_ = std::min(live_ ? next_line_ns_ : INT64_MAX,
                            fill_every_ns_ != 0 ? next_fill_ns_ : INT64_MAX);
}

void LossWatch::trace_fill(std::chrono::milliseconds every) {
    fill_every_ns_ = std::chrono::nanoseconds(every).count();
    next_fill_ns_ = fill_start_ns_ = sys::realtime_ns();
    schedule(0);
}

void LossWatch::show_line(std::int64_t now_ns, std::uint64_t captured, std::uint64_t bytes) {
    const LossLedger l = ledger();
    const StatusSample s{
        .seconds = double(now_ns - last_line_ns_) / 1e9,
        .packets = captured - last_packets_,
        .bytes = bytes == kBytesUnknown ? StatusSample::kUnknown : bytes - last_bytes_,
        .ring_fill = ring_.fill()};
    fmt::print(stderr, "\r{}\x1b[K", status_text(s, l));
    std::fflush(stderr);
    line_shown_ = true;
    last_line_ns_ = now_ns;
    last_packets_ = captured;
    last_bytes_ = bytes;
}

void LossWatch::slow_tick(std::int64_t now_ns, std::uint64_t captured, std::uint64_t bytes,
                          bool asked) {
    if (asked) {  // SIGUSR1: tcpdump's counts now, then what was lost where; the capture goes on
        clear_line();
        RingCounters t;
        for (const RingCounters& c : ring_now()) t += c;
        report_capture_summary(captured, t, info_);
        if (o_.stats_json)
            say(ledger_json(ledger(), captured));
        else
            for (const std::string& line : ledger_lines(ledger(), o_.stats)) say(line);
    }
    if (fill_every_ns_ != 0 && now_ns >= next_fill_ns_) {
        const double f = ring_.fill();
        fill_.max = std::max(fill_.max, f);
        fill_.sum += f;
        ++fill_.looks;
        fill_.nearly_full += f >= 0.9;
        const auto second = static_cast<std::size_t>(
            std::max<std::int64_t>(0, (now_ns - fill_start_ns_) / 1'000'000'000));
        if (second < 3600) {  // an hour of seconds at most
            if (fill_.per_second.size() <= second) fill_.per_second.resize(second + 1, 0.0);
            fill_.per_second[second] = std::max(fill_.per_second[second], f);
        }
    }
    if (live_ && now_ns >= next_line_ns_) show_line(now_ns, captured, bytes);
    schedule(now_ns);
}

void LossWatch::report_end(std::uint64_t captured) {
    clear_line();
    const LossLedger l = ledger();
    if (o_.stats_json) {
        say(ledger_json(l, captured));
        return;
    }
    if (!o_.stats && !l.lost_any()) return;
    for (const std::string& line : ledger_lines(l, o_.stats)) say(line);
}

}  // namespace ringcap::cli
