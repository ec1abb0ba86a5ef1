#include "command_line.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "compat.hpp"
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

namespace {

// The command line in steps: options declared in groups (in the order --help lists them), then
// parsed, then turned into CliOptions or TxCliOptions. Each step returns an error message, if any.
class Parser {
  public:
    Parser() : app_{"ringcap: packet capture on AF_PACKET memory-mapped rings", "ringcap"} {
        app_.get_formatter()->column_width(34);
        add_files();
        add_capture();
        add_printing();
        add_ring();
        add_tcpdump();
        add_transmit();
        add_process_options(app_, o_.process, attribution_);
    }

    ParseResult parse(int argc, const char* const* argv) {
        try {
            const std::vector<std::string> args = number_flag_as_long(argc, argv);
            std::vector<const char*> words;
            for (const std::string& a : args) words.push_back(a.c_str());
            app_.parse(static_cast<int>(words.size()), words.data());
        } catch (const CLI::CallForHelp&) {
            return {.exit_status = 0, .message = app_.help()};
        } catch (const CLI::ParseError& e) {
            return {.exit_status = 1, .message = "ringcap: " + tcpdump_words(e) + "\n" + kUsage};
        }
        if (version_)
            return {.exit_status = 0,
                    .message = "ringcap version " RINGCAP_VERSION "\n" + libpcap_version()};
        if (replay_->parsed() || gen_->parsed()) return transmit();
        for (const auto step :
             {&Parser::files, &Parser::sockets, &Parser::capture, &Parser::printing,
              &Parser::process, &Parser::loss, &Parser::tcpdump})
            if (std::string error = (this->*step)(); !error.empty())
                return {.exit_status = 1, .message = "ringcap: " + error};
        return {.options = std::move(o_)};
    }

  private:
    void add_files() {
        CLI::App& app = app_;
        // One name per -i (the words after it are the filter); -i again for more interfaces.
        app.add_option("-i,--interface", o_.interfaces,
                       "interface to capture on, or 'any'; again for several interfaces")
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        app.add_option("-w", o_.write_path,
                       "write packets to a pcap file ('-' for standard output)");
        app.add_flag("--pcapng", o_.pcapng, "write pcapng (the default for -w NAME.pcapng)");
        app.add_option("-r", o_.read_path,
                       "read packets from a pcap file ('-' for standard input)");
        app.add_option(
            "-C", rotate_size_,
            "start a new file past this size: millions of bytes, or k/M/G (KiB/MiB/GiB)");
        app.add_option("-G", o_.rotate_seconds,
                       "start a new file every this many seconds, on the clock; -w is a strftime "
                       "pattern")
            ->check(CLI::PositiveNumber);
        app.add_option("-W", o_.ring_files, "keep only this many files, a ring (with -C or -G)")
            ->check(CLI::PositiveNumber);
        app.add_option("-z", o_.post_rotate_command, "run this command on each finished file");
        app.add_option("-c", count_, "stop after this many packets")->type_name("COUNT");
        app.add_option("--workers", o_.workers,
                       "capture threads per interface, sharing it through PACKET_FANOUT")
            ->check(CLI::Range(1, 1024));
        app.add_option("--fanout", fanout_,
                       "how workers share packets: MODE[,defrag][,rollover], MODE one of hash "
                       "(default, with defrag), lb, cpu, rollover, rnd, qm");
        app.add_option("--fanout-group", fanout_group_,
                       "fanout group id to join (shared with other processes); default: one the "
                       "kernel picks, unused by anyone else")
            ->check(CLI::Range(0, 65535));
        app.add_option("--cpus", cpus_, "run worker k on the k-th CPU of this list (0,2-3)");
        app.add_flag("--merge", o_.merge,
                     "workers write one file in timestamp order (several -i always do)");
        add_loss();
    }

    // The loss ledger's options, in one block (issue 13).
    void add_loss() {
        CLI::App& app = app_;
        stats_ = app.add_flag("--stats{text}", stats_value_,
                              "at the end, the loss ledger by stage and a line per worker; "
                              "=json: as one JSON object; =drops: also the stack's drop reasons "
                              "(BPF); both: =json,drops");
        app.add_option("--duration", o_.duration, "stop after this many seconds")
            ->check(CLI::PositiveNumber);
    }

