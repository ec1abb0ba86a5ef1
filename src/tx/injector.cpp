// TX ring setup, in the order packet_mmap.rst gives for transmission: socket with protocol 0
// (it receives nothing), PACKET_VERSION, PACKET_LOSS, PACKET_QDISC_BYPASS, PACKET_VNET_HDR (before
// the ring: the kernel refuses it after), PACKET_TX_RING, mmap, bind with sll_protocol 0.
#include <linux/if_ether.h>

#include <cstring>

#include <ringcap/error.hpp>
#include <ringcap/tx.hpp>

#include "ring/ring_setup.hpp"
#include "sys/clock.hpp"
#include "sys/fd.hpp"
#include "sys/interface.hpp"
#include "sys/socket.hpp"
#include "sys/timer.hpp"

namespace ringcap {

struct Injector::Impl {
    sys::Fd fd;
    detail::MappedRing ring;
    std::size_t mtu = 0;
    std::string interface;
};

Injector Injector::open(const TxOptions& o) {
    if (o.interface.empty() || o.interface == "any")
        throw Error(EINVAL, "transmit needs one interface", "name it in TxOptions::interface",
                    Remedy::name_interface);
    const sys::InterfaceFacts facts = sys::inspect_ethernet_interface(o.interface);
    auto impl = std::make_unique<Impl>();
    impl->interface = o.interface;
    impl->mtu = facts.mtu;
    impl->fd = sys::Fd::socket(AF_PACKET, SOCK_RAW, 0);
    const sys::Fd& fd = impl->fd;
    sys::setsockopt(fd, SOL_PACKET, PACKET_VERSION, int{TPACKET_V2}, "PACKET_VERSION",
                    "TPACKET_V2");
    // Without PACKET_LOSS a malformed frame makes send() fail and stalls the ring; with it the
    // kernel drops the frame, marks it TP_STATUS_AVAILABLE (as if sent) and goes on. So
    // commit() applies the kernel's size rules itself and counts what it would drop.
    sys::setsockopt(fd, SOL_PACKET, PACKET_LOSS, int{1}, "PACKET_LOSS");
    if (o.qdisc_bypass)
        sys::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, int{1}, "PACKET_QDISC_BYPASS");
    // A virtio-net header in front of every frame, so that commit() can ask for a linear copy.
    const std::size_t vnet_len = o.zero_copy ? 0 : sizeof(detail::VirtioNetHeader);
    if (vnet_len != 0) sys::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, int{1}, "PACKET_VNET_HDR");

    // Frames hold the largest frame the link takes (MTU + Ethernet header + one VLAN tag),
    // rounded up to a power of two so that they tile blocks without gaps.
    RingGeometry wish = o.ring;
    if (!wish.frame_size) {
        std::size_t f = 2048;
        while (f < kDataOffset + vnet_len + facts.mtu + ETH_HLEN + 4) f *= 2;
        wish.frame_size = f;
    }
    if (!wish.buffer_size) wish.buffer_size = kDefaultTxBufferSize;
    const LinkFacts link{.mtu = facts.mtu, .link_header = ETH_HLEN, .reserve = 0};
    impl->ring = detail::set_up_ring(
        fd, detail::RingKind::tx,
        plan_ring(TpacketVersion::v2, wish, kDefaultSnaplen, link, sys::page_size()),
        detail::OnNoMemory::fail);
    sys::bind_packet(fd, facts.index, 0, o.interface);  // transmit only: receives nothing

    Injector inj(std::move(impl));
    const RingLayout& layout = inj.impl_->ring.layout;
    inj.head_ = detail::TxFrameWalker(inj.impl_->ring.map());
    inj.vnet_len_ = static_cast<std::uint32_t>(vnet_len);
    inj.max_frame_len_ = layout.frame_size - kDataOffset - vnet_len;
    inj.max_untagged_len_ = facts.mtu + ETH_HLEN;
    return inj;
}

Injector::Injector(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Injector::Injector(Injector&&) noexcept = default;
Injector& Injector::operator=(Injector&&) noexcept = default;
Injector::~Injector() = default;

bool Injector::flush() {
    for (;;) {
        const int err = sys::send_ring_nowait(impl_->fd);
        if (err == 0) return true;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == ENOBUFS) return false;
        throw Error(err, "send(TX ring, " + impl_->interface + ")",
                    err == ENETDOWN ? "the interface went down" : "");
    }
}

bool Injector::wait_for_room(std::chrono::milliseconds timeout) {
    if (!next_frame().empty()) return true;
    const sys::PollResult p = sys::poll_one(impl_->fd, POLLOUT, timeout);
    if (p.error != 0 && p.error != EINTR)
        throw Error(p.error, "poll(TX ring, " + impl_->interface + ")");
    return !next_frame().empty();
}

TxStats Injector::drain(std::chrono::milliseconds timeout) {
    const std::int64_t deadline = monotonic_ns() + timeout.count() * 1'000'000;
    for (;;) {
        flush();
        stats_.in_flight = head_.in_flight(stats_.wrong_format);
        if (stats_.in_flight == 0 || monotonic_ns() >= deadline) return stats_;
        sys::poll_one(impl_->fd, POLLOUT, std::chrono::milliseconds(1));
    }
}

void Injector::prefill(std::span<const std::byte> bytes) noexcept {
    const std::size_t n = bytes.size() < max_frame_len_ ? bytes.size() : max_frame_len_;
    head_.ring().for_each_frame(
        [&](std::byte* f) { std::memcpy(f + kDataOffset + vnet_len_, bytes.data(), n); });
}

std::size_t Injector::mtu() const noexcept { return impl_->mtu; }
const RingLayout& Injector::layout() const noexcept { return impl_->ring.layout; }
int Injector::fd() const noexcept { return impl_->fd.get(); }

std::int64_t monotonic_ns() noexcept { return sys::monotonic_ns(); }

bool wait_until(std::int64_t deadline_ns) noexcept {
    // The kernel's default timer slack (50 us) would make every sleep late; 1 ns asks for none.
    // Timer slack belongs to a thread, not to ringcap: this sets it once, for the first thread
    // that comes here, for all its later sleeps (see sys/timer.hpp).
    static const bool slack_set = sys::set_thread_timer_slack(std::chrono::nanoseconds(1));
    (void)slack_set;
    constexpr std::int64_t kSpin = 60'000;  // wake-up latency on a VM is tens of microseconds
    if (deadline_ns - monotonic_ns() > kSpin && !sys::sleep_until_monotonic(deadline_ns - kSpin))
        return false;
    while (monotonic_ns() < deadline_ns) __builtin_ia32_pause();
    return true;
}

}  // namespace ringcap
