#pragma once
// What ringcap needs to know about a network interface before it opens a ring on it. (The
// public list_interfaces() of capture.hpp is implemented in interface.cpp too.)
#include <cstddef>
#include <cstdint>
#include <string>

namespace ringcap::sys {

struct InterfaceFacts {
    int index = 0;
    std::size_t mtu = 0;
    int hatype = 0;               // ARPHRD_*
    bool offloads = false;        // TSO, UFO, GSO or GRO on: the stack may show 64 KiB packets
    std::uint64_t speed_bps = 0;  // link speed (ethtool); 0 when the driver does not say
};

// Throws ringcap::Error: ENODEV (no such interface), ENETDOWN (it is down), EOPNOTSUPP (not
// Ethernet-framed), each with the fix in the hint.
InterfaceFacts inspect_ethernet_interface(const std::string& name);

}  // namespace ringcap::sys
