#pragma once
// Capture file writer, pcap or pcapng: records go into a large buffer and out with one write()
// per buffer. A record never straddles two writes, and on a failed write the file is cut back to
// the last whole record (pcapng: block), so whatever happens the file on disk is valid.
//
// pcapng: a Section Header Block (shb_os, shb_hardware, shb_userappl), one Interface Description
// Block per interface (if_name, if_description, if_tsresol = nanoseconds, link type, snaplen),
// Enhanced Packet Blocks with epb_flags (direction and reception type from the packet type; no
// epb_flags when the direction is not known, e.g. packets read from a pcap file) and an optional
// comment, and Interface Statistics Blocks on request.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ringcap/packet.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

// pcapng for a name ending in ".pcapng", pcap otherwise (tcpdump's format, for its scripts).
FileFormat format_for_name(const std::string& path) noexcept;

struct PcapWriterOptions {
    LinkType link_type = LinkType::ethernet;  // of interface 0
    std::uint32_t snaplen = kDefaultSnaplen;
    TimestampPrecision precision = TimestampPrecision::micro;  // pcap: tcpdump's default magic
    std::size_t buffer_size = 1u << 20;
    FileFormat format = FileFormat::pcap;
    // pcapng: interface 0's if_name and if_description (empty: left out).
    std::string interface_name;
    std::string interface_description;
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

    // Appends one record (pcapng: on interface 0); writes the buffer out when full. Throws
    // ringcap::Error on a write failure (ENOSPC, EIO, EPIPE) after cutting the file back to the
    // last whole record.
    void write(const PacketView& packet) {
        const std::size_t need = record_size(packet);
        if (need > capacity_ - used_) make_room(need);
        if (ng_)
            put_enhanced(packet, 0, {});
        else
            put(packet);
    }
    // pcapng: a packet on a declared interface, with an opt_comment if `comment` is not empty.
    void write(const PacketView& packet, std::uint32_t interface, std::string_view comment = {});
    // pcapng: declares interface 1, 2, ... (an IDB); returns its id. pcap: throws EINVAL.
    std::uint32_t add_interface(LinkType link, std::uint32_t snaplen, const std::string& name,
                                const std::string& description);
    // pcapng: an Interface Statistics Block for `interface`, stamped now: packets the kernel
    // received (isb_ifrecv) and dropped (isb_ifdrop) since the capture started. pcap: no-op.
    void write_statistics(std::uint32_t interface, std::uint64_t received, std::uint64_t dropped);

    // Bytes the record of `packet` takes in this file (pcapng: without a comment).
    std::size_t record_size(const PacketView& packet) const noexcept {
        if (!ng_) return kRecordHeader + packet.caplen();
        return kEnhancedOverhead + ((packet.caplen() + 3u) & ~3u) +
               (has_direction(packet) ? kEpbFlagsOption : 0);
    }
    // pcapng: the packet gets an epb_flags option (its direction is known).
    static bool has_direction(const PacketView& packet) noexcept {
        return packet.pkttype() != kPacketTypeUnknown;
    }
    FileFormat format() const noexcept { return ng_ ? FileFormat::pcapng : FileFormat::pcap; }
    // Appends whole records already in this file's format (pcap records in host byte order, with
    // this file's timestamp precision), e.g. a run of records of a mapped input file, without
    // copying them: the bytes must stay as they are until the next flush() (or close()), which
    // hands the runs to one writev() (also when kMaxQueued runs are waiting). Same guarantees as
    // write().
    void write_records(std::span<const std::byte> records, std::uint64_t count);
    void flush();  // writes what is buffered
    void close();  // flush and close; throws on failure

    std::uint64_t records() const noexcept { return records_; }
    std::uint64_t bytes_written() const noexcept { return committed_; }
    // What the file will hold once flushed: written plus buffered bytes.
    std::uint64_t file_size() const noexcept { return committed_ + queued_bytes_ + used_; }

    static constexpr std::size_t kFileHeader = 24;
    static constexpr std::size_t kRecordHeader = 16;
    // EPB: type, length, interface, 2 x timestamp, caplen, length (28), opt_endofopt (4),
    // trailing length (4); the data is padded to 4 bytes. Plus the epb_flags option (8) when the
    // packet's direction is known.
    static constexpr std::size_t kEnhancedOverhead = 36;
    static constexpr std::size_t kEpbFlagsOption = 8;
    // What write_statistics() adds: an ISB with if_id, timestamp, isb_endtime, isb_ifrecv,
    // isb_ifdrop and opt_endofopt.
    static constexpr std::size_t kStatisticsBlock = 64;
    static constexpr std::size_t kMaxQueued = 1024;  // IOV_MAX

  private:
    PcapWriter() = default;
    void make_room(std::size_t need);
    void start(const PcapWriterOptions& options);
    void put_enhanced(const PacketView& packet, std::uint32_t interface,
                      std::string_view comment) noexcept;
    void put_interface(LinkType link, std::uint32_t snaplen, const std::string& name,
                       const std::string& description);
    void write_out(const std::byte* data, std::size_t size, std::size_t records_from);
    void write_queued();
    [[noreturn]] void fail_write(int err, std::size_t keep, std::size_t written);

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
    bool ng_ = false;
    bool header_pending_ = false;  // the file header is still in the buffer
    std::size_t header_size_ = 0;  // pcap file header, or pcapng SHB + first IDB
    std::uint32_t interfaces_ = 0;
    std::string path_;
    std::unique_ptr<std::byte[], void (*)(std::byte*)> buf_{nullptr, nullptr};
    std::size_t capacity_ = 0;
    std::size_t used_ = 0;
    std::vector<iovec> queued_;  // write_records() runs, written before the buffer
    std::size_t queued_bytes_ = 0;
    std::uint64_t committed_ = 0;  // bytes known to be in the file
    std::uint64_t records_ = 0;
};

}  // namespace ringcap
