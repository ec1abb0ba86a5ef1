// flow_key(): the FlowKey of a packet, from what dissect() found.
#include <cstring>
#include <ringcap/flow.hpp>

#include "dissect.hpp"

namespace ringcap {

std::optional<FlowKey> flow_key(std::span<const std::byte> bytes, LinkType link) noexcept {
    const detail::Bytes b{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
    const detail::Dissection d = detail::dissect(link, b, static_cast<std::uint32_t>(bytes.size()));
    if (!d.ip_ok) return std::nullopt;
    FlowKey k;
    if (d.ip_version == 4) {  // constant sizes: the copies are moves, not memcpy calls
        std::memcpy(k.src_ip.data(), d.src_ip, 4);
        std::memcpy(k.dst_ip.data(), d.dst_ip, 4);
    } else {
        std::memcpy(k.src_ip.data(), d.src_ip, 16);
        std::memcpy(k.dst_ip.data(), d.dst_ip, 16);
    }
    k.ip_version = d.ip_version;
    k.protocol = d.proto;
    if (d.l4_ok) {
        k.src_port = d.src_port;
        k.dst_port = d.dst_port;
    }
    if (d.vlan_count > 0) k.vlan_id = d.vlan[0].tci & 0xfff;
    return k;
}

}  // namespace ringcap
