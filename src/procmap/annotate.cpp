// Packets to processes: OwnerResolver (the map behind a lock, a journal of flows that changed
// owner) and ProcessAnnotator (a per-thread, set-associative cache of flows -> owners).
#include <ringcap/annotate.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <type_traits>
#include <utility>

#include "decode/bytes.hpp"
#include "sys/clock.hpp"
#include "sys/procfs.hpp"

namespace ringcap {

namespace {

constexpr std::size_t kWays = 4;  // flows per bucket

// A FlowKey is 40 bytes without padding: compared and ordered as 64-bit words, inline (memcmp
// calls per packet were a fifth of a capture's time).
static_assert(sizeof(FlowKey) == 40 && std::has_unique_object_representations_v<FlowKey>);
using KeyWords = std::array<std::uint64_t, 5>;

[[gnu::always_inline]] inline KeyWords words(const FlowKey& k) noexcept {
    KeyWords w;
    std::memcpy(w.data(), &k, sizeof k);
    return w;
}

[[gnu::always_inline]] inline bool same_flow(const FlowKey& a, const FlowKey& b) noexcept {
    const KeyWords x = words(a), y = words(b);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

// The key a flow is cached and journalled under: both directions alike (the end whose address
// words and port are smaller first: any fixed order does, ProcessMap looks both ways), VLAN left
// out (a socket's owner does not depend on the tag; ProcessMap ignores it too).
[[gnu::always_inline]] inline FlowKey cache_key(FlowKey flow) noexcept {
    flow.vlan_id = 0;
    const KeyWords w = words(flow);  // src_ip = w[0], w[1]; dst_ip = w[2], w[3]
    const bool swap = w[0] != w[2]   ? w[0] > w[2]
                      : w[1] != w[3] ? w[1] > w[3]
                                     : flow.src_port > flow.dst_port;
    if (swap) {
        std::swap(flow.src_ip, flow.dst_ip);
        std::swap(flow.src_port, flow.dst_port);
    }
    return flow;
}

void put_json_string(fmt::memory_buffer& o, std::string_view key, std::string_view value) {
    fmt::format_to(std::back_inserter(o), ",\"{}\":\"", key);
    detail::put_json_escaped(o, value);
    detail::put(o, '"');
}

}  // namespace

std::uint32_t capture_netns(int socket_fd) {
    if (std::optional<std::uint32_t> ns = sys::socket_netns_inode(socket_fd)) return *ns;
    return ProcessMap::own_netns();
}

PacketOwner make_packet_owner(const SocketOwner& o) {
    PacketOwner p{.pid = o.process ? o.process->pid : 0,
                  .tid = o.thread_id,
                  .uid = o.uid,
                  .comm = o.process ? o.process->comm : o.thread_name,
                  .container_id = o.process ? o.process->container_id : std::string(),
                  .process = o.process,
                  .cookie = o.cookie};
    if (p.tid == 0) p.tid = p.pid;
    p.comment = fmt::format("pid={} tid={} comm={} uid={}", p.pid, p.tid, p.comm, p.uid);
    if (!p.container_id.empty()) p.comment += " container=" + p.container_id;
    p.label = fmt::format("{}/{}", p.pid, p.comm);
    fmt::memory_buffer j;
    fmt::format_to(std::back_inserter(j), ",\"process.pid\":{}", p.pid);
    put_json_string(j, "process.name", p.comm);
    fmt::format_to(std::back_inserter(j), ",\"process.thread.id\":{},\"user.id\":\"{}\"", p.tid,
                   p.uid);
    if (!p.container_id.empty()) put_json_string(j, "container.id", p.container_id);
    p.json = fmt::to_string(j);
    return p;
}

bool OwnerFilter::selects(const PacketOwner* owner) const noexcept {
    if (empty()) return true;
    if (owner == nullptr) return false;
    const bool pid_ok = pids.empty() || std::any_of(pids.begin(), pids.end(), [&](auto pid) {
                            return pid == owner->pid || pid == owner->tid;
                        });
    const bool comm_ok =
        comms.empty() || std::find(comms.begin(), comms.end(), owner->comm) != comms.end();
    return pid_ok && comm_ok;
}

// -- OwnerResolver --

OwnerResolver::OwnerResolver(ProcessMap map) : map_(std::move(map)) {
    ProcessMap* m = &*map_;
    source_.read = [m] { return m->read(std::chrono::milliseconds(0)); };
    source_.owner_of = [m](std::uint32_t netns, const FlowKey& f) { return m->owner_of(netns, f); };
    journal_.resize(kJournal);
}

OwnerResolver::OwnerResolver(Source source) : source_(std::move(source)) {
    journal_.resize(kJournal);
}

void OwnerResolver::refresh() {
    const std::lock_guard lock(mutex_);
    refresh_locked();
}

void OwnerResolver::refresh_locked() {
    ++stats_.refreshes;
    for (const ConnEvent& e : source_.read()) {
        ++stats_.events;
        // A socket that starts (or is found) may own flows that had no owner, or another one; a
        // closed socket's owner stays known for a while, and cached owners are looked up again
        // when they are old (AnnotatorOptions::recheck).
        if (e.action == ConnAction::closed) continue;
        journal_[position_ % kJournal] = {.netns = e.netns, .flow = cache_key(e.flow)};
        ++position_;
    }
}

template <class Forget>
std::uint64_t OwnerResolver::changes_since(std::uint64_t seen, bool& overrun, Forget&& forget) {
    overrun = position_ - seen > kJournal;
    if (overrun) {
        ++stats_.journal_overruns;
        return position_;
    }
    for (std::uint64_t i = seen; i != position_; ++i) forget(journal_[i % kJournal]);
    return position_;
}

std::shared_ptr<const PacketOwner> OwnerResolver::resolve(std::uint32_t netns,
                                                          const FlowKey& flow) {
    const std::lock_guard lock(mutex_);
    ++stats_.lookups;
    std::optional<SocketOwner> o = source_.owner_of(netns, flow);
    if (!o) return nullptr;
    ++stats_.found;
    return std::make_shared<const PacketOwner>(make_packet_owner(*o));
}

OwnerResolverStats OwnerResolver::stats() const {
    const std::lock_guard lock(mutex_);
    return stats_;
}

// -- ProcessAnnotator --

// What a hit reads, in one cache line (at low rates each batch finds the flows' lines cold).
struct alignas(64) ProcessAnnotator::Entry {
    FlowKey key;
    const PacketOwner* owner = nullptr;  // null: none known (owners_ holds it)
    std::int64_t checked_ns = 0;         // when looked up (CLOCK_MONOTONIC)
    std::uint32_t negative_at = 0;       // without owner: negatives_ then (its low bits)
    std::uint32_t used = 0;              // tick_ of its last packet
};

ProcessAnnotator::ProcessAnnotator(OwnerResolver& resolver, std::uint32_t netns,
                                   AnnotatorOptions options)
    : resolver_(&resolver),
      netns_(netns),
      recheck_ns_(std::chrono::nanoseconds(options.recheck).count()) {
    static_assert(sizeof(Entry) == 64);
    const std::size_t buckets =
        std::bit_ceil(std::max<std::size_t>((options.max_flows + kWays - 1) / kWays, 1));
    entries_.resize(buckets * kWays);
    tags_.resize(buckets * kWays);
    owners_.resize(buckets * kWays);
    bucket_mask_ = buckets - 1;
    // Changes before this annotator existed concern nobody's cache.
    const std::lock_guard lock(resolver.mutex_);
    seen_ = negatives_ = resolver.position_;
}

ProcessAnnotator::~ProcessAnnotator() = default;
ProcessAnnotator::ProcessAnnotator(ProcessAnnotator&&) noexcept = default;
ProcessAnnotator& ProcessAnnotator::operator=(ProcessAnnotator&&) noexcept = default;

// A bucket's tags are one cache line: the hash (never 0) of each way's flow, 0 when it is empty.
ProcessAnnotator::Entry* ProcessAnnotator::find(const FlowKey& key, std::size_t hash) noexcept {
    const std::size_t at = (hash & bucket_mask_) * kWays;
    const std::uint64_t tag = hash | 1;
    for (std::size_t w = at; w < at + kWays; ++w)
        if (tags_[w] == tag && same_flow(entries_[w].key, key)) return &entries_[w];
    return nullptr;
}

ProcessAnnotator::Entry& ProcessAnnotator::victim(std::size_t hash) noexcept {
    const std::size_t at = (hash & bucket_mask_) * kWays;
    std::size_t oldest = at;
    for (std::size_t w = at; w < at + kWays; ++w) {
        if (tags_[w] == 0) return entries_[w];
        if (tick_ - entries_[w].used > tick_ - entries_[oldest].used) oldest = w;
    }
    ++stats_.evictions;
    return entries_[oldest];
}

void ProcessAnnotator::forget(const FlowKey& key) noexcept {
    if (Entry* e = find(key, std::hash<FlowKey>()(key))) {
        const auto i = static_cast<std::size_t>(e - entries_.data());
        tags_[i] = 0;
        owners_[i].reset();
        e->owner = nullptr;
        ++stats_.invalidated;
    }
}

void ProcessAnnotator::begin_batch() {
    retired_.clear();  // owners handed out for the previous batch are no longer looked at
    last_ = nullptr;
    ++tick_;
    now_ns_ = sys::monotonic_ns();
    bool overrun = false, here = false;
    {
        const std::lock_guard lock(resolver_->mutex_);
        resolver_->refresh_locked();
        seen_ = resolver_->changes_since(seen_, overrun, [&](const OwnerResolver::Change& c) {
            if (c.netns != netns_) return;
            here = true;
            forget(c.flow);
        });
    }
    if (overrun) {
        std::fill(entries_.begin(), entries_.end(), Entry{});
        std::fill(tags_.begin(), tags_.end(), 0);
        for (auto& o : owners_) o.reset();
        here = true;
    }
    // A socket that started in this namespace may own a flow that had no owner so far.
    if (here) negatives_ = seen_;
}

const PacketOwner* ProcessAnnotator::owner_of(const PacketView& packet, LinkType link) {
    ++stats_.packets;
    const std::optional<FlowKey> flow = flow_key(packet.bytes(), link);
    if (!flow) return nullptr;  // not IP: no socket of ours
    const FlowKey key = cache_key(*flow);
    Entry* e = last_ != nullptr && same_flow(last_->key, key) ? last_ : nullptr;
    if (e == nullptr) {
        const std::size_t hash = std::hash<FlowKey>()(key);
        e = find(key, hash);
        const bool fresh =
            e != nullptr && now_ns_ - e->checked_ns < recheck_ns_ &&
            (e->owner != nullptr || e->negative_at == static_cast<std::uint32_t>(negatives_));
        if (fresh) {
            ++stats_.hits;
        } else {
            ++stats_.misses;
            if (e == nullptr) e = &victim(hash);
            const auto i = static_cast<std::size_t>(e - entries_.data());
            if (owners_[i]) retired_.push_back(std::move(owners_[i]));  // an earlier packet's
            owners_[i] = resolver_->resolve(netns_, key);
            e->owner = owners_[i].get();
            e->key = key;
            e->checked_ns = now_ns_;
            e->negative_at = static_cast<std::uint32_t>(negatives_);
            tags_[i] = hash | 1;
        }
        e->used = tick_;
        last_ = e;
    } else {
        ++stats_.hits;
    }
    if (e->owner) ++stats_.owned;
    return e->owner;
}

void ProcessAnnotator::annotate(std::span<const PacketView> packets, LinkType link,
                                std::span<const PacketOwner*> owners) {
    begin_batch();
    for (std::size_t i = 0; i < packets.size(); ++i) owners[i] = owner_of(packets[i], link);
}

}  // namespace ringcap
