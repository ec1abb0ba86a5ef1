#include "sys/net_counters.hpp"

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
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

std::optional<LinkCounters> link_counters(const std::string& interface) {
    const int index = interface_index(interface);
    if (index == 0) return std::nullopt;
    Fd fd = Fd::adopt(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) throw_errno("socket(AF_NETLINK, NETLINK_ROUTE)");
    struct {
        nlmsghdr h;
        ifinfomsg i;
    } req{};
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_GETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST;
    req.i.ifi_family = AF_UNSPEC;
    req.i.ifi_index = index;
    if (::send(fd.get(), &req, sizeof req, 0) == -1) throw_errno("send(RTM_GETLINK)");
    alignas(nlmsghdr) char buf[65536];
    ssize_t n;
    do n = ::recv(fd.get(), buf, sizeof buf, 0);
    while (n == -1 && errno == EINTR);
    if (n == -1) throw_errno("recv(RTM_GETLINK)");
    const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
    if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != RTM_NEWLINK)
        return std::nullopt;  // NLMSG_ERROR: gone meanwhile
    LinkCounters c;
    const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *info));
    for (auto* a = IFLA_RTA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_PARENT_DEV_NAME) c.has_hardware = true;
        if (a->rta_type != IFLA_STATS64 || RTA_PAYLOAD(a) < sizeof(rtnl_link_stats64)) continue;
        rtnl_link_stats64 st{};
        std::memcpy(&st, RTA_DATA(a), sizeof st);
        c.rx_dropped = st.rx_dropped;
        c.rx_missed = st.rx_missed_errors;
        c.rx_fifo = st.rx_fifo_errors;
        c.rx_over = st.rx_over_errors;
        c.tx_dropped = st.tx_dropped;
    }
    return c;
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
