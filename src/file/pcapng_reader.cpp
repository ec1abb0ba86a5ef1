// PcapReader's pcapng half: sections, interfaces, the three packet blocks.
#include "file/reader_state.hpp"

namespace ringcap {

using namespace reading;

// The Section Header Block at the read position: its byte-order magic sets the byte order of
// the section, and the interfaces that follow are numbered from 0 again.
void PcapReader::read_section_header() {
    State& s = *state_;
    s.fill(kBlockHeader + 8);
    if (s.available() < kBlockHeader + 8)
        s.damaged(
            offset_, records_,
            "truncated section header block, " + std::to_string(s.available()) + " bytes present");
    const std::byte* h = s.base + s.pos;
    const std::uint32_t bom = load32(h + 8, false);
    if (bom == kByteOrderMagic)
        s.swapped = false;
    else if (bom == __builtin_bswap32(kByteOrderMagic))
        s.swapped = true;
    else
        s.damaged(offset_, records_,
                  "section header byte-order magic is " + hex_bytes(h + 8, 4) +
                      ", not 1a 2b 3c 4d in either order");
    const std::uint16_t major = load16(h + 12, s.swapped);
    if (major != 1)
        s.damaged(offset_, records_,
                  "pcapng version " + std::to_string(major) + "." +
                      std::to_string(load16(h + 14, s.swapped)) + ", not 1.x");
    s.section_first = interfaces_.size();
}

void PcapReader::read_interface(const std::byte* body, std::size_t size) {
    State& s = *state_;
    if (size < 8)
        s.damaged(offset_, records_,
                  "interface description block of " + std::to_string(size + 12) + " bytes");
    FileInterface f{.link_type = load16(body, s.swapped), .snaplen = load32(body + 4, s.swapped)};
    std::int64_t offset_s = 0;
    for_each_option(body + 8, size - 8, s.swapped,
                    [&](std::uint16_t code, const std::byte* v, std::uint16_t len) {
                        const auto text = [&] {
                            std::string t(reinterpret_cast<const char*>(v), len);
                            t.erase(std::find(t.begin(), t.end(), '\0'), t.end());
                            return t;
                        };
                        if (code == kIfName) f.name = text();
                        if (code == kIfDescription) f.description = text();
                        if (code == kIfTsresol && len >= 1)
                            f.tsresol = std::to_integer<std::uint8_t>(v[0]);
                        if (code == kIfTsoffset && len == 8) {
                            std::uint64_t o;
                            std::memcpy(&o, v, 8);
                            offset_s =
                                static_cast<std::int64_t>(s.swapped ? __builtin_bswap64(o) : o);
                        }
                    });
    TsScale scale = TsScale::from(f.tsresol);
    if (__builtin_mul_overflow(offset_s, std::int64_t{1'000'000'000}, &scale.offset_ns))
        scale.offset_ns = 0;  // an absurd if_tsoffset is ignored, as a bad option is
    interfaces_.push_back(std::move(f));
    s.scales.push_back(scale);
}

// One of the three packet blocks, checked against its block and its interface.
PacketView PcapReader::packet_in_block(std::uint32_t type, const std::byte* body,
                                       std::size_t size) {
    State& s = *state_;
    const std::size_t in_section = interfaces_.size() - s.section_first;
    std::size_t fixed;  // bytes before the packet data
    std::uint32_t id = 0, caplen, wire_len;
    std::uint64_t ts = 0;
    if (type == kSimplePacketBlock) {
        fixed = 4;
        if (size < fixed) s.damaged(offset_, records_, "simple packet block too short");
        wire_len = load32(body, s.swapped);
        caplen = static_cast<std::uint32_t>(std::min<std::size_t>(wire_len, size - fixed));
        if (in_section > 0 && interfaces_[s.section_first].snaplen != 0)
            caplen = std::min(caplen, interfaces_[s.section_first].snaplen);
    } else {
        const bool enhanced = type == kEnhancedPacketBlock;
        fixed = 20;
        if (size < fixed)
            s.damaged(offset_, records_,
                      std::string(enhanced ? "enhanced" : "obsolete") +
                          " packet block too short (" + std::to_string(size + 12) + " bytes)");
        id = enhanced ? load32(body, s.swapped) : load16(body, s.swapped);
        ts = std::uint64_t{load32(body + 4, s.swapped)} << 32 | load32(body + 8, s.swapped);
        caplen = load32(body + 12, s.swapped);
        wire_len = load32(body + 16, s.swapped);
        if (caplen > size - fixed)
            s.damaged(offset_, records_,
                      "packet data (caplen " + std::to_string(caplen) + ") runs past its block (" +
                          std::to_string(size - fixed) + " bytes of room)");
    }
    if (id >= in_section)
        s.damaged(offset_, records_,
                  "packet on interface " + std::to_string(id) + ", but the section has " +
                      std::to_string(in_section) + " interface description block(s) before it");
    if (caplen > kMaxCaplen)
        s.damaged(offset_, records_, "caplen " + std::to_string(caplen) + " is absurd");
    const std::size_t index = s.section_first + id;
    std::uint8_t pkttype = kPacketTypeUnknown;
    if (type != kSimplePacketBlock) {
        const std::size_t opts = fixed + pad4(caplen);
        if (opts < size)
            for_each_option(body + opts, size - opts, s.swapped,
                            [&](std::uint16_t code, const std::byte* v, std::uint16_t len) {
                                if (code != kEpbFlags || len != 4) return;
                                switch (load32(v, s.swapped) & kEpbDirectionMask) {
                                    case kEpbInbound:
                                        pkttype = PACKET_HOST;
                                        break;
                                    case kEpbOutbound:
                                        pkttype = PACKET_OUTGOING;
                                        break;
                                    default:
                                        break;
                                }
                            });
    }
    return PacketView(body + fixed, caplen, wire_len, s.scales[index].ns(ts),
                      static_cast<int>(index), pkttype, /*status=*/0, /*vlan_tci=*/0,
                      /*vlan_tpid=*/0, /*rxhash=*/0);
}

// pcapng: blocks until the next packet. metadata_only: stop before a packet block instead,
// leaving it unread (open() uses it to learn the first interfaces).
std::optional<PacketView> PcapReader::next_pcapng(bool metadata_only) {
    State& s = *state_;
    for (;;) {
        s.fill(kBlockHeader);
        const std::size_t have = s.available();
        if (have == 0) return std::nullopt;
        if (have < kBlockHeader)
            s.damaged(offset_, records_,
                      "truncated block header, " + std::to_string(have) + " of " +
                          std::to_string(kBlockHeader) + " bytes present");
        std::uint32_t type = load32(s.base + s.pos, s.swapped);
        if (type == kSectionHeaderBlock) read_section_header();  // may change the byte order
        const bool packet = type == kEnhancedPacketBlock || type == kSimplePacketBlock ||
                            type == kObsoletePacketBlock;
        if (packet && metadata_only) return std::nullopt;
        const std::uint32_t len = load32(s.base + s.pos + 4, s.swapped);
        if (len < 12 || len % 4 != 0 || len > kMaxBlock)
            s.damaged(offset_, records_,
                      "block length " + std::to_string(len) + " is impossible (type " +
                          std::to_string(type) + "; a length is a multiple of 4, 12 to " +
                          std::to_string(kMaxBlock) + ")");
        if (type == kSectionHeaderBlock && len < kMinSectionHeader)
            s.damaged(offset_, records_,
                      "section header block of " + std::to_string(len) + " bytes (at least " +
                          std::to_string(kMinSectionHeader) + ")");
        s.fill(len);
        if (s.available() < len)
            s.damaged(offset_, records_,
                      "truncated block: its header says " + std::to_string(len) + " bytes, " +
                          std::to_string(s.available()) + " present");
        const std::byte* h = s.base + s.pos;
        const std::uint32_t trailer = load32(h + len - 4, s.swapped);
        if (trailer != len)
            s.damaged(offset_, records_,
                      "block length " + std::to_string(len) + " at its start but " +
                          std::to_string(trailer) + " at its end");
        const std::byte* body = h + kBlockHeader;
        const std::size_t size = len - 12;
        std::optional<PacketView> out;
        if (type == kInterfaceBlock) {
            read_interface(body, size);
        } else if (packet) {
            out = packet_in_block(type, body, size);
        }
        s.pos += len;
        offset_ += len;
        if (out) {
            ++records_;
            return out;
        }
    }
}

}  // namespace ringcap
