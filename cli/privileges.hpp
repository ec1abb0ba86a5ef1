#pragma once
// -Z: once the capture (or the files read) is open, ringcap runs as an unprivileged user, as
// Debian's tcpdump does. Which user: -Z USER; by default a dedicated capture user when the
// machine has one ("ringcap", else Debian's "tcpdump"), else "nobody"; -Z root keeps root.
// Only when running as root.
//
// What is kept (effective and permitted; everything else is dropped from every set, the
// bounding set too, and no_new_privs is set):
//   - with -w FILE: CAP_DAC_OVERRIDE until the first file is open, so it can be anywhere root
//     could write it (tcpdump -Z does the same); with -C or -G for the whole run, since every
//     rotation creates a file in that directory. Files are created as (owned by) the user.
//   - nothing else: packets are read from the ring and counters from the socket already open.
//   - the loss ledger's BPF program (--stats=drops) is loaded before; its map is read through
//     the fd, which needs no capability.
// (Process attribution, `ringcap conn` and --process, would keep CAP_SYS_PTRACE and
// CAP_DAC_READ_SEARCH to read other users' /proc/PID/{fd,exe}; BPF maps and ring buffers are
// read through fds opened before, which needs no capability. They keep root for now.)
#include <optional>
#include <string>

#include "command_line.hpp"
#include "sys/privileges.hpp"

namespace ringcap::cli {

// The account -Z names (or the default one); nullopt when ringcap keeps its privileges (not
// root, or -Z root). Throws ringcap::Error for a user that does not exist. Call it early, so a
// bad -Z fails before anything is opened.
std::optional<sys::Account> account_to_become(const CliOptions& o);

// Becomes `account` (if any) with what the options still need. Call it once everything
// privileged is open, while ringcap has one thread, and before the output file is opened.
void relinquish_privileges(const std::optional<sys::Account>& account, const CliOptions& o);
// Once the output is open: the right to write anywhere goes, unless rotation needs it.
void output_opened(const std::optional<sys::Account>& account, const CliOptions& o);

}  // namespace ringcap::cli
