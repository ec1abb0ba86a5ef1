#include "sys/interface.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include <ringcap/capture.hpp>

#include "sys/fd.hpp"

namespace ringcap::sys {
namespace {

// An ifreq naming `name`, for the SIOCGIF* ioctls.
ifreq ifreq_for(const std::string& name) noexcept {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return ifr;
}

// Any socket answers the interface ioctls, and a datagram socket needs no privilege.
Fd ioctl_socket() noexcept { return Fd::adopt(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); }

// ETHTOOL_GSET's speed in Mb/s (the kernel converts get_link_ksettings for it; the answer is the
// same one /sys/class/net/IF/speed gives, but for this network namespace whatever /sys shows).
std::uint64_t link_speed_bps(const Fd& sock, const std::string& name) noexcept {
    ethtool_cmd cmd{};
    cmd.cmd = ETHTOOL_GSET;
    ifreq q = ifreq_for(name);
    q.ifr_data = reinterpret_cast<char*>(&cmd);
    if (::ioctl(sock.get(), SIOCETHTOOL, &q) == -1) return 0;
    const std::uint32_t mbps = ethtool_cmd_speed(&cmd);
    return mbps == 0 || mbps == static_cast<std::uint32_t>(SPEED_UNKNOWN)
               ? 0
               : std::uint64_t{mbps} * 1'000'000;
}

}  // namespace

InterfaceFacts inspect_ethernet_interface(const std::string& name) {
    InterfaceFacts f;
    f.index = static_cast<int>(::if_nametoindex(name.c_str()));
    if (f.index == 0)
        throw Error(ENODEV, "interface '" + name + "'", "list_interfaces() lists them",
                    Remedy::list_interfaces);
    Fd sock = ioctl_socket();
    if (!sock) throw_errno("socket(AF_INET) for interface ioctls");
    ifreq ifr = ifreq_for(name);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) == -1)
        throw_errno("ioctl(SIOCGIFFLAGS, " + name + ")");
    if (!(ifr.ifr_flags & IFF_UP))
        throw Error(ENETDOWN, "interface '" + name + "' is down",
                    "bring it up: ip link set dev " + name + " up");
    ifr = ifreq_for(name);
    if (::ioctl(sock.get(), SIOCGIFHWADDR, &ifr) == -1)
        throw_errno("ioctl(SIOCGIFHWADDR, " + name + ")");
    f.hatype = ifr.ifr_hwaddr.sa_family;
    if (f.hatype != ARPHRD_ETHER && f.hatype != ARPHRD_LOOPBACK)
        throw Error(EOPNOTSUPP,
                    "interface '" + name + "' has link type ARPHRD " + std::to_string(f.hatype) +
                        "; ringcap handles Ethernet-framed interfaces",
                    "capture it cooked on \"any\"", Remedy::capture_cooked);
    ifr = ifreq_for(name);
    if (::ioctl(sock.get(), SIOCGIFMTU, &ifr) == -1) throw_errno("ioctl(SIOCGIFMTU, " + name + ")");
    f.mtu = static_cast<std::size_t>(ifr.ifr_mtu);
    const auto offload_on = [&](std::uint32_t cmd) {
        ethtool_value v{.cmd = cmd, .data = 0};
        ifreq q = ifreq_for(name);
        q.ifr_data = reinterpret_cast<char*>(&v);
        return ::ioctl(sock.get(), SIOCETHTOOL, &q) == 0 && v.data != 0;
    };
    f.offloads = offload_on(ETHTOOL_GTSO) || offload_on(ETHTOOL_GUFO) || offload_on(ETHTOOL_GGSO) ||
                 offload_on(ETHTOOL_GGRO);
    f.speed_bps = link_speed_bps(sock, name);
    return f;
}

}  // namespace ringcap::sys

namespace ringcap {

std::vector<InterfaceEntry> list_interfaces() {
    std::vector<InterfaceEntry> out;
    struct if_nameindex* names = ::if_nameindex();
    if (names == nullptr) sys::throw_errno("if_nameindex");
    const sys::Fd sock = sys::ioctl_socket();
    for (struct if_nameindex* n = names; n->if_index != 0; ++n) {
        InterfaceEntry e{.index = static_cast<int>(n->if_index), .name = n->if_name};
        ifreq ifr = sys::ifreq_for(e.name);
        if (sock && ::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) == 0) {
            e.up = ifr.ifr_flags & IFF_UP;
            e.running = ifr.ifr_flags & IFF_RUNNING;
            e.loopback = ifr.ifr_flags & IFF_LOOPBACK;
        }
        out.push_back(std::move(e));
    }
    ::if_freenameindex(names);
    return out;
}

}  // namespace ringcap
