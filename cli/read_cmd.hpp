#pragma once
// ringcap -r FILE: the file's packets through the filter to the same outputs as a capture.
#include <ringcap/types.hpp>

#include "command_line.hpp"

namespace ringcap::cli {

int read_cmd(const CliOptions& o, StopToken stop);

}  // namespace ringcap::cli
