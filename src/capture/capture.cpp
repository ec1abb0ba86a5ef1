// Capture setup as a linear recipe, in the order libpcap's pcap-linux.c and netsniff-ng's
// ring_rx_setup() use: socket -> PACKET_VERSION -> PACKET_RESERVE -> PACKET_RX_RING -> mmap ->
// filter -> bind -> promiscuous membership. Every step throws a ringcap::Error naming itself.
#include <linux/if_ether.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include <ringcap/capture.hpp>
#include <ringcap/error.hpp>
#include <ringcap/filter.hpp>

#include "capture/fanout.hpp"
#include "ring/ring_setup.hpp"
#include "ring/rx_ring.hpp"
#include "stats/ring_stats.hpp"
#include "sys/fd.hpp"
#include "sys/interface.hpp"
#include "sys/socket.hpp"

namespace ringcap {
namespace {

// Wake-up coalescing for V2 frames (the low-latency mode): when the ring runs empty after this
// many frames were taken since the last wait, packets are arriving faster than one wake-up each
// can serve, so the wait is a short sleep rather than poll(), which would wake the thread for
// every single packet. Under load a wake-up then serves many packets, at the price of at most
// kCoalesceSleep (plus timer slack) of added delay; at low rates one frame arrives per wake-up
// and poll() wakes at once. (Counted per wait, not per batch: a big batch is often followed by
// a small one, of what arrived while the big one was being handled.)
constexpr std::uint32_t kCoalesceAbove = 8;
constexpr auto kCoalesceSleep = std::chrono::microseconds(20);

// The same for V3 blocks, when the caller accepts a delivery bound of kCoalesceMinBound or more
// (batched delivery, options.hpp): when the ring runs empty right after a block that was handed
// over because it was full, packets come fast enough to fill one before the bound; sleeping
// for the time the last block took to fill, times kCoalesceBlocks, lets one wake-up serve that
// many blocks instead of one each. Never longer than a quarter of the bound, and never more
// blocks than a quarter of the ring, so the ring keeps room for what comes meanwhile.
constexpr std::chrono::milliseconds kCoalesceMinBound{10};
constexpr std::size_t kCoalesceBlocks = 4;

// How late the kernel's block retire timer may fire: an hrtimer on recent kernels (6.18 here:
// on time, /proc/timer_list lists prb_retire_rx_blk_timer_expired), a jiffies timer on older
// ones (up to two jiffies late: 20 ms at HZ=100).
constexpr std::chrono::milliseconds kRetireTimerSlack{20};

}  // namespace

struct Capture::Impl {
    sys::Fd fd;
    detail::MappedRing ring;
    CaptureInfo info;
    detail::RxRing rx;
    TpacketVersion version = TpacketVersion::v3;
    bool coalesce = false;  // V2: wake-up coalescing (kCoalesceAbove); V3 blocks batch already
    RingCounters totals;
    bool rollover = false;  // a fanout socket that passes packets on when full
    std::optional<std::chrono::microseconds> busy_poll;
    std::uint32_t taken_since_wait = 0;     // V2 frames handed out since the last sleep or poll()
    std::chrono::nanoseconds last_fill{0};  // V3: rx.last_fill_time() of the last block taken
    std::optional<Error> failure;           // the socket failed; thrown once the ring is drained
    // drain(): the block to wait for (the one the kernel was filling), and until when.
    struct Drain {
        std::optional<std::uint64_t> block;
        std::chrono::steady_clock::time_point until;
    };
    std::optional<Drain> draining;

