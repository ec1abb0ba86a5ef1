#include "sys/net_counters.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

#include "sys/fd.hpp"
#include "sys/procfs.hpp"

namespace ringcap::sys {
namespace {

constexpr const char* kClassNet = "/sys/class/net/";

// One SIOCETHTOOL request on `fd` for `interface`; 0 or errno.
int ethtool(const Fd& fd, const std::string& interface, void* request) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, interface.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = static_cast<char*>(request);
    return ::ioctl(fd.get(), SIOCETHTOOL, &ifr) == -1 ? errno : 0;
}

// A request header (ethtool_gstrings, ethtool_stats) and its trailing array, zeroed, in one
// 8-aligned allocation.
std::unique_ptr<std::uint64_t[]> trailing(std::size_t header, std::size_t tail) {
    return std::make_unique<std::uint64_t[]>((header + tail + 7) / 8);
}

}  // namespace

std::optional<std::uint64_t> interface_statistic(const std::string& interface, const char* name) {
    const std::optional<std::string> text =
        read_small_file(kClassNet + interface + "/statistics/" + name, 64);
    if (!text) return std::nullopt;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc()) return std::nullopt;
    return v;
}

bool has_hardware(const std::string& interface) {
    return path_exists(kClassNet + interface + "/device");
}

int interface_index(const std::string& interface) {
    return static_cast<int>(::if_nametoindex(interface.c_str()));
}

std::vector<std::string> interface_names() {
    std::vector<std::string> names;
    struct if_nameindex* list = ::if_nameindex();
    if (list == nullptr) return names;
    for (struct if_nameindex* n = list; n->if_index != 0; ++n) names.emplace_back(n->if_name);
    ::if_freenameindex(list);
    return names;
}

int read_driver_counters(const std::string& interface, DriverCounters& out) {
    Fd fd = Fd::adopt(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno;
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    if (const int err = ethtool(fd, interface, &info)) return err;
    const std::uint32_t n = info.n_stats;
    if (n == 0) return EOPNOTSUPP;

    auto strings = trailing(sizeof(ethtool_gstrings), n * ETH_GSTRING_LEN);
    auto* gs = reinterpret_cast<ethtool_gstrings*>(strings.get());
    gs->cmd = ETHTOOL_GSTRINGS;
    gs->string_set = ETH_SS_STATS;
    gs->len = n;
    if (const int err = ethtool(fd, interface, gs)) return err;

    auto stats = trailing(sizeof(ethtool_stats), n * sizeof(std::uint64_t));
    auto* st = reinterpret_cast<ethtool_stats*>(stats.get());
    st->cmd = ETHTOOL_GSTATS;
    st->n_stats = n;
    if (const int err = ethtool(fd, interface, st)) return err;

    // The driver may say fewer than it announced; take what both calls agree on.
    const std::uint32_t m = std::min({n, gs->len, st->n_stats});
    out.names.clear();
    out.values.clear();
    for (std::uint32_t i = 0; i < m; ++i) {
        const char* name = reinterpret_cast<const char*>(gs->data) + i * ETH_GSTRING_LEN;
        out.names.emplace_back(name, strnlen(name, ETH_GSTRING_LEN));
        out.values.push_back(st->data[i]);
    }
    return 0;
}

std::optional<std::string> softnet_stat_text() {
    return read_small_file("/proc/net/softnet_stat", 1 << 20);
}

}  // namespace ringcap::sys
