// The transmit commands. Per packet: take a ring frame, fill it, commit; per batch: one send().
// Pacing: when the next packet is due later than the batching horizon, send what is queued and
// sleep until close to its time, then spin (wait_until); otherwise keep filling the batch.
#include "transmit_cmd.hpp"

#include <fmt/format.h>

#include <cstring>
#include <optional>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/gen.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/tx.hpp>

#include "sys/clock.hpp"
#include "sys/file.hpp"

namespace ringcap::cli {
namespace {

constexpr std::uint32_t kBatch = 256;        // frames per send() at full speed
constexpr std::int64_t kHorizonNs = 20'000;  // due sooner than this: just queue it

using sys::realtime_ns;

// Frames out through the injector, in batches, on time, with a progress line on a terminal.
class Sender {
  public:
    Sender(Injector& tx, StopToken stop)
        : tx_(tx), stop_(stop), progress_(sys::is_terminal(sys::kStderr)) {
        start_ = last_report_ = monotonic_ns();
    }

    // Waits until `due_ns` (CLOCK_MONOTONIC), sending what is queued first if that is a while.
    void pace(std::int64_t due_ns) {
        if (due_ns - monotonic_ns() <= kHorizonNs) return;
        push();
        wait_until(due_ns);
    }

    // A free frame, sending and waiting for one if the ring is full; empty if stopped.
    std::span<std::byte> frame() {
        for (;;) {
            std::span<std::byte> f = tx_.next_frame();
            if (!f.empty() || stop_.stop_requested()) return f;
            push();
            tx_.wait_for_room(std::chrono::milliseconds(10));
        }
    }

    void commit(std::size_t len) {
        tx_.commit(len);
        if (++queued_ >= kBatch) push();
    }

    void push() {
        if (queued_ == 0) return;
        tx_.flush();  // on ENOBUFS the frames stay requested and go with the next send()
        queued_ = 0;
        if (progress_) report_progress();
    }

    // Drains the ring and prints the summary; returns the achieved packet rate.
    double finish(std::uint64_t skipped, std::size_t mtu) {
        push();
        const TxStats st = tx_.drain(std::chrono::seconds(2));
        const double secs = static_cast<double>(monotonic_ns() - start_) / 1e9;
        if (progress_) fmt::print(stderr, "\n");
        const double pps = secs > 0 ? static_cast<double>(st.sent()) / secs : 0;
        fmt::print(stderr, "sent {} packets, {} bytes in {:.3f} s: {:.0f} pps, {:.1f} Mbps\n",
                   st.sent(), st.bytes, secs, pps,
                   secs > 0 ? static_cast<double>(st.bytes) * 8 / secs / 1e6 : 0.0);
        if (skipped != 0)
            fmt::print(stderr, "skipped {} packets larger than the interface allows (MTU {})\n",
                       skipped, mtu);
        if (st.wrong_format != 0)
            fmt::print(stderr, "{} frames refused by the kernel (TP_STATUS_WRONG_FORMAT)\n",
                       st.wrong_format);
        if (st.in_flight != 0)
            fmt::print(stderr, "{} frames still queued in the kernel after 2 s\n", st.in_flight);
        return pps;
    }

