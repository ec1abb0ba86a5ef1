#pragma once
// The ringcap command line: tcpdump's flags where tcpdump has one, long flags for the rest.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/options.hpp>
#include <ringcap/pcap.hpp>

namespace ringcap::cli {

struct CliOptions {
    CaptureOptions capture;
    std::string write_path;              // -w; "-" is standard output
    std::uint64_t count = 0;             // -c; 0 = no limit
    bool list_interfaces = false;        // -D
    bool dump_filter = false;            // -d
    bool packet_buffered = false;        // -U
    bool count_only = false;             // -q / --count
    bool line_buffered = false;          // -l
    TimestampPrecision precision = TimestampPrecision::micro;
};

// What parsing decided: run with options, or exit now with a status (after --help, or an
// error whose message is in `message`).
struct ParseResult {
    std::optional<CliOptions> options;
    int exit_status = 0;
    std::string message;
};

ParseResult parse_command_line(int argc, const char* const* argv);

}  // namespace ringcap::cli
