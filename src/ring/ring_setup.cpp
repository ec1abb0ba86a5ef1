#include "ring/ring_setup.hpp"

#include <linux/if_packet.h>

#include <ringcap/error.hpp>

#include "sys/socket.hpp"

namespace ringcap::detail {
namespace {

std::string mib(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// packet_mmap.rst: tpacket_req for V1/V2 rings (RX and TX), tpacket_req3 for V3, which adds the
// block retire timeout and the features to fill (the RX hash, for PacketView::rxhash()).
int request_ring(const sys::Fd& fd, int option, const RingLayout& l) noexcept {
    const auto u = [](std::size_t v) { return static_cast<unsigned>(v); };
    if (l.version == TpacketVersion::v3) {
        tpacket_req3 req{};
        req.tp_block_size = u(l.block_size);
        req.tp_block_nr = u(l.block_count);
        req.tp_frame_size = u(l.frame_size);
        req.tp_frame_nr = u(l.frame_count);
        req.tp_retire_blk_tov = u(static_cast<std::size_t>(l.block_timeout.count()));
        req.tp_feature_req_word = TP_FT_REQ_FILL_RXHASH;
        return sys::try_setsockopt(fd, SOL_PACKET, option, req);
    }
    tpacket_req req{};
    req.tp_block_size = u(l.block_size);
    req.tp_block_nr = u(l.block_count);
    req.tp_frame_size = u(l.frame_size);
    req.tp_frame_nr = u(l.frame_count);
    return sys::try_setsockopt(fd, SOL_PACKET, option, req);
}

}  // namespace

RingMap MappedRing::map() const noexcept {
    return {.base = memory.bytes().data(),
            .block_size = layout.block_size,
            .frame_size = layout.frame_size,
            .frames_per_block = static_cast<std::uint32_t>(layout.frames_per_block()),
            .block_count = static_cast<std::uint32_t>(layout.block_count)};
}

MappedRing set_up_ring(const sys::Fd& fd, RingKind kind, RingLayout layout, OnNoMemory on_enomem) {
    const int option = kind == RingKind::rx ? PACKET_RX_RING : PACKET_TX_RING;
    const char* name = kind == RingKind::rx ? "PACKET_RX_RING" : "PACKET_TX_RING";
    const std::size_t asked = layout.total_bytes();
    for (;;) {
        const int err = request_ring(fd, option, layout);
        if (err == 0) break;
        // The kernel could not find the memory: halve the block count, as netsniff-ng does,
        // and say so; give up below 1 MiB.
        if (err == ENOMEM && on_enomem == OnNoMemory::shrink && layout.block_count > 1 &&
            layout.total_bytes() / 2 >= (1u << 20)) {
            layout.block_count /= 2;
            layout.frame_count = layout.frames_per_block() * layout.block_count;
            continue;
        }
        throw Error(err,
                    std::string("setsockopt(") + name +
                        ", block_size=" + std::to_string(layout.block_size) +
                        " block_nr=" + std::to_string(layout.block_count) +
                        " frame_size=" + std::to_string(layout.frame_size) +
                        " frame_nr=" + std::to_string(layout.frame_count) + ")",
                    err == ENOMEM ? "ask for a smaller ring (RingGeometry::buffer_size)" : "",
                    err == ENOMEM ? Remedy::smaller_ring : Remedy::none);
    }
    MappedRing r;
    if (layout.total_bytes() != asked)
        r.note = "ring shrunk from " + mib(asked) + " to " + mib(layout.total_bytes()) +
                 ": the kernel could not allocate more (ENOMEM)";
    r.layout = layout;
    // No MAP_LOCKED: packet_mmap() maps every page of the ring at once, and the pages are the
    // kernel's (never on an LRU list, never swapped), so locking only added ~1 ms per 64 MiB.
    r.memory = sys::Mapping::map_shared(fd.get(), layout.total_bytes(), false, &r.memory_locked);
    return r;
}

}  // namespace ringcap::detail
