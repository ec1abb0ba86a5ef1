// parse_command_line(): tcpdump-style command lines into CliOptions, and the refusals.
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "group_cmd.hpp"
#include "output.hpp"

namespace ringcap::cli {
namespace {

ParseResult parse(std::vector<std::string> args) {
    args.insert(args.begin(), "ringcap");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(args.size()), argv.data());
}

std::string joined(const std::vector<std::string>& args) {
    std::string s;
    for (const std::string& a : args) s += (s.empty() ? "" : " ") + a;
    return s;
}

// Who waits for the packets decides how long the ring may hold them (choose_latency()).
TEST(CliLatency, FollowsWhoWaits) {
    const struct {
        std::vector<std::string> args;
        bool stdout_is_file;
        std::chrono::milliseconds bound;
        const char* why;
    } cases[] = {
        {{}, false, kPromptDelivery, "printing"},
        {{"-l", "-q"}, false, kPromptDelivery, "printing"},
        {{}, true, kBatchedDelivery, "printing to a file"},
        {{"-w", "-"}, false, kPromptDelivery, "writing to a pipe"},
        {{"-w", "-", "--count"}, false, kPromptDelivery, "writing to a pipe"},
        {{"-w", "-"}, true, kBatchedDelivery, "writing a file"},
        {{"-w", "x.pcap", "-U"}, false, kPromptDelivery, "-U"},
        {{"-w", "x.pcap"}, false, kBatchedDelivery, "writing a file"},
        {{"-w", "x.pcap", "-G", "60"}, false, kBatchedDelivery, "writing a file"},
        {{"-w", "x.pcap", "-c", "10"}, false, kPromptDelivery, "-c 10"},
        {{"-w", "x.pcap", "-c", "1000"}, false, kPromptDelivery, "-c 1000"},
        {{"-w", "x.pcap", "-c", "1001"}, false, kBatchedDelivery, "writing a file"},
        {{"--count", "-c", "5"}, false, kPromptDelivery, "-c 5"},
        {{"--count"}, false, kBatchedDelivery, "counting"},
        {{"--immediate-mode", "-w", "x.pcap"}, false, kPromptDelivery, "immediate mode"},
        {{"--busy-poll", "-w", "x.pcap"}, false, kPromptDelivery, "immediate mode"},
        {{"--max-latency", "7"}, false, std::chrono::milliseconds(7), "as asked"},
        {{"--max-latency", "500", "-w", "-"}, false, std::chrono::milliseconds(500), "as asked"},
        {{"--block-timeout", "3", "-w", "x.pcap"}, false, std::chrono::milliseconds(3), "as asked"},
    };
    for (const auto& c : cases) {
        const ParseResult r = parse(c.args);
        ASSERT_TRUE(r.options) << joined(c.args) << ": " << r.message;
        const Latency l = choose_latency(*r.options, c.stdout_is_file);
        EXPECT_EQ(l.bound, c.bound) << joined(c.args);
        EXPECT_EQ(l.why, c.why) << joined(c.args);
    }
}

TEST(CliOptions, NoArgumentsGiveTheDefaults) {
    const ParseResult r = parse({});
    ASSERT_TRUE(r.options) << r.message;
    const CliOptions& o = *r.options;
    EXPECT_EQ(o.capture.interface, "");
    EXPECT_FALSE(o.capture.version.has_value());
    EXPECT_FALSE(o.capture.low_latency);
    EXPECT_FALSE(o.capture.ring.buffer_size.has_value());
    EXPECT_FALSE(o.capture.ring.block_size.has_value());
    EXPECT_FALSE(o.capture.ring.frame_size.has_value());
    EXPECT_EQ(o.capture.ring.block_timeout, std::chrono::milliseconds(1));
    EXPECT_FALSE(o.max_latency.has_value());  // the output decides
    EXPECT_EQ(o.capture.filter, "");
    EXPECT_EQ(o.capture.snaplen, 262144u);
    EXPECT_TRUE(o.capture.promiscuous);
    EXPECT_EQ(o.capture.direction, Direction::inout);
    EXPECT_EQ(o.write_path, "");
    EXPECT_EQ(o.count, 0u);
    EXPECT_FALSE(o.list_interfaces);
    EXPECT_FALSE(o.dump_filter);
    EXPECT_FALSE(o.packet_buffered);
    EXPECT_FALSE(o.count_only);
    EXPECT_FALSE(o.line_buffered);
    EXPECT_EQ(o.precision, TimestampPrecision::micro);
    EXPECT_EQ(o.decode.timestamps, TimestampFormat::clock);
    EXPECT_FALSE(o.decode.quick);
    EXPECT_FALSE(o.decode.link_header);
    EXPECT_EQ(o.decode.verbosity, 0);
    EXPECT_FALSE(o.json);
}

TEST(CliOptions, FullTcpdumpCommandLineSetsEveryField) {
    const ParseResult r = parse({"-i", "veth0", "-w", "out.pcap", "-c", "10", "-s", "96", "-B",
                                 "4096", "-Q", "in", "-p", "tcp", "port", "80"});
    ASSERT_TRUE(r.options) << r.message;
    const CliOptions& o = *r.options;
    EXPECT_EQ(o.capture.interface, "veth0");
    EXPECT_EQ(o.write_path, "out.pcap");
    EXPECT_EQ(o.count, 10u);
    EXPECT_EQ(o.capture.snaplen, 96u);
    EXPECT_EQ(o.capture.ring.buffer_size, std::optional<std::size_t>(4096u * 1024u));
    EXPECT_EQ(o.capture.direction, Direction::in);
    EXPECT_FALSE(o.capture.promiscuous);
    EXPECT_EQ(o.capture.filter, "tcp port 80");
    EXPECT_FALSE(o.capture.version.has_value());
    EXPECT_FALSE(o.capture.low_latency);
}

// One command line, one check of the options it produces.
struct ParseCase {
    const char* name;
    std::vector<std::string> args;
    std::function<void(const CliOptions&)> check;
};

class CliParses : public ::testing::TestWithParam<ParseCase> {};

TEST_P(CliParses, Accepts) {
    const ParseCase& c = GetParam();
    const ParseResult r = parse(c.args);
    ASSERT_TRUE(r.options) << joined(c.args) << ": " << r.message;
    EXPECT_EQ(r.exit_status, 0);
    c.check(*r.options);
}

// clang-format off
const ParseCase kParses[] = {
    {"count_attached", {"-c10"}, [](const CliOptions& o) { EXPECT_EQ(o.count, 10u); }},
    {"snaplen_attached", {"-s96"}, [](const CliOptions& o) { EXPECT_EQ(o.capture.snaplen, 96u); }},
    {"interface_attached", {"-ieth1"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.interface, "eth1"); }},
    {"interface_long", {"--interface=any"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.interface, "any"); }},
    {"write_stdout", {"-w", "-"}, [](const CliOptions& o) { EXPECT_EQ(o.write_path, "-"); }},
    {"write_stdout_then_filter", {"-w", "-", "udp"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.write_path, "-");
         EXPECT_EQ(o.capture.filter, "udp");
     }},
    {"snaplen_zero_is_max", {"-s", "0"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.snaplen, 262144u); }},
    {"snaplen_long", {"--snapshot-length=1500"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.snaplen, 1500u); }},
    {"buffer_kib", {"-B", "1"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.ring.buffer_size, std::size_t{1024}); }},
    {"buffer_long", {"--buffer-size=65536"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.ring.buffer_size, std::size_t{64} << 20); }},
    {"immediate_mode",
     {"--immediate-mode"},
     [](const CliOptions& o) {
         EXPECT_TRUE(o.capture.low_latency);
         EXPECT_FALSE(o.capture.version.has_value());  // V2 is chosen later, not forced here
     }},
    {"tpacket_2", {"--tpacket=2"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.version, TpacketVersion::v2); }},
    {"tpacket_3", {"--tpacket=3"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.version, TpacketVersion::v3); }},
    {"tpacket_3_separate", {"--tpacket", "3"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.version, TpacketVersion::v3); }},
    {"tpacket_auto", {"--tpacket=auto"},
     [](const CliOptions& o) { EXPECT_FALSE(o.capture.version.has_value()); }},
    {"block_size_mebi", {"--block-size", "1M"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.ring.block_size, std::size_t{1} << 20); }},
    {"block_size_kibi", {"--block-size=64k"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.ring.block_size, std::size_t{65536}); }},
    {"block_size_bytes", {"--block-size", "8192"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.ring.block_size, std::size_t{8192}); }},
    {"frame_size", {"--frame-size", "2k"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.ring.frame_size, std::size_t{2048}); }},
    {"block_timeout", {"--block-timeout", "20"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.capture.ring.block_timeout, std::chrono::milliseconds(20));
         EXPECT_EQ(o.max_latency, std::chrono::milliseconds(20));  // the user's choice
     }},
    {"max_latency", {"--max-latency", "250", "-w", "x.pcap"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.capture.ring.block_timeout, std::chrono::milliseconds(250));
         EXPECT_EQ(o.max_latency, std::chrono::milliseconds(250));
         EXPECT_FALSE(o.capture.low_latency);
     }},
    {"max_latency_zero_is_immediate_mode", {"--max-latency=0"},
     [](const CliOptions& o) {
         EXPECT_TRUE(o.capture.low_latency);
         EXPECT_EQ(o.max_latency, std::chrono::milliseconds(0));
     }},
    {"nano_flag", {"--nano"},
     [](const CliOptions& o) { EXPECT_EQ(o.precision, TimestampPrecision::nano); }},
    {"precision_nano", {"--time-stamp-precision=nano"},
     [](const CliOptions& o) { EXPECT_EQ(o.precision, TimestampPrecision::nano); }},
    {"precision_micro", {"--time-stamp-precision", "micro"},
     [](const CliOptions& o) { EXPECT_EQ(o.precision, TimestampPrecision::micro); }},
    {"direction_out", {"-Q", "out"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.direction, Direction::out); }},
    {"direction_inout_long", {"--direction=inout"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.direction, Direction::inout); }},
    {"no_promisc_long", {"--no-promiscuous-mode"},
     [](const CliOptions& o) { EXPECT_FALSE(o.capture.promiscuous); }},
    {"flags", {"-D", "-d", "-U", "--count", "-l", "-n"},
     [](const CliOptions& o) {
         EXPECT_TRUE(o.list_interfaces);
         EXPECT_TRUE(o.dump_filter);
         EXPECT_TRUE(o.packet_buffered);
         EXPECT_TRUE(o.count_only);
         EXPECT_TRUE(o.line_buffered);
         EXPECT_FALSE(o.decode.quick);
     }},
    {"decode_flags", {"-q", "-e", "-vv", "-tttt", "-XX", "--json"},
     [](const CliOptions& o) {
         EXPECT_FALSE(o.count_only);  // -q is tcpdump's quick output, not --count
         EXPECT_TRUE(o.decode.quick);
         EXPECT_TRUE(o.decode.link_header);
         EXPECT_EQ(o.decode.verbosity, 2);
         EXPECT_EQ(o.decode.timestamps, TimestampFormat::date_clock);
         EXPECT_EQ(o.decode.hex, HexDump::hex_ascii);
         EXPECT_TRUE(o.decode.hex_link_header);
         EXPECT_TRUE(o.json);
     }},
    {"hex_and_time_flags", {"-x", "-ttt"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.decode.hex, HexDump::hex);
         EXPECT_FALSE(o.decode.hex_link_header);
         EXPECT_EQ(o.decode.timestamps, TimestampFormat::since_previous);
     }},
    // -q is tcpdump's quick output now; only --count prints counts alone.
    {"quick_is_not_count", {"-q"},
     [](const CliOptions& o) {
         EXPECT_TRUE(o.decode.quick);
         EXPECT_FALSE(o.count_only);
     }},
    {"print_flags", {"-e", "-vv", "-S", "--json"},
     [](const CliOptions& o) {
         EXPECT_TRUE(o.decode.link_header);
         EXPECT_EQ(o.decode.verbosity, 2);
         EXPECT_TRUE(o.decode.absolute_tcp_seq);
         EXPECT_TRUE(o.json);
         EXPECT_EQ(o.decode.hex, HexDump::none);
     }},
    {"hex_x", {"-x"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.decode.hex, HexDump::hex);
         EXPECT_FALSE(o.decode.hex_link_header);
     }},
    {"hex_xx", {"-xx"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.decode.hex, HexDump::hex);
         EXPECT_TRUE(o.decode.hex_link_header);
     }},
    {"hex_ascii_XX", {"-XX"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.decode.hex, HexDump::hex_ascii);
         EXPECT_TRUE(o.decode.hex_link_header);
     }},
    {"stamps_none", {"-t"},
     [](const CliOptions& o) { EXPECT_EQ(o.decode.timestamps, TimestampFormat::none); }},
    {"stamps_epoch", {"-tt"},
     [](const CliOptions& o) { EXPECT_EQ(o.decode.timestamps, TimestampFormat::epoch); }},
    {"stamps_delta", {"-ttt"},
     [](const CliOptions& o) { EXPECT_EQ(o.decode.timestamps, TimestampFormat::since_previous); }},
    {"stamps_date", {"-tttt"},
     [](const CliOptions& o) { EXPECT_EQ(o.decode.timestamps, TimestampFormat::date_clock); }},
    {"stamps_since_first_nano", {"-ttttt", "--nano"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.decode.timestamps, TimestampFormat::since_first);
         EXPECT_EQ(o.decode.precision, TimestampPrecision::nano);
     }},
    {"combined_short_flags", {"-pUl"},
     [](const CliOptions& o) {
         EXPECT_FALSE(o.capture.promiscuous);
         EXPECT_TRUE(o.packet_buffered);
         EXPECT_TRUE(o.line_buffered);
     }},
    {"filter_as_one_word", {"tcp port 80 and not host 10.0.0.1"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.filter, "tcp port 80 and not host 10.0.0.1"); }},
    {"filter_words_joined", {"-i", "lo", "udp", "and", "(", "port", "53", "or", "arp", ")"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.capture.interface, "lo");
         EXPECT_EQ(o.capture.filter, "udp and ( port 53 or arp )");
     }},
    {"several_interfaces", {"-i", "a", "-i", "b", "--workers", "3", "udp"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.interfaces, (std::vector<std::string>{"a", "b"}));
         EXPECT_EQ(o.capture.interface, "a");
         EXPECT_EQ(o.workers, 3u);
         EXPECT_EQ(o.capture.filter, "udp");
         EXPECT_EQ(o.fanout.mode, FanoutMode::hash);  // the default: hash,defrag
         EXPECT_EQ(o.fanout.flags, FanoutFlags::defrag);
         EXPECT_FALSE(o.fanout.group);
     }},
    {"fanout_words", {"--fanout", "lb,rollover", "--fanout-group", "77", "--cpus", "0,2-3"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.fanout.mode, FanoutMode::lb);
         EXPECT_EQ(o.fanout.flags, FanoutFlags::rollover);
         EXPECT_EQ(o.fanout.group, 77);
         EXPECT_EQ(o.cpus, (std::vector<int>{0, 2, 3}));
     }},
    {"filter_with_brackets", {"tcp[13]=24"},
     [](const CliOptions& o) { EXPECT_EQ(o.capture.filter, "tcp[13]=24"); }},
    {"filter_after_double_dash", {"-c", "1", "--", "not", "ip"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.count, 1u);
         EXPECT_EQ(o.capture.filter, "not ip");
     }},
    {"options_after_filter", {"tcp", "-c", "5"},
     [](const CliOptions& o) {
         EXPECT_EQ(o.capture.filter, "tcp");
         EXPECT_EQ(o.count, 5u);
     }},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Cli, CliParses, ::testing::ValuesIn(kParses),
                         [](const auto& info) { return std::string(info.param.name); });

