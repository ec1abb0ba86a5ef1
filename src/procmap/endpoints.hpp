#pragma once
// A socket's two ends as a record shows them, shared by the BPF and procfs sources: addresses
// as the wire carries them, the flow from the side that started it, counts per side.
#include <cstdint>
#include <vector>

#include <ringcap/conn.hpp>

namespace ringcap::detail {

// Local end as source, remote as destination (addresses in network order, 16 bytes, IPv4 in
// the first 4). An IPv6 socket whose ends are IPv4-mapped (::ffff:a.b.c.d) or unspecified
// carries IPv4, and says so.
FlowKey wire_flow(bool ipv6, std::uint8_t protocol, const std::uint8_t* local_addr,
                  std::uint16_t local_port, const std::uint8_t* remote_addr,
                  std::uint16_t remote_port);

// e.flow from the local->remote flow by e.direction: inbound ones start at the peer; a
// listening socket has its local end as destination and no source.
void orient(ConnEvent& e, const FlowKey& local_remote);

// The counts of an end record, sent and received by the local end, given per side.
void set_counts(ConnEvent& e, std::uint64_t tx_bytes, std::uint64_t tx_packets,
                std::uint64_t rx_bytes, std::uint64_t rx_packets);

// TCP sockets found open (direction unknown): inbound when a listener of the same namespace
// has their local port (and address, or the wildcard), outbound otherwise.
void infer_directions(std::vector<ConnEvent>& existing);

}  // namespace ringcap::detail
