#pragma once
// What the two capture-file writers share (PcapWriter in pcap_writer.hpp, PcapngWriter in
// pcapng_writer.hpp): their options, and FileWriter, the file they write. Records are built in a
// large buffer and go out with one write() per buffer. A record never straddles two writes, and
// on a failed write the file is cut back to the last whole record (pcapng: block), so whatever
// happens the file on disk is valid.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <ringcap/sink.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

// pcapng for a name ending in ".pcapng", pcap otherwise (tcpdump's format, for its scripts).
FileFormat format_for_name(const std::string& path) noexcept;

struct FileWriterOptions {
    LinkType link_type = LinkType::ethernet;  // of interface 0
    std::uint32_t snaplen = kDefaultSnaplen;
    TimestampPrecision precision = TimestampPrecision::micro;  // pcap: tcpdump's default magic
    std::size_t buffer_size = 1u << 20;
    // pcapng: interface 0's if_name and if_description (empty: left out).
    std::string interface_name;
    std::string interface_description;
    // The sink's end_batch() writes the buffer out (tcpdump -U); otherwise only a full buffer,
    // flush() and close() do.
    bool flush_each_batch = false;
};

namespace detail {

// The buffer a writer builds records in, read and written inline per packet. The file behind it
// (fd, name, queued runs, counters) lives in a class of src/file derived from it: whoever owns
// the buffer owns the file, and destroying it writes out what is buffered and closes the file.
class RecordBuffer {
  public:
    virtual ~RecordBuffer() = default;
    RecordBuffer(const RecordBuffer&) = delete;
    RecordBuffer& operator=(const RecordBuffer&) = delete;

    std::byte* data = nullptr;
    std::size_t used = 0;
    std::size_t capacity = 0;
    std::uint64_t records = 0;

  protected:
    RecordBuffer() = default;
};

}  // namespace detail

class FileWriter : public Sink {
  public:
    // Moving leaves the source empty; assigning to a writer finishes its file first, as its
    // destructor does (write errors at that point are counted, never thrown).
    FileWriter(FileWriter&&) noexcept = default;
    FileWriter& operator=(FileWriter&&) noexcept = default;
    ~FileWriter() override = default;

    // Writes what is buffered. Throws ringcap::Error on a write failure (ENOSPC, EIO, EPIPE)
    // after cutting the file back to the last whole record.
    void flush();
    // Flushes and closes; throws as flush() does (the file is closed either way). Again: no-op.
    void close() override;
    void end_batch() override;

    std::uint64_t records() const noexcept { return buf_ ? buf_->records : 0; }
    std::uint64_t bytes_written() const noexcept;  // bytes known to be in the file
    // What the file will hold once flushed: written plus buffered bytes.
    std::uint64_t file_size() const noexcept;

    // What writing cost and met, for statistics: failed write()/writev() calls (each thrown
    // once, or counted only when a destructor met it), calls that wrote less than asked (the
    // rest is written by the next call), and the time spent in write()/writev() in ns (one clock
    // read before and after each call, never per packet).
    std::uint64_t write_errors() const noexcept;
    std::uint64_t short_writes() const noexcept;
    std::uint64_t blocked_ns() const noexcept;
    // Packets written into the buffer that a failed write cut off: not in the file.
    std::uint64_t records_lost() const noexcept;

  protected:
    explicit FileWriter(std::unique_ptr<detail::RecordBuffer> file) noexcept
        : buf_(std::move(file)) {}

    // Room for `need` more bytes at the end of the buffer, written out (or grown) first if need
    // be; commit() then counts them and a record.
    std::byte* room(std::size_t need) {
        if (need > buf_->capacity - buf_->used) make_room(need);
        return buf_->data + buf_->used;
    }
    void commit(std::size_t size) noexcept {
        buf_->used += size;
        ++buf_->records;
    }
    void make_room(std::size_t need);

    std::unique_ptr<detail::RecordBuffer> buf_;
};

}  // namespace ringcap
