#include "group_cmd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <ringcap/filter.hpp>
#include <ringcap/group.hpp>
#include <ringcap/sink.hpp>

#include "output.hpp"
#include "privileges.hpp"
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
int summarize(const CliOptions& o, CaptureGroup& g, std::uint64_t captured, const Ends& ends) {
    const std::vector<CaptureStats> per = g.stats();
    CaptureStats total;
    for (const CaptureStats& s : per) total += s;
    report_capture_summary(captured, total, g.capture(0).info());
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

// Each worker writes its own file (its number in the name), on its own thread.
int per_worker_files(const CliOptions& o, CaptureGroup& g, StopToken user) {
    std::vector<std::unique_ptr<Sink>> sinks;
    for (std::size_t w = 0; w < g.size(); ++w) {
        CliOptions mine = o;
        mine.write_path = worker_file_name(o.write_path, w);
        const CaptureInfo& info = g.capture(w).info();
        sinks.push_back(open_output(mine, {.link = info.link_type,
                                           .snaplen = info.snaplen,
                                           .interface_name = info.interface,
                                           .interface_description = interface_alias(info.interface),
                                           .before_close = [&g, w](PcapngWriter& file) {
                                               const CaptureStats st = g.capture(w).stats();
                                               file.write_statistics(0, st.packets, st.drops);
                                           }}));
    }
    say_listening(o, g);
    PacketBudget budget(o.count);
    std::atomic<std::uint64_t> captured{0};
    std::atomic<bool> write_failed{false};
    StopSource all;
    const auto batch = [&](std::size_t w, Batch& b) {
        try {
            SinkFeeder feed(*sinks[w]);
            const std::uint64_t n = budget.claim(b.size());
            std::uint64_t i = 0;
            b.for_each([&](const PacketView& p) {
                if (i++ == n) return false;
                feed.push(p);
                return true;
            });
            feed.drain();
            captured += n;
            sinks[w]->end_batch();
            sinks[w]->tick(std::chrono::system_clock::now());
        } catch (const Error&) {
            write_failed = true;  // a full disk ends every worker, as it ends tcpdump
            throw;
        }
    };
    const auto idle = [&](std::size_t w, std::int64_t) {
        sinks[w]->tick(std::chrono::system_clock::now());
    };
    Ends ends = run_until(
        all, user, [&] { return budget.spent() || write_failed; },
        [&] { return g.run(batch, all, idle); });
    int status = 0;
    for (auto& s : sinks) try {
            s->close();
        } catch (const Error& e) {
            report(e);
            status = 1;
        }
    return std::max(status, summarize(o, g, captured, ends));
}

// Every worker's packets into one output in timestamp order: the workers push their batches into
// a TimeMerge, this thread pops them in order and writes them.
int merged(const CliOptions& o, CaptureGroup& g, StopToken user) {
    const CaptureInfo& first = g.capture(0).info();
    const std::size_t per_interface = o.workers;
    const std::unique_ptr<Sink> out = open_output(
        o, {.link = first.link_type,
            .snaplen = first.snaplen,
            .interface_name = first.interface,
            .interface_description = interface_alias(first.interface),
            .before_close = [&](PcapngWriter& file) {
                const std::vector<CaptureStats> per = g.stats();
                for (std::size_t k = 0; k < o.interfaces.size() && k < file.interfaces(); ++k) {
                    CaptureStats sum;
                    for (std::size_t w = 0; w < per_interface; ++w)
                        sum += per[k * per_interface + w];
                    file.write_statistics(static_cast<std::uint32_t>(k), sum.packets, sum.drops);
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
    TimeMerge merge(g.size());
    PacketBudget budget(o.count);
    StopSource all;
    Ends ends;
    std::thread runner([&] { ends = g.run_merged(merge, all); });
    std::uint64_t captured = 0;
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
            out->tick(std::chrono::system_clock::now());
            if (budget.spent()) break;
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
    return std::max(status, summarize(o, g, captured, ends));
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
    CaptureGroup g = CaptureGroup::open(go);
    for (const std::string& note : g.notes()) say("ringcap: note: " + note);
    for (const std::string& note : g.capture(0).info().notes) say("ringcap: note: " + note);
    for (std::size_t k = 0; k < g.size(); ++k)
        if (g.capture(k).info().filter_in_user_space)
            throw Error(EINVAL,
                        "the kernel refused the filter, and workers and several "
                        "interfaces do not filter in user space yet",
                        "capture with one -i and no --workers");
    relinquish_privileges(account, o);  // before any thread starts (and keeps -w's right)
    // A file per worker only when asked for files of one interface without --merge: printed
    // lines, standard output and several interfaces are one stream in time order.
    const bool per_worker =
        !o.write_path.empty() && o.write_path != "-" && !o.merge && o.interfaces.size() == 1;
    return per_worker ? per_worker_files(o, g, stop) : merged(o, g, stop);
}

}  // namespace ringcap::cli
