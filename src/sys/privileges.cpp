#include "sys/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <ringcap/error.hpp>

#include "sys/fd.hpp"

namespace ringcap::sys {
namespace {

// The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap); prctl(PR_CAPBSET_READ)
// answers EINVAL past it.
int last_capability() noexcept {
    int cap = 0;
    while (cap < 63 && ::prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0) ++cap;
    return cap;
}

struct CapSets {
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
};

CapSets read_caps() {
    __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    CapSets sets;
    if (::syscall(SYS_capget, &header, sets.data) == -1) throw_errno("capget");
    return sets;
}

void write_caps(std::uint64_t effective, std::uint64_t permitted, const char* what) {
    __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    CapSets sets;
    for (int i = 0; i < 2; ++i) {
        sets.data[i].effective = static_cast<std::uint32_t>(effective >> (32 * i));
        sets.data[i].permitted = static_cast<std::uint32_t>(permitted >> (32 * i));
        sets.data[i].inheritable = 0;
    }
    if (::syscall(SYS_capset, &header, sets.data) == -1) throw_errno(what);
}

void check(int result, const std::string& what) {
    if (result == -1) throw_errno(what);
}

}  // namespace

std::optional<Account> find_account(const std::string& name) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    const int err = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (err != 0) throw Error(err, "looking up user '" + name + "'");
    if (found == nullptr) return std::nullopt;
    return Account{.name = found->pw_name, .uid = found->pw_uid, .gid = found->pw_gid};
}

bool running_as_root() noexcept { return ::geteuid() == 0; }

void become(const Account& account, std::uint64_t keep) {
    const int last = last_capability();
    for (int cap = 0; cap <= last; ++cap)
        if ((keep & capability_bit(cap)) == 0)
            check(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)");
    check(::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)");
    check(::initgroups(account.name.c_str(), account.gid), "initgroups(" + account.name + ")");
    check(::setresgid(account.gid, account.gid, account.gid),
          "setresgid(" + std::to_string(account.gid) + ")");
    check(::setresuid(account.uid, account.uid, account.uid),
          "setresuid(" + std::to_string(account.uid) + ")");
    write_caps(keep, keep, "capset");
    check(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
          "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    check(::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)");
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
}

void drop_capability(int cap) {
    const CapSets now = read_caps();
    const auto both = [&](auto field) {
        return std::uint64_t{now.data[0].*field} | std::uint64_t{now.data[1].*field} << 32;
    };
    const std::uint64_t mask = ~capability_bit(cap);
    write_caps(both(&__user_cap_data_struct::effective) & mask,
               both(&__user_cap_data_struct::permitted) & mask, "capset");
}

std::uint64_t effective_capabilities() {
    const CapSets now = read_caps();
    return std::uint64_t{now.data[0].effective} | std::uint64_t{now.data[1].effective} << 32;
}

}  // namespace ringcap::sys
