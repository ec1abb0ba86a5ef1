// Ring arithmetic. The rules checked here are the ones packet_set_ring() in
// net/packet/af_packet.c applies (see also Documentation/networking/packet_mmap.rst,
// "How to use mmap() directly to improve capture process"): a rule broken here would be a bare
// EINVAL from setsockopt(PACKET_RX_RING), so we name it instead.
#include <linux/if_packet.h>

#include <algorithm>
#include <climits>
#include <string>
#include <tuple>
#include <utility>

#include <ringcap/error.hpp>
#include <ringcap/geometry.hpp>

namespace ringcap {
namespace {

[[noreturn]] void reject(const std::string& rule) { throw Error(EINVAL, "ring geometry: " + rule); }

std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }

std::size_t header_len(TpacketVersion v) {
    return v == TpacketVersion::v3 ? TPACKET3_HDRLEN : TPACKET2_HDRLEN;
}

const char* name(TpacketVersion v) { return v == TpacketVersion::v3 ? "TPACKET_V3" : "TPACKET_V2"; }

std::size_t power_of_two_at_least(std::size_t v) {
    std::size_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

std::string packets(std::uint64_t n) {
    return std::to_string(n) + (n == 1 ? " packet" : " packets");
}

// The size of a V3 ring nobody gave a size for (the rule is stated in geometry.hpp), and why.
std::pair<std::size_t, std::string> default_v3_size(const RingGeometry& wish, const LinkFacts& link,
                                                    std::size_t block_size) {
    const std::uint64_t bps = link.speed_bps != 0 ? link.speed_bps : kAssumedSpeedBps;
    // Fanout: each of N sockets takes about 1/N of the packets; hashing is never even, so 2/N.
    const std::size_t share = std::max<std::size_t>(wish.sharing_sockets, 1);
    const double bytes_per_s = double(bps) / 8 * std::min(1.0, 2.0 / double(share));
    const std::size_t for_rate = power_of_two_at_least(
        std::size_t(bytes_per_s * std::chrono::duration<double>(kRideOut).count()));
    const std::size_t timeouts = static_cast<std::size_t>(
        (kRideOut + wish.block_timeout - std::chrono::milliseconds(1)) / wish.block_timeout);
    const std::size_t for_timeouts = timeouts * block_size;
    const std::size_t wanted = std::max(for_rate, for_timeouts);
    const std::size_t bytes = std::clamp(wanted, kMinDefaultBufferSize, kMaxDefaultBufferSize);

    if (wish.packet_limit != 0) {
        const std::uint64_t blocks = std::max<std::uint64_t>(wish.packet_limit, kMinDefaultBlocks);
        if (blocks < bytes / block_size)
            return {blocks * block_size, "sized for " + packets(wish.packet_limit)};
    }
    std::string why = "sized for " + std::to_string(kRideOut.count()) + " ms ";
    if (for_rate >= for_timeouts)
        why += "at " + std::to_string(bps / 1'000'000) + " Mb/s" +
               (link.speed_bps == 0 ? " (link speed unknown)" : "");
    else
        why += "of " + std::to_string(wish.block_timeout.count()) + " ms block timeouts";
    if (share > 1) why += " for 1 of " + std::to_string(share) + " sockets";
    if (wanted != bytes)
        why +=
            (wanted > bytes ? ", at most " : ", at least ") + std::to_string(bytes >> 20) + " MiB";
    return {bytes, why};
}

// The same for V2: frames for kDefaultV2Frames packets, or for a -c limit.
std::pair<std::size_t, std::string> default_v2_size(const RingGeometry& wish,
                                                    const RingLayout& out) {
    const bool limited = wish.packet_limit != 0 && wish.packet_limit < kDefaultV2Frames;
    const std::size_t frames =
        limited ? std::max<std::size_t>(wish.packet_limit, kMinDefaultV2Frames) : kDefaultV2Frames;
    const std::size_t per_block = out.frames_per_block();
    const std::size_t bytes = out.block_size * ((frames + per_block - 1) / per_block);
    if (limited) return {bytes, "sized for " + packets(wish.packet_limit)};
    return {std::clamp(bytes, kMaxDefaultBufferSize, kMaxDefaultV2BufferSize),
            "sized for " + std::to_string(kDefaultV2Frames) + " frames"};
}

// The size asked for, or the default (and why).
std::pair<std::size_t, std::string> ring_bytes(const RingGeometry& wish, const LinkFacts& link,
                                               const RingLayout& out) {
    if (wish.buffer_size) return {*wish.buffer_size, ""};
    auto sized = out.version == TpacketVersion::v3 ? default_v3_size(wish, link, out.block_size)
                                                   : default_v2_size(wish, out);
    sized.first = std::max(sized.first, out.block_size);
    return sized;
}

}  // namespace

std::size_t frame_overhead(TpacketVersion version, std::size_t reserve) noexcept {
    // netoff = TPACKET_ALIGN(tp_hdrlen + max(maclen, 16)) + tp_reserve; data starts at most there.
    return TPACKET_ALIGN(header_len(version) + 16) + reserve;
}

RingLayout plan_ring(TpacketVersion version, const RingGeometry& wish, std::uint32_t snaplen,
                     const LinkFacts& link, std::size_t page_size) {
    RingLayout out;
    out.version = version;
    out.block_timeout = wish.block_timeout;
    const std::size_t min_frame = header_len(version) + link.reserve;

    // Largest packet worth a frame: the link's biggest frame plus a VLAN tag, capped by snaplen.
    const std::size_t mtu = link.offloads && link.mtu < 65535 ? 65535 : link.mtu;
    const std::size_t biggest = mtu + link.link_header + 4;
    const std::size_t wanted = snaplen < biggest ? snaplen : biggest;
    const std::size_t derived_frame = TPACKET_ALIGN(frame_overhead(version, link.reserve) + wanted);

    if (wish.frame_size) {
        const std::size_t f = *wish.frame_size;
        if (f % TPACKET_ALIGNMENT != 0)
            reject("frame size " + std::to_string(f) + " is not a multiple of TPACKET_ALIGNMENT (" +
                   std::to_string(TPACKET_ALIGNMENT) + ")");
        if (f <= min_frame)
            reject("frame size " + std::to_string(f) + " must be larger than the " + name(version) +
                   " header plus reserve (" + std::to_string(min_frame) + " bytes)");
        out.frame_size = f;
    } else {
        out.frame_size = derived_frame;
    }

    if (wish.block_size) {
        const std::size_t b = *wish.block_size;
        if (b == 0 || b % page_size != 0)
            reject("block size " + std::to_string(b) + " is not a multiple of the page size (" +
                   std::to_string(page_size) + ")");
        if (b > INT_MAX) reject("block size " + std::to_string(b) + " exceeds 2 GiB - 1 (INT_MAX)");
        out.block_size = b;
    } else if (version == TpacketVersion::v3) {
        out.block_size = kDefaultV3BlockSize;
    } else {
        const std::size_t one_frame = round_up(out.frame_size, page_size);
        out.block_size = one_frame > kDefaultV2BlockSize ? one_frame : kDefaultV2BlockSize;
    }

    if (version == TpacketVersion::v3) {
        // V3 packs packets back to back in a block; tp_frame_size only has to pass the checks.
        // The kernel wants room for the block descriptor plus one minimal frame.
        const std::size_t bd = TPACKET_ALIGN(sizeof(tpacket_block_desc));
        if (out.block_size < bd + min_frame)
            reject("block size " + std::to_string(out.block_size) +
                   " cannot hold the block "
                   "descriptor and one frame (" +
                   std::to_string(bd + min_frame) + " bytes)");
        if (!wish.frame_size)
            out.frame_size = out.block_size < derived_frame ? out.block_size : derived_frame;
        if (out.block_timeout.count() <= 0 || out.block_timeout > kMaxBlockTimeout)
            reject("block timeout " + std::to_string(out.block_timeout.count()) +
                   " ms must be at least 1 ms and at most " +
                   std::to_string(kMaxBlockTimeout.count()) + " ms (the kernel keeps 16 bits)");
    }

    if (out.frame_size > out.block_size)
        reject("frame size " + std::to_string(out.frame_size) + " exceeds block size " +
               std::to_string(out.block_size) + " (frames per block would be 0)");

    std::size_t buffer = 0;
    std::tie(buffer, out.sized_by) = ring_bytes(wish, link, out);
    if (buffer < out.block_size)
        reject("buffer size " + std::to_string(buffer) + " is smaller than one block (" +
               std::to_string(out.block_size) + " bytes)");
    out.block_count = (buffer + out.block_size - 1) / out.block_size;  // round up, never to 0
    if (out.block_count > UINT_MAX / out.frames_per_block())
        reject("frames per block x block count overflows (" + std::to_string(out.block_count) +
               " blocks)");
    // The kernel requires tp_frame_nr == frames_per_block * tp_block_nr exactly.
    out.frame_count = out.frames_per_block() * out.block_count;
    return out;
}

}  // namespace ringcap
