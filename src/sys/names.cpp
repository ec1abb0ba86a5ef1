#include "sys/names.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/utsname.h>

namespace ringcap::sys {

std::string interface_name(int ifindex) {
    char buf[IF_NAMESIZE] = {};
    if (ifindex <= 0 || !::if_indextoname(static_cast<unsigned>(ifindex), buf)) return {};
    return buf;
}

bool parse_ip_address(const std::string& text, bool ipv6, std::array<std::uint8_t, 16>& out) {
    out.fill(0);
    return ::inet_pton(ipv6 ? AF_INET6 : AF_INET, text.c_str(), out.data()) == 1;
}

SystemName system_name() {
    utsname u{};
    ::uname(&u);
    return {.os = std::string(u.sysname) + " " + u.release, .machine = u.machine};
}

}  // namespace ringcap::sys