    // --stats's words: text (the default), json, drops.
    std::string loss() {
        o_.quiet_status = quick_ > 0;
        if (stats_->count() == 0) return {};
        o_.stats = true;
        std::size_t at = 0;
        while (at <= stats_value_.size()) {
            const std::size_t comma = std::min(stats_value_.find(',', at), stats_value_.size());
            const std::string word = stats_value_.substr(at, comma - at);
            at = comma + 1;
            if (word == "json")
                o_.stats_json = true;
            else if (word == "drops")
                o_.stats_drops = true;
            else if (word != "text" && !word.empty())
                return "--stats: '" + word + "' is not text, json or drops";
        }
        return {};
    }

    void add_capture() {
        CLI::App& app = app_;
        CaptureOptions& c = o_.capture;
        app.add_option("-s,--snapshot-length", c.snaplen, "bytes to keep per packet (0 = 262144)");
        app.add_option("-B,--buffer-size", buffer_kib_,
                       "ring size in KiB (default: by the link's speed, 4 to 64 MiB)");
        app.add_option("-Q,--direction", direction_, "in, out or inout (default)")
            ->check(CLI::IsMember({"in", "out", "inout"}));
        app.add_flag("-p,--no-promiscuous-mode", no_promisc_,
                     "do not put the interface in promiscuous mode");
        app.add_flag("-D,--list-interfaces", o_.list_interfaces, "list interfaces and exit");
        app.add_flag("-d", dump_,
                     "print the compiled filter program and exit (-dd: as a C array, -ddd: in "
                     "decimal)");
        app.add_flag("-U,--packet-buffered", o_.packet_buffered,
                     "write out the file after every batch");
        app.add_flag("--count", o_.count_only, "print only the final count");
    }

    void add_printing() {
        CLI::App& app = app_;
        app.add_flag("-q", quick_, "quick output: less protocol information (tcpdump -q)");
        app.add_flag("-e", link_header_,
                     "print the link-level header (MACs, EtherType, VLAN tags)");
        app.add_flag("-v", verbose_, "more detail: IPv4/IPv6 header fields (-v)");
        app.add_flag("-x", hex_,
                     "hex dump of each packet without (-x) or with (-xx) its link header");
        app.add_flag("-X", hex_ascii_,
                     "hex and ASCII dump, without (-X) or with (-XX) the link header");
        app.add_flag("-t", stamps_,
                     "-t no time, -tt epoch seconds, -ttt delta from the previous packet, -tttt "
                     "date and time, -ttttt delta from the first packet");
        app.add_flag("-S,--absolute-tcp-sequence-numbers", absolute_seq_,
                     "absolute TCP sequence numbers (default: relative, as tcpdump)");
        app.add_flag("--json", o_.json, "one JSON object per packet instead of text lines");
        app.add_flag("-l", o_.line_buffered, "flush printed lines at once");
        app.add_flag("-n", no_resolve_, "no name resolution (ringcap never resolves names)");
    }

    void add_ring() {
        CLI::App& app = app_;
        app.add_flag("--immediate-mode", immediate_,
                     "deliver each packet at once (TPACKET_V2 frames)");
        busy_ = app.add_flag("--busy-poll{0}", busy_usec_,
                             "spin on the ring instead of sleeping (=USEC: then sleep)");
        app.add_option("--tpacket", tpacket_, "ring version: auto (default), 3 or 2")
            ->check(CLI::IsMember({"auto", "2", "3"}));
        app.add_option("--block-size", block_size_,
                       "V3 block / ring block size in bytes (k, M suffixes)")
            ->transform(CLI::AsSizeValue(false));
        app.add_option("--block-timeout", block_timeout_ms_,
                       "V3 block retire timeout in ms (the same as --max-latency)");
        app.add_option("--max-latency", max_latency_ms_,
                       "hand packets over at most this many ms after they arrive (V3 block "
                       "timeout; 0: at once, as --immediate-mode). Default: 1 when printing or "
                       "writing to a pipe or with -U, 100 when writing a file or counting")
            ->check(CLI::Range(0, 65535));
        app.add_option("--frame-size", frame_size_, "V2 frame size in bytes (k suffix)")
            ->transform(CLI::AsSizeValue(false));
        app.add_option("--time-stamp-precision", precision_, "micro (default) or nano")
            ->check(CLI::IsMember({"micro", "nano"}));
        app.add_flag("--nano", nano_, "same as --time-stamp-precision=nano");
        app.add_option("expression", expression_, "tcpdump filter expression (pcap-filter(7))");
    }

