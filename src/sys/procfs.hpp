#pragma once
// /proc, cgroupfs and namespaces: what process attribution reads about processes and mounts.
// Files under /proc vanish when their process exits; "gone" is a value (nullopt), not an error.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/fd.hpp"

namespace ringcap::sys {

// The contents of a small file (procfs, sysfs), at most `max` bytes; nullopt when it does not
// exist or its process is gone (ENOENT, ESRCH). Other failures throw.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max = 1 << 16);

// Everything readable from `fd` until end of file (a BPF iterator's output, a pipe).
std::string read_to_end(const Fd& fd);

// readlink(2); nullopt when the link or its process is gone.
std::optional<std::string> read_link(const std::string& path);

bool path_exists(const std::string& path) noexcept;

// The numeric entries of /proc: every process id (thread group leader) now.
std::vector<std::uint32_t> list_pids();

// The inodes of the sockets process `pid` holds open (its /proc/PID/fd links "socket:[N]").
// Empty when the process is gone or its fds are not readable.
std::vector<std::uint64_t> socket_inodes(std::uint32_t pid);

// Inode of a network namespace, as `ls -i /proc/PID/ns/net` shows it; pid 0 = the caller's.
// nullopt when the process is gone.
std::optional<std::uint32_t> netns_inode(std::uint32_t pid = 0);

// Inode of the network namespace socket `socket_fd` belongs to (ioctl SIOCGSKNS); nullopt when
// the kernel does not say (it needs CAP_NET_ADMIN over that namespace).
std::optional<std::uint32_t> socket_netns_inode(int socket_fd);

// Moves the calling thread into the network namespace of `pid` (setns; root). The other
// threads stay where they are. Throws on failure.
void enter_netns_of(std::uint32_t pid);

// sysconf(_SC_CLK_TCK): the unit of /proc/PID/stat's times.
long clock_ticks_per_second() noexcept;

// Where the cgroup v2 hierarchy is mounted (from /proc/self/mountinfo); nullopt when it is not.
std::optional<std::string> cgroup2_mount();

// A directory opened for its fd (O_RDONLY | O_DIRECTORY): a cgroup, for attaching programs.
Fd open_directory(const std::string& path);

// mount -t tracefs nodev `where`. Throws ringcap::Error (EPERM without CAP_SYS_ADMIN).
void mount_tracefs(const std::string& where);

}  // namespace ringcap::sys