    void open(const CaptureOptions& o);
    void set_version(const CaptureOptions& o);
    void create_ring(const CaptureOptions& o, const LinkFacts& link);
    void attach_filter(const CaptureOptions& o);
    void filter_in_user_space(const CaptureOptions& o, int err);
    void bind_and_join(const CaptureOptions& o);
    std::optional<Batch> take() noexcept {
        std::optional<Batch> b = rx.take();
        if (b && coalesce) taken_since_wait += static_cast<std::uint32_t>(b->size());
        if (b && version == TpacketVersion::v3) last_fill = rx.last_fill_time();
        return b;
    }
    std::chrono::nanoseconds coalescing_sleep() noexcept;
};

void Capture::Impl::open(const CaptureOptions& o) {
    if (o.interface.empty())
        throw Error(EINVAL, "no interface given",
                    "name one in CaptureOptions::interface; list_interfaces() lists them",
                    Remedy::name_interface);
    const bool any = o.interface == "any";
    info.interface = o.interface;
    info.snaplen = o.snaplen == 0 ? kDefaultSnaplen : o.snaplen;
    info.link_type = any ? LinkType::linux_sll2 : LinkType::ethernet;
    // Room in front of each packet for what fix_up() in batch.hpp puts back.
    const std::size_t reserve =
        any ? detail::kSll2HeaderLen + detail::kVlanTagLen : detail::kVlanTagLen;
    LinkFacts link{.mtu = 65536, .link_header = 0, .reserve = reserve};
    if (!any) {
        const sys::InterfaceFacts facts = sys::inspect_ethernet_interface(o.interface);
        info.ifindex = facts.index;
        link = {.mtu = facts.mtu,
                .link_header = ETH_HLEN,
                .reserve = reserve,
                .offloads = facts.offloads,
                .speed_bps = facts.speed_bps};
    }
    // 1. The socket, protocol 0 so that nothing is queued before the filter is in place.
    fd = sys::Fd::socket(AF_PACKET, any ? SOCK_DGRAM : SOCK_RAW, 0);
    // 2. Version and reserve.
    set_version(o);
    sys::setsockopt(fd, SOL_PACKET, PACKET_RESERVE, static_cast<unsigned>(link.reserve),
                    "PACKET_RESERVE", std::to_string(link.reserve));
    // 3. Ring and mapping.
    create_ring(o, link);
    // 4. Filter, before bind: no packet reaches the ring unfiltered.
    attach_filter(o);
    // 5. Bind, then 6. promiscuous membership.
    bind_and_join(o);
    // 7. The fanout group, which only a bound socket may join.
    if (o.fanout) {
        info.fanout_group = detail::join_fanout(fd, *o.fanout);
        rollover =
            o.fanout->mode == FanoutMode::rollover || has(o.fanout->flags, FanoutFlags::rollover);
    }
    rx = detail::RxRing(version, ring.map(), {.cooked = any, .snaplen = info.snaplen});
    coalesce = version == TpacketVersion::v2;
    busy_poll = o.busy_poll;
}

void Capture::Impl::set_version(const CaptureOptions& o) {
    const bool automatic = !o.version.has_value();
    const bool latency = o.low_latency || o.busy_poll.has_value();
    version = o.version.value_or(latency ? TpacketVersion::v2 : TpacketVersion::v3);
    const int v = version == TpacketVersion::v3 ? TPACKET_V3 : TPACKET_V2;
    const int err = sys::try_setsockopt(fd, SOL_PACKET, PACKET_VERSION, v);
    if (err == 0) return;
    if (version == TpacketVersion::v3 && automatic) {
        info.notes.push_back("the kernel refused TPACKET_V3 (" +
                             std::generic_category().message(err) + "); using TPACKET_V2");
        version = TpacketVersion::v2;
        sys::setsockopt(fd, SOL_PACKET, PACKET_VERSION, int{TPACKET_V2}, "PACKET_VERSION",
                        "TPACKET_V2");
        return;
    }
    throw Error(err,
                std::string("setsockopt(PACKET_VERSION, ") +
                    (version == TpacketVersion::v3 ? "TPACKET_V3" : "TPACKET_V2") + ")",
                version == TpacketVersion::v3 ? "ask for TpacketVersion::v2" : "",
                version == TpacketVersion::v3 ? Remedy::tpacket_v2 : Remedy::none);
}

void Capture::Impl::create_ring(const CaptureOptions& o, const LinkFacts& link) {
    ring = detail::set_up_ring(fd, detail::RingKind::rx,
                               plan_ring(version, o.ring, info.snaplen, link, sys::page_size()),
                               detail::OnNoMemory::shrink);
    if (!ring.note.empty()) info.notes.push_back(ring.note);
    info.layout = ring.layout;
    info.memory_locked = ring.memory_locked;
}

void Capture::Impl::attach_filter(const CaptureOptions& o) {
    // Always attach a program: its return value is what enforces snaplen in the kernel.
    const Filter filter =
        info.link_type == LinkType::ethernet
            ? Filter::compile_live(o.filter, o.interface, info.link_type, info.snaplen)
            : Filter::compile(o.filter, info.link_type, info.snaplen);
    std::vector<sock_filter> program = filter.for_kernel(info.link_type);
    if (o.direction == Direction::out) program = only_outgoing(program);
    sock_fprog fprog{.len = static_cast<unsigned short>(program.size()), .filter = program.data()};
    const int err = sys::try_setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog);
    if (err == EINVAL || err == ENOMEM)
        filter_in_user_space(o, err);
    else if (err != 0)
        throw Error(err, "setsockopt(SO_ATTACH_FILTER, " + std::to_string(program.size()) +
                             " instructions)");
    if (o.direction == Direction::in)
        sys::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, int{1}, "PACKET_IGNORE_OUTGOING");
}

