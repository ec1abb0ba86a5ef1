#pragma once
// Capture with several sockets: fanout workers on one interface (--workers N), several
// interfaces (-i A -i B), or both. Each worker writes its own file, or all of them go into one
// output in timestamp order (--merge; always for several interfaces and for printed lines).
#include <ringcap/types.hpp>

#include "command_line.hpp"

namespace ringcap::cli {

// Whether the options ask for more than one socket.
bool wants_group(const CliOptions& o) noexcept;

int group_capture_cmd(const CliOptions& o, StopToken stop);

// The file of worker `worker`: "%w" in the name replaced by its number, or "-N" put before the
// extension ("out.pcap" -> "out-1.pcap"). "-" stays "-".
std::string worker_file_name(const std::string& pattern, std::size_t worker);

}  // namespace ringcap::cli