// Command lines that must be refused with exit status 1 and a message naming the problem.
struct RefuseCase {
    const char* name;
    std::vector<std::string> args;
    std::vector<std::string> message_parts;
};

class CliRefuses : public ::testing::TestWithParam<RefuseCase> {};

TEST_P(CliRefuses, ExitStatusOneWithMessage) {
    const RefuseCase& c = GetParam();
    const ParseResult r = parse(c.args);
    EXPECT_FALSE(r.options) << joined(c.args) << " was accepted";
    EXPECT_EQ(r.exit_status, 1);
    EXPECT_NE(r.message.find("--help"), std::string::npos) << r.message;
    for (const std::string& part : c.message_parts)
        EXPECT_NE(r.message.find(part), std::string::npos)
            << "'" << part << "' not in: " << r.message;
}

// clang-format off
const RefuseCase kRefusals[] = {
    {"direction_sideways", {"-Q", "sideways"}, {"sideways"}},
    {"tpacket_4", {"--tpacket=4"}, {"4"}},
    {"tpacket_word", {"--tpacket", "three"}, {"three"}},
    {"count_not_a_number", {"-c", "abc"}, {"abc"}},
    {"count_negative", {"-c", "-1"}, {"invalid packet count -1"}},
    {"count_zero", {"-c", "0"}, {"invalid packet count 0"}},
    {"unknown_short_option", {"-g"}, {"invalid option -- 'g'"}},
    {"snaplen_not_a_number", {"-s", "big"}, {"big"}},
    {"snaplen_too_large", {"-s", "99999999999"}, {"99999999999"}},
    {"buffer_not_a_number", {"-B", "lots"}, {"lots"}},
    {"block_size_bad_unit", {"--block-size", "1Q"}, {"--block-size", "unit not recognized"}},
    {"precision_pico", {"--time-stamp-precision=pico"}, {"pico"}},
    {"unknown_long_option", {"--no-such-option"}, {"--no-such-option"}},
    {"missing_value", {"-i"}, {"-i"}},
    // The kernel keeps the block timeout in 16 bits.
    {"max_latency_too_long", {"--max-latency", "65536"}, {"--max-latency", "65536"}},
    {"max_latency_negative", {"--max-latency", "-1"}, {"--max-latency"}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Cli, CliRefuses, ::testing::ValuesIn(kRefusals),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CliOptions, TcpdumpFlags) {
    const ParseResult r = parse({"-A", "-#", "-ddd", "--print", "-w", "x.pcap", "-F", "f.txt", "-Z",
                                 "nobody", "-K", "-N", "-c", "5", "-y", "EN10MB", "-j", "host"});
    ASSERT_TRUE(r.options) << r.message;
    const CliOptions& o = *r.options;
    EXPECT_EQ(o.decode.hex, HexDump::ascii);
    EXPECT_FALSE(o.decode.hex_link_header);
    EXPECT_TRUE(o.number_packets);
    EXPECT_TRUE(o.dump_filter);
    EXPECT_EQ(o.dump_style, DumpStyle::decimal);
    EXPECT_TRUE(o.print_packets);
    EXPECT_EQ(o.filter_file, "f.txt");
    EXPECT_EQ(o.user, "nobody");
    EXPECT_EQ(o.count, 5u);
    EXPECT_EQ(o.link_type_name, "EN10MB");
    EXPECT_EQ(o.time_stamp_type, "host");
    const ParseResult aa = parse({"-AA", "-n#", "-dd"});
    ASSERT_TRUE(aa.options) << aa.message;
    EXPECT_TRUE(aa.options->decode.hex_link_header);
    EXPECT_TRUE(aa.options->number_packets);
    EXPECT_EQ(aa.options->dump_style, DumpStyle::c_array);
    EXPECT_EQ(parse({"-X", "-A"}).options->decode.hex, HexDump::hex_ascii);  // -X wins
    EXPECT_FALSE(parse({}).options->user);  // the default user is chosen at run time
}

TEST(CliOptions, TcpdumpFlagsRefused) {
    for (const auto& [args, words] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"-dddd"}, "-ddd"},
             {{"-T", "nonsense"}, "ringcap: unknown packet type `nonsense'"},
             {{"-T", "vxlan"}, "does not decode"},
             {{"-r", "a.pcap", "-V", "list"}, "-V and -r are mutually exclusive"}}) {
        const ParseResult r = parse(args);
        EXPECT_FALSE(r.options) << joined(args);
        EXPECT_EQ(r.exit_status, 1);
        EXPECT_NE(r.message.find(words), std::string::npos) << r.message;
    }
}

