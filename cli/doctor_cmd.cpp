#include "doctor_cmd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include <ringcap/capture.hpp>
#include <ringcap/error.hpp>
#include <ringcap/sink.hpp>

#include "capture_cmd.hpp"
#include "command_line.hpp"
#include "loss_report.hpp"
#include "loss_watch.hpp"
#include "report.hpp"
#include "sys/clock.hpp"
#include "sys/net_counters.hpp"
#include "sys/procfs.hpp"

namespace ringcap::cli {
namespace {

std::string pct(double share) {
    return share < 0.1 ? fmt::format("{:.2g}%", share * 100) : fmt::format("{:.0f}%", share * 100);
}

void ring_advice(const DoctorFacts& f, std::vector<Advice>& out) {
    const RingCounters r = f.ledger.ring_total();
    if (r.drops == 0) return;
    const std::string why = fmt::format(
        "the ring dropped {} packets ({} of what passed the filter; fullest {})", r.drops,
        pct(double(r.drops) / double(std::max<std::uint64_t>(r.packets, 1))), pct(f.ring_fill_max));
    if (f.cpu_share >= 0.8) {  // the reader could not keep up: more readers
        out.push_back({90,
                       why + fmt::format(" while the capture used {} of a CPU", pct(f.cpu_share)),
                       fmt::format("more capture threads: --workers {}", f.workers * 2)});
        if (f.workers > 1 && !f.pinned)
            out.push_back(
                {60, "the workers were not pinned",
                 "pin each worker to its own CPU: --cpus 0-" + std::to_string(f.workers * 2 - 1)});
    } else {  // the reader had time to spare: the ring was too small for the bursts
        out.push_back(
            {90, why + fmt::format(" while the capture used only {} of a CPU", pct(f.cpu_share)),
             fmt::format("a bigger ring: -B {}", f.ring_kib * 4)});
    }
    const double mean = f.captured ? double(f.captured_bytes) / double(f.captured) : 0;
    if (f.snaplen > 256 && mean > 256)
        out.push_back({50, fmt::format("packets averaged {:.0f} captured bytes", mean),
                       "keep only the headers: -s 128"});
    if (!f.filtered)
        out.push_back({40, "no filter: the ring took every packet",
                       "a kernel filter for what you need (e.g. 'tcp port 443'): it runs "
                       "before the ring"});
}

void host_advice(const DoctorFacts& f, std::vector<Advice>& out) {
    const BacklogCounters& b = f.ledger.backlog;
    if (b.dropped() != 0) {
        const std::uint64_t now = f.netdev_max_backlog.value_or(1000);
        out.push_back(
            {80, fmt::format("the per-CPU backlog dropped {} packets (whole host)", b.dropped()),
             fmt::format("a longer backlog: sysctl -w net.core.netdev_max_backlog={}", now * 4)});
        std::uint64_t top = 0;
        for (const BacklogCounters::Cpu& c : b.cpus) top = std::max(top, c.dropped);
        if (!f.rps && top * 10 >= b.dropped() * 9 && b.cpus.size() > 1)
            out.push_back(
                {70, "one CPU had nearly all the backlog drops and RPS is off",
                 fmt::format("spread receive work over CPUs (RPS): echo {:x} > "
                             "/sys/class/net/{}/queues/rx-0/rps_cpus",
                             (1u << std::min<std::size_t>(b.cpus.size(), 31)) - 1, f.interface)});
    }
    for (const NicCounters& n : f.ledger.nic) {
        const std::uint64_t hw =
            n.rx_missed.value_or(0) + n.rx_fifo.value_or(0) + n.rx_over.value_or(0);
        if (hw != 0)
            out.push_back({85, fmt::format("the NIC of {} missed {} packets", n.interface, hw),
                           fmt::format("a bigger NIC ring: ethtool -G {} rx 4096", n.interface)});
    }
    if (f.tx_dropped != 0)
        out.push_back({30,
                       fmt::format("{} packets were dropped on the way out of {} (its qdisc)",
                                   f.tx_dropped, f.interface),
                       "replaying or generating into it: --qdisc-bypass (ringcap replay/gen)"});
}

void writer_advice(const DoctorFacts& f, std::vector<Advice>& out) {
    if (!f.ledger.writer) return;
    const WriterCounters& w = *f.ledger.writer;
    if (w.write_errors != 0)
        out.push_back({95,
                       fmt::format("{} writes failed, {} packets not in the file", w.write_errors,
                                   w.records_lost),
                       "write where there is room (-w), or keep a ring of files: -C 100 -W 10"});
    const double blocked = f.seconds > 0 ? double(w.blocked.count()) / 1e9 / f.seconds : 0;
    if (blocked > 0.2)
        out.push_back({55, fmt::format("writing blocked the capture {} of the time", pct(blocked)),
                       "faster storage for -w (a tmpfs), or fewer bytes: -s 128"});
}

void latency_advice(const DoctorFacts& f, std::vector<Advice>& out) {
    const LatencyHistogram& h = f.ledger.latency;
    if (h.count == 0 || f.ledger.version != TpacketVersion::v3) return;
    const std::int64_t p99 = h.quantile_ns(0.99);
    if (p99 >= 500'000)
        out.push_back({20,
                       fmt::format("packets waited up to {} in the ring (p99; the V3 block "
                                   "timeout is {} ms)",
                                   duration_text(p99), f.ledger.block_timeout.count()),
                       "for delivery within tens of microseconds: --immediate-mode"});
}

// utime + stime of this process, in seconds (/proc/self/stat fields 14 and 15).
double cpu_seconds() {
    const std::optional<std::string> stat = sys::read_small_file("/proc/self/stat", 4096);
    if (!stat) return 0;
    const std::size_t paren = stat->rfind(')');
    if (paren == std::string::npos) return 0;
    std::uint64_t ticks = 0;
    std::size_t at = paren + 2;
    for (int field = 3; field <= 15 && at < stat->size(); ++field) {
        const std::size_t end = std::min(stat->find(' ', at), stat->size());
        std::uint64_t v = 0;
        std::from_chars(stat->data() + at, stat->data() + end, v);
        if (field >= 14) ticks += v;
        at = end + 1;
    }
    return double(ticks) / double(sys::clock_ticks_per_second());
}

std::optional<std::uint64_t> sysctl_number(const char* path) {
    const std::optional<std::string> text = sys::read_small_file(path, 64);
    std::uint64_t v = 0;
    if (!text || std::from_chars(text->data(), text->data() + text->size(), v).ec != std::errc())
        return std::nullopt;
    return v;
}

bool rps_on(const std::string& interface) {
    const auto mask =
        sys::read_small_file("/sys/class/net/" + interface + "/queues/rx-0/rps_cpus", 256);
    return mask && mask->find_first_not_of("0,\n") != std::string::npos;
}

void print(const DoctorFacts& f, const CaptureInfo& info) {
    say(fmt::format("doctor: {:.1f} s on {} ({}): {} packets captured", f.seconds, f.interface,
                    describe_ring(info), f.captured));
    say(f.ledger.lost_any() ? "lost, by stage:" : "nothing was lost at any stage:");
    for (const std::string& line : ledger_lines(f.ledger, true)) say("  " + line);
    std::string seconds;
    for (const double fill : f.ring_fill_per_second) seconds += " " + pct(fill);
    say(fmt::format("  ring fill: fullest {}, mean {}, by second{}; capture CPU {} of one core",
                    pct(f.ring_fill_max), pct(f.ring_fill_mean), seconds, pct(f.cpu_share)));
    const std::vector<Advice> advice = advise(f);
    if (advice.empty()) {
        say("advice: none (no counter calls for a change)");
        return;
    }
    for (std::size_t i = 0; i < advice.size() && i < 2; ++i)
        say(fmt::format("advice: {} ({})", advice[i].what, advice[i].why));
}

}  // namespace

std::vector<Advice> advise(const DoctorFacts& f) {
    std::vector<Advice> out;
    ring_advice(f, out);
    host_advice(f, out);
    writer_advice(f, out);
    latency_advice(f, out);
    std::stable_sort(out.begin(), out.end(),
                     [](const Advice& a, const Advice& b) { return a.priority > b.priority; });
    return out;
}

int doctor_cmd(int argc, const char* const* argv, StopToken stop) {
    ParseResult parsed = parse_command_line(argc, argv);
    if (!parsed.options) {
        fmt::print(parsed.exit_status == 0 ? stdout : stderr, "{}\n", parsed.message);
        return parsed.exit_status;
    }
    CliOptions o = std::move(*parsed.options);
    if (o.capture.interface.empty()) o.capture.interface = default_interface();
    o.count_only = true;
    o.stats = true;
    o.stats_drops = true;
    o.write_path.clear();
    if (o.duration == 0) o.duration = 5;
    if (o.workers > 1 || o.interfaces.size() > 1)
        say("ringcap: note: doctor watches one socket on the first interface; --workers and "
            "further -i are left out");
    o.workers = 1;

    Capture cap = Capture::open(o.capture);
    const CaptureInfo& info = cap.info();
    CountingSink out;
    LossWatch watch(o, LossWatch::open_monitor(o, {info.interface}), info,
                    {.counters = [&cap] { return std::vector{cap.stats()}; },
                     .fill = [&cap] { return cap.ring_fill(); }},
                    {&out});
    watch.trace_fill(std::chrono::milliseconds(100));
    const auto link0 = sys::link_counters(info.interface);
    say(fmt::format("doctor: watching {} for {} s ...", info.interface, o.duration));
    const double cpu0 = cpu_seconds();
    const std::int64_t t0 = sys::monotonic_ns();
    DoctorFacts f{.interface = info.interface};
    capture_loop(cap, out, o.count, o, stop, watch, f.captured);
    f.seconds = double(sys::monotonic_ns() - t0) / 1e9;
    f.cpu_share = f.seconds > 0 ? (cpu_seconds() - cpu0) / f.seconds : 0;
    f.ledger = watch.ledger();
    f.captured_bytes = out.bytes();
    f.ring_fill_max = watch.fill_trace().max;
    f.ring_fill_mean = watch.fill_trace().mean();
    f.ring_fill_per_second = watch.fill_trace().per_second;
    f.ring_kib = info.layout.total_bytes() >> 10;
    f.workers = o.workers;
    f.pinned = !o.cpus.empty();
    f.snaplen = info.snaplen;
    f.filtered = !o.capture.filter.empty();
    f.netdev_max_backlog = sysctl_number("/proc/sys/net/core/netdev_max_backlog");
    f.rps = rps_on(info.interface);
    const auto link1 = sys::link_counters(info.interface);
    if (link0 && link1 && link1->tx_dropped > link0->tx_dropped)
        f.tx_dropped = link1->tx_dropped - link0->tx_dropped;
    print(f, info);
    return 0;
}

}  // namespace ringcap::cli
