#include "group_cmd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <ringcap/filter.hpp>
#include <ringcap/group.hpp>
#include <ringcap/rotating_writer.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/sink_feeder.hpp>

#include "capture_cmd.hpp"
#include "feed_batch.hpp"
#include "loss_watch.hpp"
#include "output.hpp"
#include "privileges.hpp"
#include "process_sink.hpp"
#include "report.hpp"

namespace ringcap::cli {
namespace {

using Ends = std::vector<CaptureGroup::WorkerEnd>;

// -c over all workers: each batch claims what it may still write.
class PacketBudget {
  public:
    explicit PacketBudget(std::uint64_t limit) : limited_(limit != 0), left_(limit) {}
    std::uint64_t claim(std::uint64_t want) noexcept {
        if (!limited_) return want;
        std::uint64_t left = left_.load(std::memory_order_relaxed);
        std::uint64_t take = 0;
        do take = std::min(left, want);
        while (!left_.compare_exchange_weak(left, left - take, std::memory_order_relaxed));
        return take;
    }
    bool spent() const noexcept { return limited_ && left_.load(std::memory_order_relaxed) == 0; }

  private:
    bool limited_;
    std::atomic<std::uint64_t> left_;
};

// What the command line says before the capture: the interfaces, the workers and their
// fanout group, link type, snaplen and ring (each socket has one of these).
void say_listening(const CliOptions& o, CaptureGroup& g) {
    std::string where;
    for (const std::string& i : o.interfaces) where += (where.empty() ? "" : ", ") + i;
    const CaptureInfo& first = g.capture(0).info();
    if (o.workers > 1)
        where +=
            fmt::format(" with {} workers{} (fanout {}, group {})", o.workers,
                        o.interfaces.size() > 1 ? " each" : "",
                        fanout_name(o.fanout.mode, o.fanout.flags), first.fanout_group.value_or(0));
    say(fmt::format("listening on {}, link-type {}, snapshot length {} bytes, {} per socket", where,
                    link_type_name(first.link_type), first.snaplen, describe_ring(first)));
}

// The end: tcpdump's three lines over all workers, then with --stats one line per worker, and
// why a worker ended early. Returns the exit status those endings call for.
int summarize(const CliOptions& o, CaptureGroup& g, std::uint64_t captured, const Ends& ends,
              LossWatch& watch) {
    const std::vector<CaptureStats> per = g.stats();
    CaptureStats total;
    for (const CaptureStats& s : per) total += s;
    report_capture_summary(captured, total, g.capture(0).info());
    watch.report_end(captured);
    if (o.stats)
        for (std::size_t w = 0; w < per.size(); ++w) {
            const WorkerInfo& i = g.worker(w);
            say(fmt::format(
                "worker {} ({}{}): {} received by filter ({:.1f}%), {} dropped, {} rolled over", w,
                i.interface, i.cpu ? fmt::format(", CPU {}", *i.cpu) : "", per[w].packets,
                total.packets ? 100.0 * double(per[w].packets) / double(total.packets) : 0.0,
                per[w].drops, per[w].rolled_over));
        }
    int status = 0;
    for (std::size_t w = 0; w < ends.size(); ++w)
        if (ends[w].error && ends[w].error->code().value() != ECANCELED) {
            say(fmt::format("ringcap: worker {} on '{}' ended early:", w, g.worker(w).interface));
            report(*ends[w].error);
            status = 1;
        }
    return status;
}

// The loss ledger over every socket of the group and every output (loss_watch.hpp).
LossWatch watch_group(const CliOptions& o, CaptureGroup& g, LossMonitor& monitor,
                      const std::vector<Sink*>& outputs, std::mutex* counters = nullptr) {
    return LossWatch(o, std::move(monitor), g.capture(0).info(),
                     {.counters =
                          [&g, counters] {
                              if (counters == nullptr) return g.stats();
                              const std::lock_guard lock(*counters);
                              return g.stats();
                          },
                      .fill =
                          [&g] {
                              double fullest = 0;
                              for (std::size_t w = 0; w < g.size(); ++w)
                                  fullest = std::max(fullest, g.capture(w).ring_fill());
                              return fullest;
                          }},
                     outputs);
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Runs the group on a thread of its own until the user or -c stops it, or every worker ended.
template <class Check>
Ends run_until(StopSource& all, StopToken user, Check done, const std::function<Ends()>& body) {
    Ends ends;
    std::atomic<bool> finished{false};
    std::thread runner([&] {
        ends = body();
        finished = true;
    });
    while (!finished) {
        if (user.stop_requested() || done()) all.request_stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    runner.join();
    return ends;
}

// Each worker writes its own output (a file with its number in the name, or its printed lines),
// on its own thread.
int per_worker_outputs(const CliOptions& o, CaptureGroup& g, StopToken user,
                       CaptureAttribution* process, LossMonitor& monitor) {
    // A worker's file reads its socket's counters when it rotates, on the worker's thread, while
    // the ledger may read every socket's from this one (live line, SIGUSR1): one at a time.
    std::mutex counters;
    std::vector<std::atomic<std::uint64_t>> delivered(g.size());
    std::vector<std::unique_ptr<Sink>> sinks;
    std::mutex stdout_lock;
    for (std::size_t w = 0; w < g.size(); ++w) {
        CliOptions mine = o;
        if (!o.write_path.empty()) mine.write_path = worker_file_name(o.write_path, w);
        const CaptureInfo& info = g.capture(w).info();
        sinks.push_back(open_output(mine,
                                    {.link = info.link_type,
                                     .snaplen = info.snaplen,
                                     .interface_name = info.interface,
                                     .interface_description = interface_alias(info.interface),
                                     .process = process,
                                     .before_close =
                                         [&, w](PcapngWriter& file) {
                                             const std::lock_guard lock(counters);
                                             const CaptureStats st = g.capture(w).stats();
                                             file.write_statistics(
                                                 0, {.received = st.packets,
                                                     .dropped = st.drops,
                                                     .os_dropped = st.drops,
                                                     .delivered = delivered[w].load()});
                                         }},
                                    &stdout_lock));
    }
    say_listening(o, g);
    std::vector<Sink*> outputs;
    for (auto& s : sinks) outputs.push_back(s.get());
    LossWatch watch = watch_group(o, g, monitor, outputs, &counters);
    const std::int64_t deadline = duration_deadline(o);
    PacketBudget budget(process ? process->loop_limit(o.count) : o.count);
    if (process) user = process->stop_token(user);
    std::atomic<std::uint64_t> captured{0};
    std::atomic<bool> write_failed{false};
    StopSource all;
    const auto batch = [&](std::size_t w, Batch& b) {
        try {
            SinkFeeder feed(*sinks[w]);
            const std::uint64_t n = budget.claim(b.size());
            std::uint64_t fed = 0;
            std::uint64_t bytes = 0;
            const FeedCount count{.room = n, .fed = fed, .bytes = bytes};
            const KeepAll all;
            if (b.ring_was_losing()) [[unlikely]] {
                // The kernel dropped packets before this batch: its first packet says how many.
                std::uint64_t drops = 0;
                {
                    const std::lock_guard lock(counters);
                    drops = watch.worker_drops(w, g.capture(w).stats().drops);
                }
                feed_marked_batch<false>(b, feed, dynamic_cast<RotatingWriter*>(sinks[w].get()),
                                         drops, count, all);
            } else {
                feed_batch<false>(b, feed, count, all);
            }
            feed.drain();
            captured += fed;
            delivered[w] += fed;
            sinks[w]->end_batch();
            const auto now = std::chrono::system_clock::now();
            watch.on_worker_batch(
                w, b,
                std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch())
                    .count());
            // -G periods end once every packet before them has been handed over: the ring may
            // still hold up to its delivery bound.
            sinks[w]->tick(now - g.delivery_bound(w));
        } catch (const Error&) {
            write_failed = true;  // a full disk ends every worker, as it ends tcpdump
            throw;
        }
    };
    const auto idle = [&](std::size_t w, std::int64_t now_ns) {
        // Everything that arrived before now_ns - delivery_bound(w) has been handed over.
        sinks[w]->tick(std::chrono::system_clock::time_point(std::chrono::nanoseconds(now_ns)) -
                       g.delivery_bound(w));
    };
    Ends ends = run_until(
        all, user,
        [&] {
            const std::int64_t now = now_ns();
            watch.tick(now, captured, LossWatch::kBytesUnknown);
            return budget.spent() || write_failed || now >= deadline;
        },
        [&] { return g.run(batch, all, idle); });
    int status = 0;
    for (auto& s : sinks) try {
            s->close();
        } catch (const Error& e) {
            report(e);
            status = 1;
        }
    return std::max(status, summarize(o, g, captured, ends, watch));
}

// Every worker's packets into one output in timestamp order: the workers push their batches into
// a TimeMerge, this thread pops them in order and writes them.
int merged(const CliOptions& o, CaptureGroup& g, StopToken user, CaptureAttribution* process,
           LossMonitor& monitor) {
    const CaptureInfo& first = g.capture(0).info();
    const std::size_t per_interface = o.workers;
    std::uint64_t captured = 0;  // written out; the ISB's isb_usrdeliv (one interface)
    const std::unique_ptr<Sink> out = open_output(
        o, {.link = first.link_type,
            .snaplen = first.snaplen,
            .interface_name = first.interface,
            .interface_description = interface_alias(first.interface),
            .process = process,
            .before_close = [&](PcapngWriter& file) {
                const std::vector<CaptureStats> per = g.stats();
                for (std::size_t k = 0; k < o.interfaces.size() && k < file.interfaces(); ++k) {
                    CaptureStats sum;
                    for (std::size_t w = 0; w < per_interface; ++w)
                        sum += per[k * per_interface + w];
                    file.write_statistics(
                        static_cast<std::uint32_t>(k),
                        {.received = sum.packets,
                         .dropped = sum.drops,
                         .os_dropped = sum.drops,
                         .delivered =
                             o.interfaces.size() == 1 ? std::optional(captured) : std::nullopt});
                }
            }});
    // A file of several interfaces numbers them: each packet says which is its own.
    bool numbered = false;
    for (std::size_t k = 1; k < o.interfaces.size(); ++k) {
        const CaptureInfo& info = g.capture(k * per_interface).info();
        if (!out->add_interface({.link_type = static_cast<std::uint32_t>(info.link_type),
                                 .snaplen = info.snaplen,
                                 .name = info.interface,
                                 .description = interface_alias(info.interface)}))
            throw Error(EINVAL, "interface '" + info.interface + "' cannot go into this output",
                        "write pcapng (-w NAME.pcapng) for interfaces of several link types");
        numbered = true;
    }
    say_listening(o, g);
    LossWatch watch = watch_group(o, g, monitor, {out.get()});
    const std::int64_t deadline = duration_deadline(o);
    TimeMerge merge(g.size());
    PacketBudget budget(process ? process->loop_limit(o.count) : o.count);
    if (process) user = process->stop_token(user);
    StopSource all;
    Ends ends;
    std::thread runner([&] { ends = g.run_merged(merge, all); });
    int status = 0;
    PacketView views[SinkFeeder::kChunk];
    std::uint32_t from[SinkFeeder::kChunk];
    try {
        while (!merge.done()) {
            if (user.stop_requested()) all.request_stop();
            std::size_t n = merge.pop(views, from, std::chrono::milliseconds(50));
            n = budget.claim(n);
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t w = from[i];
                if (o.workers > 1) views[i] = views[i].with_queue(static_cast<std::uint16_t>(w));
                if (numbered) views[i] = views[i].with_ifindex(static_cast<int>(w / per_interface));
            }
            if (n != 0) {
                out->write({views, n});
                out->end_batch();
                captured += n;
            }
            // A packet may wait in the merge up to its reordering bound: -G periods end after it.
            out->tick(std::chrono::system_clock::now() - MergeOptions{}.max_delay);
            const std::int64_t now = now_ns();
            watch.tick(now, captured, LossWatch::kBytesUnknown);
            if (budget.spent() || now >= deadline) break;
        }
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    all.request_stop();
    merge.close();  // workers waiting for room give up
    runner.join();
    try {
        out->close();
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    return std::max(status, summarize(o, g, captured, ends, watch));
}

}  // namespace

bool wants_group(const CliOptions& o) noexcept { return o.interfaces.size() > 1 || o.workers > 1; }

std::string worker_file_name(const std::string& pattern, std::size_t worker) {
    if (pattern == "-") return pattern;
    const std::string n = std::to_string(worker);
    if (const std::size_t at = pattern.find("%w"); at != std::string::npos)
        return pattern.substr(0, at) + n + pattern.substr(at + 2);
    const std::size_t slash = pattern.rfind('/');
    const std::size_t dot = pattern.rfind('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == 0 ||
        dot == slash + 1)
        return pattern + "-" + n;
    return pattern.substr(0, dot) + "-" + n + pattern.substr(dot);
}

int group_capture_cmd(const CliOptions& o, StopToken stop) {
    GroupOptions go{.interfaces = o.interfaces,
                    .workers = o.workers,
                    .capture = o.capture,
                    .fanout = o.fanout,
                    .cpus = o.cpus};
    const std::optional<sys::Account> account = account_to_become(o);
    const auto process = CaptureAttribution::start(o, stop);  // before the sockets: see all
    CaptureGroup g = CaptureGroup::open(go);
    if (process) process->set_capture_socket(g.capture(0).fd());
    for (const std::string& note : g.notes()) say("ringcap: note: " + note);
    for (const std::string& note : g.capture(0).info().notes) say("ringcap: note: " + note);
    for (std::size_t k = 0; k < g.size(); ++k)
        if (g.capture(k).info().filter_in_user_space)
            throw Error(EINVAL,
                        "the kernel refused the filter, and workers and several "
                        "interfaces do not filter in user space yet",
                        "capture with one -i and no --workers");
    LossMonitor monitor = LossWatch::open_monitor(o, o.interfaces);
    relinquish_privileges(account, o);  // before any thread starts (and keeps -w's right)
    // Workers of one interface each write their own output unless --merge: a file each, or
    // printed lines (whole lines, in the order the workers' batches come); one file on standard
    // output, and several interfaces, are always one stream in time order.
    const bool per_worker = !o.merge && o.interfaces.size() == 1 && o.write_path != "-";
    const int status = per_worker ? per_worker_outputs(o, g, stop, process.get(), monitor)
                                  : merged(o, g, stop, process.get(), monitor);
    if (process) process->report();
    return status;
}

}  // namespace ringcap::cli
