// CaptureGroup: the sockets are opened one after another, in the order libpcap would open them
// one at a time; the first socket of each interface creates its fanout group (with a kernel-chosen
// id unless one was given), the others join it by that id.
#include <ringcap/group.hpp>

#include <algorithm>
#include <exception>
#include <string>
#include <thread>

#include "sys/clock.hpp"
#include "sys/thread.hpp"

namespace ringcap {
namespace {

// The kernel's retire timer runs in jiffies (4 ms at HZ=250, 10 ms at HZ=100): a block may be
// handed over up to two of them after its timeout.
constexpr std::chrono::milliseconds kTimerSlack{20};

// The same error, with the worker it happened to in front of what failed.
Error for_worker(const Error& e, const std::string& who) {
    std::string what = e.what();
    const std::string tail = ": " + e.code().message();
    if (what.ends_with(tail)) what.resize(what.size() - tail.size());
    return Error(e.code().value(), who + ": " + what, e.hint(), e.remedy());
}

}  // namespace

struct CaptureGroup::Impl {
    std::vector<Capture> captures;
    std::vector<WorkerInfo> workers;
    std::vector<std::string> notes;

    void open_interface(const GroupOptions& o, std::size_t k);
    void work(std::size_t i, const BatchHandler& on_batch, const IdleHandler& on_idle,
              StopToken stop, std::chrono::milliseconds wait, WorkerEnd& end);
};

void CaptureGroup::Impl::open_interface(const GroupOptions& o, std::size_t k) {
    CaptureOptions c = o.capture;
    c.interface = o.interfaces[k];
    c.ring.sharing_sockets = o.workers;  // for the default ring size
    if (o.workers > 1) {
        c.fanout = o.fanout;
        if (o.fanout.group) c.fanout->group = static_cast<std::uint16_t>(*o.fanout.group + k);
    }
    for (std::size_t w = 0; w < o.workers; ++w) {
        const std::size_t index = captures.size();
        WorkerInfo info{.interface = c.interface, .interface_index = k, .fanout_index = w};
        if (!o.cpus.empty()) info.cpu = o.cpus[index % o.cpus.size()];
        try {
            captures.push_back(Capture::open(c));
        } catch (const Error& e) {
            throw for_worker(e, o.workers > 1
                                    ? "worker " + std::to_string(w) + " on '" + c.interface + "'"
                                    : "'" + c.interface + "'");
        }
        // The others join the group the first one made.
        if (c.fanout && !c.fanout->group) c.fanout->group = captures.back().info().fanout_group;
        workers.push_back(std::move(info));
    }
}

CaptureGroup CaptureGroup::open(const GroupOptions& o) {
    if (o.interfaces.empty())
        throw Error(EINVAL, "no interface given", "name one in GroupOptions::interfaces",
                    Remedy::name_interface);
    if (o.workers == 0) throw Error(EINVAL, "0 workers", "a group needs at least one worker");
    for (std::size_t k = 0; k < o.interfaces.size(); ++k)
        for (std::size_t j = 0; j < k; ++j)
            if (o.interfaces[j] == o.interfaces[k])
                throw Error(EINVAL, "interface '" + o.interfaces[k] + "' given twice",
                            "several sockets on one interface are workers of one fanout group");
    auto impl = std::make_unique<Impl>();
    for (std::size_t k = 0; k < o.interfaces.size(); ++k) impl->open_interface(o, k);
    const std::size_t cpus = sys::usable_cpus();
    if (impl->captures.size() > cpus)
        impl->notes.push_back(std::to_string(impl->captures.size()) + " capture threads on " +
                              std::to_string(cpus) + " CPUs: they take turns");
    return CaptureGroup(std::move(impl));
}

void CaptureGroup::Impl::work(std::size_t i, const BatchHandler& on_batch,
                              const IdleHandler& on_idle, StopToken stop,
                              std::chrono::milliseconds wait, WorkerEnd& end) {
    try {
        if (workers[i].cpu) sys::pin_this_thread(*workers[i].cpu);
        Capture& cap = captures[i];
        while (!stop.stop_requested()) {
            if (std::optional<Batch> batch = cap.next_batch(wait)) {
                on_batch(i, *batch);
                continue;
            }
            if (on_idle) on_idle(i, sys::realtime_ns());
        }
        // What the ring still holds, the block being filled included (Capture::drain()).
        while (std::optional<Batch> batch = cap.drain()) on_batch(i, *batch);
    } catch (const Error& e) {
        end.error = e;
    } catch (const std::exception& e) {
        end.error = Error(EIO, "worker " + std::to_string(i) + ": " + e.what());
    }
}

std::vector<CaptureGroup::WorkerEnd> CaptureGroup::run(const BatchHandler& on_batch, StopToken stop,
                                                       const IdleHandler& on_idle,
                                                       std::chrono::milliseconds wait) {
    std::vector<WorkerEnd> ends(impl_->captures.size());
    std::vector<std::thread> threads;
    threads.reserve(ends.size());
    for (std::size_t i = 0; i < ends.size(); ++i)
        threads.emplace_back([&, i] { impl_->work(i, on_batch, on_idle, stop, wait, ends[i]); });
    for (std::thread& t : threads) t.join();
    return ends;
}

std::vector<CaptureGroup::WorkerEnd> CaptureGroup::run_merged(TimeMerge& merge, StopToken stop,
                                                              std::chrono::milliseconds wait) {
    std::vector<WorkerEnd> ends = run(
        [&](std::size_t w, Batch& b) {
            if (!merge.push(w, std::move(b))) throw Error(ECANCELED, "the merge was closed");
        },
        stop,
        [&](std::size_t w, std::int64_t now) {
            merge.advance(w, now - delivery_bound(w).count());
            // While the merge holds this ring's newest block, poll() reports the ring readable:
            // a short sleep instead (new packets wait in the ring, which is what it is for).
            if (merge.holds_batches(w)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        },
        wait);
    for (std::size_t w = 0; w < ends.size(); ++w) merge.finish(w);
    return ends;
}

std::chrono::nanoseconds CaptureGroup::delivery_bound(std::size_t worker) const noexcept {
    const RingLayout& l = impl_->captures[worker].info().layout;
    return l.version == TpacketVersion::v3 ? l.block_timeout + kTimerSlack : kTimerSlack;
}

std::vector<CaptureStats> CaptureGroup::stats() {
    std::vector<CaptureStats> out;
    out.reserve(impl_->captures.size());
    for (Capture& c : impl_->captures) out.push_back(c.stats());
    return out;
}

CaptureGroup::CaptureGroup(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
CaptureGroup::CaptureGroup(CaptureGroup&&) noexcept = default;
CaptureGroup& CaptureGroup::operator=(CaptureGroup&&) noexcept = default;
CaptureGroup::~CaptureGroup() = default;

std::size_t CaptureGroup::size() const noexcept { return impl_->captures.size(); }
Capture& CaptureGroup::capture(std::size_t worker) noexcept { return impl_->captures[worker]; }
const WorkerInfo& CaptureGroup::worker(std::size_t worker) const noexcept {
    return impl_->workers[worker];
}
const std::vector<std::string>& CaptureGroup::notes() const noexcept { return impl_->notes; }

}  // namespace ringcap