    // tcpdump's flags beyond capture, files and printing (see the README's table).
    void add_tcpdump() {
        CLI::App& app = app_;
        app.add_flag("-A", ascii_,
                     "each packet's bytes as ASCII text, without (-A) or with (-AA) its link "
                     "header");
        app.add_flag("--number", o_.number_packets, "-#: a packet number before each line");
        app.add_flag("--print", o_.print_packets, "print packets also while writing them with -w");
        app.add_option("-F", o_.filter_file,
                       "read the filter expression from this file ('#' starts a comment); "
                       "an expression on the command line is then ignored")
            ->type_name("FILE");
        app.add_option("-V", o_.file_list,
                       "read the files this file names, one per line, in order (as -r)")
            ->type_name("FILE");
        app.add_option("-Z,--relinquish-privileges", user_,
                       "after opening the capture, run as this user (default: tcpdump's user, "
                       "else nobody; 'root' keeps root)")
            ->type_name("USER");
        app.add_option("-y,--linktype", o_.link_type_name,
                       "link type: EN10MB on an Ethernet interface, LINUX_SLL2 on 'any' (the "
                       "only ones ringcap captures)")
            ->type_name("TYPE");
        app.add_flag("-L,--list-data-link-types", o_.list_link_types,
                     "list the interface's link types and exit");
        app.add_option("-j,--time-stamp-type", o_.time_stamp_type,
                       "time stamp source: host (the only one AF_PACKET rings give here)")
            ->type_name("TYPE");
        app.add_flag("-J,--list-time-stamp-types", o_.list_time_stamp_types,
                     "list the interface's time stamp sources and exit");
        app.add_option("-T", packet_type_,
                       "tcpdump's forced packet types (vxlan, rtp, ...) are not decoded: refused")
            ->type_name("TYPE");
        app.add_flag("-K,--dont-verify-checksums", ignored_,
                     "accepted: ringcap never verifies checksums");
        app.add_flag("-N", ignored_, "accepted: ringcap never resolves names");
        app.add_flag("-f", ignored_, "accepted: ringcap prints every address as a number");
        app.add_flag("--micro", micro_, "microsecond time stamps (the default)");
        app.add_flag("--version", version_, "print the version and exit");
    }

    // The options replay and gen share.
    void add_transmit_common(CLI::App* sub) {
        sub->add_option("-i,--interface", t_.interface, "interface to send on")->required();
        sub->add_option("-B,--buffer-size", t_.buffer_kib, "TX ring size in KiB (default 1024)");
        sub->add_option("--limit", t_.limit, "stop after this many packets");
        sub->add_flag("--qdisc-bypass", t_.qdisc_bypass,
                      "skip the qdisc layer (PACKET_QDISC_BYPASS)");
        sub->add_flag("--zero-copy", t_.zero_copy,
                      "packets point into the ring's pages instead of holding a copy of the "
                      "frame (slower on veth; for NICs that DMA from the ring)");
    }

