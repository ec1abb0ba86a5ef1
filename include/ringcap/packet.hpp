#pragma once
// PacketView: a zero-copy view of one captured packet and its ring metadata. It borrows the ring
// memory of its Batch and is valid only until that Batch is released; to_owned() copies.
#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <ringcap/types.hpp>

namespace ringcap {

struct OwnedPacket;

// When a packet arrived, as the ring's headers and pcap records hold it: seconds since the epoch
// (CLOCK_REALTIME) and nanoseconds within the second (< 1e9).
struct PacketTime {
    std::int64_t sec = 0;
    std::uint32_t nsec = 0;

    // ns since the epoch, rounded down to whole seconds and the rest.
    static constexpr PacketTime from_ns(std::int64_t ns) noexcept {
        std::int64_t sec = ns / 1'000'000'000;
        std::int64_t rest = ns % 1'000'000'000;
        if (rest < 0) {
            --sec;
            rest += 1'000'000'000;
        }
        return {sec, static_cast<std::uint32_t>(rest)};
    }
    // Modulo 2^64, so that a time near the ends of the range (whose seconds times 1e9 alone
    // would overflow) comes back exactly.
    constexpr std::int64_t ns() const noexcept {
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(sec) * 1'000'000'000u + nsec);
    }
};

class PacketView {
  public:
    PacketView() = default;
    PacketView(const std::byte* data, std::uint32_t caplen, std::uint32_t wire_len, PacketTime time,
               int ifindex, std::uint8_t pkttype, std::uint32_t status, std::uint16_t vlan_tci,
               std::uint16_t vlan_tpid, std::uint32_t rxhash) noexcept
        : data_(data),
          caplen_(caplen),
          wire_len_(wire_len),
          sec_low_(static_cast<std::uint32_t>(time.sec)),
          nsec_(time.nsec),
          ifindex_(ifindex),
          status_(status),
          rxhash_(rxhash),
          vlan_tci_(vlan_tci),
          vlan_tpid_(vlan_tpid),
          pkttype_(pkttype),
          sec_high_(static_cast<std::int8_t>(time.sec >> 32)) {}
    PacketView(const std::byte* data, std::uint32_t caplen, std::uint32_t wire_len,
               std::int64_t ts_ns, int ifindex, std::uint8_t pkttype, std::uint32_t status,
               std::uint16_t vlan_tci, std::uint16_t vlan_tpid, std::uint32_t rxhash) noexcept
        : PacketView(data, caplen, wire_len, PacketTime::from_ns(ts_ns), ifindex, pkttype, status,
                     vlan_tci, vlan_tpid, rxhash) {}

    std::span<const std::byte> bytes() const noexcept { return {data_, caplen_}; }
    const std::byte* data() const noexcept { return data_; }
    std::uint32_t caplen() const noexcept { return caplen_; }      // bytes captured
    std::uint32_t wire_len() const noexcept { return wire_len_; }  // bytes on the wire
    // CLOCK_REALTIME: whole seconds and ns within the second, kept as the ring gives them (a
    // pcap record header takes them as they are), or ns since the epoch.
    PacketTime time() const noexcept {
        return {std::int64_t{sec_high_} * (std::int64_t{1} << 32) + sec_low_, nsec_};
    }
    std::int64_t ts_ns() const noexcept { return time().ns(); }
    int ifindex() const noexcept { return ifindex_; }
    // PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING.
    std::uint8_t pkttype() const noexcept { return pkttype_; }
    bool is_outgoing() const noexcept { return pkttype_ == PACKET_OUTGOING; }
    bool is_truncated() const noexcept { return caplen_ < wire_len_; }

    // The 802.1Q/802.1ad tag the kernel stripped into metadata. ringcap has already put it back
    // into bytes(), as tcpdump shows it; these say what it was.
    bool has_vlan() const noexcept { return status_ & TP_STATUS_VLAN_VALID; }
    std::uint16_t vlan_tci() const noexcept { return vlan_tci_; }
    std::uint16_t vlan_id() const noexcept { return vlan_tci_ & 0x0fff; }
    std::uint16_t vlan_tpid() const noexcept { return vlan_tpid_; }

    std::uint32_t rxhash() const noexcept { return rxhash_; }  // V3 only, 0 otherwise
    // The kernel dropped packets since the previous one was delivered (TP_STATUS_LOSING).
    // V2 only: the kernel never sets it on V3 packets; use Capture::stats() there.
    bool ring_was_losing() const noexcept { return status_ & TP_STATUS_LOSING; }
    // Outgoing or locally generated packet whose checksum is left to the NIC/offload.
    bool checksum_not_ready() const noexcept { return status_ & TP_STATUS_CSUMNOTREADY; }
    std::uint32_t status() const noexcept { return status_; }

    // The fanout worker (socket of a CaptureGroup) that captured it, when a merge of several
    // says so; kNoQueue otherwise. pcapng writes it as epb_queue.
    static constexpr std::uint16_t kNoQueue = 0xffff;
    std::uint16_t queue() const noexcept { return queue_; }
    // The same packet, marked as captured by worker `queue`, or numbered as interface `ifindex`
    // of a sink that was told of several (Sink::add_interface()).
    PacketView with_queue(std::uint16_t queue) const noexcept {
        PacketView p = *this;
        p.queue_ = queue;
        return p;
    }
    PacketView with_ifindex(int ifindex) const noexcept {
        PacketView p = *this;
        p.ifindex_ = ifindex;
        return p;
    }

    OwnedPacket to_owned() const;

  private:
    const std::byte* data_ = nullptr;
    std::uint32_t caplen_ = 0;
    std::uint32_t wire_len_ = 0;
    std::uint32_t sec_low_ = 0;  // seconds: sec_high_ * 2^32 + sec_low_ (40 bits, signed)
    std::uint32_t nsec_ = 0;
    int ifindex_ = 0;
    std::uint32_t status_ = 0;
    std::uint32_t rxhash_ = 0;
    std::uint16_t vlan_tci_ = 0;
    std::uint16_t vlan_tpid_ = 0;
    std::uint16_t queue_ = kNoQueue;
    std::uint8_t pkttype_ = 0;
    std::int8_t sec_high_ = 0;
};

static_assert(sizeof(PacketView) <= 48, "a PacketView is copied per packet into sink chunks");

// A copy that outlives its batch.
struct OwnedPacket {
    std::vector<std::byte> bytes;
    std::uint32_t wire_len = 0;
    std::int64_t ts_ns = 0;
    int ifindex = 0;
    std::uint8_t pkttype = 0;
    std::uint16_t vlan_tci = 0;
    std::uint16_t vlan_tpid = 0;
    bool has_vlan = false;
};

inline OwnedPacket PacketView::to_owned() const {
    return {.bytes = {data_, data_ + caplen_},
            .wire_len = wire_len_,
            .ts_ns = ts_ns(),
            .ifindex = ifindex_,
            .pkttype = pkttype_,
            .vlan_tci = vlan_tci_,
            .vlan_tpid = vlan_tpid_,
            .has_vlan = has_vlan()};
}

}  // namespace ringcap
