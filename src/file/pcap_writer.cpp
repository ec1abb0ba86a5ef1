#include <ringcap/pcap_writer.hpp>

#include <ringcap/error.hpp>

#include "file/format.hpp"
#include "file/output_file.hpp"

namespace ringcap {

using detail::OutputFile;

PcapWriter PcapWriter::create(const std::string& path, const FileWriterOptions& options) {
    return PcapWriter(OutputFile::create(path, OutputFile::Framing::pcap_records, options),
                      options);
}

PcapWriter PcapWriter::on_fd(int fd, const FileWriterOptions& options) {
    return PcapWriter(OutputFile::on_fd(fd, OutputFile::Framing::pcap_records, options), options);
}

PcapWriter::PcapWriter(std::unique_ptr<detail::RecordBuffer> file, const FileWriterOptions& options)
    : FileWriter(std::move(file)),
      nano_(options.precision == TimestampPrecision::nano),
      link_(options.link_type) {
    const std::uint32_t header[6] = {nano_ ? format::kPcapMagicNano : format::kPcapMagicMicro,
                                     2u | (4u << 16),  // version 2.4, in host order like the magic
                                     0,
                                     0,
                                     options.snaplen,
                                     static_cast<std::uint32_t>(options.link_type)};
    static_assert(sizeof header == kFileHeader);
    detail::output_file(*buf_).start_header(std::as_bytes(std::span(header)));
}

bool PcapWriter::add_interface(const FileInterface& interface) {
    return static_cast<LinkType>(interface.link_type) == link_;
}

void PcapWriter::write_records(std::span<const std::byte> records, std::uint64_t count) {
    detail::output_file(*buf_).queue_run(records, count);
}

}  // namespace ringcap
