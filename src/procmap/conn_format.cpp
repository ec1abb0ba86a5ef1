// Connection records as text lines and as Elastic Common Schema JSON.
#include <fmt/format.h>

#include <ringcap/conn.hpp>

#include "decode/bytes.hpp"
#include "sys/clock.hpp"

namespace ringcap {

using detail::Out;
using detail::put;
using detail::put_uint;

std::string_view action_name(ConnAction a) noexcept {
    switch (a) {
        case ConnAction::attempted:
            return "connection_attempted";
        case ConnAction::accepted:
            return "connection_accepted";
        case ConnAction::listening:
            return "listening";
        case ConnAction::udp_flow:
            return "udp_flow";
        case ConnAction::closed:
            return "connection_closed";
        case ConnAction::existing:
            return "existing";
    }
    return "unknown";
}

std::string_view tcp_state_name(std::uint8_t state) noexcept {
    static constexpr std::string_view kNames[] = {
        "",      "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
        "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
    return state < std::size(kNames) ? kNames[state] : "";
}

std::string_view outcome(const ConnEvent& e) noexcept {
    constexpr std::uint32_t kConnRefused = 111, kTimedOut = 110, kConnReset = 104;
    if (e.action != ConnAction::closed) return "";
    if (e.flow.protocol != 6) return "closed";
    if (e.direction == ConnDirection::listening) return "listener closed";
    if (e.error == kConnRefused) return "refused";
    if (e.error == kTimedOut) return "timeout";
    if (e.error == kConnReset) return "reset";
    constexpr std::uint8_t kSynSent = 2, kSynRecv = 3;
    if (e.tcp_state == kSynSent || e.tcp_state == kSynRecv) return "failed";
    return e.error != 0 ? "error" : "closed";
}

namespace {

bool has_source(const ConnEvent& e) { return e.direction != ConnDirection::listening; }

void put_ip(Out& o, const std::array<std::uint8_t, 16>& a, int version) {
    if (version == 6)
        detail::put_ipv6(o, a.data());
    else
        detail::put_ipv4(o, a.data());
}

void put_endpoint(Out& o, const std::array<std::uint8_t, 16>& a, std::uint16_t port, int version) {
    if (version == 6) put(o, '[');
    put_ip(o, a, version);
    if (version == 6) put(o, ']');
    put(o, ':');
    put_uint(o, port);
}

std::string_view transport(std::uint8_t protocol) {
    return protocol == 6 ? "tcp" : protocol == 17 ? "udp" : "ip";
}

const std::string& process_name(const ConnEvent& e) {
    return e.process->comm.empty() ? e.thread_name : e.process->comm;
}

// ISO 8601 UTC with nanoseconds: 2024-05-01T12:00:00.123456789Z.
void put_iso_time(Out& o, std::int64_t ns) {
    const std::time_t s = static_cast<std::time_t>(ns / 1'000'000'000);
    const std::tm tm = sys::utc_time(s);
    fmt::format_to(std::back_inserter(o), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ns % 1'000'000'000);
}

void put_str(Out& o, std::string_view key, std::string_view value) {
    fmt::format_to(std::back_inserter(o), "\"{}\":\"", key);
    detail::put_json_escaped(o, value);
    put(o, '"');
}

void put_num(Out& o, std::string_view key, std::uint64_t value) {
    fmt::format_to(std::back_inserter(o), "\"{}\":{}", key, value);
}

void put_json_endpoint(Out& o, std::string_view name, const std::array<std::uint8_t, 16>& a,
                       std::uint16_t port, int version, const ConnEvent& e, std::uint64_t bytes,
                       std::uint64_t packets) {
    fmt::format_to(std::back_inserter(o), ",\"{}\":{{\"ip\":\"", name);
    put_ip(o, a, version);
    put(o, "\",");
    put_num(o, "port", port);
    if (e.has_counts) {
        put(o, ',');
        put_num(o, "bytes", bytes);
        put(o, ',');
        put_num(o, "packets", packets);
    }
    put(o, '}');
}

void put_json_event(Out& o, const ConnEvent& e) {
    put(o, "{\"@timestamp\":\"");
    put_iso_time(o, e.time_ns);
    put(o, "\",\"event\":{");
    put_str(o, "action", action_name(e.action));
    put(o, ",\"kind\":\"event\",\"category\":[\"network\"],\"type\":");
    switch (e.action) {
        case ConnAction::closed:
            put(o, "[\"end\",\"connection\"]");
            break;
        case ConnAction::listening:
            put(o, "[\"start\"]");
            break;
        case ConnAction::existing:
            put(o, "[\"info\",\"connection\"]");
            break;
        default:
            put(o, "[\"start\",\"connection\"]");
    }
    if (e.duration_ns >= 0) {
        put(o, ',');
        put_num(o, "duration", static_cast<std::uint64_t>(e.duration_ns));
    }
    put(o, '}');
}

void put_json_process(Out& o, const ConnEvent& e) {
    const ProcessInfo& p = *e.process;
    put(o, ",\"process\":{");
    put_num(o, "pid", p.pid);
    fmt::format_to(std::back_inserter(o), ",\"thread\":{{\"id\":{},", e.thread_id);
    put_str(o, "name", e.thread_name);
    put(o, "},");
    put_str(o, "name", process_name(e));
    if (!p.executable.empty()) {
        put(o, ',');
        put_str(o, "executable", p.executable);
    }
    if (!p.args.empty()) {
        put(o, ",\"args\":[");
        for (std::size_t i = 0; i < p.args.size(); ++i) {
            if (i) put(o, ',');
            put(o, '"');
            detail::put_json_escaped(o, p.args[i]);
            put(o, '"');
        }
        put(o, ']');
    }
    if (p.ppid != 0) fmt::format_to(std::back_inserter(o), ",\"parent\":{{\"pid\":{}}}", p.ppid);
    if (p.start_ns != 0) {
        put(o, ",\"start\":\"");
        put_iso_time(o, p.start_ns);
        put(o, '"');
    }
    fmt::format_to(std::back_inserter(o), "}},\"user\":{{\"id\":\"{}\"}}", e.uid);
    if (!p.container_id.empty()) {
        put(o, ",\"container\":{");
        put_str(o, "id", p.container_id);
        put(o, '}');
    }
}

void put_json_network(Out& o, const ConnEvent& e) {
    const FlowKey& f = e.flow;
    if (has_source(e))
        put_json_endpoint(o, "source", f.src_ip, f.src_port, f.ip_version, e, e.source_bytes,
                          e.source_packets);
    put_json_endpoint(o, "destination", f.dst_ip, f.dst_port, f.ip_version, e, e.destination_bytes,
                      e.destination_packets);
    static constexpr std::string_view kDirection[] = {"unknown", "outbound", "inbound", "unknown"};
    fmt::format_to(std::back_inserter(o),
                   ",\"network\":{{\"transport\":\"{}\",\"type\":\"ipv{}\",\"direction\":\"{}\"",
                   transport(f.protocol), f.ip_version, kDirection[int(e.direction)]);
    const std::array<std::uint8_t, 16> any{};
    if (has_source(e) && f.src_ip != any && f.dst_ip != any) {  // a wildcard end: not a flow yet
        put(o, ',');
        put_str(o, "community_id", community_id(f));
    }
    put(o, '}');
}

void put_json_ringcap(Out& o, const ConnEvent& e) {
    put(o, ",\"ringcap\":{");
    put_num(o, "netns", e.netns);
    put(o, ',');
    put_num(o, "socket_cookie", e.cookie);
    if (e.flow.protocol == 6 && !tcp_state_name(e.tcp_state).empty()) {
        put(o, ',');
        put_str(o, "tcp_state", tcp_state_name(e.tcp_state));
    }
    if (e.action == ConnAction::closed) {
        put(o, ',');
        put_str(o, "outcome", outcome(e));
        if (e.error != 0) {
            put(o, ',');
            put_num(o, "error", e.error);
        }
    }
    put(o, "}}");
}

}  // namespace

std::string to_json(const ConnEvent& e) {
    Out o;
    put_json_event(o, e);
    put_json_process(o, e);
    put_json_network(o, e);
    put_json_ringcap(o, e);
    return fmt::to_string(o);
}

std::string to_text(const ConnEvent& e) {
    Out o;
    const std::tm tm = sys::local_time(static_cast<std::time_t>(e.time_ns / 1'000'000'000));
    fmt::format_to(std::back_inserter(o), "{:02}:{:02}:{:02}.{:06} {} {} ", tm.tm_hour, tm.tm_min,
                   tm.tm_sec, e.time_ns % 1'000'000'000 / 1000, action_name(e.action),
                   transport(e.flow.protocol));
    const FlowKey& f = e.flow;
    if (has_source(e)) {
        put_endpoint(o, f.src_ip, f.src_port, f.ip_version);
        put(o, " > ");
    }
    put_endpoint(o, f.dst_ip, f.dst_port, f.ip_version);
    fmt::format_to(std::back_inserter(o), " pid={} tid={} comm={} uid={}", e.process->pid,
                   e.thread_id, process_name(e), e.uid);
    if (!e.process->container_id.empty())
        fmt::format_to(std::back_inserter(o), " container={:.12}", e.process->container_id);
    fmt::format_to(std::back_inserter(o), " netns={}", e.netns);
    if (e.action == ConnAction::existing && !tcp_state_name(e.tcp_state).empty())
        fmt::format_to(std::back_inserter(o), " state={}", tcp_state_name(e.tcp_state));
    if (e.action == ConnAction::closed) {
        if (e.duration_ns >= 0)
            fmt::format_to(std::back_inserter(o), " duration={:.6f}s", e.duration_ns / 1e9);
        if (e.has_counts)
            fmt::format_to(std::back_inserter(o),
                           " src_bytes={} src_packets={} dst_bytes={} "
                           "dst_packets={}",
                           e.source_bytes, e.source_packets, e.destination_bytes,
                           e.destination_packets);
        if (f.protocol == 6)
            fmt::format_to(std::back_inserter(o), " state={}", tcp_state_name(e.tcp_state));
        fmt::format_to(std::back_inserter(o), " outcome={}", outcome(e));
    }
    return fmt::to_string(o);
}

}  // namespace ringcap
