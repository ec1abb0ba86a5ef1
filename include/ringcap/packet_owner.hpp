#pragma once
// PacketOwner: the process that owns a captured packet's socket, as process attribution found it
// (annotate.hpp), with what sinks show of it formatted once per flow, not per packet.
#include <cstdint>
#include <memory>
#include <string>

namespace ringcap {

struct ProcessInfo;  // conn.hpp

struct PacketOwner {
    std::uint32_t pid = 0;                       // process (thread group) id
    std::uint32_t tid = 0;                       // the thread that last acted on the socket
    std::uint32_t uid = 0;                       // that thread's user
    std::string comm;                            // the process's command name
    std::string container_id;                    // empty outside containers
    std::shared_ptr<const ProcessInfo> process;  // executable, arguments, parent, start
    std::uint64_t cookie = 0;                    // the socket (SO_COOKIE)

    // Formatted when the owner is found, for the sinks:
    std::string comment;  // pcapng opt_comment: "pid=1234 tid=1234 comm=curl uid=0 container=ID"
    std::string label;    // the printed column: "1234/curl"
    // ECS fields for a flat JSON object, each with a leading comma: ,"process.pid":1234,
    // "process.name":"curl","process.thread.id":1234,"user.id":"0"[,"container.id":"ID"]
    std::string json;
};

// What sinks show for a packet without a known owner (no local socket, not IP, ...).
inline constexpr const char* kUnknownOwnerComment = "process=unknown";
inline constexpr const char* kUnknownOwnerLabel = "?";

}  // namespace ringcap
