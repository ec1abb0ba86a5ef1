#pragma once
// Transmit through PACKET_TX_RING (TPACKET_V2 frames): fill frames in place, then one send()
// asks the kernel to transmit every frame filled since the last one.
//
// How the kernel takes a frame out of the ring: by default it copies the whole frame into the
// packet it builds. Each frame starts with a virtio-net header (PACKET_VNET_HDR) whose hdr_len
// covers the frame, and tpacket_snd copies hdr_len bytes linearly. The kernel's own default
// (TxOptions::zero_copy) copies only the Ethernet header and points the packet at the ring's
// pages for the rest; but a packet that points into a ring is copied again, into a freshly
// allocated page, wherever the kernel hands it on inside the host (veth, the receive path:
// skb_copy_ubufs from __dev_forward_skb). One linear copy measured 1.3x the frames per second
// of the zero-copy path on a veth pair, at 64 and at 1514 B (bench/tx.sh). A NIC that DMAs
// straight from the ring's pages may do better with zero_copy; not measured here.
//
//   auto tx = ringcap::Injector::open({.interface = "veth0"});
//   for (...) {
//       std::span<std::byte> f = tx.next_frame();        // empty: every frame is in flight
//       if (f.empty()) { tx.flush(); tx.wait_for_room(10ms); continue; }
//       std::size_t n = build_packet(f);
//       tx.commit(n);
//   }
//   tx.flush();
//   TxStats st = tx.drain(1s);
#include <linux/if_packet.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include <ringcap/detail/walkers.hpp>
#include <ringcap/geometry.hpp>

namespace ringcap {

// 1 MiB (512 frames at MTU 1500): small enough that a frame we fill is still in cache when the
// kernel copies it out, which measured ~10% faster for 1514-byte replay than 8 MiB
// (bench/tx.sh), and still 0.6 ms of 10 Gb/s line rate in flight.
inline constexpr std::size_t kDefaultTxBufferSize = 1u << 20;

namespace detail {
// struct virtio_net_hdr of <linux/virtio_net.h> (a header C++ cannot include: a field is named
// `class`), the 10 bytes PACKET_VNET_HDR puts in front of each frame.
struct VirtioNetHeader {
    std::uint8_t flags;
    std::uint8_t gso_type;
    std::uint16_t hdr_len;  // bytes copied linearly into the packet
    std::uint16_t gso_size;
    std::uint16_t csum_start;
    std::uint16_t csum_offset;
};
static_assert(sizeof(VirtioNetHeader) == 10);
}  // namespace detail

struct TxOptions {
    std::string interface;
    // buffer_size (default 1 MiB, above), block_size, frame_size (default:
    // room for MTU + 18 bytes); block_timeout is not used.
    RingGeometry ring{.buffer_size = kDefaultTxBufferSize};
    // PACKET_QDISC_BYPASS: hand frames to the driver directly, skipping the qdisc layer (no
    // traffic shaping, no tc, faster).
    bool qdisc_bypass = false;
    // The kernel's default: packets point into the ring's pages instead of holding a copy of
    // the frame (see the top of this file).
    bool zero_copy = false;
};

struct TxStats {
    std::uint64_t queued = 0;        // frames committed
    std::uint64_t bytes = 0;         // bytes committed
    std::uint64_t wrong_format = 0;  // refused: by the kernel's size rules (see commit()) or
                                     // marked TP_STATUS_WRONG_FORMAT by the kernel
    std::uint64_t in_flight = 0;     // committed, not yet done by the kernel (0 after drain())
    std::uint64_t sent() const noexcept { return queued - wrong_format - in_flight; }
};

class Injector {
  public:
    // Throws ringcap::Error naming the failed step (unknown or down interface, no CAP_NET_RAW,
    // impossible geometry).
    static Injector open(const TxOptions& options);

    Injector(Injector&&) noexcept;
    Injector& operator=(Injector&&) noexcept;
    ~Injector();

    // The data area of the next free frame (max_frame_len() bytes), or an empty span when the
    // kernel still holds every frame. Frames keep their bytes between uses, so a sender that
    // rewrites only a few fields may prefill() once.
    std::span<std::byte> next_frame() noexcept {
        std::byte* f = head_.free_frame(stats_.wrong_format);
        if (f == nullptr) return {};
        return {f + kDataOffset + vnet_len_, max_frame_len_};
    }

