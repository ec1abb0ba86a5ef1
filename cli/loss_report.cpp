#include "loss_report.hpp"

#include <fmt/format.h>

#include <cstring>

namespace ringcap::cli {
namespace {

std::string percent(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? "" : fmt::format(" ({:.2f}%)", 100.0 * double(part) / double(whole));
}

std::string nic_line(const NicCounters& n, bool every_stage) {
    std::string s = fmt::format("NIC {}: {} lost", n.interface, n.lost());
    std::string parts;
    const auto add = [&](const char* name, const std::optional<std::uint64_t>& v) {
        if (v && (*v != 0 || every_stage)) parts += fmt::format(", {} {}", name, *v);
    };
    add("rx_dropped", n.rx_dropped);
    add("rx_missed", n.rx_missed);
    add("rx_fifo", n.rx_fifo);
    add("rx_over", n.rx_over);
    if (!parts.empty()) s += " (" + parts.substr(2) + ")";
    if (every_stage && !n.rx_missed)
        s += "; rx_missed, rx_fifo, rx_over unavailable (no hardware behind this interface)";
    std::string driver;
    for (const NamedCount& c : n.driver)
        if (c.count != 0 || every_stage) driver += fmt::format(", {} {}", c.name, c.count);
    if (!driver.empty())
        s += "; driver: " + driver.substr(2);
    else if (every_stage && !n.driver_unavailable.empty())
        s += "; driver counters unavailable (" + n.driver_unavailable + ")";
    return s;
}

std::string backlog_line(const BacklogCounters& b) {
    if (!b.unavailable.empty()) return "backlog: unavailable (" + b.unavailable + ")";
    std::string per_cpu;
    for (const BacklogCounters::Cpu& c : b.cpus)
        if (c.dropped + c.flow_limit != 0)
            per_cpu += fmt::format(", CPU {}: {}", c.cpu, c.dropped + c.flow_limit);
    return fmt::format(
        "backlog (per-CPU, whole host: every interface counts here): {} dropped{}, {} by the flow "
        "limit, {} time squeezes",
        b.dropped(), per_cpu.empty() ? "" : " (" + per_cpu.substr(2) + ")", b.flow_limit(),
        b.time_squeeze());
}

std::string stack_line(const StackCounters& st) {
    if (!st.watched) return "stack: not watched (--stats=drops counts the kernel's drop reasons)";
    if (!st.unavailable.empty()) return "stack: unavailable (" + st.unavailable + ")";
    std::string reasons;
    for (const StackCounters::Drop& d : st.drops)
        reasons += fmt::format(", {} {} ({})", d.reason, d.count, d.interface);
    return fmt::format("stack (kfree_skb): {} dropped{}", st.lost(),
                       reasons.empty() ? "" : ": " + reasons.substr(2));
}

std::string ring_line(const LossLedger& l) {
    const RingCounters t = l.ring_total();
    std::string s = fmt::format("ring: {} dropped of {}{}, full {} times", t.drops, t.packets,
                                percent(t.drops, t.packets), t.freeze_q_count);
    if (l.ring.size() > 1) {
        std::string per;
        for (std::size_t w = 0; w < l.ring.size(); ++w)
            per += fmt::format(", worker {}: {}", w, l.ring[w].drops);
        s += ";" + per.substr(1);
    }
    return s;
}

std::string writer_line(const WriterCounters& w) {
    return fmt::format("writer: {} lost, {} write errors{}, {} short writes, {} blocked in write()",
                       w.records_lost, w.write_errors,
                       w.last_error ? fmt::format(" ({})", std::strerror(w.last_error)) : "",
                       w.short_writes, duration_text(w.blocked.count()));
}

std::string latency_line(const LossLedger& l) {
    const LatencyHistogram& h = l.latency;
    const std::string why =
        l.version == TpacketVersion::v3
            ? fmt::format("TPACKET_V3, {} ms block timeout", l.block_timeout.count())
            : std::string("TPACKET_V2 frames");
    if (h.count == 0) return "delivery latency: no batches (" + why + ")";
    return fmt::format("delivery latency: p50 {}, p99 {}, max {} over {} batches ({})",
                       duration_text(h.quantile_ns(0.5)), duration_text(h.quantile_ns(0.99)),
                       duration_text(h.max_ns), h.count, why);
}

std::string opt(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "null"; }

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\')
            out += fmt::format("\\{}", c);
        else if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", c);
        else
            out += c;
    }
    return out + "\"";
}