    void add_transmit() {
        replay_ = app_.add_subcommand("replay", "send pcap files through the TX ring");
        add_transmit_common(replay_);
        replay_->add_flag("-t,--topspeed", t_.topspeed, "as fast as possible");
        replay_
            ->add_option("-x,--multiplier", t_.multiplier, "original timing sped up by this factor")
            ->check(CLI::PositiveNumber);
        replay_->add_option("-p,--pps", t_.pps, "packets per second")->check(CLI::PositiveNumber);
        replay_->add_option("-M,--mbps", t_.mbps, "megabits per second")
            ->check(CLI::PositiveNumber);
        replay_->add_option("-l,--loop", t_.loop, "send the files this many times (0: forever)");
        replay_->add_option("files", t_.files, "pcap files")->required();
        gen_ = app_.add_subcommand("gen", "send synthetic UDP frames stamped with seq and time");
        add_transmit_common(gen_);
        UdpFlowSpec& f = t_.flow;
        gen_->add_option("-s,--size", f.frame_size,
                         "frame size in bytes without FCS (default 64, 78 with -6; up to 9000)");
        gen_->add_option("-c,--count", t_.limit, "frames to send (default: until stopped)");
        gen_->add_option("-r,--rate", t_.rate, "frames per second (default: as fast as possible)")
            ->check(CLI::NonNegativeNumber);
        gen_->add_option("--flows", f.flows, "distinct source ports, for fanout hashing");
        gen_->add_flag("-6,--ipv6", f.ipv6, "IPv6 instead of IPv4");
        gen_->add_option("--src-mac", src_mac_, "default 02:00:00:00:00:01");
        gen_->add_option("--dst-mac", dst_mac_, "default 02:00:00:00:00:02");
        gen_->add_option("--src-ip", src_ip_, "default 198.18.0.1 / fd00::1");
        gen_->add_option("--dst-ip", dst_ip_, "default 198.18.0.2 / fd00::2");
        gen_->add_option("--src-port", f.src_port, "first source port (default 10000)");
        gen_->add_option("--dst-port", f.dst_port, "destination port (default 9)");
    }

    ParseResult transmit() {
        const int modes = t_.topspeed + (t_.pps > 0) + (t_.mbps > 0) + (t_.multiplier != 1.0);
        if (modes > 1)
            return {.exit_status = 1,
                    .message = "replay: choose one of --topspeed, --multiplier, --pps, --mbps"};
        if (gen_->parsed()) {
            if (std::string bad = flow_addresses(); !bad.empty())
                return {.exit_status = 1, .message = "gen: cannot parse address '" + bad + "'"};
        }
        return {.command = gen_->parsed() ? Command::gen : Command::replay, .tx = std::move(t_)};
    }

    // gen's addresses; the one that does not parse, if any.
    std::string flow_addresses() {
        UdpFlowSpec& f = t_.flow;
        std::string bad;
        if (!src_mac_.empty() && !parse_mac(src_mac_, f.src_mac)) bad = src_mac_;
        if (!dst_mac_.empty() && !parse_mac(dst_mac_, f.dst_mac)) bad = dst_mac_;
        if (f.ipv6) {
            f.src_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            f.dst_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
            // 64 bytes cannot hold Ethernet + IPv6 + UDP headers and the stamp.
            if (gen_->count("--size") == 0) f.frame_size = 14 + 40 + 8 + UdpGenerator::kStampLen;
        }
        if (!src_ip_.empty() && !parse_ip(src_ip_, f.ipv6, f.src_ip)) bad = src_ip_;
        if (!dst_ip_.empty() && !parse_ip(dst_ip_, f.ipv6, f.dst_ip)) bad = dst_ip_;
        return bad;
    }

    std::string files() {
        if (!o_.read_path.empty() && !o_.interfaces.empty())
            return "-r reads a file and -i captures from an interface: give one of them";
        if (!rotate_size_.empty()) {
            const std::optional<std::uint64_t> bytes = parse_file_size(rotate_size_);
            if (!bytes)
                return "-C: '" + rotate_size_ +
                       "' is not a size (millions of bytes, or a number with k, M or G)";
            o_.rotate_bytes = *bytes;
        }
        const bool rotates = o_.rotate_bytes || o_.rotate_seconds || o_.ring_files;
        if ((rotates || !o_.post_rotate_command.empty()) && o_.write_path.empty())
            return "-C, -G, -W and -z need a file name: -w FILE";
        if (o_.ring_files && !o_.rotate_bytes && !o_.rotate_seconds)
            return "-W needs -C or -G to rotate on";
        if (nano_ || precision_ == "nano") o_.precision = TimestampPrecision::nano;
        return {};
    }

