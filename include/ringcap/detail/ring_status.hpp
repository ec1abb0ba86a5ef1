#pragma once
// The ring's ownership handshake, and the only code that reads or writes the status words that
// carry it (V3 block_status, V2 tp_status). Packet-mmap.rst: the kernel sets TP_STATUS_USER when
// it has filled a block/frame; user space gives it back by storing TP_STATUS_KERNEL.
// Acquire on the read pairs with the kernel's smp_wmb() before it sets the status, so the packet
// bytes are visible before we look at them; release on the hand-back makes sure we finished
// reading before the kernel may overwrite (libpcap #898 was this bug with plain accesses).
#include <linux/if_packet.h>

#include <atomic>
#include <cstdint>

namespace ringcap::detail {

inline bool user_owns(tpacket_block_desc& block) noexcept {
    return std::atomic_ref<std::uint32_t>(block.hdr.bh1.block_status)
               .load(std::memory_order_acquire) &
           TP_STATUS_USER;
}

inline void hand_to_kernel(tpacket_block_desc& block) noexcept {
    std::atomic_ref<std::uint32_t>(block.hdr.bh1.block_status)
        .store(TP_STATUS_KERNEL, std::memory_order_release);
}

inline bool user_owns(tpacket2_hdr& frame) noexcept {
    return std::atomic_ref<std::uint32_t>(frame.tp_status).load(std::memory_order_acquire) &
           TP_STATUS_USER;
}

inline void hand_to_kernel(tpacket2_hdr& frame) noexcept {
    std::atomic_ref<std::uint32_t>(frame.tp_status)
        .store(TP_STATUS_KERNEL, std::memory_order_release);
}

}  // namespace ringcap::detail

namespace ringcap::detail {

// Per-packet flags (VLAN_VALID, LOSING, ...) of a V2 frame we already own: the acquire in
// user_owns() ordered everything after it, so a plain read is enough here.
inline std::uint32_t owned_frame_flags(const tpacket2_hdr& frame) noexcept {
    return frame.tp_status;
}

}  // namespace ringcap::detail