  private:
    void report_progress() {
        const std::int64_t now = monotonic_ns();
        if (now - last_report_ < 1'000'000'000) return;
        const TxStats st = tx_.stats();
        const double secs = static_cast<double>(now - start_) / 1e9;
        fmt::print(stderr, "\rsent {} packets, {:.0f} pps, {:.1f} Mbps   ", st.queued,
                   static_cast<double>(st.queued) / secs,
                   static_cast<double>(st.bytes) * 8 / secs / 1e6);
        last_report_ = now;
    }

    Injector& tx_;
    StopToken stop_;
    bool progress_;
    std::uint32_t queued_ = 0;
    std::int64_t start_ = 0;
    std::int64_t last_report_ = 0;
};

Injector open_injector(const TxCliOptions& o) {
    TxOptions to{
        .interface = o.interface, .qdisc_bypass = o.qdisc_bypass, .zero_copy = o.zero_copy};
    if (o.buffer_kib) to.ring.buffer_size = *o.buffer_kib * 1024;
    return Injector::open(to);
}

PcapReader open_ethernet_pcap(const std::string& path) {
    PcapReader reader = PcapReader::open(path);
    if (reader.info().link_type != 1)
        throw Error(EINVAL, fmt::format("'{}' has link type {}; replay sends Ethernet "
                                        "(LINKTYPE 1) frames",
                                        path, reader.info().link_type));
    return reader;
}

void warn_if_slow(double asked, double achieved, const char* unit) {
    if (asked > 0 && achieved < asked * 0.95)
        fmt::print(stderr,
                   "asked {:.0f} {}, achieved {:.0f} ({:.0f}%): the link or this CPU "
                   "cannot go faster\n",
                   asked, unit, achieved, 100 * achieved / asked);
}

}  // namespace

int run_gen(const TxCliOptions& o, StopToken stop) {
    const UdpGenerator gen = UdpGenerator::create(o.flow);
    Injector tx = open_injector(o);
    if (!tx.takes(gen.frame()))
        throw Error(EMSGSIZE,
                    fmt::format("frame size {} exceeds what {} takes (MTU {} + 14)", gen.size(),
                                o.interface, tx.mtu()),
                    "lower --size or raise the MTU");
    tx.prefill(gen.frame());  // frames keep their bytes: per packet only the stamp changes
    Sender s(tx, stop);
    const std::int64_t start = monotonic_ns();
    const double gap_ns = o.rate > 0 ? 1e9 / o.rate : 0;
    std::int64_t now = 0;
    for (std::uint64_t seq = 0; !stop.stop_requested() && (o.limit == 0 || seq < o.limit); ++seq) {
        if (gap_ns > 0)
            s.pace(start + static_cast<std::int64_t>(static_cast<double>(seq) * gap_ns));
        std::span<std::byte> f = s.frame();
        if (f.empty()) break;
        // Paced: each frame's own send time. Full speed: one clock read per 64 frames, which
        // leave within a few microseconds of each other anyway.
        if (gap_ns > 0 || seq % 64 == 0) now = realtime_ns();
        gen.stamp(f.data(), seq, now);
        s.commit(gen.size());
    }
    warn_if_slow(o.rate, s.finish(0, tx.mtu()), "pps");
    return 0;
}

int run_replay(const TxCliOptions& o, StopToken stop) {
    // Every file is opened and checked before anything is sent: a missing, foreign or
    // non-Ethernet file is one error line, not a partial replay followed by a summary.
    // (Standard input can be read only once: it is checked when its turn comes.) The files stay
    // open and mapped: with --loop each pass rewinds them, with no page faults after the first.
    std::vector<std::optional<PcapReader>> readers;
    for (const std::string& path : o.files)
        readers.push_back(path == "-" ? std::nullopt
                                      : std::optional<PcapReader>(open_ethernet_pcap(path)));
    Injector tx = open_injector(o);
    Sender s(tx, stop);
    std::uint64_t sent = 0, skipped = 0, not_ethernet = 0, bits = 0;
    const std::int64_t start = monotonic_ns();
    try {
        for (std::uint64_t pass = 0; !stop.stop_requested() && (o.loop == 0 || pass < o.loop);
             ++pass) {
            for (std::size_t i = 0; i < o.files.size(); ++i) {
                std::optional<PcapReader>& file = readers[i];
                if (!file)
                    file.emplace(open_ethernet_pcap(o.files[i]));
                else if (pass != 0 && !file->rewind())
                    *file = open_ethernet_pcap(o.files[i]);
                PcapReader& reader = *file;
                const std::int64_t pass_start = monotonic_ns();
                std::optional<std::int64_t> first_ts;
                while (!stop.stop_requested() && (o.limit == 0 || sent < o.limit)) {
                    std::optional<PacketView> p = reader.next();
                    if (!p) break;
                    // Never truncated: a cut frame is a different frame. A pcapng file may hold
                    // other interfaces of other link types: only Ethernet frames are sent.
                    if (!tx.takes(p->bytes())) {
                        ++skipped;
                        continue;
                    }
                    if (p->ifindex() != 0 && reader.interfaces()[p->ifindex()].link_type != 1) {
                        ++not_ethernet;
                        continue;
                    }
                    if (o.pps > 0) {
                        s.pace(start +
                               static_cast<std::int64_t>(static_cast<double>(sent) * 1e9 / o.pps));
                    } else if (o.mbps > 0) {
                        s.pace(start +
                               static_cast<std::int64_t>(static_cast<double>(bits) * 1e3 / o.mbps));
                    } else if (!o.topspeed) {
                        if (!first_ts) first_ts = p->ts_ns();
                        s.pace(pass_start +
                               static_cast<std::int64_t>(
                                   static_cast<double>(p->ts_ns() - *first_ts) / o.multiplier));
                    }
                    std::span<std::byte> f = s.frame();
                    if (f.empty()) break;
                    std::memcpy(f.data(), p->data(), p->caplen());
                    s.commit(p->caplen());
                    ++sent;
                    bits += std::uint64_t(p->caplen()) * 8;
                }
                if (stop.stop_requested() || (o.limit != 0 && sent >= o.limit)) break;
            }
            if (o.limit != 0 && sent >= o.limit) break;
        }
    } catch (const Error&) {
        // What was valid has been queued: send it, report, then the error.
        s.finish(skipped, tx.mtu());
        throw;
    }
    const double pps = s.finish(skipped, tx.mtu());
    if (not_ethernet != 0)
        fmt::print(stderr, "skipped {} packets of pcapng interfaces that are not Ethernet\n",
                   not_ethernet);
    warn_if_slow(o.pps, pps, "pps");
    return 0;
}

}  // namespace ringcap::cli
