// ringcap conn: reads connection records from ProcessMap until a signal, -c or --duration, and
// prints each one that passes the filters as one line (text or JSON); a summary at the end.
#include "conn_cmd.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <ringcap/conn.hpp>
#include <ringcap/error.hpp>
#include <ringcap/types.hpp>

#include "signals.hpp"
#include "sys/clock.hpp"
#include "sys/procfs.hpp"

namespace ringcap::cli {
namespace {

std::string error_line(const Error& e) {
    std::string line = fmt::format("ringcap conn: {}", e.what());
    if (!e.hint().empty()) line += fmt::format(" ({})", e.hint());
    return line;
}

// Where the lines go: standard output, or the -w file; flushed after every batch.
class LineOut {
  public:
    explicit LineOut(const std::string& path) {
        if (path.empty() || path == "-") return;
        file_.open(path, std::ios::out | std::ios::trunc);
        if (!file_) throw Error(errno, "cannot open '" + path + "' for writing");
        path_ = path;
    }
    void line(const std::string& s) {
        std::ostream& o = path_.empty() ? std::cout : file_;
        o << s << '\n';
    }
    void flush() {
        std::ostream& o = path_.empty() ? std::cout : file_;
        o.flush();
        if (!o) throw Error(EIO, "writing " + (path_.empty() ? "standard output" : path_));
    }

  private:
    std::ofstream file_;
    std::string path_;
};

std::string summary(std::uint64_t written, std::uint64_t read, const ProcessMapStats& s) {
    std::string line = fmt::format(
        "ringcap conn: {} records written, {} read; lost in the ring buffer: {}; evicted: {} "
        "processes, {} connections; sockets without a record: {}",
        written, read, s.lost, s.process_evictions, s.connection_evictions, s.no_storage);
    if (s.bpf_runs != 0)  // only counted with sysctl kernel.bpf_stats_enabled=1
        line += fmt::format("; BPF programs: {} runs, {:.3f} ms", s.bpf_runs, s.bpf_run_ns / 1e6);
    return line;
}

}  // namespace

ConnParseResult parse_conn_command_line(int argc, const char* const* argv) {
    ConnCliOptions o;
    CLI::App app{"ringcap conn: a log of network connections and the processes that made them",
                 "ringcap conn"};
    app.get_formatter()->column_width(30);
    std::string attribution = "auto";
    bool no_existing = false;
    app.add_flag("--json", o.json, "one JSON object per line (Elastic Common Schema fields)");
    app.add_option("-w", o.write_path, "write the lines to FILE instead of standard output")
        ->option_text("FILE");
    app.add_option("-c", o.count, "stop after N records")
        ->check(CLI::PositiveNumber)
        ->option_text("N");
    app.add_option("--duration", o.duration_s, "stop after SEC seconds")
        ->check(CLI::PositiveNumber)
        ->option_text("SEC");
    app.add_option("--pid", o.pids, "only records of process PID (repeatable)")->option_text("PID");
    app.add_option("--comm", o.comms, "only records of command NAME (repeatable)")
        ->option_text("NAME");
    app.add_option("--uid", o.uids, "only records of user UID (repeatable)")->option_text("UID");
    app.add_option("--container", o.containers,
                   "only records of container ID, or of ids starting with it (repeatable)")
        ->option_text("ID");
    app.add_option("--attribution", attribution,
                   "auto (BPF, or procfs when BPF cannot load), bpf or procfs")
        ->check(CLI::IsMember({"auto", "bpf", "procfs"}))
        ->option_text("MODE");
    app.add_flag("--no-existing", no_existing, "no records for sockets open at the start");
    try {
        app.parse(argc - 1, argv + 1);
    } catch (const CLI::CallForHelp&) {
        return {.exit_status = 0, .message = app.help()};
    } catch (const CLI::ParseError& e) {
        return {.exit_status = 1,
                .message = std::string("ringcap conn: ") + e.what() +
                           "\nRun ringcap conn --help for usage."};
    }
    o.map.attribution = attribution == "bpf"      ? Attribution::bpf
                        : attribution == "procfs" ? Attribution::procfs
                                                  : Attribution::automatic;
    o.map.report_existing = !no_existing;
    for (const std::uint32_t pid : o.pids)
        if (pid == 0 || !sys::path_exists("/proc/" + std::to_string(pid)))
            return {.exit_status = 1,
                    .message = fmt::format("ringcap conn: --pid {}: no such process", pid)};
    return {.options = std::move(o)};
}

bool conn_selected(const ConnCliOptions& o, const ConnEvent& e) {
    const ProcessInfo& p = *e.process;
    auto any = [](const auto& list, auto&& pred) {
        return list.empty() || std::any_of(list.begin(), list.end(), pred);
    };
    return any(o.pids, [&](std::uint32_t pid) { return pid == p.pid || pid == e.thread_id; }) &&
           any(o.comms, [&](const std::string& c) { return c == p.comm || c == e.thread_name; }) &&
           any(o.uids, [&](std::uint32_t uid) { return uid == e.uid; }) &&
           any(o.containers, [&](const std::string& c) {
               return !p.container_id.empty() && p.container_id.starts_with(c);
           });
}

int run_conn(int argc, char** argv) {
    ConnParseResult parsed = parse_conn_command_line(argc, argv);
    if (!parsed.options) {
        std::fputs(parsed.message.c_str(), parsed.exit_status == 0 ? stdout : stderr);
        std::fputc('\n', parsed.exit_status == 0 ? stdout : stderr);
        return parsed.exit_status;
    }
    const ConnCliOptions& o = *parsed.options;
    try {
        const StopToken stop = stop_on_signals();
        LineOut out(o.write_path);
        ProcessMap map = ProcessMap::open(o.map);
        for (const std::string& note : map.notes()) fmt::print(stderr, "ringcap conn: {}\n", note);
        fmt::print(stderr, "ringcap conn: recording connections ({} attribution)\n",
                   map.mode() == Attribution::bpf ? "bpf" : "procfs");
        const std::int64_t deadline =
            o.duration_s > 0 ? sys::monotonic_ns() + std::int64_t(o.duration_s * 1e9) : 0;
        std::uint64_t written = 0, read = 0;
        bool done = false;
        while (!done && !stop.stop_requested()) {
            if (deadline != 0 && sys::monotonic_ns() >= deadline) break;
            for (const ConnEvent& e : map.read(std::chrono::milliseconds(100))) {
                ++read;
                if (!conn_selected(o, e)) continue;
                out.line(o.json ? to_json(e) : to_text(e));
                if (++written == o.count) {
                    done = true;
                    break;
                }
            }
            out.flush();
        }
        fmt::print(stderr, "{}\n", summary(written, read, map.stats()));
        return 0;
    } catch (const Error& e) {
        fmt::print(stderr, "{}\n", error_line(e));
        return 1;
    }
}

}  // namespace ringcap::cli
