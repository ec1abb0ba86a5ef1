#include "output.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include <ringcap/rotating_writer.hpp>

#include "printer.hpp"
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

std::unique_ptr<Sink> open_output(const CliOptions& o, OutputSource source) {
    if (!o.write_path.empty() && o.print_packets) {
        const LinkType link = source.link;
        return std::make_unique<FileAndPrinter>(
            open_file(o, std::move(source)), std::make_unique<LinePrinter>(sys::kStdout, link, o));
    }
    if (!o.write_path.empty()) return open_file(o, std::move(source));
    if (o.count_only) return std::make_unique<CountingSink>();
    return std::make_unique<LinePrinter>(sys::kStdout, source.link, o);
}

}  // namespace ringcap::cli
