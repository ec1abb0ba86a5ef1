#include "process_sink.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include <ringcap/sink_feeder.hpp>

#include "report.hpp"

namespace ringcap::cli {

struct CaptureAttribution::Shared {
    Shared(ProcessMap map, const ProcessCliOptions& o, StopToken user_stop)
        : resolver(std::move(map)), filter{.pids = o.pids, .comms = o.comms}, user(user_stop) {}

    OwnerResolver resolver;
    OwnerFilter filter;
    std::uint32_t netns = 0;
    StopToken user;
    StopSource stop;        // the sinks' stop: -c reached among the packets shown, or `user`
    bool counting = false;  // -c with a filter: the sinks count what they show
    std::atomic<std::uint64_t> left{0};
    std::atomic<std::uint64_t> shown{0};
    std::mutex mutex;  // guards totals
    AnnotatorStats totals;
    std::size_t sinks = 0;

    // What may still be shown of `want` packets, under -c.
    std::uint64_t claim(std::uint64_t want) noexcept {
        if (!counting) return want;
        std::uint64_t have = left.load(std::memory_order_relaxed), take = 0;
        do take = std::min(have, want);
        while (!left.compare_exchange_weak(have, have - take, std::memory_order_relaxed));
        if (have - take == 0) stop.request_stop();
        return take;
    }
};

namespace {

using Shared = CaptureAttribution::Shared;

// In front of an output: each chunk's packets get their owners (a cache lookup each), those the
// filter refuses are left out, and the output gets the rest with write_owned().
class ProcessSink final : public Sink {
  public:
    ProcessSink(std::unique_ptr<Sink> inner, Shared& shared, LinkType link)
        : inner_(std::move(inner)),
          shared_(&shared),
          annotator_(shared.resolver, shared.netns),
          link_(link) {}
    ~ProcessSink() override { add_totals(); }

    void write(std::span<const PacketView> packets) override {
        forward_stop();
        for (std::size_t at = 0; at < packets.size(); at += kChunk)
            write_chunk(packets.subspan(at, std::min(kChunk, packets.size() - at)));
    }
    // Owners from further up are looked up again here (this sink is the one that knows them).
    void write_owned(std::span<const PacketView> packets,
                     std::span<const PacketOwner* const>) override {
        write(packets);
    }
    bool add_interface(const FileInterface& interface) override {
        if (links_.empty()) links_.push_back(link_);
        links_.push_back(static_cast<LinkType>(interface.link_type));
        return inner_->add_interface(interface);
    }
    void end_batch() override { inner_->end_batch(); }
    void tick(std::chrono::system_clock::time_point now) override {
        forward_stop();
        // Take in the map's records in quiet times too, so that its buffers do not fill.
        if (now - last_refresh_ >= std::chrono::milliseconds(100)) {
            shared_->resolver.refresh();
            last_refresh_ = now;
        }
        inner_->tick(now);
    }
    void close() override {
        add_totals();
        inner_->close();
    }

  private:
    static constexpr std::size_t kChunk = SinkFeeder::kChunk;

    void forward_stop() {
        if (shared_->user.stop_requested()) shared_->stop.request_stop();
    }

    void write_chunk(std::span<const PacketView> packets) {
        annotator_.begin_batch();
        const OwnerFilter& filter = shared_->filter;
        const PacketOwner* last = nullptr;
        bool last_selected = filter.selects(nullptr);
        std::size_t n = 0;
        for (const PacketView& p : packets) {
            const LinkType link =
                links_.empty() ? link_ : links_[static_cast<std::size_t>(p.ifindex())];
            const PacketOwner* owner = annotator_.owner_of(p, link);
            if (owner != last) {  // consecutive packets often share their owner
                last = owner;
                last_selected = filter.selects(owner);
            }
            if (!last_selected) continue;
            views_[n] = p;
            owners_[n] = owner;
            ++n;
        }
        n = static_cast<std::size_t>(shared_->claim(n));
        shared_->shown.fetch_add(n, std::memory_order_relaxed);
        if (n != 0) inner_->write_owned({views_.data(), n}, {owners_.data(), n});
    }

