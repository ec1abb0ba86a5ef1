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

// The records' buffer, written out when full. A live capture fills 128 KiB in 0.16 s at 10k pps
// of 64-byte frames, and a buffer that small stays in the CPU's L2 cache between wake-ups:
// measured ~17% less CPU per packet at 10k pps than with 1 MiB, the same at ~1 Mpps (one write()
// per 128 KiB is cheap). Copying a file (-r) keeps 1 MiB: fewer write() calls for gigabytes.
constexpr std::size_t kLiveBuffer = 128u << 10;
constexpr std::size_t kFileBuffer = 1u << 20;

// A live capture writing pcap to a pipe or a terminal (-w -): the program reading it waits for
// each packet, so each batch is written out at once, as with -U. Into a regular file (-w - >
// FILE) it is buffered like any file.
bool someone_reads_stdout(const CliOptions& o) {
    return o.write_path == "-" && o.read_path.empty() &&
           !sys::regular_file_size(sys::kStdout).has_value();
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
                          .buffer_size = o.read_path.empty() ? kLiveBuffer : kFileBuffer,
                          .interface_name = source.interface_name,
                          .interface_description = source.interface_description,
                          .flush_each_batch = o.packet_buffered || someone_reads_stdout(o)},
        std::move(rotation));
    if (source.open_first_file) file->open_now(std::chrono::system_clock::now());
    return file;
}

// --print: packets go to the file and are printed too.
class FileAndPrinter final : public Sink {
  public:
    FileAndPrinter(std::unique_ptr<Sink> file, std::unique_ptr<LinePrinter> printer)
        : file_(std::move(file)), printer_(std::move(printer)) {}
    void write(std::span<const PacketView> packets) override {
        file_->write(packets);
        printer_->write(packets);
    }
    bool add_interface(const FileInterface& interface) override {
        printer_->add_interface(interface);
        return file_->add_interface(interface);
    }
    void end_batch() override {
        file_->end_batch();
        printer_->end_batch();
    }
    void tick(std::chrono::system_clock::time_point now) override { file_->tick(now); }
    void close() override {
        printer_->close();
        file_->close();
    }

  private:
    std::unique_ptr<Sink> file_;
    std::unique_ptr<LinePrinter> printer_;
};

}  // namespace

Latency choose_latency(const CliOptions& o, bool stdout_is_file) {
    if (o.max_latency) return {*o.max_latency, "as asked"};
    if (o.capture.low_latency || o.capture.busy_poll) return {kPromptDelivery, "immediate mode"};
    // A short capture (-c N, N small) costs at most N wake-ups however prompt, and someone
    // waits for it to end: the N-th packet should not wait in the ring.
    if (o.count != 0 && o.count <= kShortCapture)
        return {kPromptDelivery, fmt::format("-c {}", o.count)};
    // The same order as open_output(): a file, a count, printed lines.
    if (o.write_path == "-" && stdout_is_file) return {kBatchedDelivery, "writing a file"};
    if (o.write_path == "-") return {kPromptDelivery, "writing to a pipe"};
    if (!o.write_path.empty() && o.packet_buffered) return {kPromptDelivery, "-U"};
    if (o.print_packets && !stdout_is_file) return {kPromptDelivery, "--print"};
    if (!o.write_path.empty()) return {kBatchedDelivery, "writing a file"};
    if (o.count_only) return {kBatchedDelivery, "counting"};
    if (stdout_is_file) return {kBatchedDelivery, "printing to a file"};
    return {kPromptDelivery, "printing"};
}

std::unique_ptr<Sink> open_output(const CliOptions& o, OutputSource source,
                                  std::mutex* shared_stdout) {
    CaptureAttribution* process = source.process;
    const LinkType link = source.link;
    std::unique_ptr<Sink> out;
    if (!o.write_path.empty() && o.print_packets)  // --print: to the file, and printed too
        out = std::make_unique<FileAndPrinter>(
            open_file(o, std::move(source)),
            std::make_unique<LinePrinter>(sys::kStdout, link, o, shared_stdout));
    else if (!o.write_path.empty())
        out = open_file(o, std::move(source));
    else if (o.count_only)
        out = std::make_unique<CountingSink>();
    else
        out = std::make_unique<LinePrinter>(sys::kStdout, link, o, shared_stdout);
    return process ? process->wrap(std::move(out), link) : std::move(out);
}

}  // namespace ringcap::cli
