#pragma once
// ProcessMap: which process owns a socket, and a log of connection events (conn.hpp), kept
// per socket, not per packet.
//
// With BPF (the default where it loads: root, or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN), cgroup
// socket hooks and tracepoints record each socket's owner in process context when it is made,
// connected, bound or accepted, and report each start and end through one ring buffer; exec,
// fork and exit keep a process cache, so a process that lived a millisecond is still named.
// Sockets open before open() are found by BPF iterators. Without BPF, the procfs fallback
// polls netlink sock_diag and maps socket inodes to processes through /proc/PID/fd: it misses
// what opens and closes between two polls, and sees only its own network namespace.
//
//   auto map = ringcap::ProcessMap::open({});
//   for (const std::string& note : map.notes()) std::puts(note.c_str());
//   while (!stop.stop_requested())
//       for (const ringcap::ConnEvent& e : map.read(100ms)) handle(e);
//   auto owner = map.owner_of(netns, flow);  // a packet's flow, either direction
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ringcap/conn.hpp>
#include <ringcap/flow.hpp>

namespace ringcap {

enum class Attribution {
    automatic,  // BPF, or procfs when BPF cannot be loaded or attached (notes() says why)
    bpf,        // BPF or an error
    procfs,     // the fallback, by request
};

struct ProcessMapOptions {
    Attribution attribution = Attribution::automatic;
    bool report_existing = true;            // existing records for sockets open before open()
    std::size_t ring_bytes = 4 << 20;       // BPF ring buffer (a power of two, at least a page)
    std::size_t max_connections = 1 << 18;  // open sockets remembered; the oldest go first
    std::size_t max_processes = 1 << 16;    // processes cached; exited ones go first
    std::chrono::seconds exit_grace{30};    // how long an exited process stays cached
    std::chrono::milliseconds poll_interval{250};  // procfs: time between two sock_diag dumps
    std::chrono::seconds closed_linger{5};         // a closed socket's owner stays known this long
};

struct ProcessMapStats {
    std::uint64_t events = 0;                // records the kernel side produced
    std::uint64_t lost = 0;                  // records lost (ring buffer full)
    std::uint64_t no_storage = 0;            // sockets the kernel could not give a record
    std::uint64_t udp_peers = 0;             // (socket, peer) pairs tracked for UDP flows
    std::uint64_t udp_peer_capacity = 0;     // beyond it, old pairs are forgotten
    std::uint64_t owners_full = 0;           // pre-existing sockets without room for their owner
    std::uint64_t accepts = 0;               // accept() calls seen
    std::uint64_t process_evictions = 0;     // processes dropped from a full cache
    std::uint64_t connection_evictions = 0;  // open sockets dropped from a full table
    std::uint64_t procfs_scans = 0;          // procfs: /proc/*/fd scans made
    // The BPF programs' own cost since they were loaded, counted by the kernel only while
    // sysctl kernel.bpf_stats_enabled=1.
    std::uint64_t bpf_runs = 0;
    std::uint64_t bpf_run_ns = 0;
};

// Who owns a socket: its process and the thread that last acted on it.
struct SocketOwner {
    std::shared_ptr<const ProcessInfo> process;
    std::uint32_t thread_id = 0;
    std::string thread_name;
    std::uint32_t uid = 0;
    std::uint64_t cookie = 0;
    std::uint32_t netns = 0;
};

// One thread uses a ProcessMap at a time (as a Capture).
class ProcessMap {
  public:
    // Loads and attaches (or, for procfs, makes the first dump). Throws ringcap::Error.
    static ProcessMap open(const ProcessMapOptions& options);
    ProcessMap(ProcessMap&&) noexcept;
    ProcessMap& operator=(ProcessMap&&) noexcept;
    ~ProcessMap();

    Attribution mode() const noexcept;  // bpf or procfs
    // What open() decided and why, one line each (fallback taken, tracefs mounted, ...).
    const std::vector<std::string>& notes() const noexcept;

    // For epoll: readable when records are waiting. The BPF side batches its wake-ups (it wakes
    // the reader only when much is waiting), so wait on it with a timeout (100 ms or so) and
    // read() either way when the timeout ends.
    int fd() const noexcept;
    // The records that arrived, waiting up to `timeout` for the first; the existing records
    // come first. Valid until the next call. Throws only on a failure of the source.
    std::span<const ConnEvent> read(std::chrono::milliseconds timeout);

    // The owner of a socket (open, or closed less than closed_linger ago), by socket cookie.
    std::optional<SocketOwner> owner_of(std::uint64_t cookie) const;
    // The owner of the socket a flow belongs to, in network namespace `netns`: the flow as
    // seen from either end; a socket bound to a wildcard address or unconnected matches too.
    // Only what read() has taken in is known: read before looking up a batch of packets.
    std::optional<SocketOwner> owner_of(std::uint32_t netns, const FlowKey& flow) const;
    // The network namespace ringcap runs in (flows captured here belong to it).
    static std::uint32_t own_netns();

    ProcessMapStats stats() const;

    struct Impl;

  private:
    explicit ProcessMap(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ringcap
