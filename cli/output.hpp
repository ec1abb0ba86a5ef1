#pragma once
// Where packets go, from the options: a capture file (-w, rotating with -C/-G/-W/-z, -U), printed
// lines, or nowhere but a count (--count); with --process/--pid/--comm behind the sink that gives
// each packet its owner (process_sink.hpp). The same for a live capture and -r, so both honour
// -w, -U, -l and --count alike.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <ringcap/pcapng_writer.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/types.hpp>

#include "command_line.hpp"

namespace ringcap::cli {

class CaptureAttribution;

// What the source is: interface 0 of the files written, and what to add to each file at close.
struct OutputSource {
    LinkType link = LinkType::ethernet;
    std::uint32_t snaplen = kDefaultSnaplen;
    std::string interface_name;
    std::string interface_description;
    // --process, --pid, --comm: each packet with its owner, and the filter by process.
    CaptureAttribution* process = nullptr;
    std::function<void(PcapngWriter&)> before_close;  // e.g. the ISB with the kernel's counts
    // The first file now: errors (permissions, a bad directory) before anything else, and a run
    // without packets still leaves a valid file, as tcpdump's. false: the first packet names it
    // (-r with -G).
    bool open_first_file = true;
};

// `shared_stdout`: for printers of several threads writing standard output (LinePrinter).
std::unique_ptr<Sink> open_output(const CliOptions& o, OutputSource source,
                                  std::mutex* shared_stdout = nullptr);

// How long a live capture's packets may wait in the ring (RingGeometry::block_timeout), from who
// waits for them: a person or a program reading them as they come (lines printed to a terminal
// or a pipe, -w - into a pipe, -U) gets kPromptDelivery; a file or a count, which nobody watches
// fill, gets kBatchedDelivery (a reader woken ~10 times a second at low rates instead of ~1000;
// stdout redirected to a regular file counts as a file), unless the capture is short (-c N with
// N <= kShortCapture: it costs at most N wake-ups, and its end is waited for). --max-latency
// decides when given. `why` says which, for the banner.
inline constexpr std::uint64_t kShortCapture = 1000;
struct Latency {
    std::chrono::milliseconds bound;
    std::string why;
};
Latency choose_latency(const CliOptions& o, bool stdout_is_file);

}  // namespace ringcap::cli
