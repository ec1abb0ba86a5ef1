#include "procmap/procfs_source.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <unordered_set>

#include "procmap/endpoints.hpp"

#include "sys/clock.hpp"
#include "sys/procfs.hpp"
#include "sys/socket.hpp"
#include "sys/timer.hpp"

namespace ringcap::detail {

namespace {

constexpr std::uint8_t kTcpListen = 10;

bool is_zero(const std::array<std::uint8_t, 16>& a) {
    return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

// A sock_diag socket's ends, local first.
FlowKey local_remote(const sys::DiagSocket& s) {
    return wire_flow(s.family == AF_INET6, s.protocol, s.local_addr.data(), s.local_port,
                     s.remote_addr.data(), s.remote_port);
}

bool listens_on(const sys::DiagSocket& l, const sys::DiagSocket& s) {
    return l.protocol == IPPROTO_TCP && l.state == kTcpListen && l.local_port == s.local_port &&
           (is_zero(l.local_addr) || l.local_addr == s.local_addr);
}

std::vector<sys::DiagSocket> dump_all() {
    std::vector<sys::DiagSocket> all;
    for (int protocol : {IPPROTO_TCP, IPPROTO_UDP})
        for (int family : {AF_INET, AF_INET6}) {
            auto part = sys::sock_diag_dump(family, protocol);
            all.insert(all.end(), part.begin(), part.end());
        }
    return all;
}

}  // namespace

std::unique_ptr<ProcfsSource> ProcfsSource::open(const ProcessMapOptions& options,
                                                 AttributionState& state,
                                                 std::vector<ConnEvent>& existing) {
    std::unique_ptr<ProcfsSource> src(new ProcfsSource());
    src->interval_ns_ = std::chrono::nanoseconds(options.poll_interval).count();
    src->timer_ = sys::periodic_timer(options.poll_interval);
    src->netns_ = sys::netns_inode().value_or(0);
    state.boot_offset = sys::realtime_ns() - sys::boottime_ns();
    state.processes.set_boot_offset(state.boot_offset);
    src->poll(state, existing, true);
    return src;
}

std::optional<std::uint32_t> ProcfsSource::owner_pid(std::uint64_t inode) {
    auto it = inodes_.find(inode);
    if (it != inodes_.end()) return it->second;
    // A miss: rebuild the map from /proc/*/fd, at most once per interval.
    const std::int64_t now = sys::monotonic_ns();
    if (last_scan_ns_ != 0 && now - last_scan_ns_ < interval_ns_) return std::nullopt;
    last_scan_ns_ = now;
    ++scans_;
    inodes_.clear();
    for (const std::uint32_t pid : sys::list_pids())
        for (const std::uint64_t ino : sys::socket_inodes(pid)) inodes_.emplace(ino, pid);
    it = inodes_.find(inode);
    return it == inodes_.end() ? 0 : it->second;
}

ConnEvent ProcfsSource::start_record(const sys::DiagSocket& s, std::uint32_t pid,
                                     AttributionState& state, bool first,
                                     const std::vector<sys::DiagSocket>& all) {
    ConnEvent e;
    e.time_ns = sys::realtime_ns();
    e.netns = netns_;
    e.cookie = s.cookie;
    e.uid = s.uid;
    e.tcp_state = s.state;
    const FlowKey lr = local_remote(s);
    const bool tcp = s.protocol == IPPROTO_TCP;
    if ((tcp && s.state == kTcpListen) || (!tcp && s.remote_port == 0)) {
        e.action = ConnAction::listening;
        e.direction = ConnDirection::listening;
    } else if (!tcp) {
        e.action = ConnAction::udp_flow;
        e.direction = ConnDirection::outbound;
    } else {
        bool inbound = false;
        for (const sys::DiagSocket& l : all) inbound = inbound || listens_on(l, s);
        e.action = inbound ? ConnAction::accepted : ConnAction::attempted;
        e.direction = inbound ? ConnDirection::inbound : ConnDirection::outbound;
    }
    if (first) e.action = ConnAction::existing;
    orient(e, lr);
    std::shared_ptr<const ProcessInfo> p = pid != 0 ? state.processes.read_proc(pid, 0) : nullptr;
    if (!p) {
        auto unknown = std::make_shared<ProcessInfo>();
        unknown->uid = s.uid;
        p = std::move(unknown);
    }
    e.process = p;
    e.thread_id = p->pid;
    e.thread_name = p->comm;
    return e;
}

void ProcfsSource::poll(AttributionState& state, std::vector<ConnEvent>& out, bool first) {
    const std::vector<sys::DiagSocket> all = dump_all();
    const std::int64_t now = sys::realtime_ns();
    std::unordered_set<std::uint64_t> seen;
    for (const sys::DiagSocket& s : all) {
        if (s.inode == 0) continue;  // time-wait and request sockets: no process holds them
        seen.insert(s.cookie);
        auto it = known_.find(s.cookie);
        if (it != known_.end()) {
            it->second.last = s;
            continue;
        }
        const std::optional<std::uint32_t> pid = owner_pid(s.inode);
        if (!pid) continue;  // asked again at the next poll
        ConnEvent e = start_record(s, *pid, state, first, all);
        known_.emplace(s.cookie, Known{.last = s, .start = e, .seen_ns = now});
        out.push_back(std::move(e));
    }
    for (auto it = known_.begin(); it != known_.end();) {
        if (seen.contains(it->first)) {
            ++it;
            continue;
        }
        const Known& k = it->second;
        ConnEvent e = k.start;
        e.action = ConnAction::closed;
        e.time_ns = now;
        e.tcp_state = k.last.state;
        e.duration_ns = k.start.action == ConnAction::existing ? -1 : now - k.seen_ns;
        if (k.last.has_counts && e.direction != ConnDirection::listening) {
            // Payload: bytes_received also counts the peer's FIN once it came, which the
            // states after it tell (the last dump's state: a FIN after it is counted).
            const std::uint8_t st = k.last.state;
            const bool fin_in =
                st == 6 || st == 8 || st == 9 || st == 11;  // TIME_WAIT,
                                                            // CLOSE_WAIT, LAST_ACK, CLOSING
            const std::uint64_t rx = k.last.bytes_received;
            set_counts(e, k.last.bytes_sent - k.last.bytes_retrans, k.last.segs_out,
                       rx - (fin_in && rx > 0 ? 1 : 0), k.last.segs_in);
        }
        out.push_back(std::move(e));
        it = known_.erase(it);
    }
}

void ProcfsSource::read(std::chrono::milliseconds timeout, AttributionState& state,
                        std::vector<ConnEvent>& out) {
    // Asked without a wait (a capture, per batch): look at the timer at most once a millisecond.
    if (timeout.count() == 0) {
        const std::int64_t now = sys::monotonic_ns();
        if (now - last_look_ns_ < 1'000'000) return;
        last_look_ns_ = now;
    }
    const sys::PollResult r = sys::poll_one(timer_, POLLIN, timeout);
    if (r.error != 0 && r.error != EINTR) throw Error(r.error, "poll(procfs poll timer)");
    if (!(r.revents & POLLIN)) return;
    sys::timer_expirations(timer_);
    poll(state, out, false);
}

}  // namespace ringcap::detail
