// TimeMerge: a k-way merge of sources that each deliver packets in timestamp order (a ring hands
// out its packets in the order the kernel timestamped them). Each source's batches wait in a
// queue; the consumer lays the head batch's packets out as views (no copy of packet bytes) and
// repeatedly takes the earliest head that no other source can still undercut.
#include <ringcap/group.hpp>

#include "sys/clock.hpp"

namespace ringcap {

struct TimeMerge::Source {
    std::deque<Batch> queue;        // handed over, not yet looked at
    Batch current;                  // the batch whose packets are going out
    std::vector<PacketView> views;  // its packets, laid out once
    std::size_t next = 0;           // first view not yet out
    std::int64_t watermark = INT64_MIN;
    bool finished = false;
    std::size_t held = 0;  // batches handed over and not yet released (queue + current + spent)

    bool has_head() const noexcept { return next < views.size(); }
    std::int64_t head_ts() const noexcept { return views[next].ts_ns(); }
};

TimeMerge::TimeMerge(std::size_t sources, MergeOptions options) : options_(options) {
    for (std::size_t i = 0; i < sources; ++i) sources_.push_back(std::make_unique<Source>());
}

TimeMerge::~TimeMerge() { close(); }

bool TimeMerge::push(std::size_t source, Batch&& batch) {
    std::unique_lock lock(mutex_);
    Source& s = *sources_[source];
    if (!closed_ && s.queue.size() >= options_.queue_batches) {
        ++sources_waiting_;
        released_.wait(lock, [&] { return closed_ || s.queue.size() < options_.queue_batches; });
        --sources_waiting_;
    }
    if (closed_) return false;
    s.queue.push_back(std::move(batch));
    ++s.held;
    // The consumer lingers anyway; it is woken early only when this queue is filling up.
    if (consumer_waiting_ && s.queue.size() * 2 >= options_.queue_batches) arrived_.notify_one();
    return true;
}

void TimeMerge::advance(std::size_t source, std::int64_t watermark_ns) {
    std::lock_guard lock(mutex_);
    Source& s = *sources_[source];
    if (watermark_ns > s.watermark) s.watermark = watermark_ns;
}

void TimeMerge::finish(std::size_t source) {
    std::lock_guard lock(mutex_);
    sources_[source]->finished = true;
    arrived_.notify_one();
}

bool TimeMerge::holds_batches(std::size_t source) const {
    std::lock_guard lock(mutex_);
    return sources_[source]->held != 0;
}

// A source whose packets are all out gets its next batch (its packets laid out as views).
void TimeMerge::refill(std::size_t i) {
    Source& s = *sources_[i];
    while (!s.has_head() && !s.queue.empty()) {
        s.current = std::move(s.queue.front());
        s.queue.pop_front();
        s.views.clear();
        s.next = 0;
        s.current.for_each([&](const PacketView& p) { s.views.push_back(p); });
        if (s.views.empty()) spent_.push_back({i, std::move(s.current)});
    }
}

// Whether a packet of `source` stamped `ts` may go out: no other source can still deliver an
// earlier one, or it has waited max_delay.
bool TimeMerge::may_go_out(std::size_t source, std::int64_t ts, std::int64_t now) const {
    if (now - ts >= std::chrono::nanoseconds(options_.max_delay).count()) return true;
    for (std::size_t j = 0; j < sources_.size(); ++j) {
        const Source& o = *sources_[j];
        if (j == source || o.has_head() || o.finished || o.watermark >= ts) continue;
        return false;
    }
    return true;
}

std::size_t TimeMerge::take_ready(std::span<PacketView> out, std::span<std::uint32_t> from,
                                  std::int64_t now) {
    std::size_t n = 0;
    while (n < out.size()) {
        std::size_t best = sources_.size();
        for (std::size_t i = 0; i < sources_.size(); ++i) {
            refill(i);
            const Source& s = *sources_[i];
            if (s.has_head() &&
                (best == sources_.size() || s.head_ts() < sources_[best]->head_ts()))
                best = i;
        }
        if (best == sources_.size()) break;
        Source& s = *sources_[best];
        const std::int64_t ts = s.head_ts();
        if (!may_go_out(best, ts, now)) break;
        if (ts < last_out_) ++late_;
        last_out_ = std::max(last_out_, ts);
        out[n] = s.views[s.next++];
        if (!from.empty()) from[n] = static_cast<std::uint32_t>(best);
        ++n;
        if (!s.has_head()) spent_.push_back({best, std::move(s.current)});
    }
    return n;
}

std::size_t TimeMerge::pop(std::span<PacketView> out, std::span<std::uint32_t> from,
                           std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    // The views the last call handed out end here: their batches go back to their rings.
    if (!spent_.empty()) {
        for (auto& [source, batch] : spent_) {
            batch.release();
            --sources_[source]->held;
        }
        spent_.clear();
        if (sources_waiting_ != 0) released_.notify_all();
    }
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + wait;
    const auto linger_end = start + std::min<std::chrono::nanoseconds>(options_.linger, wait);
    std::size_t n = 0;
    for (;;) {
        n += take_ready(out.subspan(n), from.empty() ? from : from.subspan(n), sys::realtime_ns());
        const auto now = std::chrono::steady_clock::now();
        // A full chunk, or whatever there is once the linger is over: one pop serves many
        // batches, and neither side is woken per batch.
        if (n == out.size() || closed_ || done() || (n != 0 && now >= linger_end) ||
            now >= deadline)
            return n;
        // Look again after a linger (sources do not wake this thread for every batch), or when
        // the oldest packet held reaches max_delay.
        auto until = std::min(deadline, n != 0 ? linger_end : now + options_.linger);
        std::int64_t oldest = INT64_MAX;
        for (const auto& s : sources_)
            if (s->has_head()) oldest = std::min(oldest, s->head_ts());
        if (oldest != INT64_MAX) {
            const std::int64_t left = std::chrono::nanoseconds(options_.max_delay).count() -
                                      (sys::realtime_ns() - oldest);
            until = std::min(until, std::chrono::steady_clock::now() +
                                        std::chrono::nanoseconds(std::max<std::int64_t>(left, 0)));
        }
        consumer_waiting_ = true;
        arrived_.wait_until(lock, until);
        consumer_waiting_ = false;
    }
}

bool TimeMerge::done() const {
    for (const auto& s : sources_)
        if (!s->finished || s->has_head() || !s->queue.empty()) return false;
    return true;
}

void TimeMerge::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& s : sources_) {
        s->queue.clear();
        s->current.release();
        s->views.clear();
        s->next = 0;
        s->held = 0;
    }
    spent_.clear();
    released_.notify_all();
    arrived_.notify_all();
}

std::uint64_t TimeMerge::late() const {
    std::lock_guard lock(mutex_);
    return late_;
}

}  // namespace ringcap
