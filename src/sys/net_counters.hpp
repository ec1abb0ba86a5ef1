#pragma once
// Where the kernel counts a network interface's losses outside the socket: the interface's
// rtnl_link_stats64 (what /sys/class/net/IF/statistics shows, read over rtnetlink so that it is
// the calling thread's network namespace even after setns(), which sysfs would not follow), the
// driver's own counters (the ETHTOOL_GSTATS ioctl, what `ethtool -S` prints) and each CPU's
// input backlog (/proc/net/softnet_stat). Reading only: what the numbers mean is src/stats'.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringcap::sys {

// An interface's counters as RTM_GETLINK gives them (IFLA_STATS64), and whether it sits on a
// device of a bus (IFLA_PARENT_DEV_NAME, as /sys/class/net/IF/device): veth, bridges, tun and
// loopback have none, and their drivers never count the hardware's misses and overruns.
struct LinkCounters {
    std::uint64_t rx_dropped = 0, rx_missed = 0, rx_fifo = 0, rx_over = 0, tx_dropped = 0;
    bool has_hardware = false;
};
// nullopt when there is no such interface in the calling thread's network namespace.
std::optional<LinkCounters> link_counters(const std::string& interface);

// if_nametoindex: 0 when there is no such interface (sys/names.hpp has the other way).
int interface_index(const std::string& interface);

// The interfaces of the caller's network namespace (/sys/class/net as ip netns exec mounts it).
std::vector<std::string> interface_names();

// The driver's counters, by name, as `ethtool -S IF` lists them.
struct DriverCounters {
    std::vector<std::string> names;
    std::vector<std::uint64_t> values;
};
// 0 and `out` filled, or the errno of the refusal (EOPNOTSUPP: the driver has none).
int read_driver_counters(const std::string& interface, DriverCounters& out);

// /proc/net/softnet_stat as text; nullopt when it cannot be read.
std::optional<std::string> softnet_stat_text();

}  // namespace ringcap::sys
