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

#include "stats/ring_stats.hpp"
#include "sys/fd.hpp"
#include "sys/interface.hpp"
#include "sys/socket.hpp"

namespace ringcap {
namespace {

constexpr std::uint32_t kMaxV2Batch = 256;
// Wake-up coalescing for V2 frames (the low-latency mode): when the ring runs empty after this
// many frames were taken since the last wait, packets are arriving faster than one wake-up each
// can serve, so the wait is a short sleep rather than poll(), which would wake the thread for
// every single packet. Under load a wake-up then serves many packets, at the price of at most
// kCoalesceSleep (plus timer slack) of added delay; at low rates one frame arrives per wake-up
// and poll() wakes at once. (Counted per wait, not per batch: a big batch is often followed by
// a small one, of what arrived while the big one was being handled.)
constexpr std::uint32_t kCoalesceAbove = 8;
constexpr auto kCoalesceSleep = std::chrono::microseconds(20);

std::string mib(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

struct Capture::Impl {
    sys::Fd fd;
    sys::Mapping ring;
    CaptureInfo info;
    detail::RingShape shape;
    detail::Fixup fixup;
    TpacketVersion version = TpacketVersion::v3;
    std::uint32_t block = 0;  // V3: next block; V2: block and slot of the next frame
    std::uint32_t slot = 0;
    RingCounters totals;
    std::optional<std::chrono::microseconds> busy_poll;
    std::uint32_t taken_since_wait = 0;  // V2 frames handed out since the last sleep or poll()
    std::optional<Error> failure;        // the socket failed; thrown once the ring is drained

    void open(const CaptureOptions& o);
    void set_version(const CaptureOptions& o);
    void create_ring(const CaptureOptions& o, const LinkFacts& link);
    void attach_filter(const CaptureOptions& o);
    void bind_and_join(const CaptureOptions& o);
    std::optional<Batch> take();
    std::byte* frame(std::uint32_t blk, std::uint32_t slt) const {
        return shape.base + blk * shape.block_size + slt * shape.frame_size;
    }
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
                .offloads = facts.offloads};
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
    fixup = {.cooked = any, .snaplen = info.snaplen};
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
    RingLayout layout = plan_ring(version, o.ring, info.snaplen, link, sys::page_size());
    const std::size_t asked = layout.total_bytes();
    for (;;) {
        int err;
        if (version == TpacketVersion::v3) {
            tpacket_req3 req{};
            req.tp_block_size = static_cast<unsigned>(layout.block_size);
            req.tp_block_nr = static_cast<unsigned>(layout.block_count);
            req.tp_frame_size = static_cast<unsigned>(layout.frame_size);
            req.tp_frame_nr = static_cast<unsigned>(layout.frame_count);
            req.tp_retire_blk_tov = static_cast<unsigned>(layout.block_timeout.count());
            req.tp_feature_req_word = TP_FT_REQ_FILL_RXHASH;
            err = sys::try_setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req);
        } else {
            tpacket_req req{};
            req.tp_block_size = static_cast<unsigned>(layout.block_size);
            req.tp_block_nr = static_cast<unsigned>(layout.block_count);
            req.tp_frame_size = static_cast<unsigned>(layout.frame_size);
            req.tp_frame_nr = static_cast<unsigned>(layout.frame_count);
            err = sys::try_setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req);
        }
        if (err == 0) break;
        // The kernel could not find the memory: halve the block count, as netsniff-ng does,
        // and say so; give up below 1 MiB.
        if (err == ENOMEM && layout.block_count > 1 && layout.total_bytes() / 2 >= (1u << 20)) {
            layout.block_count /= 2;
            layout.frame_count = layout.frames_per_block() * layout.block_count;
            continue;
        }
        throw Error(err,
                    "setsockopt(PACKET_RX_RING, block_size=" + std::to_string(layout.block_size) +
                        " block_nr=" + std::to_string(layout.block_count) +
                        " frame_size=" + std::to_string(layout.frame_size) +
                        " frame_nr=" + std::to_string(layout.frame_count) + ")",
                    err == ENOMEM ? "ask for a smaller ring (RingGeometry::buffer_size)" : "",
                    err == ENOMEM ? Remedy::smaller_ring : Remedy::none);
    }
    if (layout.total_bytes() != asked)
        info.notes.push_back("ring shrunk from " + mib(asked) + " to " + mib(layout.total_bytes()) +
                             ": the kernel could not allocate more (ENOMEM)");
    info.layout = layout;
    ring = sys::Mapping::map_shared(fd.get(), layout.total_bytes(), true, &info.memory_locked);
    shape = {.base = ring.bytes().data(),
             .block_size = layout.block_size,
             .frame_size = layout.frame_size,
             .frames_per_block = static_cast<std::uint32_t>(layout.frames_per_block()),
             .block_count = static_cast<std::uint32_t>(layout.block_count)};
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
    sys::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, "SO_ATTACH_FILTER",
                    std::to_string(program.size()) + " instructions");
    if (o.direction == Direction::in)
        sys::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, int{1}, "PACKET_IGNORE_OUTGOING");
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

std::optional<Batch> Capture::Impl::take() {
    Batch b;
    b.version_ = version;
    b.shape_ = shape;
    b.fixup_ = fixup;
    if (version == TpacketVersion::v3) {
        for (std::uint32_t tries = 0; tries < shape.block_count; ++tries) {
            auto* bd = reinterpret_cast<tpacket_block_desc*>(frame(block, 0));
            // Not ready, or still held by a Batch from an earlier round: nothing new yet.
            if (!detail::ready(*bd)) return std::nullopt;
            if (++block == shape.block_count) block = 0;
            if (bd->hdr.bh1.num_pkts == 0) {  // nothing in it: straight back
                detail::hand_to_kernel(*bd);
                continue;
            }
            detail::mark_handed_out(*bd);
            b.block_ = bd;
            b.first_ = reinterpret_cast<std::byte*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
            b.count_ = bd->hdr.bh1.num_pkts;
            return b;
        }
        return std::nullopt;
    }
    b.v2_block_ = block;
    b.v2_slot_ = slot;
    b.first_ = frame(block, slot);
    // Never more than the ring holds: when every frame is ready, walking on would wrap around
    // and hand out the same frames again.
    const std::uint32_t limit = std::min(kMaxV2Batch, shape.frames_per_block * shape.block_count);
    std::uint32_t n = 0;
    while (n < limit) {
        auto& fr = *reinterpret_cast<tpacket2_hdr*>(frame(block, slot));
        if (!detail::ready(fr)) break;  // not filled yet, or held by an earlier Batch
        detail::mark_handed_out(fr);
        ++n;
        if (++slot == shape.frames_per_block) {
            slot = 0;
            if (++block == shape.block_count) block = 0;
        }
    }
    if (n == 0) return std::nullopt;
    taken_since_wait += n;
    b.count_ = n;
    return b;
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
    const bool busy = impl_->taken_since_wait >= kCoalesceAbove;
    impl_->taken_since_wait = 0;
    if (busy && timeout.count() > 0) {  // never sleep in a non-blocking call
        std::this_thread::sleep_for(kCoalesceSleep);
        if (auto b = impl_->take()) return b;  // else the rate fell: poll()
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

CaptureStats Capture::stats() {
    impl_->totals += detail::read_ring_counters(impl_->fd, impl_->version);
    return impl_->totals;
}

int Capture::fd() const noexcept { return impl_->fd.get(); }
const CaptureInfo& Capture::info() const noexcept { return impl_->info; }

}  // namespace ringcap