TEST(CliOptions, VersionExitsZero) {
    const ParseResult r = parse({"--version"});
    EXPECT_FALSE(r.options);
    EXPECT_EQ(r.exit_status, 0);
    EXPECT_EQ(r.message.rfind("ringcap version ", 0), 0u) << r.message;
    EXPECT_NE(r.message.find("libpcap version"), std::string::npos) << r.message;
}

TEST(CliOptions, HelpExitsZeroWithUsage) {
    for (const char* flag : {"--help", "-h"}) {
        SCOPED_TRACE(flag);
        const ParseResult r = parse({flag});
        EXPECT_FALSE(r.options);
        EXPECT_EQ(r.exit_status, 0);
        EXPECT_NE(r.message.find("ringcap"), std::string::npos) << r.message;
        for (const char* opt : {"-i", "-w", "-c", "-Q", "--tpacket", "--immediate-mode",
                                "--block-size", "--time-stamp-precision", "expression"})
            EXPECT_NE(r.message.find(opt), std::string::npos) << opt << " missing from help";
    }
}

TEST(CliOptions, HelpWinsOverOtherOptions) {
    const ParseResult r = parse({"-i", "veth0", "--help", "tcp"});
    EXPECT_FALSE(r.options);
    EXPECT_EQ(r.exit_status, 0);
}

}  // namespace
}  // namespace ringcap::cli