    void add_totals() {
        if (added_) return;
        added_ = true;
        const AnnotatorStats& s = annotator_.stats();
        const std::lock_guard lock(shared_->mutex);
        AnnotatorStats& t = shared_->totals;
        t.packets += s.packets;
        t.owned += s.owned;
        t.hits += s.hits;
        t.misses += s.misses;
        t.evictions += s.evictions;
        t.invalidated += s.invalidated;
    }

    std::unique_ptr<Sink> inner_;
    Shared* shared_;
    ProcessAnnotator annotator_;
    LinkType link_;
    std::vector<LinkType> links_;  // by the source's interface, once it declared more than one
    std::chrono::system_clock::time_point last_refresh_{};
    bool added_ = false;
    std::array<PacketView, kChunk> views_;
    std::array<const PacketOwner*, kChunk> owners_{};
};

std::string_view mode_name(Attribution a) { return a == Attribution::bpf ? "bpf" : "procfs"; }

}  // namespace

CaptureAttribution::CaptureAttribution(std::unique_ptr<Shared> shared)
    : shared_(std::move(shared)) {}
CaptureAttribution::~CaptureAttribution() = default;

std::unique_ptr<CaptureAttribution> CaptureAttribution::start(const CliOptions& o, StopToken user) {
    if (!o.process.wanted()) return nullptr;
    ProcessMap map = ProcessMap::open(
        {.attribution = o.process.attribution, .report_existing = false});  // taken in, not shown
    for (const std::string& note : map.notes()) say("ringcap: note: " + note);
    say(fmt::format("ringcap: attributing packets to processes ({} attribution)",
                    mode_name(map.mode())));
    auto shared = std::make_unique<Shared>(std::move(map), o.process, user);
    shared->netns = ProcessMap::own_netns();
    shared->counting = o.count != 0 && !shared->filter.empty();
    shared->left = o.count;
    return std::make_unique<CaptureAttribution>(std::move(shared));
}

void CaptureAttribution::set_capture_socket(int fd) { shared_->netns = capture_netns(fd); }

std::unique_ptr<Sink> CaptureAttribution::wrap(std::unique_ptr<Sink> out, LinkType link) {
    ++shared_->sinks;
    return std::make_unique<ProcessSink>(std::move(out), *shared_, link);
}

std::uint64_t CaptureAttribution::loop_limit(std::uint64_t count) const noexcept {
    return shared_->counting ? 0 : count;
}

StopToken CaptureAttribution::stop_token(StopToken user) const noexcept {
    return shared_->counting ? StopToken(shared_->stop) : user;
}

void CaptureAttribution::report() const {
    const Shared& s = *shared_;
    const AnnotatorStats& t = s.totals;
    const ProcessMap& map = *s.resolver.map();
    std::string line = fmt::format(
        "ringcap: processes ({}): {} of {} attributed; flows looked up: {}; cache hits: {}, "
        "evicted: {}, forgotten for a new owner: {}",
        mode_name(map.mode()), plural(t.owned, "packet"), t.packets, t.misses, t.hits, t.evictions,
        t.invalidated);
    if (!s.filter.empty())
        line += fmt::format("; {} shown (--pid/--comm)", s.shown.load(std::memory_order_relaxed));
    const ProcessMapStats ms = map.stats();
    if (ms.lost != 0)
        line += fmt::format("; {} connection records lost (ring buffer full)", ms.lost);
    if (ms.bpf_runs != 0)  // only counted with sysctl kernel.bpf_stats_enabled=1
        line += fmt::format("; BPF programs: {} runs, {:.3f} ms", ms.bpf_runs, ms.bpf_run_ns / 1e6);
    say(line);
}

}  // namespace ringcap::cli
