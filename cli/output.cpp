#include "output.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include <ringcap/rotating_writer.hpp>

#include "printer.hpp"
#include "process_sink.hpp"
#include "report.hpp"
#include "sys/file.hpp"
#include "sys/process.hpp"

namespace ringcap::cli {
namespace {

// -z: `sh -c 'CMD "$1"' sh FILE`, not waited for (SIGCHLD is ignored, so the kernel reaps
// it). Through the shell, "gzip -9" works as well as tcpdump's single program name.
void run_post_rotate(const std::string& command, const std::string& file) {
    if (const int err = sys::spawn_shell(command, file); err != 0)
        say(fmt::format("ringcap: -z: cannot run '{}' on {}: {}", command, file,
                        std::strerror(err)));
}

std::unique_ptr<Sink> open_file(const CliOptions& o, OutputSource source) {
    RotationOptions rotation{.max_bytes = o.rotate_bytes,
                             .period = std::chrono::seconds(o.rotate_seconds),
                             .ring_files = o.ring_files,
                             .before_close = std::move(source.before_close)};
    if (!o.post_rotate_command.empty()) {
        sys::reap_children_automatically();
        rotation.on_finished = [cmd = o.post_rotate_command](const std::string& file) {
            run_post_rotate(cmd, file);
        };
    }
    const bool ng = o.pcapng || format_for_name(o.write_path) == FileFormat::pcapng;
    auto file = std::make_unique<RotatingWriter>(
        o.write_path, ng ? FileFormat::pcapng : FileFormat::pcap,
        FileWriterOptions{.link_type = source.link,
                          .snaplen = source.snaplen,
                          .precision = o.precision,
                          .interface_name = source.interface_name,
                          .interface_description = source.interface_description,
                          .flush_each_batch = o.packet_buffered},
        std::move(rotation));
    if (source.open_first_file) file->open_now(std::chrono::system_clock::now());
    return file;
}

}  // namespace

std::unique_ptr<Sink> open_output(const CliOptions& o, OutputSource source,
                                  std::mutex* shared_stdout) {
    CaptureAttribution* process = source.process;
    const LinkType link = source.link;
    std::unique_ptr<Sink> out;
    if (!o.write_path.empty())
        out = open_file(o, std::move(source));
    else if (o.count_only)
        out = std::make_unique<CountingSink>();
    else
        out = std::make_unique<LinePrinter>(sys::kStdout, link, o, shared_stdout);
    return process ? process->wrap(std::move(out), link) : std::move(out);
}

}  // namespace ringcap::cli
