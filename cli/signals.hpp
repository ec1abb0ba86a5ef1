#pragma once
// SIGINT and SIGTERM ask the running command to stop (it finishes its output and prints its
// summary); SIGPIPE is ignored, so a reader of standard output that goes away is a write error.
#include <ringcap/types.hpp>

namespace ringcap::cli {

// Installs the handlers (once is enough; again is harmless) and returns the token they set.
StopToken stop_on_signals();

}  // namespace ringcap::cli