namespace ringcap::cli {
namespace {

TEST(CliBusyPoll, FlagAloneSpinsForTheWholeTimeoutAndLeavesTheExpressionAlone) {
    const ParseResult r = parse({"-i", "veth0", "--busy-poll", "udp", "port", "53"});
    ASSERT_TRUE(r.options.has_value()) << r.message;
    ASSERT_TRUE(r.options->capture.busy_poll.has_value());
    EXPECT_EQ(r.options->capture.busy_poll->count(), 0);
    EXPECT_EQ(r.options->capture.filter, "udp port 53");
}

TEST(CliBusyPoll, ValueIsMicroseconds) {
    const ParseResult r = parse({"-i", "veth0", "--busy-poll=50"});
    ASSERT_TRUE(r.options.has_value()) << r.message;
    EXPECT_EQ(r.options->capture.busy_poll->count(), 50);
}

TEST(CliBusyPoll, OffByDefaultAndRejectsGarbage) {
    const ParseResult off = parse({"-i", "veth0"});
    ASSERT_TRUE(off.options.has_value());
    EXPECT_FALSE(off.options->capture.busy_poll.has_value());
    const ParseResult bad = parse({"-i", "veth0", "--busy-poll=fast"});
    EXPECT_FALSE(bad.options.has_value());
    EXPECT_EQ(bad.exit_status, 1);
    EXPECT_NE(bad.message.find("fast"), std::string::npos);
}

TEST(CliRotation, FileSizeIsMillionsOfBytesOrBinaryWithASuffix) {
    EXPECT_EQ(parse_file_size("10"), 10'000'000u);  // tcpdump's unit
    EXPECT_EQ(parse_file_size("100k"), 100u * 1024);
    EXPECT_EQ(parse_file_size("3M"), 3u << 20);
    EXPECT_EQ(parse_file_size("2g"), 2ull << 30);
    for (const char* bad : {"", "0", "-5", "k", "5T", "5kb", "99999999999999999999"})
        EXPECT_FALSE(parse_file_size(bad).has_value()) << bad;
}

TEST(CliRotation, OptionsAreParsedAndNeedAFile) {
    const ParseResult r =
        parse({"-i", "veth0", "-w", "x.pcap", "-C", "5M", "-G", "60", "-W", "4", "-z", "gzip -9"});
    ASSERT_TRUE(r.options.has_value()) << r.message;
    EXPECT_EQ(r.options->rotate_bytes, 5u << 20);
    EXPECT_EQ(r.options->rotate_seconds, 60u);
    EXPECT_EQ(r.options->ring_files, 4u);
    EXPECT_EQ(r.options->post_rotate_command, "gzip -9");
    EXPECT_EQ(parse({"-i", "veth0", "-C", "5"}).exit_status, 1);
    EXPECT_EQ(parse({"-i", "veth0", "-w", "x", "-W", "5"}).exit_status, 1);
    EXPECT_EQ(parse({"-i", "veth0", "-w", "x", "-G", "0"}).exit_status, 1);
}

}  // namespace
}  // namespace ringcap::cli

namespace ringcap::cli {
namespace {

TEST(WorkerFileName, PercentWOrANumberBeforeTheExtension) {
    EXPECT_EQ(worker_file_name("out-%w.pcap", 3), "out-3.pcap");
    EXPECT_EQ(worker_file_name("out.pcap", 0), "out-0.pcap");
    EXPECT_EQ(worker_file_name("/d.x/out.pcapng", 12), "/d.x/out-12.pcapng");
    EXPECT_EQ(worker_file_name("/d.x/out", 1), "/d.x/out-1");  // the dot is the directory's
    EXPECT_EQ(worker_file_name(".hidden", 1), ".hidden-1");
    EXPECT_EQ(worker_file_name("-", 1), "-");
}

}  // namespace
}  // namespace ringcap::cli
