// ringcap: the command line. The only code in the project that prints. This file only chooses
// the command; each lives in a file of its own.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string_view>

#include <ringcap/error.hpp>

#include "capture_cmd.hpp"
#include "command_line.hpp"
#include "compat.hpp"
#include "conn_cmd.hpp"
#include "doctor_cmd.hpp"
#include "read_cmd.hpp"
#include "report.hpp"
#include "signals.hpp"
#include "transmit_cmd.hpp"

namespace {

using namespace ringcap;

int run(cli::ParseResult& parsed) {
    if (parsed.tx) {
        const StopToken stop = cli::stop_on_signals();
        return parsed.command == cli::Command::gen ? cli::run_gen(*parsed.tx, stop)
                                                   : cli::run_replay(*parsed.tx, stop);
    }
    cli::CliOptions& o = *parsed.options;
    cli::read_tcpdump_inputs(o);  // -F, -V
    if (o.list_interfaces) return cli::list_interfaces_cmd();
    if (o.dump_filter && !o.read_path.empty()) return cli::dump_filter_cmd(o);
    if (!o.read_paths.empty()) return cli::read_cmd(o, cli::stop_on_signals());
    if (o.capture.interface.empty()) o.capture.interface = cli::default_interface();
    if (o.list_link_types) return cli::list_link_types_cmd(o);
    if (o.list_time_stamp_types) return cli::list_time_stamp_types_cmd(o);
    if (const std::string note = cli::check_link_and_time_stamp(o); !note.empty())
        cli::say("ringcap: note: " + note);
    if (o.dump_filter) return cli::dump_filter_cmd(o);
    return cli::capture_cmd(o, cli::stop_on_signals());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "conn") return cli::run_conn(argc, argv);
    if (argc > 1 && std::string_view(argv[1]) == "doctor") {
        try {  // the doctor's own words after it are a capture's command line
            return cli::doctor_cmd(argc - 1, argv + 1, cli::stop_on_signals());
        } catch (const Error& e) {
            cli::report(e);
            return 1;
        }
    }
    cli::ParseResult parsed = cli::parse_command_line(argc, argv);
    if (!parsed.tx && !parsed.options) {  // --help, or a bad command line
        std::FILE* to = parsed.exit_status == 0 ? stdout : stderr;
        fmt::print(to, "{}\n", parsed.message);
        return parsed.exit_status;
    }
    try {
        return run(parsed);
    } catch (const Error& e) {
        cli::report(e);
        return 1;
    } catch (const std::exception& e) {
        cli::say(fmt::format("ringcap: {}", e.what()));
        return 1;
    }
}
