#pragma once
// pcap file writer (libpcap's savefile format, tcpdump -w): a 24-byte file header, then per
// packet a 16-byte record header in host byte order (the magic tells readers which) and the
// bytes. Writing a packet is inline: a bounds check and two copies into the buffer.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include <ringcap/file_writer.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

class PcapWriter final : public FileWriter {
  public:
    // path "-" writes to standard output (as on_fd() does). Throws ringcap::Error if the file
    // cannot be created.
    static PcapWriter create(const std::string& path, const FileWriterOptions& options);
    // Writes to an fd the caller owns and keeps: the writer writes through a duplicate of it
    // and closes only that.
    static PcapWriter on_fd(int fd, const FileWriterOptions& options);

    // Appends one record; writes the buffer out when full. Throws ringcap::Error on a write
    // failure (ENOSPC, EIO, EPIPE) after cutting the file back to the last whole record.
    void write(const PacketView& packet) {
        const std::size_t size = record_size(packet);
        std::byte* d = room(size);
        put_record(d, packet, nano_);
        commit(size);
    }
    // Appends a record for each packet of `packets` (anything with for_each(f), e.g. a Batch),
    // in a loop that keeps the buffer's position in registers and stores it once at the end.
    // Same guarantees as write(); when it throws, records() counts the packets before the one
    // that failed.
    template <class Packets>
    void write_all(Packets& packets) {
        detail::RecordBuffer& b = *buf_;
        std::byte* at = b.data + b.used;
        std::byte* end = b.data + b.capacity;
        std::uint64_t n = 0;
        const bool nano = nano_;
        // Inlined into the walk: a call per packet would spill what the loop keeps in registers.
        packets.for_each([&](const PacketView& packet) __attribute__((always_inline)) {
            const std::size_t size = record_size(packet);
            if (size > static_cast<std::size_t>(end - at)) [[unlikely]] {
                b.used = static_cast<std::size_t>(at - b.data);  // what make_room() writes out
                b.records += std::exchange(n, 0);
                make_room(size);
                at = b.data + b.used;
                end = b.data + b.capacity;
            }
            put_record(at, packet, nano);
            at += size;
            ++n;
        });
        b.used = static_cast<std::size_t>(at - b.data);
        b.records += n;
    }
    // Sink: each packet as a record (its interface does not matter: one link type per file).
    void write(std::span<const PacketView> packets) override {
        for (const PacketView& p : packets) write(p);
    }
    // Sink: true when the interface has this file's link type.
    bool add_interface(const FileInterface& interface) override;

    // Appends whole records already in this file's format (pcap records in host byte order, with
    // this file's timestamp precision), e.g. a run of records of a mapped input file, without
    // copying them: the bytes must stay as they are until the next flush() (or close()), which
    // hands the runs to one writev() (also when kMaxQueued runs are waiting). Same guarantees as
    // write().
    void write_records(std::span<const std::byte> records, std::uint64_t count);

    static std::size_t record_size(const PacketView& packet) noexcept {
        return kRecordHeader + packet.caplen();
    }
    TimestampPrecision precision() const noexcept {
        return nano_ ? TimestampPrecision::nano : TimestampPrecision::micro;
    }
    LinkType link_type() const noexcept { return link_; }

    static constexpr std::size_t kFileHeader = 24;
    static constexpr std::size_t kRecordHeader = 16;
    static constexpr std::size_t kMaxQueued = 1024;  // IOV_MAX

  private:
    PcapWriter(std::unique_ptr<detail::RecordBuffer> file, const FileWriterOptions& options);
    [[gnu::always_inline]] static void put_record(std::byte* at, const PacketView& packet,
                                                  bool nano) noexcept {
        const PacketTime t = packet.time();
        const std::uint32_t header[4] = {static_cast<std::uint32_t>(t.sec),
                                         nano ? t.nsec : t.nsec / 1000, packet.caplen(),
                                         packet.wire_len()};
        std::memcpy(at, header, sizeof header);
        copy_bytes(at + kRecordHeader, packet.data(), packet.caplen());
    }
    // Most packets of a busy link are small (64-byte frames, ACKs), and a call to memcpy() for
    // them costs more than the copy (the loop around it spills its registers): from 16 to 64
    // bytes, two fixed-size copies that overlap in the middle cover every length, inline.
    static void copy_bytes(std::byte* to, const std::byte* from, std::size_t n) noexcept {
        if (n >= 32 && n <= 64) {
            std::memcpy(to, from, 32);
            std::memcpy(to + n - 32, from + n - 32, 32);
        } else if (n >= 16 && n < 32) {
            std::memcpy(to, from, 16);
            std::memcpy(to + n - 16, from + n - 16, 16);
        } else if (n != 0) {  // an empty view may have no data pointer
            std::memcpy(to, from, n);
        }
    }
    PcapWriter* record_file() noexcept override { return this; }

    bool nano_ = false;
    LinkType link_ = LinkType::ethernet;
};

}  // namespace ringcap
