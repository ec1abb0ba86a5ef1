#pragma once
#include <csignal>

#include "command_line.hpp"

namespace ringcap::cli {

// ringcap gen / ringcap replay. `stop` is set by SIGINT/SIGTERM; both end by draining the ring
// and printing their statistics.
int run_gen(const TxCliOptions& options, const volatile std::sig_atomic_t& stop);
int run_replay(const TxCliOptions& options, const volatile std::sig_atomic_t& stop);

}  // namespace ringcap::cli
