#include "procmap/bpf_source.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "procmap/bpf_skeleton.hpp"
#include "procmap/endpoints.hpp"
#include "procmap/kernel_records.hpp"
#include "sys/clock.hpp"
#include "sys/libbpf_log.hpp"
#include "sys/procfs.hpp"

namespace ringcap::detail {

namespace {

constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr const char* kPrivilegeHint =
    "BPF attribution needs root (or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN); the procfs "
    "attribution needs none of them";

[[noreturn]] void throw_bpf(int err, const std::string& what) {
    sys::throw_bpf(err, what, kPrivilegeHint);
}

std::size_t ring_size(std::size_t asked) {
    std::size_t n = sys::page_size();
    while (n < asked && n < (std::size_t(1) << 30)) n <<= 1;
    return n;
}

// The cgroup v2 root, where the socket hooks attach: where this mount namespace has it, or
// else (ip netns exec makes a mount namespace whose /sys has no cgroup2) a private mount of it.
sys::Fd open_cgroup2_root(std::vector<std::string>& notes) {
    if (const auto mounted = sys::cgroup2_mount()) return sys::open_directory(*mounted);
    try {
        sys::Fd root = sys::open_cgroup2_privately("/run");
        notes.push_back(
            "cgroup v2 is not mounted in this mount namespace (ip netns exec mounts a /sys of its "
            "own): mounted it privately for a moment to reach its root");
        return root;
    } catch (const Error& e) {
        throw Error(ENOENT, "cgroup v2 is not mounted (no cgroup2 in /proc/self/mountinfo)",
                    std::string("the socket hooks attach to the cgroup v2 root, and mounting it "
                                "failed (") +
                        e.what() + "): mount -t cgroup2 none /sys/fs/cgroup/unified");
    }
}

// The accept() tracepoints are classic tracepoints: libbpf finds them through tracefs.
bool tracefs_ready(std::vector<std::string>& notes) {
    const std::string probe = std::string(kTracefs) + "/events/syscalls/sys_exit_accept4/id";
    if (sys::path_exists(probe)) return true;
    if (!sys::path_exists(std::string(kTracefs) + "/events")) {
        try {
            sys::mount_tracefs(kTracefs);
            notes.push_back(std::string("mounted tracefs on ") + kTracefs +
                            " (the accept() tracepoints are found through it)");
        } catch (const Error& e) {
            notes.push_back(std::string("tracefs is not mounted and mounting it failed (") +
                            e.what() +
                            "): accepted connections are attributed to the listening process");
            return false;
        }
    }
    if (sys::path_exists(probe)) return true;
    notes.push_back(
        "no syscalls/sys_exit_accept4 tracepoint (CONFIG_FTRACE_SYSCALLS off?): "
        "accepted connections are attributed to the listening process");
    return false;
}

}  // namespace

struct BpfSource::Parts {
    struct SkelDeleter {
        void operator()(ringcap_bpf* s) const noexcept { ringcap_bpf__destroy(s); }
    };
    struct LinkDeleter {
        void operator()(bpf_link* l) const noexcept { bpf_link__destroy(l); }
    };
    struct RingDeleter {
        void operator()(ring_buffer* r) const noexcept { ring_buffer__free(r); }
    };
    // Declared in the order they must go: ring and links before the object.
    std::unique_ptr<ringcap_bpf, SkelDeleter> skel;
    sys::Fd cgroup;
    std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links;
    std::unique_ptr<ring_buffer, RingDeleter> ring;
    std::exception_ptr failure;  // thrown by the record callback, rethrown by read()
    std::uint64_t udp_peer_capacity = 0;

