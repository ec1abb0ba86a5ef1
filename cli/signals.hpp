#pragma once
// SIGINT and SIGTERM ask the running command to stop; SIGUSR1 asks it for its counts, without
// stopping (it finishes its output and prints its
// summary); SIGPIPE is ignored, so a reader of standard output that goes away is a write error.
#include <ringcap/types.hpp>

namespace ringcap::cli {

// Installs the handlers (once is enough; again is harmless) and returns the token they set.
// SIGUSR1 too: it only sets a flag, which the capture loop reads (status_requested()).
StopToken stop_on_signals();

// A SIGUSR1 came since the last call: print the counts now, and go on (as tcpdump).
bool status_requested() noexcept;

}  // namespace ringcap::cli
