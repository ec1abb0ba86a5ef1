#include "file/pcapng_blocks.hpp"

#include <linux/if_packet.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "sys/names.hpp"

namespace ringcap::pcapng {
namespace {

using namespace format;

// epb_flags from the packet type: direction and reception type. Only called for a known
// direction (PcapngWriter::has_direction()).
std::uint32_t epb_flags(std::uint8_t pkttype) noexcept {
    switch (pkttype) {
        case PACKET_HOST:
            return kEpbInbound | kEpbUnicast;
        case PACKET_MULTICAST:
            return kEpbInbound | kEpbMulticast;
        case PACKET_BROADCAST:
            return kEpbInbound | kEpbBroadcast;
        case PACKET_OTHERHOST:
            return kEpbInbound | kEpbPromiscuous;
        default:
            return kEpbOutbound;
    }
}

// Builds one block: type, length (filled in by finish()), body, options, trailing length.
class Block {
  public:
    explicit Block(std::uint32_t type) { u32(type), u32(0); }
    Block& u16(std::uint16_t v) { return raw(&v, 2); }
    Block& u32(std::uint32_t v) { return raw(&v, 4); }
    Block& u64(std::uint64_t v) { return raw(&v, 8); }
    Block& option(std::uint16_t code, const void* value, std::size_t len) {
        u16(code), u16(static_cast<std::uint16_t>(len));
        raw(value, len);
        while (bytes_.size() % 4) bytes_.push_back(std::byte{0});
        return *this;
    }
    Block& text(std::uint16_t code, const std::string& value) {
        return value.empty()
                   ? *this
                   : option(code, value.data(), std::min<std::size_t>(value.size(), 65000));
    }
    std::vector<std::byte> finish() {
        option(kOptEnd, nullptr, 0);
        const std::uint32_t len = static_cast<std::uint32_t>(bytes_.size() + 4);
        std::memcpy(bytes_.data() + 4, &len, 4);
        u32(len);
        return std::move(bytes_);
    }

  private:
    Block& raw(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        bytes_.insert(bytes_.end(), b, b + n);
        return *this;
    }
    std::vector<std::byte> bytes_;
};

// The value of the first "key: value" line of a /proc file starting with `key`.
std::string first_line_with(const char* path, const char* key) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key, 0) == 0) {
            const std::size_t colon = line.find(':');
            return colon == std::string::npos
                       ? line
                       : line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    return {};
}

}  // namespace

std::vector<std::byte> section_header() {
    const sys::SystemName system = sys::system_name();
    std::string hardware = first_line_with("/proc/cpuinfo", "model name");
    if (hardware.empty()) hardware = system.machine;
    Block b(kSectionHeaderBlock);
    b.u32(kByteOrderMagic).u16(1).u16(0).u64(~std::uint64_t{0});  // section length: not given
    b.text(kShbHardware, hardware).text(kShbOs, system.os);
    b.text(kShbUserappl, "ringcap " RINGCAP_VERSION);
    return b.finish();
}

std::vector<std::byte> interface_description(LinkType link, std::uint32_t snaplen,
                                             const std::string& name,
                                             const std::string& description) {
    Block b(kInterfaceBlock);
    const std::uint8_t nanoseconds = 9;
    b.u16(static_cast<std::uint16_t>(link)).u16(0).u32(snaplen);
    b.text(kIfName, name).text(kIfDescription, description).option(kIfTsresol, &nanoseconds, 1);
    return b.finish();
}

std::vector<std::byte> interface_statistics(std::uint32_t interface, std::uint64_t now_ns,
                                            const PcapngWriter::Statistics& s) {
    const std::uint32_t ts[2] = {static_cast<std::uint32_t>(now_ns >> 32),
                                 static_cast<std::uint32_t>(now_ns)};
    Block b(kInterfaceStatisticsBlock);
    b.u32(interface).u32(ts[0]).u32(ts[1]);
    b.option(kIsbEndtime, ts, 8).option(kIsbIfrecv, &s.received, 8);
    b.option(kIsbIfdrop, &s.dropped, 8);
    if (s.os_dropped) b.option(kIsbOsdrop, &*s.os_dropped, 8);
    if (s.delivered) b.option(kIsbUsrdeliv, &*s.delivered, 8);
    return b.finish();
}

void put_enhanced_packet(std::byte* d, const PacketView& p, std::uint32_t interface,
                         const EpbOptions& options, std::size_t size) noexcept {
    const std::string_view comment = options.comment;
    const std::size_t data = pad4(p.caplen());
    const std::size_t note = comment.empty() ? 0 : 4 + pad4(comment.size());
    const std::uint32_t len = static_cast<std::uint32_t>(size);
    const std::uint64_t ts = static_cast<std::uint64_t>(p.ts_ns());
    const std::uint32_t head[7] = {kEnhancedPacketBlock,
                                   len,
                                   interface,
                                   static_cast<std::uint32_t>(ts >> 32),
                                   static_cast<std::uint32_t>(ts),
                                   p.caplen(),
                                   p.wire_len()};
    std::memcpy(d, head, sizeof head);
    std::memcpy(d + 28, p.data(), p.caplen());
    std::memset(d + 28 + p.caplen(), 0, data - p.caplen());
    std::byte* o = d + 28 + data;
    if (PcapngWriter::has_direction(p)) {  // no epb_flags at all when the direction is not known
        const std::uint32_t flags_opt[2] = {kEpbFlags | 4u << 16, epb_flags(p.pkttype())};
        std::memcpy(o, flags_opt, PcapngWriter::kEpbFlagsOption);
        o += PcapngWriter::kEpbFlagsOption;
    }
    if (p.queue() != PacketView::kNoQueue) {
        const std::uint32_t queue_opt[2] = {kEpbQueue | 4u << 16, p.queue()};
        std::memcpy(o, queue_opt, PcapngWriter::kEpbQueueOption);
        o += PcapngWriter::kEpbQueueOption;
    }
    if (options.pid != 0) {
        const std::uint32_t process_opt[3] = {kEpbProcessIdThreadId | 8u << 16, options.pid,
                                              options.tid};
        std::memcpy(o, process_opt, PcapngWriter::kEpbProcessOption);
        o += PcapngWriter::kEpbProcessOption;
    }
    if (options.drops != 0) [[unlikely]] {
        const std::uint32_t head = kEpbDropcount | 8u << 16;
        std::memcpy(o, &head, 4);
        std::memcpy(o + 4, &options.drops, 8);
        o += PcapngWriter::kEpbDropcountOption;
    }
    if (note) {
        const std::uint32_t opt = kOptComment | static_cast<std::uint32_t>(comment.size()) << 16;
        std::memcpy(o, &opt, 4);
        std::memcpy(o + 4, comment.data(), comment.size());
        std::memset(o + 4 + comment.size(), 0, note - 4 - comment.size());
        o += note;
    }
    const std::uint32_t tail[2] = {kOptEnd, len};  // opt_endofopt (code 0, length 0), length
    std::memcpy(o, tail, 8);
}

}  // namespace ringcap::pcapng
