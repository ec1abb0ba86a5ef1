#pragma once
// Where the kernel counts a network interface's losses outside the socket: sysfs statistics
// (/sys/class/net/IF/statistics, rtnl_link_stats64), the driver's own counters (the
// ETHTOOL_GSTATS ioctl, what `ethtool -S` prints) and each CPU's input backlog
// (/proc/net/softnet_stat). Reading only: what the numbers mean is src/stats' business.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringcap::sys {

// /sys/class/net/IF/statistics/NAME; nullopt when the interface or the counter is not there.
std::optional<std::uint64_t> interface_statistic(const std::string& interface, const char* name);

// The interface sits on hardware (/sys/class/net/IF/device exists): veth, bridges, tun and
// loopback have none, and their drivers never count the hardware's misses and overruns.
bool has_hardware(const std::string& interface);

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
