#pragma once
// Synthetic UDP traffic for `ringcap gen`, tests and benchmarks: Ethernet/IPv4 or IPv6/UDP frames
// of a fixed size whose payload starts with a sequence number and the send time, so a receiver
// can match packets and measure delay. The frame is built once; per packet only the source
// port, the two payload fields and the UDP checksum (updated incrementally) change.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ringcap {

struct UdpFlowSpec {
    std::array<std::uint8_t, 6> src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    std::array<std::uint8_t, 6> dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    bool ipv6 = false;
    std::array<std::uint8_t, 16> src_ip{198, 18, 0, 1};  // IPv4 uses the first 4 bytes
    std::array<std::uint8_t, 16> dst_ip{198, 18, 0, 2};  // (198.18/15: benchmarking range)
    std::uint16_t src_port = 10000;
    std::uint16_t dst_port = 9;   // discard
    std::uint32_t flows = 1;      // source ports src_port .. src_port + flows - 1, round robin
    std::size_t frame_size = 64;  // Ethernet frame without FCS
};

// What a receiver finds at the start of the payload.
struct GenStamp {
    std::uint64_t seq = 0;
    std::int64_t ts_ns = 0;  // CLOCK_REALTIME when the frame was handed to the kernel
};

class UdpGenerator {
  public:
    static constexpr std::size_t kStampLen = 16;
    // Throws ringcap::Error(EINVAL) for a size the headers and stamp do not fit in, or over 9000.
    static UdpGenerator create(const UdpFlowSpec& spec);

    std::span<const std::byte> frame() const noexcept { return frame_; }
    std::size_t size() const noexcept { return frame_.size(); }
    std::size_t min_size() const noexcept { return payload_at_ + kStampLen; }

    // Writes the per-packet fields into `out`, which already holds frame() (e.g. a TX ring frame
    // filled by Injector::prefill); the result is a valid frame with a correct UDP checksum.
    void stamp(std::byte* out, std::uint64_t seq, std::int64_t ts_ns) const noexcept {
        const std::uint16_t port =
            static_cast<std::uint16_t>(spec_.src_port + (spec_.flows > 1 ? seq % spec_.flows : 0));
        put_be(out + udp_at_, port, 2);
        put_be(out + payload_at_, seq, 8);
        put_be(out + payload_at_ + 8, static_cast<std::uint64_t>(ts_ns), 8);
        // One's-complement sum is linear: base (port = src_port, stamp = 0) + new words - old.
        std::uint64_t sum = base_sum_ + port + (0xffffu - spec_.src_port);
        for (int shift = 0; shift < 64; shift += 16)
            sum +=
                ((seq >> shift) & 0xffff) + ((static_cast<std::uint64_t>(ts_ns) >> shift) & 0xffff);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        std::uint16_t csum = static_cast<std::uint16_t>(~sum);
        if (csum == 0) csum = 0xffff;  // 0 means "no checksum" in UDP
        put_be(out + udp_at_ + 6, csum, 2);
    }

    // Reads the stamp back from a captured frame made by stamp() (Ethernet, optional VLAN tag).
    static std::optional<GenStamp> read_stamp(std::span<const std::byte> frame) noexcept;

  private:
    static void put_be(std::byte* p, std::uint64_t v, int n) noexcept {
        for (int i = n - 1; i >= 0; --i, v >>= 8) p[i] = std::byte(v & 0xff);
    }

    UdpFlowSpec spec_{};
    std::vector<std::byte> frame_;
    std::size_t udp_at_ = 0;
    std::size_t payload_at_ = 0;
    std::uint64_t base_sum_ = 0;  // unfolded sum of pseudo-header, UDP header and payload
};

// The RFC 1071 Internet checksum of `bytes` (folded and complemented).
std::uint16_t internet_checksum(std::span<const std::byte> bytes) noexcept;

}  // namespace ringcap
