// ringcap: the command line. The only code in the project that prints.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <optional>

#include <ringcap/ringcap.hpp>

#include "options.hpp"
#include "printer.hpp"
#include "tx.hpp"

namespace {

using namespace ringcap;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR and the loop sees the flag
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes EPIPE from write(), handled there
}

void say(const std::string& line) { fmt::print(stderr, "{}\n", line); }

void report(const Error& e) {
    say(e.hint().empty() ? fmt::format("ringcap: {}", e.what())
                         : fmt::format("ringcap: {} ({})", e.what(), e.hint()));
}

const char* link_name(LinkType t) {
    return t == LinkType::ethernet ? "EN10MB (Ethernet)" : "LINUX_SLL2 (Linux cooked v2)";
}

std::string describe_ring(const CaptureInfo& info) {
    const RingLayout& l = info.layout;
    std::string s = l.version == TpacketVersion::v3
                        ? fmt::format("TPACKET_V3 ring {} KiB ({} blocks of {} KiB, {} ms block "
                                      "timeout)",
                                      l.total_bytes() >> 10, l.block_count, l.block_size >> 10,
                                      l.block_timeout.count())
                        : fmt::format("TPACKET_V2 ring {} KiB ({} frames of {} bytes)",
                                      l.total_bytes() >> 10, l.frame_count, l.frame_size);
    if (!info.memory_locked) s += ", not locked in memory";
    return s;
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

// tcpdump's choice when -i is missing: the first interface that is up, running and not loopback.
std::string default_interface() {
    for (const InterfaceEntry& e : list_interfaces())
        if (e.up && e.running && !e.loopback) return e.name;
    throw Error(ENODEV, "no interface is up", "name one with -i; ringcap -D lists them");
}

int dump_filter_cmd(const cli::CliOptions& o) {
    const CaptureOptions& c = o.capture;
    const Filter f = c.interface == "any"
                         ? Filter::compile(c.filter, LinkType::linux_sll2, c.snaplen)
                         : Filter::compile_live(c.filter, c.interface, LinkType::ethernet, c.snaplen);
    fmt::print("{}", f.dump());
    return 0;
}

int capture_cmd(const cli::CliOptions& o) {
    Capture cap = Capture::open(o.capture);
    const CaptureInfo& info = cap.info();
    for (const std::string& note : info.notes) say("ringcap: note: " + note);

    std::optional<PcapWriter> writer;
    std::optional<cli::LinePrinter> printer;
    if (!o.write_path.empty())
        writer = PcapWriter::create(o.write_path, {.link_type = info.link_type,
                                                   .snaplen = info.snaplen,
                                                   .precision = o.precision});
    else if (!o.count_only)
        printer.emplace(STDOUT_FILENO, info.link_type, o.precision);
    // Only once the output is open, as tcpdump: a failure is then the one line printed.
    say(fmt::format("listening on {}, link-type {}, snapshot length {} bytes, {}", info.interface,
                    link_name(info.link_type), info.snaplen, describe_ring(info)));

    std::uint64_t captured = 0;
    int status = 0;
    try {
        while (!g_stop && (o.count == 0 || captured < o.count)) {
            std::optional<Batch> batch = cap.next_batch(std::chrono::milliseconds(250));
            if (!batch) continue;
            for (const PacketView& p : *batch) {
                if (o.count != 0 && captured == o.count) break;
                if (writer)
                    writer->write(p);
                else if (printer)
                    printer->print(p);
                ++captured;
            }
            batch->release();
            if (writer && o.packet_buffered) writer->flush();
            if (printer) printer->flush();
        }
        if (writer) writer->close();
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    if (printer) printer->flush();
    // The same ending for -c, SIGINT, SIGTERM and errors: counts on stderr, as tcpdump prints them.
    const CaptureStats st = cap.stats();
    say(fmt::format("{} packet{} captured", captured, captured == 1 ? "" : "s"));
    say(fmt::format("{} packet{} received by filter", st.packets, st.packets == 1 ? "" : "s"));
    say(fmt::format("{} packet{} dropped by kernel", st.drops, st.drops == 1 ? "" : "s"));
    if (info.layout.version == TpacketVersion::v3 && st.freeze_q_count != 0)
        say(fmt::format("{} times the ring was full (tp_freeze_q_cnt); consider a larger -B",
                        st.freeze_q_count));
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    cli::ParseResult parsed = cli::parse_command_line(argc, argv);
    if (parsed.tx) {
        try {
            install_signal_handlers();
            return parsed.command == cli::Command::gen ? cli::run_gen(*parsed.tx, g_stop)
                                                       : cli::run_replay(*parsed.tx, g_stop);
        } catch (const Error& e) {
            report(e);
            return 1;
        }
    }
    if (!parsed.options) {
        std::fputs(parsed.message.c_str(), parsed.exit_status == 0 ? stdout : stderr);
        std::fputc('\n', parsed.exit_status == 0 ? stdout : stderr);
        return parsed.exit_status;
    }
    cli::CliOptions& o = *parsed.options;
    try {
        if (o.list_interfaces) return list_interfaces_cmd();
        if (o.capture.interface.empty()) o.capture.interface = default_interface();
        if (o.dump_filter) return dump_filter_cmd(o);
        install_signal_handlers();
        return capture_cmd(o);
    } catch (const Error& e) {
        report(e);
        return 1;
    } catch (const std::exception& e) {
        say(fmt::format("ringcap: {}", e.what()));
        return 1;
    }
}
