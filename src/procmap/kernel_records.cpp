#include "procmap/kernel_records.hpp"

#include <algorithm>
#include <cstring>

#include "procmap/endpoints.hpp"

namespace ringcap::detail {

namespace {

constexpr std::uint16_t kAfInet6 = 10;

std::string_view fixed_string(const char* s, std::size_t max) {
    const std::string_view v(s, max);
    return v.substr(0, v.find('\0'));
}

ConnDirection direction_of(std::uint8_t d) {
    switch (d) {
        case RC_DIR_OUTBOUND:
            return ConnDirection::outbound;
        case RC_DIR_INBOUND:
            return ConnDirection::inbound;
        case RC_DIR_LISTEN:
            return ConnDirection::listening;
    }
    return ConnDirection::unknown;
}

ConnAction action_of(std::uint32_t a) {
    switch (a) {
        case RC_ACT_ACCEPTED:
            return ConnAction::accepted;
        case RC_ACT_LISTENING:
            return ConnAction::listening;
        case RC_ACT_UDP_FLOW:
            return ConnAction::udp_flow;
        case RC_ACT_CLOSED:
            return ConnAction::closed;
        case RC_ACT_EXISTING:
            return ConnAction::existing;
    }
    return ConnAction::attempted;
}

}  // namespace

TaskFacts facts_of(const rc_task& t) {
    return {.tgid = t.tgid,
            .ppid = t.ppid,
            .uid = t.uid,
            .start_boottime_ns = t.start_ns,
            .cgroup_id = t.cgroup_id,
            .comm = fixed_string(t.comm, sizeof t.comm)};
}

ConnEvent to_conn_event(const rc_conn_event& r, ProcessCache& cache, std::int64_t boot_offset) {
    const rc_sock& s = r.sock;
    ConnEvent e;
    e.action = action_of(r.action);
    e.time_ns = boot_offset + std::int64_t(r.ts_ns);
    e.direction = direction_of(s.direction);
    e.netns = s.netns;
    e.cookie = s.cookie;
    e.thread_id = s.owner.pid;
    e.thread_name = std::string(fixed_string(s.owner.comm, sizeof s.owner.comm));
    e.uid = s.owner.uid;
    e.process = cache.resolve(facts_of(s.owner));
    e.tcp_state = r.state;
    e.error = r.error;

    orient(e, wire_flow(s.family == kAfInet6, s.protocol, s.local_addr, s.local_port, s.remote_addr,
                        s.remote_port));
    if (e.action == ConnAction::closed) {
        if (e.direction != ConnDirection::listening)
            set_counts(e, s.tx_bytes, s.tx_packets, s.rx_bytes, s.rx_packets);
        if (s.start_ns != 0 && r.ts_ns >= s.start_ns)
            e.duration_ns = std::int64_t(r.ts_ns - s.start_ns);
    }
    return e;
}

bool apply_process_record(std::string_view record, ProcessCache& cache) {
    std::uint32_t kind = 0;
    if (record.size() < sizeof kind) return false;
    std::memcpy(&kind, record.data(), sizeof kind);
    switch (kind) {
        case RC_KIND_EXEC: {
            rc_exec_event e;
            if (record.size() < sizeof e) return false;
            std::memcpy(&e, record.data(), sizeof e);
            const std::size_t args = std::min<std::size_t>(e.args_len, sizeof e.args);
            cache.on_exec(facts_of(e.task), fixed_string(e.filename, sizeof e.filename),
                          fixed_string(e.cgroup, sizeof e.cgroup), {e.args, args});
            return true;
        }
        case RC_KIND_FORK: {
            rc_fork_event e;
            if (record.size() < sizeof e) return false;
            std::memcpy(&e, record.data(), sizeof e);
            cache.on_fork(facts_of(e.child));
            return true;
        }
        case RC_KIND_EXIT: {
            rc_exit_event e;
            if (record.size() < sizeof e) return false;
            std::memcpy(&e, record.data(), sizeof e);
            cache.on_exit(e.tgid, e.start_ns, std::int64_t(e.ts_ns));
            return true;
        }
    }
    return false;
}

}  // namespace ringcap::detail
