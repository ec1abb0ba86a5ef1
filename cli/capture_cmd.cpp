#include "capture_cmd.hpp"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include <ringcap/capture.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/rotating_writer.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/sink_feeder.hpp>

#include "feed_batch.hpp"
#include "group_cmd.hpp"
#include "loss_watch.hpp"
#include "output.hpp"
#include "privileges.hpp"
#include "process_sink.hpp"
#include "report.hpp"
#include "sys/file.hpp"

namespace ringcap::cli {
namespace {

// Every packet of each batch to `out` (feed_batch.hpp), until `limit` packets (0: no limit), the
// deadline (ns, CLOCK_REALTIME) or a stop request, and after that what the ring still holds
// (Capture::drain()); `captured` counts them, also when a write throws. One clock read per batch
// serves the delivery latency and the live line.
template <bool kBytes, class Keep>
void capture_into(Capture& cap, Sink& out, std::uint64_t limit, std::int64_t deadline_ns,
                  StopToken stop, std::uint64_t& captured, LossWatch& watch, const Keep& keep) {
    SinkFeeder feed(out);
    std::uint64_t bytes = 0;
    const auto write = [&](Batch& batch, std::int64_t now_ns) {
        const FeedCount count{.room = room_under(limit, captured), .fed = captured, .bytes = bytes};
        if (const std::uint32_t drops = watch.on_batch(batch, now_ns); drops != 0)
            feed_marked_batch<kBytes>(batch, feed, watch.file(), drops, count, keep);
        else
            feed_batch<kBytes>(batch, feed, count, keep);
        feed.drain();  // before the batch goes back to the kernel
        batch.release();
        out.end_batch();
    };
    const auto more = [&] { return limit == 0 || captured < limit; };
    const auto ns = [](std::chrono::system_clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    };
    while (!stop.stop_requested() && more()) {
        std::optional<Batch> batch = cap.next_batch(std::chrono::milliseconds(250));
        const auto now = std::chrono::system_clock::now();
        const std::int64_t now_ns = ns(now);
        // Before the batch is handed on: the ring's fill then includes what it holds.
        watch.tick(now_ns, captured, bytes);
        if (batch)
            write(*batch, now_ns);
        else  // idle: deadlines (-G) pass once every packet before them has been handed over;
              // while packets flow, their timestamps end the periods
            out.tick(now - cap.delivery_bound());
        if (now_ns >= deadline_ns) break;
    }
    while (more())
        if (std::optional<Batch> batch = cap.drain())
            write(*batch, ns(std::chrono::system_clock::now()));
        else
            break;
    out.close();
}

// What the output calls for: how long packets may wait in the ring (choose_latency()), and for
// -c N no more ring than N packets need.
Latency fit_to_output(CliOptions& o) {
    const Latency latency = choose_latency(o, sys::regular_file_size(sys::kStdout).has_value());
    if (!o.max_latency) o.capture.ring.block_timeout = latency.bound;
    o.capture.ring.packet_limit = o.count;
    return latency;
}

}  // namespace

void capture_loop(Capture& cap, Sink& out, std::uint64_t limit, const CliOptions& o, StopToken stop,
                  LossWatch& watch, std::uint64_t& captured) {
    const std::int64_t deadline = duration_deadline(o);
    const auto run = [&](const auto& keep) {
        if (watch.wants_bytes())
            capture_into<true>(cap, out, limit, deadline, stop, captured, watch, keep);
        else
            capture_into<false>(cap, out, limit, deadline, stop, captured, watch, keep);
    };
    const CaptureInfo& info = cap.info();
    if (!info.filter_in_user_space) return run(KeepAll{});
    // The kernel refused the program: the expression runs here, per packet.
    const Filter filter = Filter::compile(o.capture.filter, info.link_type, info.snaplen);
    run([&filter](const PacketView& p) { return filter.matches(p); });
}

std::int64_t duration_deadline(const CliOptions& o) {
    if (o.duration == 0) return INT64_MAX;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           std::int64_t(o.duration) * 1'000'000'000;
}

int list_interfaces_cmd() {
    for (const InterfaceEntry& e : list_interfaces()) {
        std::string state = e.up ? "Up" : "Down";
        if (e.running) state += ", Running";
        if (e.loopback) state += ", Loopback";
        fmt::print("{}.{} [{}]\n", e.index, e.name, state);
    }
    fmt::print("{}.any (all interfaces, cooked) [Up, Running]\n", 0);
    return 0;
}

std::string default_interface() {
    for (const InterfaceEntry& e : list_interfaces())
        if (e.up && e.running && !e.loopback) return e.name;
    throw Error(ENODEV, "no interface is up", "name one with -i; ringcap -D lists them");
}

int dump_filter_cmd(const CliOptions& o) {
    const CaptureOptions& c = o.capture;
    const Filter f =
        !o.read_path.empty()
            ? [&] {  // as tcpdump -d -r FILE: for the file's link type and byte order
                  const PcapReader r = PcapReader::open(o.read_path);
                  return Filter::compile_for_file(c.filter,
                                                  static_cast<LinkType>(r.info().link_type),
                                                  r.info().snaplen, r.info().swapped);
              }()
        : c.interface == "any"
            ? Filter::compile(c.filter, LinkType::linux_sll2, c.snaplen)
            : Filter::compile_live(c.filter, c.interface, LinkType::ethernet, c.snaplen);
    fmt::print("{}", f.dump(o.dump_style));
    return 0;
}

int capture_cmd(const CliOptions& given, StopToken stop) {
    CliOptions o = given;
    const Latency latency = fit_to_output(o);
    if (wants_group(o)) return group_capture_cmd(o, stop);
    const std::optional<sys::Account> account = account_to_become(o);
    const auto process = CaptureAttribution::start(o, stop);  // before the socket: see all
    Capture cap = Capture::open(o.capture);
    if (process) process->set_capture_socket(cap.fd());
    const CaptureInfo& info = cap.info();
    for (const std::string& note : info.notes) say("ringcap: note: " + note);
    LossMonitor monitor = LossWatch::open_monitor(o, {info.interface});
    relinquish_privileges(account, o);

    std::uint64_t captured = 0;
    std::unique_ptr<LossWatch> watch;  // made once the output is open; the ISB asks it
    const std::unique_ptr<Sink> out =
        open_output(o, {.link = info.link_type,
                        .snaplen = info.snaplen,
                        .interface_name = info.interface,
                        .interface_description = interface_alias(info.interface),
                        .process = process.get(),
                        .before_close = [&](PcapngWriter& w) {
                            if (watch) w.write_statistics(0, watch->file_statistics(captured));
                        }});
    watch = std::make_unique<LossWatch>(
        o, std::move(monitor), info,
        LossWatch::RingSource{.counters = [&cap] { return std::vector{cap.stats()}; },
                              .fill = [&cap] { return cap.ring_fill(); }},
        std::vector<Sink*>{out.get()});
    output_opened(account, o);
    // Only once the output is open, as tcpdump: a failure is then the one line printed.
    say(fmt::format("listening on {}, link-type {}, snapshot length {} bytes, {} ({})",
                    info.interface, link_type_name(info.link_type), info.snaplen,
                    describe_ring(info), latency.why));

    int status = 0;
    try {
        capture_loop(cap, *out, process ? process->loop_limit(o.count) : o.count, o,
                     process ? process->stop_token(stop) : stop, *watch, captured);
    } catch (const Error& e) {
        watch->capture_failed(e.code().value(), captured);
        report(e);
        status = 1;
    }
    // The same ending for -c, SIGINT, SIGTERM and errors: counts on stderr, as tcpdump prints them,
    // then where packets were lost (loss_watch.hpp).
    report_capture_summary(captured, cap.stats(), info);
    watch->report_end(captured);
    if (process) process->report();
    return status;
}

}  // namespace ringcap::cli
