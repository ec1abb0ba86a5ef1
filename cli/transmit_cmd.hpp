#pragma once
#include <ringcap/types.hpp>

#include "command_line.hpp"

namespace ringcap::cli {

// ringcap gen / ringcap replay. `stop` is requested by SIGINT/SIGTERM; both end by draining the
// ring and printing their statistics.
int run_gen(const TxCliOptions& options, StopToken stop);
int run_replay(const TxCliOptions& options, StopToken stop);

}  // namespace ringcap::cli
