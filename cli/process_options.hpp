#pragma once
// --process (-k, as macOS tcpdump spells it), --pid, --comm and --attribution on captures: each
// packet with the process that owns its socket, and captures filtered by process.
#include <cstdint>
#include <string>
#include <vector>

#include <ringcap/procmap.hpp>

namespace CLI {
class App;
}

namespace ringcap::cli {

struct CliOptions;

struct ProcessCliOptions {
    bool annotate = false;            // --process / -k: the owner on every packet shown
    std::vector<std::uint32_t> pids;  // --pid: only packets of these processes (or threads)
    std::vector<std::string> comms;   // --comm: only packets of these commands
    Attribution attribution = Attribution::automatic;  // --attribution

    // Whether the capture needs process attribution (--pid and --comm need it to filter).
    bool wanted() const noexcept { return annotate || !pids.empty() || !comms.empty(); }
};

// Declares the options, in one block of --help.
void add_process_options(CLI::App& app, ProcessCliOptions& o, std::string& attribution);
// After parsing: the options as given, checked against the rest. An error message, or "".
std::string check_process_options(CliOptions& o, const std::string& attribution);

}  // namespace ringcap::cli