// The kernel refused the program (its checker rejects backward jumps, which libpcap emits for
// `protochain`; or it is over optmem_max): as libpcap does, attach one that keeps snaplen bytes
// of every packet (and the -Q out check), and leave the expression to user space
// (CaptureInfo::filter_in_user_space: the caller runs Filter::matches on each packet).
void Capture::Impl::filter_in_user_space(const CaptureOptions& o, int err) {
    std::vector<sock_filter> program = accept_all(info.snaplen);
    if (o.direction == Direction::out) program = only_outgoing(program);
    sock_fprog fprog{.len = static_cast<unsigned short>(program.size()), .filter = program.data()};
    sys::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, "SO_ATTACH_FILTER",
                    "accept all, snaplen " + std::to_string(info.snaplen));
    info.filter_in_user_space = true;
    info.notes.push_back("kernel filter failed: " + std::generic_category().message(err) +
                         "; filtering in user space");
}

void Capture::Impl::bind_and_join(const CaptureOptions& o) {
    sys::bind_packet(fd, info.ifindex, ETH_P_ALL, o.interface);
    if (o.promiscuous && info.ifindex != 0) {
        packet_mreq mreq{};
        mreq.mr_ifindex = info.ifindex;
        mreq.mr_type = PACKET_MR_PROMISC;
        sys::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq, "PACKET_ADD_MEMBERSHIP",
                        "PACKET_MR_PROMISC");
    }
}

// How long to sleep instead of poll() now that the ring ran empty, so that one wake-up serves
// many packets under load (0: poll at once). Called once per wait: it resets the V2 count.
std::chrono::nanoseconds Capture::Impl::coalescing_sleep() noexcept {
    if (version == TpacketVersion::v2) {
        const bool busy = taken_since_wait >= kCoalesceAbove;
        taken_since_wait = 0;
        return busy ? std::chrono::nanoseconds(kCoalesceSleep) : std::chrono::nanoseconds(0);
    }
    const std::chrono::milliseconds bound = info.layout.block_timeout;
    const std::size_t blocks = std::min(kCoalesceBlocks, info.layout.block_count / 4);
    if (last_fill.count() == 0 || bound < kCoalesceMinBound || blocks == 0)
        return std::chrono::nanoseconds(0);
    const auto nap = std::min<std::chrono::nanoseconds>(last_fill * blocks, bound / 4);
    // A nap shorter than one block's fill would wake to an empty ring and poll() after all:
    // two wake-ups for one block. Poll at once then.
    return nap < last_fill ? std::chrono::nanoseconds(0) : nap;
}

Capture Capture::open(const CaptureOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->open(options);
    return Capture(std::move(impl));
}

