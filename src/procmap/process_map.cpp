// ProcessMap: a source (BPF, or the procfs fallback), the process cache and the table of open
// sockets, behind one object.
#include <ringcap/procmap.hpp>

#include "procmap/bpf_source.hpp"
#include "procmap/procfs_source.hpp"
#include "sys/clock.hpp"
#include "sys/procfs.hpp"

namespace ringcap {

struct ProcessMap::Impl {
    explicit Impl(const ProcessMapOptions& o)
        : options(o),
          state{.processes = detail::ProcessCache(o.max_processes, o.exit_grace),
                .connections = detail::ConnTable(o.max_connections, o.closed_linger)} {}

    ProcessMapOptions options;
    detail::AttributionState state;
    std::unique_ptr<detail::Source> source;
    std::vector<std::string> notes;
    std::vector<ConnEvent> pending;  // the existing records, for the first read()
    std::vector<ConnEvent> out;
    std::int64_t last_expire_ns = 0;
};

namespace {

std::string describe(const Error& e) {
    std::string s = e.what();
    if (!e.hint().empty()) s += "; " + e.hint();
    return s;
}

}  // namespace

ProcessMap::ProcessMap(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ProcessMap::ProcessMap(ProcessMap&&) noexcept = default;
ProcessMap& ProcessMap::operator=(ProcessMap&&) noexcept = default;
ProcessMap::~ProcessMap() = default;

ProcessMap ProcessMap::open(const ProcessMapOptions& options) {
    auto impl = std::make_unique<Impl>(options);
    std::vector<ConnEvent> existing;
    if (options.attribution != Attribution::procfs) {
        try {
            impl->source = detail::BpfSource::open(options, impl->state, existing, impl->notes);
        } catch (const Error& e) {
            if (options.attribution == Attribution::bpf) throw;
            impl->notes.push_back("BPF attribution is not available (" + describe(e) +
                                  "): falling back to procfs (sock_diag and /proc polled; "
                                  "short-lived processes are missed)");
            existing.clear();
            impl->state.processes = detail::ProcessCache(options.max_processes, options.exit_grace);
        }
    }
    if (!impl->source) impl->source = detail::ProcfsSource::open(options, impl->state, existing);
    for (ConnEvent& e : existing) impl->state.connections.apply(e);
    if (options.report_existing) impl->pending = std::move(existing);
    return ProcessMap(std::move(impl));
}

Attribution ProcessMap::mode() const noexcept { return impl_->source->mode(); }

const std::vector<std::string>& ProcessMap::notes() const noexcept { return impl_->notes; }

int ProcessMap::fd() const noexcept { return impl_->source->fd(); }

std::span<const ConnEvent> ProcessMap::read(std::chrono::milliseconds timeout) {
    Impl& m = *impl_;
    m.out.clear();
    if (!m.pending.empty()) {
        m.out.swap(m.pending);
        return m.out;
    }
    m.source->read(timeout, m.state, m.out);
    for (ConnEvent& e : m.out) m.state.connections.apply(e);
    const std::int64_t now = sys::boottime_ns();
    if (now - m.last_expire_ns > 1'000'000'000) {
        m.state.processes.expire(now);
        m.state.connections.expire(sys::realtime_ns());
        m.last_expire_ns = now;
    }
    return m.out;
}

std::optional<SocketOwner> ProcessMap::owner_of(std::uint64_t cookie) const {
    return impl_->state.connections.by_cookie(cookie);
}

std::optional<SocketOwner> ProcessMap::owner_of(std::uint32_t netns, const FlowKey& flow) const {
    return impl_->state.connections.by_flow(netns, flow);
}

std::uint32_t ProcessMap::own_netns() { return sys::netns_inode().value_or(0); }

ProcessMapStats ProcessMap::stats() const {
    ProcessMapStats s;
    impl_->source->add_stats(s);
    s.process_evictions = impl_->state.processes.evictions();
    s.connection_evictions = impl_->state.connections.evictions();
    return s;
}

}  // namespace ringcap
