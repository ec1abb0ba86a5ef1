#pragma once
// pcapng file writer: a Section Header Block (shb_os, shb_hardware, shb_userappl), one Interface
// Description Block per interface (if_name, if_description, if_tsresol = nanoseconds, link type,
// snaplen), Enhanced Packet Blocks with epb_flags (direction and reception type from the packet
// type; no epb_flags when the direction is not known, e.g. packets read from a pcap file) and an
// optional comment, and Interface Statistics Blocks on request. Packets with their owning
// process (write_owned) get it as a comment ("pid=1234 tid=1234 comm=curl uid=0", which
// Wireshark shows as frame.comment) and as epb_processid_threadid (draft-ietf-opsawg-pcapng).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <ringcap/file_writer.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/packet_owner.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

class PcapngWriter final : public FileWriter {
  public:
    // path "-" writes to standard output (as on_fd() does). Throws ringcap::Error if the file
    // cannot be created.
    static PcapngWriter create(const std::string& path, const FileWriterOptions& options);
    // Writes to an fd the caller owns and keeps: the writer writes through a duplicate of it.
    static PcapngWriter on_fd(int fd, const FileWriterOptions& options);

    // One packet on interface 0; writes the buffer out when full. Throws ringcap::Error on a
    // write failure after cutting the file back to the last whole block.
    void write(const PacketView& packet) { write(packet, 0, {}); }
    // A packet on a declared interface, with an opt_comment if `comment` is not empty (cut to
    // 65000 bytes). Throws ringcap::Error(EINVAL) for an interface not declared.
    void write(const PacketView& packet, std::uint32_t interface, std::string_view comment = {});
    // Sink: on interface 0, or once the source has declared interfaces (add_interface(const
    // FileInterface&)) on the interface numbered by the packet's ifindex().
    void write(std::span<const PacketView> packets) override;
    // One packet as write(span) puts it, with epb_dropcount: `drops` packets were lost between
    // the one before it and it (kEpbDropcountOption more bytes than record_size()).
    void write_with_drops(const PacketView& packet, std::uint64_t drops);
    // A packet and the process that owns it (nullptr: none known, said in the comment).
    void write_owned(const PacketView& packet, std::uint32_t interface, const PacketOwner* owner);
    // Sink: as write(packets), each with its owner.
    void write_owned(std::span<const PacketView> packets,
                     std::span<const PacketOwner* const> owners) override;

    // Declares interface 1, 2, ... (an IDB); returns its id.
    std::uint32_t add_interface(LinkType link, std::uint32_t snaplen, const std::string& name,
                                const std::string& description);
    // Sink: the source's next interface, as its file described it. Always true.
    bool add_interface(const FileInterface& interface) override;

    // An Interface Statistics Block for `interface`, stamped now: packets the kernel received
    // (isb_ifrecv) and dropped (isb_ifdrop) since the capture started.
    void write_statistics(std::uint32_t interface, std::uint64_t received, std::uint64_t dropped);
    // The same with the options the loss ledger adds when known: isb_osdrop (what the operating
    // system dropped: the socket ring's drops, so that, as the format says, isb_usrdeliv is
    // about isb_ifrecv - isb_osdrop) and isb_usrdeliv (packets handed to the user).
    struct Statistics {
        std::uint64_t received = 0;
        std::uint64_t dropped = 0;
        std::optional<std::uint64_t> os_dropped;
        std::optional<std::uint64_t> delivered;
    };
    void write_statistics(std::uint32_t interface, const Statistics& statistics);

    // Bytes the block of `packet` takes (without a comment).
    static std::size_t record_size(const PacketView& packet) noexcept {
        return kEnhancedOverhead + ((packet.caplen() + 3u) & ~std::size_t{3}) +
               (has_direction(packet) ? kEpbFlagsOption : 0) +
               (packet.queue() != PacketView::kNoQueue ? kEpbQueueOption : 0);
    }
    // Bytes an owner adds to a packet's block (write_owned).
    static std::size_t owner_size(const PacketOwner* owner) noexcept {
        const std::size_t comment = owner ? owner->comment.size() : kUnknownCommentSize;
        return 4 + ((std::min<std::size_t>(comment, kMaxComment) + 3u) & ~std::size_t{3}) +
               (owner && owner->pid != 0 ? kEpbProcessOption : 0);
    }
    // The packet gets an epb_flags option (its direction is known).
    static bool has_direction(const PacketView& packet) noexcept {
        return packet.pkttype() != kPacketTypeUnknown;
    }
    std::uint32_t interfaces() const noexcept { return interfaces_; }

    // EPB: type, length, interface, 2 x timestamp, caplen, length (28), opt_endofopt (4),
    // trailing length (4); the data is padded to 4 bytes. Plus the epb_flags option (8) when the
    // packet's direction is known.
    static constexpr std::size_t kEnhancedOverhead = 36;
    static constexpr std::size_t kEpbFlagsOption = 8;
    static constexpr std::size_t kEpbQueueOption = 8;       // epb_queue: the packet's worker
    static constexpr std::size_t kEpbProcessOption = 12;    // epb_processid_threadid
    static constexpr std::size_t kEpbDropcountOption = 12;  // epb_dropcount: drops before it
    static constexpr std::size_t kMaxComment = 65000;       // longer comments are cut
    static constexpr std::size_t kUnknownCommentSize =
        std::char_traits<char>::length(kUnknownOwnerComment);
    // The most write_statistics() adds: an ISB with if_id, timestamp, isb_endtime, isb_ifrecv,
    // isb_ifdrop, isb_osdrop, isb_usrdeliv and opt_endofopt (64 bytes without the last two).
    static constexpr std::size_t kStatisticsBlock = 88;

  private:
    PcapngWriter(std::unique_ptr<detail::RecordBuffer> file, const FileWriterOptions& options);
    void put_interface(LinkType link, std::uint32_t snaplen, const std::string& name,
                       const std::string& description);
    // One Enhanced Packet Block, with epb_processid_threadid when pid is not 0.
    void put(const PacketView& packet, std::uint32_t interface, std::string_view comment,
             std::uint32_t pid, std::uint32_t tid);

    std::uint32_t interfaces_ = 0;
    bool by_ifindex_ = false;  // the source declared its interfaces: ifindex() numbers them
};

}  // namespace ringcap