std::string or_null(const std::string& reason) { return reason.empty() ? "null" : quoted(reason); }

std::string nic_json(const NicCounters& n) {
    std::string driver;
    for (const NamedCount& c : n.driver) driver += fmt::format(",{}:{}", quoted(c.name), c.count);
    return fmt::format(
        "{{\"interface\":{},\"lost\":{},\"rx_dropped\":{},\"rx_missed\":{},\"rx_fifo\":{},"
        "\"rx_over\":{},\"hardware_counters_unavailable\":{},\"driver\":{},"
        "\"driver_unavailable\":{}}}",
        quoted(n.interface), n.lost(), opt(n.rx_dropped), opt(n.rx_missed), opt(n.rx_fifo),
        opt(n.rx_over), n.rx_missed ? "null" : quoted("no hardware behind this interface"),
        n.driver_unavailable.empty() ? "{" + (driver.empty() ? "" : driver.substr(1)) + "}"
                                     : "null",
        or_null(n.driver_unavailable));
}

std::string backlog_json(const BacklogCounters& b) {
    if (!b.unavailable.empty())
        return fmt::format("{{\"scope\":\"host\",\"unavailable\":{}}}", quoted(b.unavailable));
    std::string cpus;
    for (const BacklogCounters::Cpu& c : b.cpus)
        cpus += fmt::format(",{{\"cpu\":{},\"dropped\":{},\"time_squeeze\":{},\"flow_limit\":{}}}",
                            c.cpu, c.dropped, c.time_squeeze, c.flow_limit);
    return fmt::format(
        "{{\"scope\":\"host\",\"unavailable\":null,\"dropped\":{},\"time_squeeze\":{},"
        "\"flow_limit\":{},\"cpus\":[{}]}}",
        b.dropped(), b.time_squeeze(), b.flow_limit(), cpus.empty() ? "" : cpus.substr(1));
}

std::string stack_json(const StackCounters& s) {
    const bool readable = s.watched && s.unavailable.empty();
    std::string reasons;
    for (const StackCounters::Drop& d : s.drops)
        reasons += fmt::format(",{{\"reason\":{},\"interface\":{},\"count\":{}}}", quoted(d.reason),
                               quoted(d.interface), d.count);
    return fmt::format("{{\"watched\":{},\"unavailable\":{},\"dropped\":{},\"reasons\":{}}}",
                       s.watched, or_null(s.unavailable),
                       readable ? std::to_string(s.lost()) : "null",
                       readable ? "[" + (reasons.empty() ? "" : reasons.substr(1)) + "]" : "null");
}

std::string ring_json(const LossLedger& l) {
    const RingCounters t = l.ring_total();
    std::string workers;
    for (const RingCounters& r : l.ring)
        workers += fmt::format(
            ",{{\"received\":{},\"dropped\":{},\"freeze_q_count\":{},\"rolled_over\":{}}}",
            r.packets, r.drops, r.freeze_q_count, r.rolled_over);
    return fmt::format(
        "{{\"received\":{},\"dropped\":{},\"freeze_q_count\":{},\"rolled_over\":{},"
        "\"workers\":[{}]}}",
        t.packets, t.drops, t.freeze_q_count, t.rolled_over,
        workers.empty() ? "" : workers.substr(1));
}

