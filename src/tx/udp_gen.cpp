#include <ringcap/error.hpp>
#include <ringcap/gen.hpp>

namespace ringcap {
namespace {

std::uint64_t sum_words(std::span<const std::byte> b) noexcept {
    std::uint64_t sum = 0;
    std::size_t i = 0;
    for (; i + 1 < b.size(); i += 2)
        sum +=
            (std::to_integer<std::uint64_t>(b[i]) << 8) | std::to_integer<std::uint64_t>(b[i + 1]);
    if (i < b.size()) sum += std::to_integer<std::uint64_t>(b[i]) << 8;
    return sum;
}

std::uint16_t fold(std::uint64_t sum) noexcept {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

void be(std::vector<std::byte>& f, std::size_t at, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i, v >>= 8) f[at + i] = std::byte(v & 0xff);
}

std::uint64_t read_be(const std::byte* p, int n) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

}  // namespace

std::uint16_t internet_checksum(std::span<const std::byte> bytes) noexcept {
    return static_cast<std::uint16_t>(~fold(sum_words(bytes)));
}

UdpGenerator UdpGenerator::create(const UdpFlowSpec& spec) {
    UdpGenerator g;
    g.spec_ = spec;
    if (g.spec_.flows == 0) g.spec_.flows = 1;
    const std::size_t ip_len = spec.ipv6 ? 40 : 20;
    g.udp_at_ = 14 + ip_len;
    g.payload_at_ = g.udp_at_ + 8;
    if (spec.frame_size < g.min_size() || spec.frame_size > 9000)
        throw Error(EINVAL, "frame size " + std::to_string(spec.frame_size) + " out of range",
                    "UDP/" + std::string(spec.ipv6 ? "IPv6" : "IPv4") + " frames with ringcap's " +
                        "stamp take " + std::to_string(g.min_size()) + " to 9000 bytes");
    if (spec.flows > 65536u - spec.src_port)
        throw Error(EINVAL, std::to_string(spec.flows) + " flows from source port " +
                                std::to_string(spec.src_port) + " run past port 65535");
    std::vector<std::byte>& f = g.frame_;
    f.assign(spec.frame_size, std::byte{0});
    for (int i = 0; i < 6; ++i) {
        f[i] = std::byte(spec.dst_mac[i]);
        f[6 + i] = std::byte(spec.src_mac[i]);
    }
    const std::size_t udp_len = spec.frame_size - g.udp_at_;
    if (spec.ipv6) {
        be(f, 12, 0x86dd, 2);
        be(f, 14, 0x60000000, 4);  // version 6
        be(f, 18, udp_len, 2);     // payload length
        f[20] = std::byte(17);     // next header: UDP
        f[21] = std::byte(64);     // hop limit
        for (int i = 0; i < 16; ++i) {
            f[22 + i] = std::byte(spec.src_ip[i]);
            f[38 + i] = std::byte(spec.dst_ip[i]);
        }
    } else {
        be(f, 12, 0x0800, 2);
        f[14] = std::byte(0x45);
        be(f, 16, spec.frame_size - 14, 2);  // total length
        be(f, 20, 0x4000, 2);                // don't fragment
        f[22] = std::byte(64);               // TTL
        f[23] = std::byte(17);               // UDP
        for (int i = 0; i < 4; ++i) {
            f[26 + i] = std::byte(spec.src_ip[i]);
            f[30 + i] = std::byte(spec.dst_ip[i]);
        }
        be(f, 24, internet_checksum({f.data() + 14, 20}), 2);
    }
    be(f, g.udp_at_, spec.src_port, 2);
    be(f, g.udp_at_ + 2, spec.dst_port, 2);
    be(f, g.udp_at_ + 4, udp_len, 2);
    // Filler after the stamp: a recognisable byte pattern rather than zeros.
    for (std::size_t i = g.payload_at_ + kStampLen; i < f.size(); ++i)
        f[i] = std::byte(static_cast<std::uint8_t>(i));
    // Pseudo-header: addresses, protocol, UDP length; then the UDP header and payload.
    std::uint64_t sum = spec.ipv6 ? sum_words({f.data() + 22, 32}) : sum_words({f.data() + 26, 8});
    sum += 17 + udp_len;
    sum += sum_words({f.data() + g.udp_at_, udp_len});
    g.base_sum_ = sum;
    g.stamp(f.data(), 0, 0);  // a valid frame on its own
    return g;
}

std::optional<GenStamp> UdpGenerator::read_stamp(std::span<const std::byte> frame) noexcept {
    std::size_t at = 12;
    if (frame.size() < at + 2) return std::nullopt;
    std::uint64_t type = read_be(frame.data() + at, 2);
    if (type == 0x8100 || type == 0x88a8) {
        at += 4;
        if (frame.size() < at + 2) return std::nullopt;
        type = read_be(frame.data() + at, 2);
    }
    std::size_t payload;
    if (type == 0x0800 && frame.size() > at + 2 + 9 &&
        std::to_integer<int>(frame[at + 2 + 9]) == 17)
        payload = at + 2 + 20 + 8;
    else if (type == 0x86dd && frame.size() > at + 2 + 6 &&
             std::to_integer<int>(frame[at + 2 + 6]) == 17)
        payload = at + 2 + 40 + 8;
    else
        return std::nullopt;
    if (frame.size() < payload + kStampLen) return std::nullopt;
    return GenStamp{read_be(frame.data() + payload, 8),
                    static_cast<std::int64_t>(read_be(frame.data() + payload + 8, 8))};
}

}  // namespace ringcap
