#pragma once
// Ring setup shared by capture (PACKET_RX_RING) and transmit (PACKET_TX_RING): the request the
// kernel takes (tpacket_req, or tpacket_req3 for V3), the shrink when it has no memory for it,
// and the mapping. Runs once per socket; the walkers that run per packet are in
// include/ringcap/detail/walkers.hpp.
#include <string>

#include <ringcap/detail/walkers.hpp>
#include <ringcap/geometry.hpp>

#include "sys/fd.hpp"

namespace ringcap::detail {

enum class RingKind { rx, tx };
enum class OnNoMemory {
    fail,
    shrink,  // halve the block count while the kernel says ENOMEM, down to 1 MiB
};

struct MappedRing {
    sys::Mapping memory;
    RingLayout layout;           // what the kernel took (after any shrink)
    bool memory_locked = false;  // MAP_LOCKED took; otherwise a plain mapping
    std::string note;            // what was decided on the user's behalf (the shrink), or empty

    RingMap map() const noexcept;
};

// Asks for the ring `layout` describes on `fd` (whose PACKET_VERSION is layout.version) and maps
// it. Throws ringcap::Error "setsockopt(PACKET_RX_RING, block_size=... )" on refusal.
MappedRing set_up_ring(const sys::Fd& fd, RingKind kind, RingLayout layout, OnNoMemory on_enomem);

}  // namespace ringcap::detail
