// latency_probe: how late packets reach user code through libringcap. Opens a Capture in one of
// three modes and, for every packet carrying a `ringcap gen` stamp, records
// (CLOCK_REALTIME when next_batch() handed over its batch) - (send time in the payload).
//
//   latency_probe IF [default|immediate|busy-poll] [-L FILE]
//
//   default    CaptureOptions defaults: TPACKET_V3 blocks, 1 ms block retire timeout
//   immediate  .low_latency = true: TPACKET_V2 frames (ringcap --immediate-mode)
//   busy-poll  spin on the ring instead of sleeping in poll() (ringcap --busy-poll)
//
// Runs until SIGINT/SIGTERM, then prints tcpdump's three count lines and the percentiles on
// stderr; -L writes every sample (ns, one per line).
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <ringcap/capture.hpp>
#include <ringcap/error.hpp>
#include <ringcap/gen.hpp>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t realtime_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The busy-poll knob changed shape while this was written (bool, then optional<microseconds>);
// accept either, and report when the library has neither.
template <class O>
bool enable_busy_poll(O& o) {
    if constexpr (requires { o.busy_poll = std::chrono::microseconds(0); }) {
        o.busy_poll = std::chrono::microseconds(0);  // spin for the whole next_batch() timeout
        return true;
    } else if constexpr (requires { o.busy_poll = true; }) {
        o.busy_poll = true;
        return true;
    } else {
        return false;
    }
}

int usage() {
    std::fputs("usage: latency_probe IF [default|immediate|busy-poll] [-L FILE]\n", stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string mode = "default";
    std::string lat_path;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-L" && i + 1 < argc)
            lat_path = argv[++i];
        else if (a == "default" || a == "immediate" || a == "busy-poll")
            mode = a;
        else
            return usage();
    }

    ringcap::CaptureOptions opts{.interface = argv[1]};
    if (mode == "immediate") opts.low_latency = true;
    if (mode == "busy-poll" && !enable_busy_poll(opts)) {
        std::fputs("latency_probe: this libringcap has no busy_poll option\n", stderr);
        return 3;
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::vector<std::int64_t> lat;
    lat.reserve(1 << 16);
    std::uint64_t captured = 0;
    try {
        ringcap::Capture cap = ringcap::Capture::open(opts);
        const auto& l = cap.info().layout;
        std::fprintf(stderr, "listening on %s, latency_probe %s, TPACKET_V%d\n", argv[1],
                     mode.c_str(), l.version == ringcap::TpacketVersion::v3 ? 3 : 2);
        while (!g_stop) {
            auto batch = cap.next_batch(std::chrono::milliseconds(100));
            if (!batch) continue;
            const std::int64_t now = realtime_ns();
            for (const ringcap::PacketView& p : *batch) {
                ++captured;
                if (auto s = ringcap::UdpGenerator::read_stamp(p.bytes()))
                    lat.push_back(now - s->ts_ns);
            }
        }
        const ringcap::CaptureStats st = cap.stats();
        std::fprintf(stderr,
                     "%llu packets captured\n%llu packets received by filter\n"
                     "%llu packets dropped by kernel\n",
                     (unsigned long long)captured, (unsigned long long)st.packets,
                     (unsigned long long)st.drops);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "latency_probe: %s\n", e.what());
        return 1;
    }

    if (!lat_path.empty()) {
        if (FILE* f = std::fopen(lat_path.c_str(), "w")) {
            for (std::int64_t v : lat) std::fprintf(f, "%lld\n", (long long)v);
            std::fclose(f);
        }
    }
    if (lat.empty()) {
        std::fputs("latency: no stamped packets\n", stderr);
        return 0;
    }
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) {
        return lat[static_cast<std::size_t>(q * static_cast<double>(lat.size() - 1) + 0.5)] /
               1000.0;
    };
    std::fprintf(stderr, "latency us: n=%zu p50=%.1f p90=%.1f p99=%.1f max=%.1f\n", lat.size(),
                 pct(0.50), pct(0.90), pct(0.99), lat.back() / 1000.0);
    return 0;
}
