#include "capture_cmd.hpp"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include <ringcap/capture.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/sink.hpp>

#include "group_cmd.hpp"
#include "output.hpp"
#include "privileges.hpp"
#include "report.hpp"

namespace ringcap::cli {
namespace {

// Every packet of each batch that `keep` keeps to `out`, in chunks, until `limit` packets (0: no
// limit) or a stop request; `captured` counts them, also when a write throws. `keep` is the
// user-space filter when the kernel refused the program, and otherwise a constant true the
// compiler removes: the usual loop has no test for it.
template <class Keep>
void capture_into(Capture& cap, Sink& out, std::uint64_t limit, StopToken stop,
                  std::uint64_t& captured, const Keep& keep) {
    SinkFeeder feed(out);
    while (!stop.stop_requested() && (limit == 0 || captured < limit)) {
        if (std::optional<Batch> batch = cap.next_batch(std::chrono::milliseconds(250))) {
            batch->for_each([&](const PacketView& p) {
                if (limit != 0 && captured == limit) return false;
                if (!keep(p)) return true;
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

namespace {

// Runs the capture; the filter in user space when the kernel refused it.
void capture_loop(const CliOptions& o, Capture& cap, Sink& out, StopToken stop,
                  std::uint64_t& captured) {
    const CaptureInfo& info = cap.info();
    if (!info.filter_in_user_space)
        return capture_into(cap, out, o.count, stop, captured,
                            [](const PacketView&) { return true; });
    const Filter filter = Filter::compile(o.capture.filter, info.link_type, info.snaplen);
    capture_into(cap, out, o.count, stop, captured,
                 [&filter](const PacketView& p) { return filter.matches(p); });
}

}  // namespace

int capture_cmd(const CliOptions& o, StopToken stop) {
    if (wants_group(o)) return group_capture_cmd(o, stop);
    const std::optional<sys::Account> account = account_to_become(o);
    Capture cap = Capture::open(o.capture);
    const CaptureInfo& info = cap.info();
    for (const std::string& note : info.notes) say("ringcap: note: " + note);
    relinquish_privileges(account, o);

    const std::unique_ptr<Sink> out =
        open_output(o, {.link = info.link_type,
                        .snaplen = info.snaplen,
                        .interface_name = info.interface,
                        .interface_description = interface_alias(info.interface),
                        .before_close = [&cap](PcapngWriter& w) {
                            const CaptureStats st = cap.stats();
                            w.write_statistics(0, st.packets, st.drops);
                        }});
    output_opened(account, o);
    // Only once the output is open, as tcpdump: a failure is then the one line printed.
    say(fmt::format("listening on {}, link-type {}, snapshot length {} bytes, {}", info.interface,
                    link_type_name(info.link_type), info.snaplen, describe_ring(info)));

    std::uint64_t captured = 0;
    int status = 0;
    try {
        capture_loop(o, cap, *out, stop, captured);
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    // The same ending for -c, SIGINT, SIGTERM and errors: counts on stderr, as tcpdump prints them.
    report_capture_summary(captured, cap.stats(), info);
    return status;
}

}  // namespace ringcap::cli
