#pragma once
// What the command line says on standard error: one line per error (with the flag that fixes
// it, when one does), and the summaries at the end of a capture or a read.
#include <cstdint>
#include <string>

#include <ringcap/capture.hpp>
#include <ringcap/copy.hpp>
#include <ringcap/error.hpp>

namespace ringcap::cli {

void say(const std::string& line);  // one line on standard error

// The library names its remedies; the command line says them with its own flags.
std::string hint_for(const Error& e);
// "ringcap: WHAT (HINT)".
void report(const Error& e);

// "1 packet", "2 packets".
std::string plural(std::uint64_t n, const char* what);

// tcpdump's three lines after a capture (and the ring's freezes, when it was full).
void report_capture_summary(std::uint64_t captured, const CaptureStats& stats,
                            const CaptureInfo& info);
// "N packets read", or with a filter "N packets matched the filter, of M read".
void report_read_summary(const CopyResult& result, bool filtered);

}  // namespace ringcap::cli