    // --fanout's words: a mode, then flags.
    std::string fanout() {
        static constexpr std::pair<const char*, FanoutMode> kModes[] = {
            {"hash", FanoutMode::hash},         {"lb", FanoutMode::lb},   {"cpu", FanoutMode::cpu},
            {"rollover", FanoutMode::rollover}, {"rnd", FanoutMode::rnd}, {"qm", FanoutMode::qm}};
        if (fanout_group_) o_.fanout.group = static_cast<std::uint16_t>(*fanout_group_);
        if (fanout_.empty()) return {};  // hash,defrag (FanoutOptions' defaults)
        o_.fanout.flags = FanoutFlags::none;
        std::size_t at = 0;
        for (bool first = true; at <= fanout_.size(); first = false) {
            const std::size_t comma = std::min(fanout_.find(',', at), fanout_.size());
            const std::string word = fanout_.substr(at, comma - at);
            at = comma + 1;
            const auto mode = std::find_if(std::begin(kModes), std::end(kModes),
                                           [&](const auto& m) { return word == m.first; });
            if (first && mode != std::end(kModes))
                o_.fanout.mode = mode->second;
            else if (!first && word == "defrag")
                o_.fanout.flags = o_.fanout.flags | FanoutFlags::defrag;
            else if (!first && word == "rollover")
                o_.fanout.flags = o_.fanout.flags | FanoutFlags::rollover;
            else
                return "--fanout: '" + word + "' is not " +
                       (first ? "a mode (hash, lb, cpu, rollover, rnd, qm)"
                              : "a flag (defrag, rollover)");
        }
        return {};
    }

    // --cpus: numbers and ranges, "0,2-3".
    std::string cpus() {
        for (std::size_t at = 0; at < cpus_.size();) {
            const std::size_t comma = std::min(cpus_.find(',', at), cpus_.size());
            const std::string item = cpus_.substr(at, comma - at);
            at = comma + 1;
            int first = -1, last = -1;
            const char* end = item.data() + item.size();
            std::from_chars_result r = std::from_chars(item.data(), end, first);
            if (r.ec == std::errc() && r.ptr != end && *r.ptr == '-')
                r = std::from_chars(r.ptr + 1, end, last);
            else
                last = first;
            if (r.ec != std::errc() || r.ptr != end || first < 0 || last < first || last > 4095)
                return "--cpus: '" + item + "' is not a CPU number or range (0,2-3)";
            for (int c = first; c <= last; ++c) o_.cpus.push_back(c);
        }
        return {};
    }

    std::string sockets() {
        if (!o_.interfaces.empty()) o_.capture.interface = o_.interfaces.front();
        if (std::string error = fanout(); !error.empty()) return error;
        return cpus();
    }

    std::string capture() {
        CaptureOptions& c = o_.capture;
        c.promiscuous = !no_promisc_;
        c.low_latency = immediate_;
        if (busy_->count() > 0) {
            char* end = nullptr;
            const unsigned long long usec = std::strtoull(busy_usec_.c_str(), &end, 10);
            if (busy_usec_.empty() || *end != '\0')
                return "--busy-poll: '" + busy_usec_ + "' is not a number of microseconds";
            c.busy_poll = std::chrono::microseconds(usec);
        }
        c.direction = direction_ == "in"    ? Direction::in
                      : direction_ == "out" ? Direction::out
                                            : Direction::inout;
        if (tpacket_ == "2") c.version = TpacketVersion::v2;
        if (tpacket_ == "3") c.version = TpacketVersion::v3;
        if (c.snaplen == 0) c.snaplen = kDefaultSnaplen;
        if (buffer_kib_) c.ring.buffer_size = *buffer_kib_ * 1024;
        if (block_size_) c.ring.block_size = *block_size_;
        if (frame_size_) c.ring.frame_size = *frame_size_;
        // --max-latency / --block-timeout: the user's bound, kept apart so that the output's
        // choice (choose_latency()) leaves it alone. --max-latency 0 is --immediate-mode.
        if (max_latency_ms_) {
            o_.max_latency = std::chrono::milliseconds(*max_latency_ms_);
            if (*max_latency_ms_ == 0)
                c.low_latency = true;
            else
                c.ring.block_timeout = *o_.max_latency;
        }
        if (block_timeout_ms_) {
            c.ring.block_timeout = std::chrono::milliseconds(*block_timeout_ms_);
            o_.max_latency = c.ring.block_timeout;
        }
        for (const std::string& word : expression_) {
            if (!c.filter.empty()) c.filter += ' ';
            c.filter += word;
        }
        return {};
    }

