#include "command_line.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "sys/names.hpp"

namespace ringcap::cli {
namespace {

bool parse_mac(const std::string& text, std::array<std::uint8_t, 6>& out) {
    unsigned b[6];
    char tail;
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                    &tail) != 6)
        return false;
    for (int i = 0; i < 6; ++i) {
        if (b[i] > 0xff) return false;
        out[i] = static_cast<std::uint8_t>(b[i]);
    }
    return true;
}

bool parse_ip(const std::string& text, bool ipv6, std::array<std::uint8_t, 16>& out) {
    return sys::parse_ip_address(text, ipv6, out);
}

}  // namespace

std::optional<std::uint64_t> parse_file_size(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || end == text.c_str() || text[0] == '-' || errno == ERANGE || n == 0)
        return std::nullopt;
    std::uint64_t unit = 1'000'000;
    const std::string suffix(end);
    if (suffix == "k" || suffix == "K")
        unit = 1ull << 10;
    else if (suffix == "m" || suffix == "M")
        unit = 1ull << 20;
    else if (suffix == "g" || suffix == "G")
        unit = 1ull << 30;
    else if (!suffix.empty())
        return std::nullopt;
    if (n > UINT64_MAX / unit) return std::nullopt;
    return n * unit;
}

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
    app.add_flag("--pcapng", o.pcapng, "write pcapng (the default for -w NAME.pcapng)");
    app.add_option("-r", o.read_path, "read packets from a pcap file ('-' for standard input)");
    std::string rotate_size;
    app.add_option("-C", rotate_size,
                   "start a new file past this size: millions of bytes, or k/M/G (KiB/MiB/GiB)");
    app.add_option("-G", o.rotate_seconds,
                   "start a new file every this many seconds, on the clock; -w is a strftime "
                   "pattern")
        ->check(CLI::PositiveNumber);
    app.add_option("-W", o.ring_files, "keep only this many files, a ring (with -C or -G)")
        ->check(CLI::PositiveNumber);
    app.add_option("-z", o.post_rotate_command, "run this command on each finished file");
    app.add_option("-c", o.count, "stop after this many packets");
    app.add_option("-s,--snapshot-length", c.snaplen, "bytes to keep per packet (0 = 262144)");
    app.add_option("-B,--buffer-size", buffer_kib, "ring size in KiB (default 65536)");
    app.add_option("-Q,--direction", direction, "in, out or inout (default)")
        ->check(CLI::IsMember({"in", "out", "inout"}));
    app.add_flag("-p,--no-promiscuous-mode", no_promisc,
                 "do not put the interface in promiscuous mode");
    app.add_flag("-D,--list-interfaces", o.list_interfaces, "list interfaces and exit");
    app.add_flag("-d", o.dump_filter, "print the compiled filter program and exit");
    app.add_flag("-U,--packet-buffered", o.packet_buffered, "write out the file after every batch");
    app.add_flag("--count", o.count_only, "print only the final count");
    int quick = 0, link_header = 0, verbose = 0, hex = 0, hex_ascii = 0, stamps = 0;
    bool absolute_seq = false;
    app.add_flag("-q", quick, "quick output: less protocol information (tcpdump -q)");
    app.add_flag("-e", link_header, "print the link-level header (MACs, EtherType, VLAN tags)");
    app.add_flag("-v", verbose, "more detail: IPv4/IPv6 header fields (-v)");
    app.add_flag("-x", hex, "hex dump of each packet without (-x) or with (-xx) its link header");
    app.add_flag("-X", hex_ascii, "hex and ASCII dump, without (-X) or with (-XX) the link header");
    app.add_flag("-t", stamps,
                 "-t no time, -tt epoch seconds, -ttt delta from the previous packet, -tttt "
                 "date and time, -ttttt delta from the first packet");
    app.add_flag("-S,--absolute-tcp-sequence-numbers", absolute_seq,
                 "absolute TCP sequence numbers (default: relative, as tcpdump)");
    app.add_flag("--json", o.json, "one JSON object per packet instead of text lines");
    app.add_flag("-l", o.line_buffered, "flush printed lines at once");
    app.add_flag("-n", no_resolve, "no name resolution (ringcap never resolves names)");
    app.add_flag("--immediate-mode", immediate, "deliver each packet at once (TPACKET_V2 frames)");
    std::string busy_usec;
    CLI::Option* busy = app.add_flag("--busy-poll{0}", busy_usec,
                                     "spin on the ring instead of sleeping (=USEC: then sleep)");
    app.add_option("--tpacket", tpacket, "ring version: auto (default), 3 or 2")
        ->check(CLI::IsMember({"auto", "2", "3"}));
    app.add_option("--block-size", block_size,
                   "V3 block / ring block size in bytes (k, M suffixes)")
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--block-timeout", block_timeout_ms,
                   "V3 block retire timeout in ms (default 1)");
    app.add_option("--frame-size", frame_size, "V2 frame size in bytes (k suffix)")
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--time-stamp-precision", precision, "micro (default) or nano")
        ->check(CLI::IsMember({"micro", "nano"}));
    app.add_flag("--nano", nano, "same as --time-stamp-precision=nano");
    app.add_option("expression", expression, "tcpdump filter expression (pcap-filter(7))");

    // Transmit subcommands.
    TxCliOptions t;
    std::string src_mac, dst_mac, src_ip, dst_ip;
    const auto tx_common = [&](CLI::App* sub) {
        sub->add_option("-i,--interface", t.interface, "interface to send on")->required();
        sub->add_option("-B,--buffer-size", t.buffer_kib, "TX ring size in KiB (default 1024)");
        sub->add_option("--limit", t.limit, "stop after this many packets");
        sub->add_flag("--qdisc-bypass", t.qdisc_bypass,
                      "skip the qdisc layer (PACKET_QDISC_BYPASS)");
        sub->add_flag("--zero-copy", t.zero_copy,
                      "packets point into the ring's pages instead of holding a copy of the "
                      "frame (slower on veth; for NICs that DMA from the ring)");
    };
    CLI::App* replay = app.add_subcommand("replay", "send pcap files through the TX ring");
    tx_common(replay);
    replay->add_flag("-t,--topspeed", t.topspeed, "as fast as possible");
    replay->add_option("-x,--multiplier", t.multiplier, "original timing sped up by this factor")
        ->check(CLI::PositiveNumber);
    replay->add_option("-p,--pps", t.pps, "packets per second")->check(CLI::PositiveNumber);
    replay->add_option("-M,--mbps", t.mbps, "megabits per second")->check(CLI::PositiveNumber);
    replay->add_option("-l,--loop", t.loop, "send the files this many times (0: forever)");
    replay->add_option("files", t.files, "pcap files")->required();
    CLI::App* gen =
        app.add_subcommand("gen", "send synthetic UDP frames stamped with seq and time");
    tx_common(gen);
    gen->add_option("-s,--size", t.flow.frame_size,
                    "frame size in bytes without FCS (default 64, 78 with -6; up to 9000)");
    gen->add_option("-c,--count", t.limit, "frames to send (default: until stopped)");
    gen->add_option("-r,--rate", t.rate, "frames per second (default: as fast as possible)")
        ->check(CLI::NonNegativeNumber);
    gen->add_option("--flows", t.flow.flows, "distinct source ports, for fanout hashing");
    gen->add_flag("-6,--ipv6", t.flow.ipv6, "IPv6 instead of IPv4");
    gen->add_option("--src-mac", src_mac, "default 02:00:00:00:00:01");
    gen->add_option("--dst-mac", dst_mac, "default 02:00:00:00:00:02");
    gen->add_option("--src-ip", src_ip, "default 198.18.0.1 / fd00::1");
    gen->add_option("--dst-ip", dst_ip, "default 198.18.0.2 / fd00::2");
    gen->add_option("--src-port", t.flow.src_port, "first source port (default 10000)");
    gen->add_option("--dst-port", t.flow.dst_port, "destination port (default 9)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return {.exit_status = 0, .message = app.help()};
    } catch (const CLI::ParseError& e) {
        return {.exit_status = 1,
                .message = std::string(e.what()) + "\nRun with --help for usage."};
    }

    if (replay->parsed() || gen->parsed()) {
        const int modes = t.topspeed + (t.pps > 0) + (t.mbps > 0) + (t.multiplier != 1.0);
        if (modes > 1)
            return {.exit_status = 1,
                    .message = "replay: choose one of --topspeed, --multiplier, --pps, --mbps"};
        if (gen->parsed()) {
            std::string bad;
            if (!src_mac.empty() && !parse_mac(src_mac, t.flow.src_mac)) bad = src_mac;
            if (!dst_mac.empty() && !parse_mac(dst_mac, t.flow.dst_mac)) bad = dst_mac;
            if (t.flow.ipv6) {
                t.flow.src_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
                t.flow.dst_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
                // 64 bytes cannot hold Ethernet + IPv6 + UDP headers and the stamp.
                if (gen->count("--size") == 0)
                    t.flow.frame_size = 14 + 40 + 8 + UdpGenerator::kStampLen;
            }
            if (!src_ip.empty() && !parse_ip(src_ip, t.flow.ipv6, t.flow.src_ip)) bad = src_ip;
            if (!dst_ip.empty() && !parse_ip(dst_ip, t.flow.ipv6, t.flow.dst_ip)) bad = dst_ip;
            if (!bad.empty())
                return {.exit_status = 1, .message = "gen: cannot parse address '" + bad + "'"};
        }
        return {.command = gen->parsed() ? Command::gen : Command::replay, .tx = std::move(t)};
    }

    if (!o.read_path.empty() && !c.interface.empty())
        return {.exit_status = 1,
                .message = "-r reads a file and -i captures from an interface: give one of them"};
    if (!rotate_size.empty()) {
        const std::optional<std::uint64_t> bytes = parse_file_size(rotate_size);
        if (!bytes)
            return {.exit_status = 1,
                    .message = "-C: '" + rotate_size +
                               "' is not a size (millions of bytes, or a number with k, M or G)"};
        o.rotate_bytes = *bytes;
    }
    const bool rotates = o.rotate_bytes || o.rotate_seconds || o.ring_files;
    if ((rotates || !o.post_rotate_command.empty()) && o.write_path.empty())
        return {.exit_status = 1, .message = "-C, -G, -W and -z need a file name: -w FILE"};
    if (o.ring_files && !o.rotate_bytes && !o.rotate_seconds)
        return {.exit_status = 1, .message = "-W needs -C or -G to rotate on"};
    c.promiscuous = !no_promisc;
    c.low_latency = immediate;
    if (busy->count() > 0) {
        char* end = nullptr;
        const unsigned long long usec = std::strtoull(busy_usec.c_str(), &end, 10);
        if (busy_usec.empty() || *end != '\0')
            return {.exit_status = 1,
                    .message = "--busy-poll: '" + busy_usec + "' is not a number of microseconds"};
        c.busy_poll = std::chrono::microseconds(usec);
    }
    c.direction = direction == "in"    ? Direction::in
                  : direction == "out" ? Direction::out
                                       : Direction::inout;
    if (tpacket == "2") c.version = TpacketVersion::v2;
    if (tpacket == "3") c.version = TpacketVersion::v3;
    if (c.snaplen == 0) c.snaplen = kDefaultSnaplen;
    if (buffer_kib) c.ring.buffer_size = *buffer_kib * 1024;
    if (block_size) c.ring.block_size = *block_size;
    if (frame_size) c.ring.frame_size = *frame_size;
    if (block_timeout_ms) c.ring.block_timeout = std::chrono::milliseconds(*block_timeout_ms);
    if (nano || precision == "nano") o.precision = TimestampPrecision::nano;
    if (stamps > 5)
        return {.exit_status = 1,
                .message = "-t: at most five (-ttttt, delta from the first packet)"};
    static constexpr TimestampFormat kStamps[] = {
        TimestampFormat::clock,          TimestampFormat::none,       TimestampFormat::epoch,
        TimestampFormat::since_previous, TimestampFormat::date_clock, TimestampFormat::since_first};
    o.decode = {.timestamps = kStamps[stamps],
                .precision = o.precision,
                .link_header = link_header > 0,
                .verbosity = verbose,
                .quick = quick > 0,
                .hex = hex_ascii > 0 ? HexDump::hex_ascii
                       : hex > 0     ? HexDump::hex
                                     : HexDump::none,
                .hex_link_header = hex_ascii > 1 || hex > 1,
                .absolute_tcp_seq = absolute_seq};
    for (const std::string& word : expression) {
        if (!c.filter.empty()) c.filter += ' ';
        c.filter += word;
    }
    return {.options = std::move(o)};
}

}  // namespace ringcap::cli
