#pragma once
// Rings laid out in ordinary memory the way the kernel lays them out (packet_mmap.rst), so that
// the walkers run without a socket: what the kernel would write, these helpers write. Addresses
// are computed here from first principles (block * block_size + slot * frame_size), not with
// RingMap, so a broken RingMap cannot agree with them.
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ringcap/detail/walkers.hpp>

namespace ringcap::test {

using Bytes = std::vector<std::uint8_t>;

// Where a packet starts in its frame (tp_mac): after the tpacket header and the sockaddr_ll, with
// room in front for what the fix-ups put back (Capture asks for it with PACKET_RESERVE).
inline constexpr std::uint16_t kMacOffset = 160;

struct PacketSpec {
    Bytes bytes;
    std::uint32_t flags = 0;  // TP_STATUS_VLAN_VALID, ...
    std::uint16_t tci = 0;
    std::uint16_t tpid = 0;
    int ifindex = 7;
    std::uint8_t pkttype = PACKET_HOST;
    std::uint16_t protocol_be = 0x0008;  // ETH_P_IP in network byte order, as the kernel stores it
    std::int64_t ts_ns = 0;
    std::uint32_t rxhash = 0;  // V3 only
};

// A frame of `len` bytes whose bytes say which packet it is: seq at [14..17], then a pattern.
inline Bytes numbered_frame(std::uint32_t seq, std::size_t len) {
    Bytes b(len);
    for (std::size_t i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(0x02 + i);   // dst
    for (std::size_t i = 6; i < 12; ++i) b[i] = static_cast<std::uint8_t>(0x40 + i);  // src
    b[12] = 0x08;                                                                     // IPv4
    b[13] = 0x00;
    for (std::size_t i = 14; i < len; ++i) b[i] = static_cast<std::uint8_t>(seq * 7 + i);
    if (len >= 18)
        for (int k = 0; k < 4; ++k) b[14 + k] = static_cast<std::uint8_t>(seq >> (24 - 8 * k));
    return b;
}

inline Bytes bytes_of(const PacketView& p) {
    const auto* d = reinterpret_cast<const std::uint8_t*>(p.data());
    return Bytes(d, d + p.caplen());
}

// One ring's memory: block_count blocks of block_size bytes, 8-byte aligned like a mapping.
class SyntheticRing {
  public:
    SyntheticRing(std::size_t block_size, std::uint32_t block_count, std::size_t frame_size)
        : words_(block_size * block_count / 8),
          block_size_(block_size),
          frame_size_(frame_size),
          block_count_(block_count) {}

    std::byte* base() noexcept { return reinterpret_cast<std::byte*>(words_.data()); }
    std::byte* block(std::uint32_t b) noexcept { return base() + b * block_size_; }
    std::byte* frame(std::uint32_t b, std::uint32_t slot) noexcept {
        return block(b) + slot * frame_size_;
    }
    std::uint32_t frames_per_block() const noexcept {
        return static_cast<std::uint32_t>(block_size_ / frame_size_);
    }
    detail::RingMap map() noexcept {
        return {.base = base(),
                .block_size = block_size_,
                .frame_size = frame_size_,
                .frames_per_block = frames_per_block(),
                .block_count = block_count_};
    }

  private:
    std::vector<std::uint64_t> words_;
    std::size_t block_size_;
    std::size_t frame_size_;
    std::uint32_t block_count_;
};

// The fields the kernel fills in every packet header (tpacket_rcv), V2 or V3.
template <class Hdr>
void write_packet(Hdr& h, const PacketSpec& p) {
    h.tp_mac = kMacOffset;
    h.tp_net = kMacOffset + 14;
    h.tp_snaplen = static_cast<std::uint32_t>(p.bytes.size());
    h.tp_len = static_cast<std::uint32_t>(p.bytes.size());
    h.tp_sec = static_cast<std::uint32_t>(p.ts_ns / 1'000'000'000);
    h.tp_nsec = static_cast<std::uint32_t>(p.ts_ns % 1'000'000'000);
    sockaddr_ll& sll = detail::sll_of(h);
    sll = {};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = p.protocol_be;
    sll.sll_ifindex = p.ifindex;
    sll.sll_hatype = 1;  // ARPHRD_ETHER
    sll.sll_pkttype = p.pkttype;
    sll.sll_halen = 6;
    for (int i = 0; i < 6; ++i) sll.sll_addr[i] = static_cast<unsigned char>(0x40 + 6 + i);
    std::memcpy(reinterpret_cast<std::byte*>(&h) + kMacOffset, p.bytes.data(), p.bytes.size());
}

// A V2 frame holding `p`, with status `status` (TP_STATUS_USER: filled, ready for user space).
inline void fill_v2_frame(std::byte* frame, const PacketSpec& p,
                          std::uint32_t status = TP_STATUS_USER) {
    auto& h = *reinterpret_cast<tpacket2_hdr*>(frame);
    h = {};
    write_packet(h, p);
    h.tp_vlan_tci = p.tci;
    h.tp_vlan_tpid = p.tpid;
    h.tp_status = status | p.flags;
}

// A V3 block holding `packets` back to back, each header TPACKET_ALIGNed, chained by
// tp_next_offset (0 on the last), with block status `status`.
inline void fill_v3_block(std::byte* block, const std::vector<PacketSpec>& packets,
                          std::uint32_t status = TP_STATUS_USER) {
    auto& bd = *reinterpret_cast<tpacket_block_desc*>(block);
    bd = {};
    bd.version = TPACKET_V3;
    const std::uint32_t first = TPACKET_ALIGN(sizeof(tpacket_block_desc));
    bd.hdr.bh1.offset_to_first_pkt = first;
    bd.hdr.bh1.num_pkts = static_cast<std::uint32_t>(packets.size());
    std::uint32_t at = first;
    tpacket3_hdr* previous = nullptr;
    for (const PacketSpec& p : packets) {
        auto& h = *reinterpret_cast<tpacket3_hdr*>(block + at);
        h = {};
        write_packet(h, p);
        h.tp_status = TP_STATUS_USER | p.flags;
        h.hv1.tp_vlan_tci = p.tci;
        h.hv1.tp_vlan_tpid = p.tpid;
        h.hv1.tp_rxhash = p.rxhash;
        if (previous != nullptr)
            previous->tp_next_offset = static_cast<std::uint32_t>(
                reinterpret_cast<std::byte*>(&h) - reinterpret_cast<std::byte*>(previous));
        previous = &h;
        at += TPACKET_ALIGN(kMacOffset + static_cast<std::uint32_t>(p.bytes.size()));
    }
    bd.hdr.bh1.blk_len = at;
    bd.hdr.bh1.block_status = status;
}

inline std::uint32_t block_status(std::byte* block) {
    return reinterpret_cast<tpacket_block_desc*>(block)->hdr.bh1.block_status;
}
inline std::uint32_t frame_status(std::byte* frame) {
    return reinterpret_cast<tpacket2_hdr*>(frame)->tp_status;
}
inline void set_frame_status(std::byte* frame, std::uint32_t status) {
    reinterpret_cast<tpacket2_hdr*>(frame)->tp_status = status;
}

}  // namespace ringcap::test
