#pragma once
// PRIVATE: the bytes of the pcapng blocks PcapngWriter writes, in host byte order (the section's
// byte-order magic tells readers which). Layouts: draft-ietf-opsawg-pcapng sections 4.1 (SHB),
// 4.2 (IDB), 4.3 (EPB) and 4.6 (ISB).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringcap/packet.hpp>
#include <ringcap/pcapng_writer.hpp>
#include <ringcap/types.hpp>

#include "file/format.hpp"

namespace ringcap::pcapng {

// Section Header Block: byte-order magic, version 1.0, no section length; shb_hardware (the
// CPU's model name), shb_os (kernel name and release), shb_userappl ("ringcap VERSION").
std::vector<std::byte> section_header();

// Interface Description Block: link type, snaplen, if_name and if_description when not empty,
// if_tsresol = 9 (nanoseconds).
std::vector<std::byte> interface_description(LinkType link, std::uint32_t snaplen,
                                             const std::string& name,
                                             const std::string& description);

// Interface Statistics Block for `interface` at `now_ns`: isb_endtime, isb_ifrecv, isb_ifdrop,
// and isb_osdrop, isb_usrdeliv when given.
std::vector<std::byte> interface_statistics(std::uint32_t interface, std::uint64_t now_ns,
                                            const PcapngWriter::Statistics& statistics);

// Bytes of the Enhanced Packet Block of `packet` with `comment` (empty: no opt_comment; at most
// 65535 bytes).
inline std::size_t enhanced_packet_size(const PacketView& packet,
                                        std::string_view comment) noexcept {
    return PcapngWriter::record_size(packet) +
           (comment.empty() ? 0 : 4 + format::pad4(comment.size()));
}
// Builds that block, `size` (enhanced_packet_size()) bytes, at `out`: epb_flags when the
// packet's direction is known, epb_queue, epb_dropcount when given, then the comment.
// `drops` != 0 adds epb_dropcount (PcapngWriter::kEpbDropcountOption bytes more).
void put_enhanced_packet(std::byte* out, const PacketView& packet, std::uint32_t interface,
                         std::string_view comment, std::size_t size,
                         std::uint64_t drops = 0) noexcept;

}  // namespace ringcap::pcapng