    std::string printing() {
        if (stamps_ > 5) return "-t: at most five (-ttttt, delta from the first packet)";
        static constexpr TimestampFormat kStamps[] = {
            TimestampFormat::clock,      TimestampFormat::none,
            TimestampFormat::epoch,      TimestampFormat::since_previous,
            TimestampFormat::date_clock, TimestampFormat::since_first};
        o_.decode = {.timestamps = kStamps[stamps_],
                     .precision = o_.precision,
                     .link_header = link_header_ > 0,
                     .verbosity = verbose_,
                     .quick = quick_ > 0,
                     .hex = hex_ascii_ > 0 ? HexDump::hex_ascii
                            : hex_ > 0     ? HexDump::hex
                                           : HexDump::none,
                     .hex_link_header = hex_ascii_ > 1 || hex_ > 1,
                     .absolute_tcp_seq = absolute_seq_};
        return {};
    }

    std::string process() { return check_process_options(o_, attribution_); }

    std::string tcpdump() {
        if (!count_.empty()) {
            char* end = nullptr;
            errno = 0;
            const long long n = std::strtoll(count_.c_str(), &end, 10);
            if (*end != '\0' || end == count_.c_str() || errno == ERANGE || n <= 0)
                return "invalid packet count " + count_ + "\n" + kUsage;  // tcpdump's words
            o_.count = static_cast<std::uint64_t>(n);
        }
        if (dump_ > 3) return "-d: at most three (-ddd, decimal)";
        o_.dump_filter = dump_ > 0;
        o_.dump_style = dump_ >= 3   ? DumpStyle::decimal
                        : dump_ == 2 ? DumpStyle::c_array
                                     : DumpStyle::text;
        if (ascii_ > 0 && o_.decode.hex == HexDump::none) {  // -x and -X take precedence
            o_.decode.hex = HexDump::ascii;
            o_.decode.hex_link_header = ascii_ > 1;
        }
        if (!o_.file_list.empty() && !o_.read_path.empty())
            return "-V and -r are mutually exclusive";
        if (!o_.file_list.empty() && !o_.interfaces.empty())
            return "-V reads files and -i captures from an interface: give one of them";
        if (micro_ && o_.precision == TimestampPrecision::nano)
            return "--micro and --nano: choose one";
        if (o_.print_packets && o_.write_path.empty()) o_.print_packets = false;  // as tcpdump
        if (user_) o_.user = *user_;
        if (!packet_type_.empty()) return packet_type_error(packet_type_);
        return {};
    }

    CLI::App app_;
    CliOptions o_;
    TxCliOptions t_;
    CLI::App* replay_ = nullptr;
    CLI::App* gen_ = nullptr;
    // What the options give before they become CliOptions / TxCliOptions.
    std::string rotate_size_;
    std::optional<std::uint64_t> buffer_kib_, block_size_, frame_size_, block_timeout_ms_;
    std::optional<std::uint32_t> max_latency_ms_;
    std::string direction_ = "inout", tpacket_ = "auto", precision_ = "micro";
    bool no_promisc_ = false, nano_ = false, immediate_ = false, no_resolve_ = false;
    std::vector<std::string> expression_;
    int quick_ = 0, link_header_ = 0, verbose_ = 0, hex_ = 0, hex_ascii_ = 0, stamps_ = 0;
    bool absolute_seq_ = false;
    std::string busy_usec_;
    CLI::Option* busy_ = nullptr;
    std::string src_mac_, dst_mac_, src_ip_, dst_ip_;
    std::string fanout_, cpus_;
    std::optional<unsigned> fanout_group_;
    std::string attribution_ = "auto";
    CLI::Option* stats_ = nullptr;  // --stats[=json][,drops]
    std::string stats_value_;
    // tcpdump's other flags
    std::string count_, packet_type_;
    std::optional<std::string> user_;
    int dump_ = 0, ascii_ = 0, ignored_ = 0;
    bool version_ = false, micro_ = false;
};

}  // namespace

// tcpdump prints its whole synopsis; --help explains every flag.
const char* const kUsage = "Run with --help for usage.";

ParseResult parse_command_line(int argc, const char* const* argv) {
    return Parser().parse(argc, argv);
}

}  // namespace ringcap::cli
