#pragma once
// PRIVATE: the numbers of the two capture file formats, shared by the reader and the writer.
// pcap: libpcap's savefile format (pcap-savefile(5)). pcapng: draft-ietf-opsawg-pcapng, the
// section numbers below are the draft's.
#include <cstddef>
#include <cstdint>

namespace ringcap::format {

// pcap file header magics; the byte order they are read in is the file's.
inline constexpr std::uint32_t kPcapMagicMicro = 0xa1b2c3d4;
inline constexpr std::uint32_t kPcapMagicNano = 0xa1b23c4d;
// The pcap header's LinkType field: the link type is its low 26 bits (the FCS bits are above).
inline constexpr std::uint32_t kLinkTypeMask = 0x03ffffff;

// pcapng block types (section 11.1).
inline constexpr std::uint32_t kSectionHeaderBlock = 0x0a0d0d0a;  // a palindrome: any byte order
inline constexpr std::uint32_t kInterfaceBlock = 1;
inline constexpr std::uint32_t kObsoletePacketBlock = 2;  // appendix A
inline constexpr std::uint32_t kSimplePacketBlock = 3;
inline constexpr std::uint32_t kInterfaceStatisticsBlock = 5;
inline constexpr std::uint32_t kEnhancedPacketBlock = 6;
// In the SHB after type and length; read as 4d 3c 2b 1a, the section is little-endian.
inline constexpr std::uint32_t kByteOrderMagic = 0x1a2b3c4d;
// SHB: type, length, byte-order magic, version 1.0, section length (64 bits), trailing length.
inline constexpr std::size_t kMinSectionHeader = 28;

// Option codes (section 3.5; each block's own in its section).
inline constexpr std::uint16_t kOptEnd = 0;
inline constexpr std::uint16_t kOptComment = 1;
inline constexpr std::uint16_t kShbHardware = 2, kShbOs = 3, kShbUserappl = 4;
inline constexpr std::uint16_t kIfName = 2, kIfDescription = 3, kIfTsresol = 9, kIfTsoffset = 14;
inline constexpr std::uint16_t kEpbFlags = 2;  // also pack_flags in the obsolete packet block
inline constexpr std::uint16_t kEpbDropcount = 4, kEpbQueue = 6;
// Two 32-bit values, process id and thread id (draft-ietf-opsawg-pcapng, section 4.3).
inline constexpr std::uint16_t kEpbProcessIdThreadId = 8;
inline constexpr std::uint16_t kIsbStarttime = 2, kIsbEndtime = 3, kIsbIfrecv = 4, kIsbIfdrop = 5;
inline constexpr std::uint16_t kIsbFilteraccept = 6, kIsbOsdrop = 7, kIsbUsrdeliv = 8;

// epb_flags (section 4.3.1): bits 0-1 direction, bits 2-4 reception type.
inline constexpr std::uint32_t kEpbInbound = 1, kEpbOutbound = 2, kEpbDirectionMask = 3;
inline constexpr std::uint32_t kEpbUnicast = 1 << 2, kEpbMulticast = 2 << 2, kEpbBroadcast = 3 << 2,
                               kEpbPromiscuous = 4 << 2;

// Every block and option value is padded to 32 bits.
constexpr std::size_t pad4(std::size_t n) noexcept { return (n + 3) & ~std::size_t{3}; }

}  // namespace ringcap::format
