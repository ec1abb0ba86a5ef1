#include "capture_cmd.hpp"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include <ringcap/capture.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/sink.hpp>

#include "group_cmd.hpp"
#include "output.hpp"
#include "process_sink.hpp"
#include "report.hpp"

namespace ringcap::cli {
namespace {

// Every packet of each batch to `out`, in chunks, until `limit` packets (0: no limit) or a stop
// request; `captured` counts them, also when a write throws.
void capture_into(Capture& cap, Sink& out, std::uint64_t limit, StopToken stop,
                  std::uint64_t& captured) {
    SinkFeeder feed(out);
    while (!stop.stop_requested() && (limit == 0 || captured < limit)) {
        if (std::optional<Batch> batch = cap.next_batch(std::chrono::milliseconds(250))) {
            batch->for_each([&](const PacketView& p) {
                if (limit != 0 && captured == limit) return false;
                feed.push(p);
                ++captured;
                return true;
            });
            feed.drain();  // before the batch goes back to the kernel
            batch->release();
            out.end_batch();
        }
        // Now and then, with or without packets: with -G an idle period's file ends on time.
        out.tick(std::chrono::system_clock::now());
    }
    out.close();
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

int capture_cmd(const CliOptions& o, StopToken stop) {
    if (wants_group(o)) return group_capture_cmd(o, stop);
    const auto process = CaptureAttribution::start(o, stop);  // before the socket: see all
    Capture cap = Capture::open(o.capture);
    if (process) process->set_capture_socket(cap.fd());
    const CaptureInfo& info = cap.info();
    for (const std::string& note : info.notes) say("ringcap: note: " + note);

    const std::unique_ptr<Sink> out =
        open_output(o, {.link = info.link_type,
                        .snaplen = info.snaplen,
                        .interface_name = info.interface,
                        .interface_description = interface_alias(info.interface),
                        .process = process.get(),
                        .before_close = [&cap](PcapngWriter& w) {
                            const CaptureStats st = cap.stats();
                            w.write_statistics(0, st.packets, st.drops);
                        }});
    // Only once the output is open, as tcpdump: a failure is then the one line printed.
    say(fmt::format("listening on {}, link-type {}, snapshot length {} bytes, {}", info.interface,
                    link_type_name(info.link_type), info.snaplen, describe_ring(info)));

    std::uint64_t captured = 0;
    int status = 0;
    try {
        capture_into(cap, *out, process ? process->loop_limit(o.count) : o.count,
                     process ? process->stop_token(stop) : stop, captured);
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    // The same ending for -c, SIGINT, SIGTERM and errors: counts on stderr, as tcpdump prints them.
    report_capture_summary(captured, cap.stats(), info);
    if (process) process->report();
    return status;
}

}  // namespace ringcap::cli
