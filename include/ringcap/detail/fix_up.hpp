#pragma once
// What must be done to a received packet in place before the user sees it: put back into the
// bytes what the kernel kept aside, the VLAN tag it stripped into metadata (veth and most NICs
// do), and for cooked captures the LINKTYPE_LINUX_SLL2 header. There is room in front of tp_mac
// because Capture sets PACKET_RESERVE to the bytes added here (libpcap does the same). The
// walkers (walkers.hpp) call it once per packet; Batch makes sure it happens only once.
#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ringcap::detail {

struct Fixup {
    bool cooked = false;        // build the LINKTYPE_LINUX_SLL2 header in front of it
    std::uint32_t snaplen = 0;  // caplen never exceeds it, even after we add bytes
};

inline constexpr std::size_t kSll2HeaderLen = 20;
inline constexpr std::size_t kVlanTagLen = 4;

inline void put_be16(std::byte* p, std::uint16_t v) noexcept {
    p[0] = std::byte(v >> 8);
    p[1] = std::byte(v & 0xff);
}

// The sockaddr_ll the kernel writes after the (aligned) tpacketN header.
template <class Hdr>
inline sockaddr_ll& sll_of(Hdr& h) noexcept {
    return *reinterpret_cast<sockaddr_ll*>(reinterpret_cast<std::byte*>(&h) +
                                           TPACKET_ALIGN(sizeof(Hdr)));
}

// `flags` are the packet's status flags (TP_STATUS_VLAN_VALID, ...), `tci`/`tpid` its tag.
template <class Hdr>
[[gnu::noinline]] void fix_up(Hdr& h, std::uint32_t flags, std::uint16_t tci, std::uint16_t tpid,
                              const Fixup& fx) noexcept {
    const bool vlan = flags & TP_STATUS_VLAN_VALID;
    if (!(flags & TP_STATUS_VLAN_TPID_VALID)) tpid = 0x8100;
    std::byte* data = reinterpret_cast<std::byte*>(&h) + h.tp_mac;
    std::size_t added = 0;
    if (fx.cooked) {
        const sockaddr_ll& sll = sll_of(h);
        added = kSll2HeaderLen + (vlan ? kVlanTagLen : 0);
        std::byte* hdr = data - added;
        if (vlan) {
            put_be16(hdr, tpid);
            put_be16(hdr + kSll2HeaderLen, tci);
            std::memcpy(hdr + kSll2HeaderLen + 2, &sll.sll_protocol, 2);
        } else {
            std::memcpy(hdr, &sll.sll_protocol, 2);
        }
        put_be16(hdr + 2, 0);
        const std::uint32_t ifindex = static_cast<std::uint32_t>(sll.sll_ifindex);
        put_be16(hdr + 4, static_cast<std::uint16_t>(ifindex >> 16));
        put_be16(hdr + 6, static_cast<std::uint16_t>(ifindex & 0xffff));
        put_be16(hdr + 8, sll.sll_hatype);
        hdr[10] = std::byte(sll.sll_pkttype);
        hdr[11] = std::byte(sll.sll_halen);
        std::memcpy(hdr + 12, sll.sll_addr, 8);
    } else {
        if (h.tp_snaplen < 12) return;  // not even the MAC addresses: leave it alone
        added = kVlanTagLen;
        std::memmove(data - added, data, 12);
        put_be16(data - added + 12, tpid);
        put_be16(data - added + 14, tci);
    }
    h.tp_mac -= static_cast<std::uint16_t>(added);
    const std::uint32_t grown = h.tp_snaplen + static_cast<std::uint32_t>(added);
    h.tp_snaplen = grown < fx.snaplen ? grown : fx.snaplen;
    h.tp_len += static_cast<std::uint32_t>(added);
}

}  // namespace ringcap::detail
