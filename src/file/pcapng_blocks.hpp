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

// What an Enhanced Packet Block carries besides the packet (whose direction and worker give
// epb_flags and epb_queue).
struct EpbOptions {
    std::string_view comment;  // opt_comment; empty: none (at most 65535 bytes)
    std::uint32_t pid = 0;     // epb_processid_threadid when not 0
    std::uint32_t tid = 0;
    std::uint64_t drops = 0;  // epb_dropcount when not 0: packets lost just before this one
};

// Bytes of the Enhanced Packet Block of `packet` with `options`.
inline std::size_t enhanced_packet_size(const PacketView& packet,
                                        const EpbOptions& options) noexcept {
    return PcapngWriter::record_size(packet) +
           (options.comment.empty() ? 0 : 4 + format::pad4(options.comment.size())) +
           (options.pid != 0 ? PcapngWriter::kEpbProcessOption : 0) +
           (options.drops != 0 ? PcapngWriter::kEpbDropcountOption : 0);
}
// Builds that block, `size` (enhanced_packet_size()) bytes, at `out`: epb_flags when the
// packet's direction is known, epb_queue when its worker is, epb_processid_threadid,
// epb_dropcount, then the comment.
void put_enhanced_packet(std::byte* out, const PacketView& packet, std::uint32_t interface,
                         const EpbOptions& options, std::size_t size) noexcept;

}  // namespace ringcap::pcapng