Capture::Capture(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Capture::Capture(Capture&&) noexcept = default;
Capture& Capture::operator=(Capture&&) noexcept = default;
Capture::~Capture() = default;

std::optional<Batch> Capture::next_batch(std::chrono::milliseconds timeout) {
    if (auto b = impl_->take()) return b;
    if (impl_->failure) throw *impl_->failure;  // the ring is drained: now the error
    if (impl_->busy_poll) {
        // Spin on the status word of the next block/frame: it lives in our mapping, so looking
        // costs a cache miss when the kernel has written it and nothing otherwise.
        const auto spin =
            impl_->busy_poll->count() == 0
                ? std::chrono::duration_cast<std::chrono::microseconds>(timeout)
                : std::min(*impl_->busy_poll,
                           std::chrono::duration_cast<std::chrono::microseconds>(timeout));
        const auto until = std::chrono::steady_clock::now() + spin;
        do {
            for (int i = 0; i < 64; ++i) {
                if (auto b = impl_->take()) return b;
                __builtin_ia32_pause();
            }
        } while (std::chrono::steady_clock::now() < until);
        timeout -= std::chrono::duration_cast<std::chrono::milliseconds>(spin);
        if (timeout.count() <= 0) return std::nullopt;
    }
    const std::chrono::nanoseconds nap = impl_->coalescing_sleep();
    if (nap.count() > 0 && timeout.count() > 0) {  // never sleep in a non-blocking call
        std::this_thread::sleep_for(nap);
        if (auto b = impl_->take()) return b;
        impl_->last_fill = std::chrono::nanoseconds(0);  // the rate fell: poll() from now on
    }
    const sys::PollResult p = sys::poll_one(impl_->fd, POLLIN | POLLERR, timeout);
    if (p.error == EINTR) return std::nullopt;
    if (p.error != 0) throw Error(p.error, "poll(" + impl_->info.interface + ")");
    if (p.revents & POLLERR) {
        const int err = sys::getsockopt<int>(impl_->fd, SOL_SOCKET, SO_ERROR, "SO_ERROR");
        if (err != 0) {
            impl_->failure = Error(err, "capture on '" + impl_->info.interface + "'",
                                   err == ENETDOWN ? "the interface went down" : "");
            // Packets the kernel put in the ring before the error go out first. A V3 block
            // still being filled is handed over by its retire timer, within one block timeout.
            if (impl_->version == TpacketVersion::v3)
                sys::poll_one(impl_->fd, POLLIN, impl_->info.layout.block_timeout + 1ms);
            if (auto b = impl_->take()) return b;
            throw *impl_->failure;
        }
    }
    return impl_->take();
}

// The ring runs empty only after every block handed over was taken; the block the kernel is
// filling then comes when its timer retires it, which drain() waits for (once: packets that keep
// coming fill later blocks, which a stop does not wait for).
std::optional<Batch> Capture::drain() {
    Impl& m = *impl_;
    if (auto b = m.take()) return b;
    if (!m.draining)
        m.draining = Impl::Drain{.block = m.rx.filling_block(),
                                 .until = std::chrono::steady_clock::now() + delivery_bound()};
    while (m.draining->block && !m.rx.taken(*m.draining->block)) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            m.draining->until - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        const sys::PollResult p = sys::poll_one(m.fd, POLLIN, left);
        if (p.error != 0 && p.error != EINTR) break;
        if (auto b = m.take()) return b;
    }
    return std::nullopt;
}

std::chrono::nanoseconds Capture::delivery_bound() const noexcept {
    const RingLayout& l = impl_->info.layout;
    return l.version == TpacketVersion::v3 ? l.block_timeout + kRetireTimerSlack
                                           : kRetireTimerSlack;
}

CaptureStats Capture::stats() {
    impl_->totals += detail::read_ring_counters(impl_->fd, impl_->version);
    if (impl_->rollover) impl_->totals.rolled_over = detail::read_rolled_over(impl_->fd);
    return impl_->totals;
}

double Capture::ring_fill() const noexcept {
    return detail::ring_fill(impl_->ring.map(), impl_->version);
}

int Capture::fd() const noexcept { return impl_->fd.get(); }
const CaptureInfo& Capture::info() const noexcept { return impl_->info; }

}  // namespace ringcap
