#pragma once
// Who the process runs as once everything that needs root is open (sockets, rings, files, BPF
// programs): another user, only the capabilities still needed, no_new_privs.
//
// Raw calls (setgroups, setresgid, setresuid, prctl, capget/capset), not libcap: ringcap needs
// five of them in one fixed order, which libcap would wrap without saving a line, and it would
// be one more library to install and link. The order matters and is the kernel's
// (capabilities(7), "Effect of user ID changes on capabilities"):
//   1. the bounding set loses everything not kept (needs CAP_SETPCAP, so while still root);
//   2. PR_SET_KEEPCAPS, so that the permitted set survives the change of user ID;
//   3. supplementary groups, then gid, then uid (setresgid/setresuid: real, effective, saved);
//   4. capset: effective = permitted = what is kept, inheritable and ambient empty;
//   5. PR_SET_NO_NEW_PRIVS: no execve (-z's command) can gain privileges again.
#include <cstdint>
#include <optional>
#include <string>

namespace ringcap::sys {

// Capability numbers (linux/capability.h) ringcap keeps in some runs.
inline constexpr int kCapDacOverride = 1;    // create files in a directory the user cannot write
inline constexpr int kCapDacReadSearch = 2;  // read /proc/PID/fd of other users' processes
inline constexpr int kCapSysPtrace = 19;     // readlink /proc/PID/{fd/N,exe} of other users

constexpr std::uint64_t capability_bit(int cap) noexcept { return std::uint64_t{1} << cap; }

struct Account {
    std::string name;
    unsigned uid = 0;
    unsigned gid = 0;  // the user's primary group
};

// The user of that name (getpwnam_r), or nullopt when there is none.
std::optional<Account> find_account(const std::string& name);

// The effective user ID is 0.
bool running_as_root() noexcept;

// Becomes `account`, keeping only the capabilities in `keep` (bits of capability_bit()), as the
// header says. Throws ringcap::Error naming the call that failed. Call it while the process has
// one thread: capabilities and no_new_privs are per thread (the IDs are changed for all).
void become(const Account& account, std::uint64_t keep);

// Lowers one capability from the effective and permitted sets for good.
void drop_capability(int cap);

// The calling thread's effective capabilities (capget), as capability_bit()s.
std::uint64_t effective_capabilities();

}  // namespace ringcap::sys
