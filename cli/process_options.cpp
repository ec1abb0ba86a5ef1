#include "process_options.hpp"

#include <CLI/CLI.hpp>

#include <ringcap/file_writer.hpp>

#include "command_line.hpp"
#include "sys/procfs.hpp"

namespace ringcap::cli {

void add_process_options(CLI::App& app, ProcessCliOptions& o, std::string& attribution) {
    const std::string group = "Process attribution";
    app.add_flag("-k,--process", o.annotate,
                 "the process owning each packet's socket: a pid/comm column, JSON process "
                 "fields, pcapng comments (needs pcapng for -w)")
        ->group(group);
    app.add_option("--pid", o.pids, "only packets of process (or thread) PID; repeatable")
        ->option_text("PID")
        ->group(group);
    app.add_option("--comm", o.comms, "only packets of command NAME; repeatable")
        ->option_text("NAME")
        ->group(group);
    app.add_option("--attribution", attribution,
                   "auto (BPF, or procfs when BPF cannot load), bpf or procfs")
        ->check(CLI::IsMember({"auto", "bpf", "procfs"}))
        ->option_text("MODE")
        ->group(group);
}

std::string check_process_options(CliOptions& o, const std::string& attribution) {
    ProcessCliOptions& p = o.process;
    p.attribution = attribution == "bpf"      ? Attribution::bpf
                    : attribution == "procfs" ? Attribution::procfs
                                              : Attribution::automatic;
    if (!p.wanted()) return {};
    if (!o.read_path.empty())
        return "--process, --pid and --comm name the processes running now: they work on live "
               "captures, not with -r";
    // A pcap record has no room for anything but the packet; pcapng has per-packet options.
    const bool pcapng = o.pcapng || format_for_name(o.write_path) == FileFormat::pcapng;
    if (p.annotate && !o.write_path.empty() && !pcapng)
        return "--process: a pcap file has no room for each packet's process: write pcapng "
               "(-w NAME.pcapng or --pcapng); --pid and --comm alone filter into pcap";
    for (const std::uint32_t pid : p.pids)
        if (pid == 0 || !sys::path_exists("/proc/" + std::to_string(pid)))
            return "--pid " + std::to_string(pid) + ": no such process";
    return {};
}

}  // namespace ringcap::cli
