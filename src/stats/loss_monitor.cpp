// LossMonitor: the NIC, backlog and stack stages of the loss ledger, as deltas since open().
#include <algorithm>
#include <cerrno>
#include <string_view>

#include <ringcap/error.hpp>
#include <ringcap/stats.hpp>

#include "stats/softnet.hpp"
#include "stats/stack_drops.hpp"
#include "sys/clock.hpp"
#include "sys/net_counters.hpp"

namespace ringcap {
namespace {

// Driver counters that speak of receive loss. Names are the driver's own (ethtool -S), with no
// standard: words are matched, and transmit-side counters are left out.
bool speaks_of_loss(std::string_view name) {
    if (name.starts_with("tx") || name.find("_tx_") != std::string_view::npos) return false;
    for (const std::string_view word :
         {"drop", "miss", "discard", "fifo", "over", "no_buf", "nobuf", "err"})
        if (name.find(word) != std::string_view::npos) return true;
    return false;
}

std::uint64_t since(std::uint64_t start, std::uint64_t now) {
    return now >= start ? now - start : now;  // went down: the device was reset
}

// One interface's counters, at start and at each sample.
struct InterfaceWatch {
    std::string name;
    std::optional<sys::LinkCounters> link;  // at start; nullopt: not found then
    std::vector<std::string> driver_names;  // the loss-named ones
    std::vector<std::uint64_t> driver_start;
    std::string driver_unavailable;

    void start() {
        link = sys::link_counters(name);
        sys::DriverCounters d;
        if (const int err = sys::read_driver_counters(name, d); err != 0) {
            driver_unavailable = err == EOPNOTSUPP ? "the driver has no ethtool statistics"
                                                   : std::generic_category().message(err);
            return;
        }
        for (std::size_t i = 0; i < d.names.size(); ++i)
            if (speaks_of_loss(d.names[i])) {
                driver_names.push_back(d.names[i]);
                driver_start.push_back(d.values[i]);
            }
    }

    NicCounters sample() const {
        NicCounters n{.interface = name, .driver_unavailable = driver_unavailable};
        if (link) {
            const std::optional<sys::LinkCounters> now = sys::link_counters(name);
            const sys::LinkCounters& c = now ? *now : *link;
            n.rx_dropped = since(link->rx_dropped, c.rx_dropped);
            if (link->has_hardware) {
                n.rx_missed = since(link->rx_missed, c.rx_missed);
                n.rx_fifo = since(link->rx_fifo, c.rx_fifo);
                n.rx_over = since(link->rx_over, c.rx_over);
            }
        }
        if (!driver_unavailable.empty()) return n;
        sys::DriverCounters d;
        if (sys::read_driver_counters(name, d) != 0) return n;
        for (std::size_t k = 0; k < driver_names.size(); ++k) {
            const auto at = std::find(d.names.begin(), d.names.end(), driver_names[k]);
            if (at == d.names.end()) continue;
            const std::uint64_t v = d.values[static_cast<std::size_t>(at - d.names.begin())];
            n.driver.push_back({driver_names[k], since(driver_start[k], v)});
        }
        return n;
    }
};

}  // namespace

struct LossMonitor::Impl {
    std::int64_t started_ns = 0;
    std::vector<InterfaceWatch> interfaces;
    detail::SoftnetDeltas softnet;
    std::string softnet_unavailable;
    bool watch_stack = false;
    std::unique_ptr<detail::StackDropCounter> stack;
    std::string stack_unavailable;
};

LossMonitor::LossMonitor(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
LossMonitor::LossMonitor(LossMonitor&&) noexcept = default;
LossMonitor& LossMonitor::operator=(LossMonitor&&) noexcept = default;
LossMonitor::~LossMonitor() = default;

LossMonitor LossMonitor::open(const LossMonitorOptions& options) {
    auto impl = std::make_unique<Impl>();
    const bool any = std::find(options.interfaces.begin(), options.interfaces.end(), "any") !=
                     options.interfaces.end();
    for (const std::string& name : any ? sys::interface_names() : options.interfaces) {
        impl->interfaces.push_back({.name = name});
        impl->interfaces.back().start();
    }
    if (const auto text = sys::softnet_stat_text())
        impl->softnet.start(detail::parse_softnet(*text));
    else
        impl->softnet_unavailable = "/proc/net/softnet_stat cannot be read";
    impl->watch_stack = options.watch_stack;
    if (options.watch_stack) {
        try {
            impl->stack = detail::StackDropCounter::open(options.interfaces);
        } catch (const Error& e) {
            impl->stack_unavailable =
                std::string(e.what()) + (e.hint().empty() ? "" : " (" + e.hint() + ")");
        }
    }
    impl->started_ns = sys::monotonic_ns();
    return LossMonitor(std::move(impl));
}

LossLedger LossMonitor::sample() {
    Impl& m = *impl_;
    LossLedger l;
    l.elapsed = std::chrono::nanoseconds(sys::monotonic_ns() - m.started_ns);
    for (const InterfaceWatch& w : m.interfaces) l.nic.push_back(w.sample());
    if (m.softnet_unavailable.empty()) {
        if (const auto text = sys::softnet_stat_text())
            m.softnet.update(detail::parse_softnet(*text));
        l.backlog.cpus = m.softnet.cpus();
    } else {
        l.backlog.unavailable = m.softnet_unavailable;
    }
    l.stack.watched = m.watch_stack;
    l.stack.unavailable = m.stack_unavailable;
    if (m.stack) l.stack.drops = m.stack->read();
    return l;
}

}  // namespace ringcap
