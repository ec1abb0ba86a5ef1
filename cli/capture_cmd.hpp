#pragma once
// Live capture (ringcap -i IF), and what goes with naming an interface: -D, -d.
#include <string>

#include <ringcap/capture.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/types.hpp>

#include "command_line.hpp"

namespace ringcap::cli {

// Packets from the ring to the output until -c, a stop request or an error; then the summary.
int capture_cmd(const CliOptions& o, StopToken stop);
int list_interfaces_cmd();                 // -D
int dump_filter_cmd(const CliOptions& o);  // -d
class LossWatch;
// The loop of capture_cmd (doctor runs it too): packets to `out` until `limit` (0: none),
// --duration or a stop request, counted in `captured` (also when it throws what the capture or
// the output throws); the filter runs here when the kernel refused it.
void capture_loop(Capture& cap, Sink& out, std::uint64_t limit, const CliOptions& o, StopToken stop,
                  LossWatch& watch, std::uint64_t& captured);
// When --duration ends the capture (CLOCK_REALTIME ns), INT64_MAX without one.
std::int64_t duration_deadline(const CliOptions& o);
// tcpdump's choice when -i is missing: the first interface that is up, running and not loopback.
std::string default_interface();

}  // namespace ringcap::cli
