#pragma once
// The ringcap command line: tcpdump's flags where tcpdump has one, long flags for the rest.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/decode.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/gen.hpp>
#include <ringcap/options.hpp>
#include <ringcap/pcap_writer.hpp>

#include "process_options.hpp"

namespace ringcap::cli {

struct CliOptions {
    CaptureOptions capture;
    std::string write_path;            // -w; "-" is standard output
    std::string read_path;             // -r; "-" is standard input
    bool pcapng = false;               // --pcapng (also: -w NAME.pcapng)
    std::uint64_t rotate_bytes = 0;    // -C, in bytes
    std::uint32_t rotate_seconds = 0;  // -G
    std::uint32_t ring_files = 0;      // -W
    std::string post_rotate_command;   // -z
    std::uint64_t count = 0;           // -c; 0 = no limit
    bool list_interfaces = false;      // -D
    bool dump_filter = false;          // -d
    bool packet_buffered = false;      // -U
    bool count_only = false;           // --count: only the final count
    bool line_buffered = false;        // -l
    TimestampPrecision precision = TimestampPrecision::micro;
    // How printed packets look: -t.. -e -v -q -x.. -X.. -S (decode.precision follows precision).
    DecodeOptions decode;
    bool json = false;  // --json: one JSON object per packet
    // Several sockets: every -i in order (capture.interface is the first), fanout workers on
    // each, and how their packets come together.
    std::vector<std::string> interfaces;
    std::size_t workers = 1;  // --workers
    FanoutOptions fanout;     // --fanout MODE[,defrag][,rollover], --fanout-group ID
    std::vector<int> cpus;    // --cpus LIST
    bool merge = false;       // --merge: one time-ordered output for every worker
    bool stats = false;       // --stats: a line per worker (and stage) at the end
    // The loss ledger (issue 13): --stats[=json][,drops], --duration, and whether stderr gets
    // the live status line (a terminal, and not -q).
    bool stats_json = false;     // --stats=json: the ledger as one JSON object
    bool stats_drops = false;    // --stats=drops: count the stack's drops (BPF, kfree_skb)
    std::uint32_t duration = 0;  // --duration SEC: stop after SEC seconds (0: no limit)
    bool quiet_status = false;   // -q: no live status line
    // --process (-k), --pid, --comm, --attribution: packets with their processes.
    ProcessCliOptions process;
    // --max-latency MS (or --block-timeout MS): how long a packet may wait in the ring; unset,
    // the output decides (choose_latency() in output.hpp). --max-latency 0 sets
    // capture.low_latency (--immediate-mode).
    std::optional<std::chrono::milliseconds> max_latency;
    // tcpdump's other flags (cli/compat.cpp carries out what parsing cannot).
    DumpStyle dump_style = DumpStyle::text;  // -d, -dd, -ddd
    std::string filter_file;                 // -F: the expression from a file
    std::string file_list;                   // -V: a file naming the files to read
    std::vector<std::string> read_paths;     // -r FILE, or the files -V names
    bool print_packets = false;              // --print: print lines while writing -w
    bool number_packets = false;             // -#, --number
    std::optional<std::string> user;         // -Z; nullopt: ringcap's default (privileges.hpp)
    std::string link_type_name;              // -y
    bool list_link_types = false;            // -L
    std::string time_stamp_type;             // -j
    bool list_time_stamp_types = false;      // -J
};

// ringcap gen / ringcap replay.
struct TxCliOptions {
    std::string interface;
    bool qdisc_bypass = false;
    bool zero_copy = false;                 // --zero-copy: TxOptions::zero_copy
    std::optional<std::size_t> buffer_kib;  // -B
    std::uint64_t limit = 0;                // stop after this many packets (0: no limit)
    // replay
    std::vector<std::string> files;
    bool topspeed = false;
    double multiplier = 1.0;
    double pps = 0;          // 0: not set
    double mbps = 0;         // 0: not set
    std::uint64_t loop = 1;  // 0: forever
    // gen
    UdpFlowSpec flow{};
    double rate = 0;  // packets per second, 0: as fast as possible
};

enum class Command { capture, gen, replay };

// What parsing decided: run with options, or exit now with a status (after --help or --version,
// on standard output, or an error whose message is in `message`).
struct ParseResult {
    Command command = Command::capture;
    std::optional<TxCliOptions> tx;
    std::optional<CliOptions> options;
    int exit_status = 0;
    std::string message;
};

ParseResult parse_command_line(int argc, const char* const* argv);

// -C's argument: millions of bytes, as tcpdump, or with a k, M or G suffix KiB, MiB or GiB.
// nullopt when it is not such a size.
std::optional<std::uint64_t> parse_file_size(const std::string& text);

// tcpdump's usage line, for errors on the command line.
extern const char* const kUsage;

}  // namespace ringcap::cli
