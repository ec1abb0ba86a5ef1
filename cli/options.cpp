#include "options.hpp"

#include <CLI/CLI.hpp>

namespace ringcap::cli {

ParseResult parse_command_line(int argc, const char* const* argv) {
    CliOptions o;
    CaptureOptions& c = o.capture;
    CLI::App app{"ringcap: packet capture on AF_PACKET memory-mapped rings", "ringcap"};
    app.get_formatter()->column_width(34);

    std::optional<std::uint64_t> buffer_kib, block_size, frame_size, block_timeout_ms;
    std::string direction = "inout", tpacket = "auto", precision = "micro";
    bool no_promisc = false, nano = false, immediate = false, no_resolve = false;
    std::vector<std::string> expression;

    app.add_option("-i,--interface", c.interface, "interface to capture on, or 'any'");
    app.add_option("-w", o.write_path, "write packets to a pcap file ('-' for standard output)");
    app.add_option("-c", o.count, "stop after this many packets");
    app.add_option("-s,--snapshot-length", c.snaplen, "bytes to keep per packet (0 = 262144)");
    app.add_option("-B,--buffer-size", buffer_kib, "ring size in KiB (default 65536)");
    app.add_option("-Q,--direction", direction, "in, out or inout (default)")
        ->check(CLI::IsMember({"in", "out", "inout"}));
    app.add_flag("-p,--no-promiscuous-mode", no_promisc, "do not put the interface in promiscuous mode");
    app.add_flag("-D,--list-interfaces", o.list_interfaces, "list interfaces and exit");
    app.add_flag("-d", o.dump_filter, "print the compiled filter program and exit");
    app.add_flag("-U,--packet-buffered", o.packet_buffered, "write out the file after every batch");
    app.add_flag("-q,--count", o.count_only, "print only the final count");
    app.add_flag("-l", o.line_buffered, "flush printed lines at once");
    app.add_flag("-n", no_resolve, "no name resolution (ringcap never resolves names)");
    app.add_flag("--immediate-mode", immediate, "deliver each packet at once (TPACKET_V2 frames)");
    app.add_option("--tpacket", tpacket, "ring version: auto (default), 3 or 2")
        ->check(CLI::IsMember({"auto", "2", "3"}));
    app.add_option("--block-size", block_size, "V3 block / ring block size in bytes (k, M suffixes)")
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--block-timeout", block_timeout_ms, "V3 block retire timeout in ms (default 1)");
    app.add_option("--frame-size", frame_size, "V2 frame size in bytes (k suffix)")
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--time-stamp-precision", precision, "micro (default) or nano")
        ->check(CLI::IsMember({"micro", "nano"}));
    app.add_flag("--nano", nano, "same as --time-stamp-precision=nano");
    app.add_option("expression", expression, "tcpdump filter expression (pcap-filter(7))");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return {.exit_status = 0, .message = app.help()};
    } catch (const CLI::ParseError& e) {
        return {.exit_status = 1, .message = std::string(e.what()) + "\nRun with --help for usage."};
    }

    c.promiscuous = !no_promisc;
    c.low_latency = immediate;
    c.direction = direction == "in" ? Direction::in : direction == "out" ? Direction::out
                                                                         : Direction::inout;
    if (tpacket == "2") c.version = TpacketVersion::v2;
    if (tpacket == "3") c.version = TpacketVersion::v3;
    if (c.snaplen == 0) c.snaplen = kDefaultSnaplen;
    if (buffer_kib) c.ring.buffer_size = *buffer_kib * 1024;
    if (block_size) c.ring.block_size = *block_size;
    if (frame_size) c.ring.frame_size = *frame_size;
    if (block_timeout_ms) c.ring.block_timeout = std::chrono::milliseconds(*block_timeout_ms);
    if (nano || precision == "nano") o.precision = TimestampPrecision::nano;
    for (const std::string& word : expression) {
        if (!c.filter.empty()) c.filter += ' ';
        c.filter += word;
    }
    return {.options = std::move(o)};
}

}  // namespace ringcap::cli
