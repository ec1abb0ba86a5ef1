#include "capture_cmd.hpp"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include <ringcap/capture.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/sink.hpp>

#include "group_cmd.hpp"
#include "output.hpp"
#include "report.hpp"
#include "sys/file.hpp"

namespace ringcap::cli {
namespace {

// Every packet of each batch to `out`, in chunks, until `limit` packets (0: no limit) or a stop
// request, and after a stop request what the ring still holds (Capture::drain()); `captured`
// counts them, also when a write throws.
void capture_into(Capture& cap, Sink& out, std::uint64_t limit, StopToken stop,
                  std::uint64_t& captured) {
    SinkFeeder feed(out);
    const auto write = [&](Batch& batch) {
        batch.for_each([&](const PacketView& p) {
            if (limit != 0 && captured == limit) return false;
            feed.push(p);
            ++captured;
            return true;
        });
        feed.drain();  // before the batch goes back to the kernel
        batch.release();
        out.end_batch();
    };
    const auto more = [&] { return limit == 0 || captured < limit; };
    while (!stop.stop_requested() && more()) {
        if (std::optional<Batch> batch = cap.next_batch(std::chrono::milliseconds(250))) {
            write(*batch);
            continue;
        }
        // Idle: deadlines (-G) pass once every packet before them has been handed over. While
        // packets flow, their timestamps end the periods.
        out.tick(std::chrono::system_clock::now() - cap.delivery_bound());
    }
    while (more())
        if (std::optional<Batch> batch = cap.drain())
            write(*batch);
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
        c.interface == "any"
            ? Filter::compile(c.filter, LinkType::linux_sll2, c.snaplen)
            : Filter::compile_live(c.filter, c.interface, LinkType::ethernet, c.snaplen);
    fmt::print("{}", f.dump());
    return 0;
}

int capture_cmd(const CliOptions& given, StopToken stop) {
    CliOptions o = given;
    const Latency latency = fit_to_output(o);
    if (wants_group(o)) return group_capture_cmd(o, stop);
    Capture cap = Capture::open(o.capture);
    const CaptureInfo& info = cap.info();
    for (const std::string& note : info.notes) say("ringcap: note: " + note);

    const std::unique_ptr<Sink> out =
        open_output(o, {.link = info.link_type,
                        .snaplen = info.snaplen,
                        .interface_name = info.interface,
                        .interface_description = interface_alias(info.interface),
                        .before_close = [&cap](PcapngWriter& w) {
                            const CaptureStats st = cap.stats();
                            w.write_statistics(0, st.packets, st.drops);
                        }});
    // Only once the output is open, as tcpdump: a failure is then the one line printed.
    say(fmt::format("listening on {}, link-type {}, snapshot length {} bytes, {} ({})",
                    info.interface, link_type_name(info.link_type), info.snaplen,
                    describe_ring(info), latency.why));

    std::uint64_t captured = 0;
    int status = 0;
    try {
        capture_into(cap, *out, o.count, stop, captured);
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    // The same ending for -c, SIGINT, SIGTERM and errors: counts on stderr, as tcpdump prints them.
    report_capture_summary(captured, cap.stats(), info);
    return status;
}

}  // namespace ringcap::cli
