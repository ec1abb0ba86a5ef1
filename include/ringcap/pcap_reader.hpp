#pragma once
// Capture file reader: pcap (all four magics: micro/nano, either byte order) and pcapng (sections
// in either byte order, several interfaces with their own link types and timestamp resolutions,
// enhanced, simple and obsolete packet blocks; other blocks skipped), chosen by content. Streams
// in constant memory: a regular file is mapped whole, a pipe goes through a 1 MiB buffer in which
// a record cut by the buffer end is moved to the front before the next read.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/packet.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

// What a file says about an interface: the pcap file header, or a pcapng Interface Description
// Block.
struct FileInterface {
    std::uint32_t link_type = 0;  // raw LINKTYPE_* value
    std::uint32_t snaplen = 0;    // 0 in pcapng means no limit
    std::string name;             // pcapng if_name, if present
    std::string description;      // pcapng if_description, if present
    std::uint8_t tsresol = 6;     // pcapng if_tsresol: 10^-n, or 2^-(n & 0x7f) with the top bit
};

struct PcapFileInfo {
    FileFormat format = FileFormat::pcap;
    // The first interface's (pcap: the file header's); 0 for a pcapng file without interfaces.
    std::uint32_t link_type = 0;
    std::uint32_t snaplen = 0;
    TimestampPrecision precision = TimestampPrecision::micro;  // pcapng: nano
    bool swapped = false;  // (first section) written in the other byte order
};

// How a regular file is read (pipes and standard input are always streamed).
enum class ReadMode {
    // Mapped whole: no copy at all, and every PacketView (with the 16-byte record header before
    // its data) stays valid for the reader's lifetime, so runs of records can be written
    // straight from the mapping (copy_records() does); costs page-table work per page.
    map,
    // read(2) into a kBufferSize buffer: one kernel copy, no page faults; PacketViews are valid
    // until the buffer is refilled.
    stream,
};

class PcapReader {
  public:
    // path "-" reads standard input. The format is chosen by content (the first 4 bytes), never
    // by name. Throws ringcap::Error: cannot open (errno, path in the message); neither pcap nor
    // pcapng (EINVAL, names the magic found); empty file, truncated pcap file header or damage
    // in the pcapng blocks before the first packet (EINVAL, with the byte count or offset).
    static PcapReader open(const std::string& path, ReadMode mode = ReadMode::map);

    PcapReader(PcapReader&&) noexcept;
    PcapReader& operator=(PcapReader&&) noexcept;
    ~PcapReader();

    const PcapFileInfo& info() const noexcept { return info_; }
    // Every interface seen so far, over all sections of the file; a packet's ifindex() is its
    // index here. A pcap file has exactly one.
    const std::vector<FileInterface>& interfaces() const noexcept { return interfaces_; }

    // The next packet as a PacketView (data, caplen, wire_len, ts_ns, ifindex = index into
    // interfaces(); pkttype PACKET_HOST / PACKET_OUTGOING from pcapng's epb_flags direction, else
    // kPacketTypeUnknown), valid until the next call; nullopt at a clean end of file. On a
    // damaged record throws ringcap::Error(EINVAL) naming the file, the byte offset of the record
    // (pcapng: of the block) and what is wrong (cut short, cut inside its header, absurd caplen;
    // pcapng: bad block length, lengths that disagree, packet data past its block, an interface
    // the section has not described, bytes that are not a block); every whole record before it
    // has been returned, and calling again throws the same error. caplen > wire length is
    // accepted, as libpcap does. A read(2) error throws with its errno.
    std::optional<PacketView> next();

    // Back to the first packet of a mapped file, without mapping it again (replay --loop):
    // next() then returns the same packets again, and interfaces() describes them as before.
    // False, changing nothing, when the input is streamed (a pipe cannot go back).
    bool rewind();

    // Reading one mapped pcap file in parts, on several threads (ringcap -r does). A likely
    // record boundary at or after `offset`: four records in a row with sane lengths and times.
    // Only a guess, until a reader that started at a true boundary lands exactly on it. nullopt
    // when there is none within kGuessScan bytes, or the input is not a mapped pcap file.
    std::optional<std::uint64_t> likely_record_at(std::uint64_t offset) const;
    // Continues at `offset`, a record boundary (or a guess from likely_record_at()), with
    // `records` records counted before it, as records() and error messages tell. Mapped pcap
    // files only; throws EINVAL otherwise.
    void seek(std::uint64_t offset, std::uint64_t records);
    // From now on next() returns nullopt once the read position is at or past `offset` (pcap).
    void stop_at(std::uint64_t offset) noexcept;

    // The whole file is mapped: every PacketView (and the 16-byte record header before its
    // data) stays valid for the reader's lifetime, not only until the next call.
    bool is_mapped() const noexcept;
    // The next pcap record is whole in memory already: next() will not read, so earlier
    // PacketViews stay valid through it (always true when mapped).
    bool next_is_buffered() const noexcept;

    std::uint64_t mapped_size() const noexcept;  // bytes of a mapped file; 0 when streamed
    const std::string& path() const noexcept;    // as given to open() ("-": standard input)
    std::uint64_t records() const noexcept { return records_; }  // records returned so far
    std::uint64_t offset() const noexcept { return offset_; }    // file offset of the next record

    static constexpr std::size_t kFileHeader = 24;
    static constexpr std::size_t kRecordHeader = 16;
    static constexpr std::size_t kBufferSize = 128u << 10;
    static constexpr std::size_t kGuessScan = 64u << 10;
    // A caplen above max(snaplen, kMaxSaneSnaplen) or above kMaxCaplen is damage, not a packet.
    static constexpr std::uint32_t kMaxSaneSnaplen = 262144;  // libpcap's MAXIMUM_SNAPLEN
    static constexpr std::uint32_t kMaxCaplen = 16u << 20;

    static constexpr std::size_t kBlockHeader = 8;  // pcapng: block type, total length
    static constexpr std::uint32_t kMaxBlock = kMaxCaplen + 4096;

  private:
    struct State;
    PcapReader() = default;
    std::optional<PacketView> next_pcapng(bool metadata_only);
    PacketView packet_in_block(std::uint32_t type, const std::byte* body, std::size_t size);
    void read_section_header();
    void read_interface(const std::byte* body, std::size_t size);

    PcapFileInfo info_;
    std::vector<FileInterface> interfaces_;
    std::uint64_t records_ = 0;
    std::uint64_t offset_ = 0;
    std::unique_ptr<State> state_;
};

}  // namespace ringcap
