#pragma once
// Which process each captured packet belongs to: packets are matched to sockets by flow, in user
// space, per batch, from what ProcessMap (procmap.hpp) knows; each flow's owner is looked up once
// and cached, so a packet costs a flow key and a probe of a small table.
//
//   ringcap::OwnerResolver resolver(ringcap::ProcessMap::open({}));  // before the capture opens
//   auto cap = ringcap::Capture::open({.interface = "eth0"});
//   ringcap::ProcessAnnotator annotate(resolver, ringcap::capture_netns(cap.fd()));
//   const ringcap::PacketOwner* owners[256];
//   annotate.annotate(views, cap.info().link_type, owners);
//   sink.write_owned(views, owners);                      // before the next annotate()
//
// OwnerResolver holds the map and may be shared by several threads (each with its own
// ProcessAnnotator: one per capture thread); a lock is taken once per batch and once per flow
// looked up, never per packet.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ringcap/conn.hpp>
#include <ringcap/flow.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/packet_owner.hpp>
#include <ringcap/procmap.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

// The network namespace a socket is in (its inode: what ProcessMap keys sockets by). A capture
// socket's is the namespace its packets' local sockets live in. The caller's own when the kernel
// cannot tell (SIOCGSKNS needs CAP_NET_ADMIN over the namespace).
std::uint32_t capture_netns(int socket_fd);

// A socket's owner as sinks show it: the comment, label and JSON fields formatted once.
PacketOwner make_packet_owner(const SocketOwner& o);

struct OwnerResolverStats {
    std::uint64_t refreshes = 0;         // reads of the map (one per batch and thread, or so)
    std::uint64_t events = 0;            // connection records taken in
    std::uint64_t lookups = 0;           // flows looked up in the map
    std::uint64_t found = 0;             // of which had an owner
    std::uint64_t journal_overruns = 0;  // caches that fell behind the changes and started over
};

// ProcessMap behind a lock, with a journal of the flows that got a new owner, so that each
// thread's cache can forget what changed.
class OwnerResolver {
  public:
    // Where owners come from: the records to take in (ProcessMap::read(0ms)) and the lookup by
    // flow (ProcessMap::owner_of). The constructor from a ProcessMap fills both; tests give their
    // own.
    struct Source {
        std::function<std::span<const ConnEvent>()> read;
        std::function<std::optional<SocketOwner>(std::uint32_t netns, const FlowKey& flow)>
            owner_of;
    };
    explicit OwnerResolver(ProcessMap map);
    explicit OwnerResolver(Source source);
    OwnerResolver(const OwnerResolver&) = delete;
    OwnerResolver& operator=(const OwnerResolver&) = delete;

    // The map (nullptr when made from a Source): its mode, notes and statistics. Not while other
    // threads annotate.
    ProcessMap* map() noexcept { return map_ ? &*map_ : nullptr; }
    const ProcessMap* map() const noexcept { return map_ ? &*map_ : nullptr; }

    // Takes in what the map received. Called by each ProcessAnnotator per batch, and now and
    // then without packets so that the map's buffers drain during quiet times.
    void refresh();

    OwnerResolverStats stats() const;

  private:
    friend class ProcessAnnotator;
    struct Change {
        std::uint32_t netns;
        FlowKey flow;  // canonical, VLAN 0
    };
    static constexpr std::size_t kJournal = 4096;

    void refresh_locked();
    // Calls forget(change) for each change after `seen` and returns the position now; with
    // `overrun` set when more happened than the journal keeps.
    template <class Forget>
    std::uint64_t changes_since(std::uint64_t seen, bool& overrun, Forget&& forget);
    std::shared_ptr<const PacketOwner> resolve(std::uint32_t netns, const FlowKey& flow);

    std::optional<ProcessMap> map_;
    Source source_;
    mutable std::mutex mutex_;
    std::vector<Change> journal_;  // a ring of kJournal changes
    std::uint64_t position_ = 0;   // changes ever recorded
    OwnerResolverStats stats_;
};

struct AnnotatorOptions {
    // Flows remembered (rounded up to a multiple of the 4-way buckets); when a bucket is full,
    // the flow used least recently in it goes (counted).
    std::size_t max_flows = 1 << 14;
    // A flow's owner is looked up again when it is this old: a socket's owner stays known for a
    // while after it closed (ProcessMapOptions::closed_linger), and then its flow is forgotten.
    std::chrono::milliseconds recheck{1000};
};

struct AnnotatorStats {
    std::uint64_t packets = 0;      // packets annotated
    std::uint64_t owned = 0;        // of which had an owner
    std::uint64_t hits = 0;         // packets whose flow was in the cache
    std::uint64_t misses = 0;       // flows looked up (not cached, changed, or old)
    std::uint64_t evictions = 0;    // flows pushed out of a full bucket
    std::uint64_t invalidated = 0;  // cached flows forgotten because a new owner appeared
};

// The per-thread part: a cache of flows -> owners. One thread at a time.
class ProcessAnnotator {
  public:
    // For packets captured in network namespace `netns` (capture_netns()).
    ProcessAnnotator(OwnerResolver& resolver, std::uint32_t netns, AnnotatorOptions options = {});
    ~ProcessAnnotator();
    ProcessAnnotator(ProcessAnnotator&&) noexcept;
    ProcessAnnotator& operator=(ProcessAnnotator&&) noexcept;

    // Takes in what the resolver learned, then gives each packet (of link type `link`) its owner,
    // nullptr when none is known. owners.size() >= packets.size(). The owners stay valid until
    // the next call of annotate() or begin_batch().
    void annotate(std::span<const PacketView> packets, LinkType link,
                  std::span<const PacketOwner*> owners);

    // The same in two steps, for packets of several link types: begin_batch() once, then
    // owner_of() per packet.
    void begin_batch();
    const PacketOwner* owner_of(const PacketView& packet, LinkType link);

    const AnnotatorStats& stats() const noexcept { return stats_; }

  private:
    struct Entry;
    Entry* find(const FlowKey& key, std::size_t hash) noexcept;
    Entry& victim(std::size_t hash) noexcept;
    void forget(const FlowKey& key) noexcept;

    OwnerResolver* resolver_;
    std::uint32_t netns_;
    std::int64_t recheck_ns_;
    std::vector<Entry> entries_;       // buckets of kWays
    std::vector<std::uint64_t> tags_;  // per entry: its flow's hash | 1, or 0 when empty
    std::vector<std::shared_ptr<const PacketOwner>> owners_;  // per entry
    std::size_t bucket_mask_ = 0;
    std::uint64_t seen_ = 0;       // the resolver's journal position taken in
    std::uint64_t negatives_ = 0;  // "no owner" answers are good while seen_ equals this
    std::uint32_t tick_ = 0;       // batches, for least-recently-used
    std::int64_t now_ns_ = 0;      // CLOCK_MONOTONIC at begin_batch()
    std::vector<std::shared_ptr<const PacketOwner>> retired_;  // evicted during this batch
    Entry* last_ = nullptr;  // the previous packet's flow: consecutive packets often share one
    AnnotatorStats stats_;
};

// --pid / --comm: which owners a capture shows.
struct OwnerFilter {
    std::vector<std::uint32_t> pids;  // a process id, or a thread id of it
    std::vector<std::string> comms;   // the process's command name

    bool empty() const noexcept { return pids.empty() && comms.empty(); }
    // Without conditions every packet passes; with them, only packets of a known owner that
    // meets each kind given (a pid of the list and a command of the list).
    bool selects(const PacketOwner* owner) const noexcept;
};

}  // namespace ringcap
