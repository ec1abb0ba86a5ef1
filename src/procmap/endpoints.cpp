#include "procmap/endpoints.hpp"

#include <algorithm>
#include <cstring>

namespace ringcap::detail {

namespace {

bool is_v4_mapped(const std::uint8_t* a) {
    static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(a, kPrefix, 12) == 0;
}

bool is_zero(const std::uint8_t* a) {
    return std::all_of(a, a + 16, [](std::uint8_t b) { return b == 0; });
}

std::array<std::uint8_t, 16> address(const std::uint8_t* a, bool unmap) {
    std::array<std::uint8_t, 16> out{};
    if (unmap)
        std::memcpy(out.data(), a + 12, 4);
    else if (!is_zero(a))
        std::memcpy(out.data(), a, 16);
    return out;
}

}  // namespace

FlowKey wire_flow(bool ipv6, std::uint8_t protocol, const std::uint8_t* local_addr,
                  std::uint16_t local_port, const std::uint8_t* remote_addr,
                  std::uint16_t remote_port) {
    const bool lm = is_v4_mapped(local_addr), rm = is_v4_mapped(remote_addr);
    const bool v4 =
        !ipv6 || ((lm || rm) && (lm || is_zero(local_addr)) && (rm || is_zero(remote_addr)));
    FlowKey f;
    f.ip_version = v4 ? 4 : 6;
    f.protocol = protocol;
    f.src_ip = address(local_addr, ipv6 && v4 && lm);
    f.dst_ip = address(remote_addr, ipv6 && v4 && rm);
    f.src_port = local_port;
    f.dst_port = remote_port;
    return f;
}

void orient(ConnEvent& e, const FlowKey& lr) {
    e.flow = lr;
    if (e.direction == ConnDirection::inbound) {
        e.flow = lr.reversed();
    } else if (e.direction == ConnDirection::listening) {
        e.flow = lr.reversed();
        e.flow.src_ip = {};
        e.flow.src_port = 0;
    }
}

void set_counts(ConnEvent& e, std::uint64_t tx_bytes, std::uint64_t tx_packets,
                std::uint64_t rx_bytes, std::uint64_t rx_packets) {
    e.has_counts = true;
    const bool peer_first = e.direction == ConnDirection::inbound;
    e.source_bytes = peer_first ? rx_bytes : tx_bytes;
    e.source_packets = peer_first ? rx_packets : tx_packets;
    e.destination_bytes = peer_first ? tx_bytes : rx_bytes;
    e.destination_packets = peer_first ? tx_packets : rx_packets;
}

void infer_directions(std::vector<ConnEvent>& existing) {
    std::vector<const ConnEvent*> listeners;
    for (const ConnEvent& e : existing)
        if (e.direction == ConnDirection::listening && e.flow.protocol == 6)
            listeners.push_back(&e);
    auto listened = [&](const ConnEvent& e) {  // e.flow is local -> remote here
        return std::any_of(listeners.begin(), listeners.end(), [&](const ConnEvent* l) {
            return l->netns == e.netns && l->flow.dst_port == e.flow.src_port &&
                   (l->flow.dst_ip == e.flow.src_ip || l->flow.dst_ip == FlowKey{}.dst_ip);
        });
    };
    for (ConnEvent& e : existing) {
        if (e.direction != ConnDirection::unknown || e.flow.protocol != 6) continue;
        const bool inbound = listened(e);
        e.direction = inbound ? ConnDirection::inbound : ConnDirection::outbound;
        if (inbound) e.flow = e.flow.reversed();
    }
}

}  // namespace ringcap::detail
