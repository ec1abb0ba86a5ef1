#pragma once
// PRIVATE: the file behind a FileWriter's buffer (see file_writer.hpp): the fd it owns, its name
// for messages, runs queued by PcapWriter::write_records(), and what to do when a write fails
// (cut the file back to its last whole record, so it stays valid).
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <ringcap/file_writer.hpp>

#include "sys/fd.hpp"

namespace ringcap::detail {

class OutputFile final : public RecordBuffer {
  public:
    // How the file's records are told apart, to find the last whole one after a failed write.
    enum class Framing { pcap_records, pcapng_blocks };

    // `path` created ("-": standard output, as on_fd()). Throws ringcap::Error.
    static std::unique_ptr<OutputFile> create(const std::string& path, Framing framing,
                                              const FileWriterOptions& options);
    // A duplicate of `fd`: the caller's fd stays open, the writer closes only its own.
    static std::unique_ptr<OutputFile> on_fd(int fd, Framing framing,
                                             const FileWriterOptions& options);
    // Writes out what is buffered and closes; a write error here is counted, never thrown.
    ~OutputFile() override;

    // The file header (pcap header, or SHB and first IDB), first in the empty buffer. It stays
    // in the buffer after a failed first write: records written later then still get it.
    void start_header(std::span<const std::byte> header);
    // Bytes that are not a packet's record (an IDB, an ISB). An IDB declared before anything else
    // was buffered joins the file header (`joins_header`).
    void append(std::span<const std::byte> block, bool joins_header);
    // Whole records as they lie elsewhere (PcapWriter::write_records()).
    void queue_run(std::span<const std::byte> records, std::uint64_t count);

    void make_room(std::size_t need);
    void flush();
    void close();

    std::uint64_t committed() const noexcept { return committed_; }
    std::uint64_t file_size() const noexcept { return committed_ + queued_bytes_ + used; }
    bool flush_each_batch() const noexcept { return flush_each_batch_; }
    std::uint64_t write_errors() const noexcept { return write_errors_; }
    std::uint64_t short_writes() const noexcept { return short_writes_; }
    std::uint64_t blocked_ns() const noexcept { return blocked_ns_; }
    // Packet records cut off by failed writes of the buffer (runs queued by write_records()
    // are not counted).
    std::uint64_t lost_records() const noexcept { return lost_records_; }

  private:
    OutputFile(sys::Fd fd, std::string name, Framing framing, const FileWriterOptions& options);
    void write_out(const std::byte* bytes, std::size_t size, std::size_t records_from);
    void write_queued();
    [[noreturn]] void fail_write(int err, std::size_t keep, std::size_t written);

    using Storage = std::unique_ptr<std::byte[], void (*)(std::byte*)>;

    sys::Fd fd_;
    std::string name_;  // the path, "standard output" or "fd N", for messages
    Framing framing_;
    bool can_truncate_ = false;
    bool flush_each_batch_ = false;
    bool header_pending_ = false;  // the file header is still in the buffer
    std::size_t header_size_ = 0;
    Storage storage_{nullptr, nullptr};  // `data` points here
    std::vector<iovec> queued_;          // write_records() runs, written before the buffer
    std::size_t queued_bytes_ = 0;
    std::uint64_t committed_ = 0;  // bytes known to be in the file
    std::uint64_t write_errors_ = 0;
    std::uint64_t short_writes_ = 0;
    std::uint64_t blocked_ns_ = 0;
    std::uint64_t lost_records_ = 0;
};

inline OutputFile& output_file(RecordBuffer& buffer) noexcept {
    return static_cast<OutputFile&>(buffer);
}
inline const OutputFile& output_file(const RecordBuffer& buffer) noexcept {
    return static_cast<const OutputFile&>(buffer);
}

}  // namespace ringcap::detail
