#pragma once
// The vocabulary every part of ringcap shares: link types, ring versions, direction, timestamp
// precision, file formats, snaplen, packet types, and the stop token. Nothing here depends on
// anything else in ringcap, so capture, files, decoding and transmit can all include it.
#include <atomic>
#include <cstdint>

namespace ringcap {

// pcap LINKTYPE_* values: the link types a live capture produces (ethernet, linux_sll2), and
// those of files the decoder also reads (raw IP, Linux SLL). A file may carry any other value
// (static_cast<LinkType>(raw)).
enum class LinkType : std::uint32_t { ethernet = 1, raw = 101, linux_sll = 113, linux_sll2 = 276 };

// The AF_PACKET ring layout: V3 hands over blocks of packets, V2 one frame per packet.
enum class TpacketVersion { v2, v3 };

// Which packets a socket sees, relative to the captured interface (tcpdump -Q).
enum class Direction { inout, in, out };

// Timestamp resolution of a capture file and of printed times.
enum class TimestampPrecision { micro, nano };

enum class FileFormat { pcap, pcapng };

inline constexpr std::uint32_t kDefaultSnaplen = 262144;  // tcpdump's MAXIMUM_SNAPLEN

// PacketView::pkttype() values are the kernel's PACKET_HOST .. PACKET_OUTGOING (linux/if_packet.h);
// this one is ringcap's, for a packet read from a file that does not say its direction.
inline constexpr std::uint8_t kPacketTypeUnknown = 0xff;

// Asking long-running library calls (reading a file in parts, transmitting, capturing in a loop)
// to stop. A StopSource may be set from a signal handler: request_stop() is one lock-free atomic
// store. The calls look at their token between batches, never per packet.
class StopSource {
  public:
    StopSource() = default;
    StopSource(const StopSource&) = delete;
    StopSource& operator=(const StopSource&) = delete;

    void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
    bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }

  private:
    friend class StopToken;
    std::atomic<bool> stop_{false};
    static_assert(std::atomic<bool>::is_always_lock_free, "request_stop() runs in signal handlers");
};

// A view of a StopSource (or of nothing: never stops). Cheap to copy; the source must outlive it.
class StopToken {
  public:
    StopToken() = default;
    StopToken(const StopSource& source) noexcept : stop_(&source.stop_) {}  // NOLINT: implicit

    bool stop_requested() const noexcept {
        return stop_ != nullptr && stop_->load(std::memory_order_relaxed);
    }

  private:
    const std::atomic<bool>* stop_ = nullptr;
};

}  // namespace ringcap
