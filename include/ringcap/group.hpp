#pragma once
// Capture on several sockets at once, one thread each: N workers sharing one interface through a
// PACKET_FANOUT group, one socket per interface for several interfaces, or both.
//
//   auto group = ringcap::CaptureGroup::open({.interfaces = {"eth0"}, .workers = 4,
//                                             .capture = {.filter = "tcp"}});
//   group.run([&](std::size_t worker, ringcap::Batch& batch) { sinks[worker].write(batch); },
//             stop);                                       // returns when stop is requested
//
// Nothing is shared between workers on the hot path: each has its own socket, ring and thread,
// and the callback gets its own worker's batches. TimeMerge puts the batches of all workers back
// into timestamp order, for one file or one stream of printed lines.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ringcap/capture.hpp>
#include <ringcap/error.hpp>
#include <ringcap/options.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

struct GroupOptions {
    // One or more interfaces; each is captured by `workers` sockets.
    std::vector<std::string> interfaces;
    // Sockets per interface. Above 1 they join one fanout group per interface, as `fanout` says
    // (its group id, when given, is used for the first interface, id + 1 for the second, ...).
    std::size_t workers = 1;
    // Everything else about each socket (its interface and fanout fields are set per socket).
    CaptureOptions capture{};
    FanoutOptions fanout{};
    // Socket k's thread runs on cpus[k % cpus.size()]; empty: wherever the scheduler puts it.
    std::vector<int> cpus;
};

struct WorkerInfo {
    std::string interface;
    std::size_t interface_index = 0;  // into GroupOptions::interfaces
    std::size_t fanout_index = 0;     // 0 .. workers-1 on its interface
    std::optional<int> cpu;
};

class CaptureGroup {
  public:
    // Opens every socket (and joins the fanout groups) before any thread starts, so a bad
    // option fails here, with nothing running. Throws ringcap::Error naming the socket's
    // interface and worker.
    static CaptureGroup open(const GroupOptions& options);

    CaptureGroup(CaptureGroup&&) noexcept;
    CaptureGroup& operator=(CaptureGroup&&) noexcept;
    ~CaptureGroup();

    std::size_t size() const noexcept;
    Capture& capture(std::size_t worker) noexcept;
    const WorkerInfo& worker(std::size_t worker) const noexcept;
    // Decisions made on the user's behalf (more workers than CPUs, ...).
    const std::vector<std::string>& notes() const noexcept;

    // The body of a worker thread: gets the worker's batches in order, one call per batch (a
    // batch it does not move away is released when the call returns). A callback that throws
    // ends its worker with that error; the other workers go on.
    using BatchHandler = std::function<void(std::size_t worker, Batch& batch)>;
    // Called by a worker thread when its ring was found empty at `now_ns` (CLOCK_REALTIME): every
    // packet that arrived before now_ns - delivery_bound(worker) has been handed to the handler.
    using IdleHandler = std::function<void(std::size_t worker, std::int64_t now_ns)>;

    struct WorkerEnd {
        std::optional<Error> error;  // why the worker ended early (interface down, ...)
    };
    // Runs one thread per socket until `stop` is requested or every worker has ended, then
    // joins them. `wait` bounds each poll (and so how soon a worker sees the stop request).
    std::vector<WorkerEnd> run(const BatchHandler& on_batch, StopToken stop,
                               const IdleHandler& on_idle = {},
                               std::chrono::milliseconds wait = std::chrono::milliseconds(50));

    // run() with every batch handed to `merge` (source i = worker i), each worker's watermark
    // advanced whenever its ring is found empty, and every source finished when its worker ends.
    // The consumer pops from `merge` on its own thread meanwhile.
    std::vector<WorkerEnd> run_merged(
        class TimeMerge& merge, StopToken stop,
        std::chrono::milliseconds wait = std::chrono::milliseconds(10));

    // How long after its timestamp a packet may still be handed over: the V3 block timeout plus
    // the kernel timer's granularity (V2: the granularity only).
    std::chrono::nanoseconds delivery_bound(std::size_t worker) const noexcept;

    // Kernel counters of each worker, accumulated since open. From one thread at a time.
    std::vector<CaptureStats> stats();

  private:
    struct Impl;
    explicit CaptureGroup(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

// The packets of several sources (workers, interfaces) in timestamp order, with bounded memory:
// a source's batches wait in the rings they came from (nothing is copied), at most
// `queue_batches` per source. A packet goes out once no source can still deliver an earlier one:
// each other source either holds a later packet, has ended, or was found idle after it
// (watermark). After `max_delay` a packet goes out regardless; if an earlier one comes after
// that, it goes out late (out of order) and is counted, never dropped.
struct MergeOptions {
    std::chrono::milliseconds max_delay{500};
    std::size_t queue_batches = 64;
    // How long pop() gathers packets before it returns a chunk that is not full: one pop then
    // serves many batches, and the threads are not woken for every batch.
    std::chrono::milliseconds linger{2};
};

class TimeMerge {
  public:
    explicit TimeMerge(std::size_t sources, MergeOptions options = {});
    TimeMerge(const TimeMerge&) = delete;
    TimeMerge& operator=(const TimeMerge&) = delete;
    ~TimeMerge();

    // Source side (each source from one thread). Hands a batch over; waits while the source has
    // queue_batches waiting. False when the merge was closed (the batch is then released).
    bool push(std::size_t source, Batch&& batch);
    // The source found its ring empty: it will not deliver a packet older than `watermark_ns`.
    void advance(std::size_t source, std::int64_t watermark_ns);
    // The source ends: nothing more will come from it.
    void finish(std::size_t source);
    // Whether the merge still holds batches of `source`. While it holds a ring's newest block
    // the kernel reports that ring readable, so a source whose ring looked empty should sleep a
    // little rather than poll again at once.
    bool holds_batches(std::size_t source) const;

    // Consumer side (one thread). Fills `out` with packets in timestamp order, as many as may
    // go out, and `from` (same length, or empty) with each one's source: returns when `out` is
    // full, or `linger` after the first packet, or after `wait` with none. The views stay valid
    // until the next call. 0 with done() true: every source has finished and everything went out.
    std::size_t pop(std::span<PacketView> out, std::span<std::uint32_t> from,
                    std::chrono::milliseconds wait);
    bool done() const;
    // Stops the sources' push() calls (they return false) and releases every batch held.
    void close();

    std::uint64_t late() const;  // packets that went out after a later one

  private:
    struct Source;
    bool may_go_out(std::size_t source, std::int64_t ts, std::int64_t now) const;
    void refill(std::size_t source);
    std::size_t take_ready(std::span<PacketView> out, std::span<std::uint32_t> from,
                           std::int64_t now);

    MergeOptions options_;
    mutable std::mutex mutex_;
    // Each side is woken only when the other is waiting (a wake-up costs microseconds; one per
    // batch and per pop would cost more than the merge itself).
    std::condition_variable arrived_;   // the consumer waits for batches
    std::condition_variable released_;  // sources wait for room
    bool consumer_waiting_ = false;
    std::size_t sources_waiting_ = 0;
    std::vector<std::unique_ptr<Source>> sources_;
    struct Spent {
        std::size_t source;
        Batch batch;
    };
    std::vector<Spent> spent_;  // batches whose packets all went out; released by the next pop()
    bool closed_ = false;
    std::int64_t last_out_ = INT64_MIN;
    std::uint64_t late_ = 0;
};

}  // namespace ringcap