std::string writer_json(const std::optional<WriterCounters>& w) {
    if (!w) return "null";
    return fmt::format(
        "{{\"lost\":{},\"write_errors\":{},\"last_error\":{},\"short_writes\":{},"
        "\"blocked_ns\":{},\"queue_full\":null}}",
        w->records_lost, w->write_errors,
        w->last_error ? quoted(std::strerror(w->last_error)) : "null", w->short_writes,
        w->blocked.count());
}

std::string latency_json(const LossLedger& l) {
    const LatencyHistogram& h = l.latency;
    return fmt::format(
        "{{\"batches\":{},\"p50_ns\":{},\"p99_ns\":{},\"max_ns\":{},\"tpacket\":{},"
        "\"block_timeout_ms\":{}}}",
        h.count, h.quantile_ns(0.5), h.quantile_ns(0.99), h.max_ns,
        l.version == TpacketVersion::v3 ? 3 : 2,
        l.version == TpacketVersion::v3 ? std::to_string(l.block_timeout.count()) : "null");
}

}  // namespace

std::string duration_text(std::int64_t ns) {
    if (ns < 1'000) return fmt::format("{} ns", ns);
    if (ns < 1'000'000) return fmt::format("{:.3g} us", double(ns) / 1e3);
    if (ns < 1'000'000'000) return fmt::format("{:.3g} ms", double(ns) / 1e6);
    return fmt::format("{:.3g} s", double(ns) / 1e9);
}

std::vector<std::string> ledger_lines(const LossLedger& l, bool every_stage) {
    std::vector<std::string> out;
    for (const NicCounters& n : l.nic) {
        bool driver_lost = false;
        for (const NamedCount& c : n.driver) driver_lost |= c.count != 0;
        if (every_stage || n.lost() != 0 || driver_lost) out.push_back(nic_line(n, every_stage));
    }
    if (every_stage || l.backlog.lost() != 0) out.push_back(backlog_line(l.backlog));
    if (every_stage || l.stack.lost() != 0) out.push_back(stack_line(l.stack));
    if (every_stage || l.ring_total().drops != 0) out.push_back(ring_line(l));
    if (l.writer && (every_stage || l.writer->lost() + l.writer->write_errors != 0))
        out.push_back(writer_line(*l.writer));
    if (every_stage) out.push_back(latency_line(l));
    return out;
}

std::string ledger_json(const LossLedger& l, std::uint64_t captured) {
    std::string nic;
    for (const NicCounters& n : l.nic) nic += "," + nic_json(n);
    return fmt::format(
        "{{\"elapsed_s\":{:.3f},\"captured\":{},\"nic\":[{}],\"backlog\":{},\"stack\":{},"
        "\"ring\":{},\"writer\":{},\"latency\":{}}}",
        double(l.elapsed.count()) / 1e9, captured, nic.empty() ? "" : nic.substr(1),
        backlog_json(l.backlog), stack_json(l.stack), ring_json(l), writer_json(l.writer),
        latency_json(l));
}

std::string status_text(const StatusSample& s, const LossLedger& l) {
    const double secs = s.seconds > 0 ? s.seconds : 1;
    std::uint64_t nic = 0;
    for (const NicCounters& n : l.nic) nic += n.lost();
    std::string drops =
        fmt::format("ring {}, NIC {}, backlog {}", l.ring_total().drops, nic, l.backlog.lost());
    if (l.stack.watched && l.stack.unavailable.empty())
        drops += fmt::format(", stack {}", l.stack.lost());
    if (l.writer) drops += fmt::format(", writer {}", l.writer->lost());
    const std::string rate = s.bytes == StatusSample::kUnknown
                                 ? ""
                                 : fmt::format(", {:.1f} Mbit/s", double(s.bytes) * 8 / secs / 1e6);
    return fmt::format("{:.0f} pkt/s{}, ring {:.0f}% full, drops: {}", double(s.packets) / secs,
                       rate, s.ring_fill * 100, drops);
}

}  // namespace ringcap::cli
