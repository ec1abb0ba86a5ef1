#include "procmap/conn_table.hpp"

#include <algorithm>
#include <array>

namespace ringcap::detail {

namespace {

SocketOwner owner_of(const ConnEvent& e) {
    return {.process = e.process,
            .thread_id = e.thread_id,
            .thread_name = e.thread_name,
            .uid = e.uid,
            .cookie = e.cookie,
            .netns = e.netns};
}

FlowKey with_src_addr(FlowKey f, const std::array<std::uint8_t, 16>& a) {
    f.src_ip = a;
    return f;
}

}  // namespace

ConnTable::ConnTable(std::size_t max_entries, std::chrono::nanoseconds linger)
    : max_(std::max<std::size_t>(max_entries, 16)), linger_ns_(linger.count()) {}

void ConnTable::apply(ConnEvent& e) {
    if (e.action != ConnAction::closed) {
        open(e);
        return;
    }
    if (auto it = sockets_.find(e.cookie); it != sockets_.end()) {
        const SocketOwner& o = it->second.owner;
        e.process = o.process;
        e.thread_id = o.thread_id;
        e.thread_name = o.thread_name;
        e.uid = o.uid;
        // A socket found open had no direction in the kernel; its start record got one.
        if (e.direction == ConnDirection::unknown &&
            it->second.direction == ConnDirection::inbound) {
            e.direction = ConnDirection::inbound;
            e.flow = e.flow.reversed();
            std::swap(e.source_bytes, e.destination_bytes);
            std::swap(e.source_packets, e.destination_packets);
        } else if (e.direction == ConnDirection::unknown) {
            e.direction = it->second.direction;
        }
    }
    if (auto it = sockets_.find(e.cookie); it != sockets_.end() && it->second.closed_ns == 0) {
        it->second.closed_ns = std::max<std::int64_t>(e.time_ns, 1);
        closed_.emplace_back(e.cookie, it->second.closed_ns);
    }
}

void ConnTable::provisional(const ConnEvent& e) {
    auto it = sockets_.find(e.cookie);
    if (e.action == ConnAction::closed) {
        if (it != sockets_.end() && it->second.provisional) forget(e.cookie);
        return;
    }
    const bool known = it != sockets_.end();
    open(e);
    if (!known) sockets_[e.cookie].provisional = true;
}

void ConnTable::expire(std::int64_t now_ns) {
    while (!closed_.empty() && now_ns - closed_.front().second > linger_ns_) {
        const auto [cookie, when] = closed_.front();
        closed_.pop_front();
        auto it = sockets_.find(cookie);
        if (it != sockets_.end() && it->second.closed_ns == when) forget(cookie);
    }
}

void ConnTable::open(const ConnEvent& e) {
    if (e.cookie == 0) return;  // a socket the kernel side could not name: nothing to key it by
    auto [it, fresh] = sockets_.try_emplace(e.cookie);
    Socket& s = it->second;
    s.closed_ns = 0;
    s.provisional = false;
    s.owner = owner_of(e);
    s.direction = e.direction;
    const FlowKey key = e.flow.canonical();
    if (std::find(s.flows.begin(), s.flows.end(), key) == s.flows.end()) {
        if (s.flows.size() >= 64) {  // an unconnected UDP socket with many peers: keep the newest
            flows_.erase({e.netns, s.flows.front()});
            s.flows.erase(s.flows.begin());
        }
        s.flows.push_back(key);
    }
    flows_[{e.netns, key}] = e.cookie;
    if (!fresh) return;
    s.seq = ++seq_;
    order_.emplace_back(e.cookie, s.seq);
    while (sockets_.size() > max_ && !order_.empty()) {
        const auto [cookie, seq] = order_.front();
        order_.pop_front();
        auto old = sockets_.find(cookie);
        if (old != sockets_.end() && old->second.seq == seq) {
            forget(cookie);
            ++evictions_;
        }
    }
}

void ConnTable::forget(std::uint64_t cookie) {
    auto it = sockets_.find(cookie);
    if (it == sockets_.end()) return;
    for (const FlowKey& k : it->second.flows) {
        auto f = flows_.find({it->second.owner.netns, k});
        if (f != flows_.end() && f->second == cookie) flows_.erase(f);
    }
    sockets_.erase(it);
    if (order_.size() > 2 * max_ + 64) {
        std::erase_if(order_, [&](const auto& o) {
            auto s = sockets_.find(o.first);
            return s == sockets_.end() || s->second.seq != o.second;
        });
    }
}

std::optional<SocketOwner> ConnTable::by_cookie(std::uint64_t cookie) const {
    auto it = sockets_.find(cookie);
    if (it == sockets_.end()) return std::nullopt;
    return it->second.owner;
}

const ConnTable::Socket* ConnTable::find_flow(std::uint32_t netns, const FlowKey& flow) const {
    auto it = flows_.find({netns, flow.canonical()});
    if (it == flows_.end()) return nullptr;
    auto s = sockets_.find(it->second);
    return s == sockets_.end() ? nullptr : &s->second;
}

std::optional<SocketOwner> ConnTable::by_flow(std::uint32_t netns, const FlowKey& flow) const {
    // In order: the connection itself; a socket with a wildcard local address (unconnected
    // UDP) on either end; a listening or bound socket on either end, on its address, on the
    // wildcard address, and on IPv6's wildcard (dual-stack) for IPv4.
    FlowKey f = flow;
    f.vlan_id = 0;
    const std::array<std::uint8_t, 16> any{};
    // (A fixed array: packets' flows are looked up here, so nothing is allocated.)
    std::array<FlowKey, 9> candidates;
    std::size_t n = 0;
    candidates[n++] = f;
    candidates[n++] = with_src_addr(f, any);
    candidates[n++] = with_src_addr(f.reversed(), any);
    for (const FlowKey& side : {f, f.reversed()}) {  // side.dst = the listening end
        FlowKey l = side;
        l.src_ip = any;
        l.src_port = 0;
        candidates[n++] = l;
        l.dst_ip = any;
        candidates[n++] = l;
        if (l.ip_version == 4) {
            l.ip_version = 6;
            candidates[n++] = l;
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        if (const Socket* s = find_flow(netns, candidates[i])) return s->owner;
    return std::nullopt;
}

}  // namespace ringcap::detail
