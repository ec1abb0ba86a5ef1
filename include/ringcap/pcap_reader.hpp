#pragma once
// pcap file reader: streams records out of a file or pipe in constant memory. One read(2) fills a
// 1 MiB buffer, records are handed out as PacketViews into it, and a record cut by the buffer end
// is moved to the front before the next read. Reads all four pcap magics (micro/nano, either byte
// order); pcapng is recognised and refused.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <ringcap/packet.hpp>
#include <ringcap/pcap.hpp>

namespace ringcap {

struct PcapFileInfo {
    std::uint32_t link_type = 0;  // raw LINKTYPE_* value from the file header
    std::uint32_t snaplen = 0;
    TimestampPrecision precision = TimestampPrecision::micro;
    bool swapped = false;  // file written in the other byte order
};

class PcapReader {
public:
    // path "-" reads standard input. Throws ringcap::Error: cannot open (errno, path in the
    // message); not a pcap file (EINVAL, names the magic found; pcapng says so); empty file or
    // truncated file header (EINVAL, with the byte count).
    static PcapReader open(const std::string& path);

    PcapReader(PcapReader&&) noexcept;
    PcapReader& operator=(PcapReader&&) noexcept;
    ~PcapReader();

    const PcapFileInfo& info() const noexcept { return info_; }

    // The next record as a PacketView (data, caplen, wire_len, ts_ns; ifindex, pkttype and status
    // 0), valid until the next call; nullopt at a clean end of file. On a damaged record throws
    // ringcap::Error(EINVAL) naming the file, the byte offset of the record and what is wrong
    // (cut short, cut inside its header, absurd caplen); every whole record before it has been
    // returned, and calling again throws the same error. caplen > wire length is accepted, as
    // libpcap does. A read(2) error throws with its errno.
    std::optional<PacketView> next();

    // The whole file is mapped: every PacketView (and the 16-byte record header before its
    // data) stays valid for the reader's lifetime, not only until the next call.
    bool is_mapped() const noexcept;

    std::uint64_t records() const noexcept { return records_; }  // records returned so far
    std::uint64_t offset() const noexcept { return offset_; }    // file offset of the next record

    static constexpr std::size_t kFileHeader = 24;
    static constexpr std::size_t kRecordHeader = 16;
    static constexpr std::size_t kBufferSize = 1u << 20;
    // A caplen above max(snaplen, kMaxSaneSnaplen) or above kMaxCaplen is damage, not a packet.
    static constexpr std::uint32_t kMaxSaneSnaplen = 262144;  // libpcap's MAXIMUM_SNAPLEN
    static constexpr std::uint32_t kMaxCaplen = 16u << 20;

private:
    struct State;
    PcapReader() = default;

    PcapFileInfo info_;
    std::uint64_t records_ = 0;
    std::uint64_t offset_ = 0;
    std::unique_ptr<State> state_;
};

}  // namespace ringcap