    // Hands the frame from next_frame() to the kernel, `len` bytes long; sent at the next flush().
    // A frame the kernel would refuse (under 14 bytes, over MTU + 14, or MTU + 18 with an 802.1Q
    // tag) is counted in wrong_format here and not handed over: with PACKET_LOSS the kernel drops
    // such a frame silently (marks it TP_STATUS_AVAILABLE, as if sent). Its slot is reused.
    void commit(std::size_t len) noexcept {
        std::byte* f = head_.head();
        ++stats_.queued;
        stats_.bytes += len;
        if (!takes({f + kDataOffset + vnet_len_, len})) {
            ++stats_.wrong_format;
            return;
        }
        if (vnet_len_ != 0) {
            // No offloads; copy all `len` bytes (up to 64 KiB - 1; the rest of a bigger frame
            // would go by reference). The kernel reads it in host byte order (vio_le()).
            detail::VirtioNetHeader v{};
            v.hdr_len = static_cast<std::uint16_t>(len < 0xffff ? len : 0xffff);
            std::memcpy(f + kDataOffset, &v, sizeof v);
        }
        head_.send_head(static_cast<std::uint32_t>(vnet_len_ + len));
    }

    // One send() for everything committed. False when the kernel could not take it all now
    // (ENOBUFS/EAGAIN): the frames stay requested and go with the next flush().
    // Throws ringcap::Error on a real failure (e.g. ENETDOWN).
    bool flush();
    // Waits (poll POLLOUT) until a frame is free; false on timeout.
    bool wait_for_room(std::chrono::milliseconds timeout);
    // Whether the kernel would send this frame: the size rules of tpacket_snd and
    // packet_extra_vlan_len_allowed (14 bytes up to MTU + 14, or MTU + 18 with an 802.1Q tag),
    // within one ring frame. commit() applies it; senders use it to skip what would be dropped.
    bool takes(std::span<const std::byte> frame) const noexcept {
        const std::size_t len = frame.size();
        if (len < 14 || len > max_frame_len_) return false;
        return len <= max_untagged_len_ ||
               (len <= max_untagged_len_ + 4 && frame[12] == std::byte{0x81} &&
                frame[13] == std::byte{0x00});
    }

    // Whether packets point into the ring's pages (TxOptions::zero_copy) instead of copying.
    bool zero_copy() const noexcept { return vnet_len_ == 0; }
    // Flushes and waits until the kernel is done with every frame (or the timeout passes).
    TxStats drain(std::chrono::milliseconds timeout);
    // Copies `bytes` into the data area of every frame.
    void prefill(std::span<const std::byte> bytes) noexcept;

    TxStats stats() const noexcept { return stats_; }
    std::size_t max_frame_len() const noexcept { return max_frame_len_; }
    std::size_t mtu() const noexcept;
    const RingLayout& layout() const noexcept;
    int fd() const noexcept;

    // Without PACKET_TX_HAS_OFF the kernel takes frame data right after the aligned header: the
    // virtio-net header, if any, then the Ethernet frame.
    static constexpr std::size_t kDataOffset = TPACKET_ALIGN(sizeof(tpacket2_hdr));

  private:
    struct Impl;
    explicit Injector(std::unique_ptr<Impl> impl) noexcept;

    std::unique_ptr<Impl> impl_;
    detail::TxFrameWalker head_;
    std::size_t max_frame_len_ = 0;
    std::size_t max_untagged_len_ = 0;  // MTU + Ethernet header
    std::uint32_t vnet_len_ = 0;        // sizeof(VirtioNetHeader) unless zero_copy
    TxStats stats_{};
};

// Sleeps until close to a CLOCK_MONOTONIC deadline, then spins the last stretch: accurate to a
// few microseconds without burning a core at low rates. False if a signal cut the sleep short.
bool wait_until(std::int64_t deadline_ns) noexcept;
std::int64_t monotonic_ns() noexcept;

}  // namespace ringcap