    void attach(bpf_program* prog, bool cgroup_hook) {
        bpf_link* l = cgroup_hook ? bpf_program__attach_cgroup(prog, cgroup.get())
                                  : bpf_program__attach(prog);
        if (l == nullptr)
            throw_bpf(errno, std::string("attaching BPF program ") + bpf_program__name(prog));
        links.emplace_back(l);
    }
};

BpfSource::BpfSource(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
BpfSource::~BpfSource() = default;

std::unique_ptr<BpfSource> BpfSource::open(const ProcessMapOptions& options,
                                           AttributionState& state,
                                           std::vector<ConnEvent>& existing,
                                           std::vector<std::string>& notes) {
    sys::keep_libbpf_messages();
    auto parts = std::make_unique<Parts>();
    parts->cgroup = open_cgroup2_root(notes);
    const bool accept_hooks = tracefs_ready(notes);

    parts->skel.reset(ringcap_bpf__open());
    if (!parts->skel) throw_bpf(errno, "opening the BPF object");
    ringcap_bpf& skel = *parts->skel;
    const std::size_t ring = ring_size(options.ring_bytes);
    bpf_map__set_max_entries(skel.maps.events, static_cast<__u32>(ring));
    skel.rodata->wakeup_bytes = std::min<std::size_t>(ring / 8, 256 * 1024);
    bpf_program__set_autoload(skel.progs.rc_accept, accept_hooks);
    bpf_program__set_autoload(skel.progs.rc_accept4, accept_hooks);
    bpf_program__set_autoload(skel.progs.rc_connect_enter, accept_hooks);
    bpf_program__set_autoload(skel.progs.rc_connect_exit, accept_hooks);
    if (const int err = ringcap_bpf__load(&skel)) throw_bpf(-err, "loading the BPF programs");
    parts->udp_peer_capacity = bpf_map__max_entries(skel.maps.udp_peers);

    // Process records first, so that the /proc scan below and the records after it leave
    // nothing out; then the socket hooks.
    for (bpf_program* p : {skel.progs.rc_exec, skel.progs.rc_fork, skel.progs.rc_exit})
        parts->attach(p, false);
    for (bpf_program* p :
         {skel.progs.rc_sock_create, skel.progs.rc_connect4, skel.progs.rc_connect6,
          skel.progs.rc_bind4, skel.progs.rc_bind6, skel.progs.rc_post_bind4,
          skel.progs.rc_post_bind6, skel.progs.rc_sendmsg4, skel.progs.rc_sendmsg6,
          skel.progs.rc_recvmsg4, skel.progs.rc_recvmsg6, skel.progs.rc_sock_release,
          skel.progs.rc_sockops})
        parts->attach(p, true);
    for (bpf_program* p :
         {skel.progs.rc_set_state, skel.progs.rc_send_length, skel.progs.rc_recv_length})
        parts->attach(p, false);
    if (accept_hooks) {
        try {
            parts->attach(skel.progs.rc_accept, false);
            parts->attach(skel.progs.rc_accept4, false);
            skel.bss->accept_hooked = 1;
        } catch (const Error& e) {
            notes.push_back(std::string("the accept() tracepoints did not attach (") + e.what() +
                            "): accepted connections are attributed to the listening process");
        }
        try {
            parts->attach(skel.progs.rc_connect_enter, false);
            parts->attach(skel.progs.rc_connect_exit, false);
            skel.bss->connect_hooked = 1;
        } catch (const Error& e) {
            notes.push_back(std::string("the connect() tracepoints did not attach (") + e.what() +
                            "): a connected UDP socket's first datagram may be captured before "
                            "its owner is known");
        }
    }

    std::unique_ptr<BpfSource> src(new BpfSource(std::move(parts)));
    src->parts_->ring.reset(
        ring_buffer__new(bpf_map__fd(skel.maps.events), on_record, src.get(), nullptr));
    if (!src->parts_->ring) throw_bpf(errno, "ring_buffer__new");

    state.boot_offset = sys::realtime_ns() - sys::boottime_ns();
    state.processes.set_boot_offset(state.boot_offset);
    state.processes.scan_proc();
    for (const rc_conn_event& r : seed_existing_sockets(skel, notes))
        existing.push_back(to_conn_event(r, state.processes, state.boot_offset));
    infer_directions(existing);
    return src;
}

int BpfSource::fd() const noexcept { return ring_buffer__epoll_fd(parts_->ring.get()); }

int BpfSource::on_record(void* self, void* data, std::size_t size) {
    auto* src = static_cast<BpfSource*>(self);
    try {
        const std::string_view record(static_cast<const char*>(data), size);
        std::uint32_t kind = 0;
        if (size >= sizeof kind) std::memcpy(&kind, data, sizeof kind);
        if (kind == RC_KIND_CONN && size >= sizeof(rc_conn_event)) {
            rc_conn_event e;
            std::memcpy(&e, data, sizeof e);
            ConnEvent c = to_conn_event(e, src->state_->processes, src->state_->boot_offset);
            // A UDP socket connected, not yet used: an owner for lookups, no record of its own.
            if (e.sock.flags & RC_F_PROVISIONAL)
                src->state_->connections.provisional(c);
            else
                src->out_->push_back(std::move(c));
        } else {
            apply_process_record(record, src->state_->processes);
        }
        return 0;
    } catch (...) {
        src->parts_->failure = std::current_exception();
        return -1;
    }
}

void BpfSource::read(std::chrono::milliseconds timeout, AttributionState& state,
                     std::vector<ConnEvent>& out) {
    state_ = &state;
    out_ = &out;
    state.boot_offset = sys::realtime_ns() - sys::boottime_ns();
    state.processes.set_boot_offset(state.boot_offset);
    // Records are batched (the programs wake the reader only when much is waiting), so the
    // wait may end without a wake-up: consume whatever is there either way.
    // Without a wait (a capture taking in records per batch) no poll: consuming reads memory.
    int n = timeout.count() > 0
                ? ring_buffer__poll(parts_->ring.get(), static_cast<int>(timeout.count()))
                : 0;
    if (n >= 0 || n == -EINTR) n = ring_buffer__consume(parts_->ring.get());
    if (parts_->failure) std::rethrow_exception(std::exchange(parts_->failure, nullptr));
    if (n < 0 && n != -EINTR) throw Error(-n, "reading the BPF ring buffer");
}

void BpfSource::add_stats(ProcessMapStats& stats) const {
    const int cpus = libbpf_num_possible_cpus();
    const int fd = bpf_map__fd(parts_->skel->maps.counters);
    std::vector<std::uint64_t> values(cpus > 0 ? std::size_t(cpus) : 1);
    auto sum = [&](std::uint32_t key) {
        std::uint64_t total = 0;
        if (bpf_map_lookup_elem(fd, &key, values.data()) == 0)
            for (std::uint64_t v : values) total += v;
        return total;
    };
    stats.events += sum(RC_CNT_EVENTS);
    stats.lost += sum(RC_CNT_LOST);
    stats.no_storage += sum(RC_CNT_NO_STORAGE);
    stats.udp_peers += sum(RC_CNT_UDP_PEERS);
    stats.udp_peer_capacity += parts_->udp_peer_capacity;
    stats.owners_full += sum(RC_CNT_OWNERS_FULL);
    stats.accepts += sum(RC_CNT_ACCEPTS);
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, parts_->skel->obj) {
        bpf_prog_info info{};
        __u32 len = sizeof info;
        const int pfd = bpf_program__fd(prog);
        if (pfd < 0 || bpf_obj_get_info_by_fd(pfd, &info, &len) != 0) continue;
        stats.bpf_runs += info.run_cnt;
        stats.bpf_run_ns += info.run_time_ns;
    }
}

}  // namespace ringcap::detail
