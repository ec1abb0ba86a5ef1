#pragma once
// ringcap conn: the connection log (one record per connection event, text or ECS JSON), from
// ProcessMap. Needs no packet ring.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/procmap.hpp>

namespace ringcap::cli {

struct ConnCliOptions {
    bool json = false;
    std::string write_path;           // -w: the lines go to this file instead of standard output
    std::uint64_t count = 0;          // -c: stop after this many records (0: no limit)
    double duration_s = 0;            // --duration: stop after this many seconds (0: no limit)
    std::vector<std::uint32_t> pids;  // --pid: only these processes (or their threads)
    std::vector<std::string> comms;   // --comm: only these command names
    std::vector<std::uint32_t> uids;  // --uid
    std::vector<std::string> containers;  // --container: ids, or their beginnings (12+ chars)
    ProcessMapOptions map;
};

struct ConnParseResult {
    std::optional<ConnCliOptions> options;  // empty: print `message`, exit with `exit_status`
    int exit_status = 0;
    std::string message;
};

// argv as main() has it, argv[1] being "conn".
ConnParseResult parse_conn_command_line(int argc, const char* const* argv);

// Whether a record passes the filters.
bool conn_selected(const ConnCliOptions& o, const ConnEvent& e);

int run_conn(int argc, char** argv);

}  // namespace ringcap::cli
