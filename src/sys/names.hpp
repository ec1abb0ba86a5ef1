#pragma once
// Names the system knows: interfaces by index, IP addresses as text, the machine itself.
#include <array>
#include <cstdint>
#include <string>

namespace ringcap::sys {

// The name of interface `ifindex` on this machine (if_indextoname); empty when there is none.
std::string interface_name(int ifindex);

// An IPv4 (4 bytes, the rest zero) or IPv6 address in text form (inet_pton); false if it is not.
bool parse_ip_address(const std::string& text, bool ipv6, std::array<std::uint8_t, 16>& out);

struct SystemName {
    std::string os;       // "Linux 6.18.0"
    std::string machine;  // "x86_64"
};
SystemName system_name();

}  // namespace ringcap::sys
