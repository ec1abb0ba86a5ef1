#pragma once
// pcap file writer: records go into a large buffer and out with one write() per buffer. A record
// never straddles two writes, and on a failed write the file is cut back to the last whole
// record, so whatever happens the file on disk is valid.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include <ringcap/options.hpp>
#include <ringcap/packet.hpp>

namespace ringcap {

enum class TimestampPrecision { micro, nano };

struct PcapWriterOptions {
    LinkType link_type = LinkType::ethernet;
    std::uint32_t snaplen = kDefaultSnaplen;
    TimestampPrecision precision = TimestampPrecision::micro;  // tcpdump's default magic
    std::size_t buffer_size = 1u << 20;
};

class PcapWriter {
public:
    // path "-" writes to standard output. Throws ringcap::Error if the file cannot be created.
    static PcapWriter create(const std::string& path, const PcapWriterOptions& options);
    // Writes to an fd the caller owns (not closed by the writer).
    static PcapWriter on_fd(int fd, const PcapWriterOptions& options);

    PcapWriter(PcapWriter&&) noexcept;
    PcapWriter& operator=(PcapWriter&&) noexcept;
    ~PcapWriter();  // closes; errors at this point are kept, never thrown

    // Appends one record; writes the buffer out when full. Throws ringcap::Error on a write
    // failure (ENOSPC, EIO, EPIPE) after cutting the file back to the last whole record.
    void write(const PacketView& packet) {
        const std::size_t need = kRecordHeader + packet.caplen();
        if (need > capacity_ - used_) make_room(need);
        put(packet);
    }
    // Appends whole records already in this file's format (pcap records in host byte order, with
    // this file's timestamp precision), e.g. a run of records of a mapped input file. Small
    // runs are copied into the buffer in one go; runs of kDirectRun bytes or more are written
    // straight from `records` after a flush, with no copy. Same guarantees as write().
    void write_records(std::span<const std::byte> records, std::uint64_t count);
    void flush();   // writes what is buffered
    void close();   // flush and close; throws on failure

    std::uint64_t records() const noexcept { return records_; }
    std::uint64_t bytes_written() const noexcept { return committed_; }
    // What the file will hold once flushed: written plus buffered bytes.
    std::uint64_t file_size() const noexcept { return committed_ + used_; }

    static constexpr std::size_t kFileHeader = 24;
    static constexpr std::size_t kRecordHeader = 16;
    static constexpr std::size_t kDirectRun = 32u << 10;

private:
    PcapWriter() = default;
    void make_room(std::size_t need);
    void start(const PcapWriterOptions& options);
    std::size_t whole_records_within(std::size_t written) const noexcept;
    void write_out(const std::byte* data, std::size_t size, std::size_t records_from);

    // One record: 16-byte header in host order (the magic tells readers which), then the bytes.
    void put(const PacketView& packet) noexcept {
        std::byte* d = buf_.get() + used_;
        const std::int64_t ts = packet.ts_ns();
        const std::uint32_t header[4] = {
            static_cast<std::uint32_t>(ts / 1'000'000'000),
            static_cast<std::uint32_t>(nano_ ? ts % 1'000'000'000 : ts % 1'000'000'000 / 1000),
            packet.caplen(), packet.wire_len()};
        std::memcpy(d, header, sizeof header);
        std::memcpy(d + kRecordHeader, packet.data(), packet.caplen());
        used_ += kRecordHeader + packet.caplen();
        ++records_;
    }

    int fd_ = -1;
    bool owns_fd_ = false;
    bool can_truncate_ = false;
    bool nano_ = false;
    bool header_pending_ = false;  // the file header is still in the buffer
    std::string path_;
    std::unique_ptr<std::byte[], void (*)(std::byte*)> buf_{nullptr, nullptr};
    std::size_t capacity_ = 0;
    std::size_t used_ = 0;
    std::uint64_t committed_ = 0;  // bytes known to be in the file
    std::uint64_t records_ = 0;
};

}  // namespace ringcap
