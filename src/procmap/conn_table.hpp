#pragma once
// The open sockets: each one's latest start record (whose owner a closed record inherits) by
// socket cookie, and an index by (network namespace, flow) for looking packets' owners up.
// A closed socket stays findable for a while (`linger`): its last packets are often read after
// its end record. Bounded: when full, the oldest socket goes (counted).
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include <ringcap/conn.hpp>
#include <ringcap/procmap.hpp>

namespace ringcap::detail {

class ConnTable {
  public:
    explicit ConnTable(std::size_t max_entries,
                       std::chrono::nanoseconds linger = std::chrono::seconds(5));

    // Start records (attempted, accepted, listening, udp_flow, existing) are kept; a closed
    // record takes the owner of the socket's start record (the accepting process of an
    // accepted socket, whose kernel record still names the listener) and ends the socket.
    void apply(ConnEvent& e);
    // A UDP socket's flow at connect(), before its first datagram (whose udp_flow record then
    // comes through apply()): known to by_flow() from now on, never reported. Its end without
    // a datagram (a closed event) forgets it again.
    void provisional(const ConnEvent& e);

    std::optional<SocketOwner> by_cookie(std::uint64_t cookie) const;
    std::optional<SocketOwner> by_flow(std::uint32_t netns, const FlowKey& flow) const;

    // Forgets sockets closed more than `linger` before `now_ns` (CLOCK_REALTIME).
    void expire(std::int64_t now_ns);

    std::size_t size() const noexcept { return sockets_.size(); }
    std::uint64_t evictions() const noexcept { return evictions_; }

  private:
    struct FlowIndexKey {
        std::uint32_t netns;
        FlowKey flow;  // canonical
        bool operator==(const FlowIndexKey&) const = default;
    };
    struct FlowIndexHash {
        std::size_t operator()(const FlowIndexKey& k) const noexcept {
            return std::hash<FlowKey>()(k.flow) ^ (std::size_t(k.netns) * 0x9e3779b97f4a7c15ull);
        }
    };
    struct Socket {
        SocketOwner owner;
        ConnDirection direction = ConnDirection::unknown;
        std::vector<FlowKey> flows;  // canonical keys in the flow index
        std::uint64_t seq = 0;
        std::int64_t closed_ns = 0;  // when its end record came; 0 while open
        bool provisional = false;    // known from provisional() only
    };

    void open(const ConnEvent& e);
    void forget(std::uint64_t cookie);
    const Socket* find_flow(std::uint32_t netns, const FlowKey& flow) const;

    std::size_t max_;
    std::int64_t linger_ns_;
    std::unordered_map<std::uint64_t, Socket> sockets_;
    std::deque<std::pair<std::uint64_t, std::int64_t>> closed_;  // (cookie, closed_ns), in order
    std::unordered_map<FlowIndexKey, std::uint64_t, FlowIndexHash> flows_;
    std::deque<std::pair<std::uint64_t, std::uint64_t>> order_;  // (cookie, seq), oldest first
    std::uint64_t seq_ = 0;
    std::uint64_t evictions_ = 0;
};

}  // namespace ringcap::detail
