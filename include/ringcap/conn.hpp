#pragma once
// Connection records: who opened, accepted, listened on or closed which connection, as
// ProcessMap (procmap.hpp) reports them. One ConnEvent per event; print them with to_text() or
// to_json() (Elastic Common Schema field names), or key them with community_id().
//
//   for (const ringcap::ConnEvent& e : map.read(100ms))
//       std::puts(ringcap::to_json(e).c_str());
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ringcap/flow.hpp>

namespace ringcap {

// A process as attribution names it. (pid, start_boottime_ns) names it for good: pids are
// reused, start times are not. Fixed at exec (a later exec makes a new ProcessInfo).
struct ProcessInfo {
    std::uint32_t pid = 0;   // process id (thread group id)
    std::uint32_t ppid = 0;  // parent process id
    std::uint32_t uid = 0;
    std::uint64_t start_boottime_ns = 0;  // the kernel's start time (CLOCK_BOOTTIME)
    std::int64_t start_ns = 0;            // the same in CLOCK_REALTIME ns (0: unknown)
    std::string comm;                     // command name (at most 15 characters)
    std::string executable;               // path of the program (empty: unknown)
    std::vector<std::string> args;        // argv, the first 511 bytes of it at most
    std::uint64_t cgroup_id = 0;          // cgroup v2 id
    std::string container_id;             // from the cgroup's name; empty outside containers
};

enum class ConnAction {
    attempted,  // TCP connect() sent its SYN
    accepted,   // TCP accept() returned it
    listening,  // TCP listen(), UDP bind()
    udp_flow,   // first datagram of a UDP socket to or from one peer
    closed,     // the end of a socket reported before (duration, bytes and packets)
    existing,   // open before attribution started
};

enum class ConnDirection { unknown, outbound, inbound, listening };

// One connection event. `flow` runs from the side that started the connection (source) to the
// other (destination): outbound connections have the local end as source, inbound ones the
// peer. A listening socket has its local end as destination and no source. Addresses of
// IPv4-mapped IPv6 sockets are given as IPv4.
struct ConnEvent {
    ConnAction action = ConnAction::attempted;
    std::int64_t time_ns = 0;  // CLOCK_REALTIME
    ConnDirection direction = ConnDirection::unknown;
    FlowKey flow;
    std::uint32_t netns = 0;   // inode of the socket's network namespace
    std::uint64_t cookie = 0;  // socket cookie (SO_COOKIE): the socket, while the system runs
    std::uint32_t thread_id = 0;
    std::string thread_name;                     // comm of the acting thread
    std::uint32_t uid = 0;                       // of the acting thread
    std::shared_ptr<const ProcessInfo> process;  // never null

    // closed (and existing, for the state): how it ended, and what went each way.
    std::uint8_t tcp_state = 0;     // closed: the state it left; existing: its state now
    std::uint32_t error = 0;        // the socket's error at the end (ECONNREFUSED, ...)
    std::int64_t duration_ns = -1;  // -1: unknown
    bool has_counts = false;
    std::uint64_t source_bytes = 0, source_packets = 0;  // sent by the source
    std::uint64_t destination_bytes = 0, destination_packets = 0;
};

std::string_view action_name(ConnAction a) noexcept;           // "connection_attempted", ...
std::string_view tcp_state_name(std::uint8_t state) noexcept;  // "ESTABLISHED", ...
// How a closed connection ended: "refused", "timeout", "reset", "failed", "closed", or
// "listener closed".
std::string_view outcome(const ConnEvent& e) noexcept;

// Community ID v1 of a flow (corelight/community-id-spec): SHA-1 over the seed, the ordered
// endpoints, protocol and ports, base64, "1:" in front. Ports are hashed for TCP, UDP, SCTP,
// ICMP and ICMPv6 (whose FlowKey ports hold the type and code already mapped as the spec says).
std::string community_id(const FlowKey& flow, std::uint16_t seed = 0);

// One line of text, no newline.
std::string to_text(const ConnEvent& e);
// One JSON object, no newline, with Elastic Common Schema fields (nested objects): @timestamp,
// event.{action,kind,category,type,duration}, process.{pid,thread.id,name,executable,args,
// parent.pid,start}, user.id, container.id, source/destination.{ip,port,bytes,packets},
// network.{transport,type,direction,community_id}, and ringcap.{netns,socket_cookie,tcp_state,
// outcome,error}.
std::string to_json(const ConnEvent& e);

}  // namespace ringcap
