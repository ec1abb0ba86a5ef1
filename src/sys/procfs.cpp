#include "sys/procfs.hpp"

#include "sys/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <memory>
#include <string_view>

namespace ringcap::sys {

namespace {

bool gone(int err) { return err == ENOENT || err == ESRCH || err == ENOTDIR; }

template <class T>
std::optional<T> parse_number(std::string_view s) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

}  // namespace

std::optional<std::string> read_small_file(const std::string& path, std::size_t max) {
    Fd fd = Fd::adopt(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (gone(errno)) return std::nullopt;
        throw_errno("open(" + path + ")");
    }
    std::string out(max, '\0');
    std::size_t got = 0;
    while (got < max) {
        const IoResult r = read_some(fd.get(), out.data() + got, max - got);
        if (r.error != 0) {
            if (gone(r.error)) return std::nullopt;
            errno = r.error;
            throw_errno("read(" + path + ")");
        }
        if (r.bytes == 0) break;
        got += r.bytes;
    }
    out.resize(got);
    return out;
}

std::string read_to_end(const Fd& fd) {
    std::string out;
    char buf[16384];
    for (;;) {
        const IoResult r = read_some(fd.get(), buf, sizeof buf);
        if (r.error != 0) {
            errno = r.error;
            throw_errno("read(fd " + std::to_string(fd.get()) + ")");
        }
        if (r.bytes == 0) return out;
        out.append(buf, r.bytes);
    }
}

std::optional<std::string> read_link(const std::string& path) {
    char buf[4096];
    const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n == -1) return std::nullopt;  // gone, or not readable: either way nothing to say
    return std::string(buf, static_cast<std::size_t>(n));
}

bool path_exists(const std::string& path) noexcept { return ::access(path.c_str(), F_OK) == 0; }

std::vector<std::uint32_t> list_pids() {
    Dir d(::opendir("/proc"));
    if (!d) throw_errno("opendir(/proc)");
    std::vector<std::uint32_t> pids;
    while (const dirent* e = ::readdir(d.get()))
        if (auto pid = parse_number<std::uint32_t>(e->d_name)) pids.push_back(*pid);
    return pids;
}

std::vector<std::uint64_t> socket_inodes(std::uint32_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    std::vector<std::uint64_t> inodes;
    Dir d(::opendir(dir.c_str()));
    if (!d) return inodes;
    const int dfd = ::dirfd(d.get());
    char buf[64];
    while (const dirent* e = ::readdir(d.get())) {
        if (e->d_name[0] == '.') continue;
        const ssize_t n = ::readlinkat(dfd, e->d_name, buf, sizeof buf);
        if (n <= 0) continue;
        const std::string_view link(buf, static_cast<std::size_t>(n));
        constexpr std::string_view prefix = "socket:[";
        if (!link.starts_with(prefix) || !link.ends_with(']')) continue;
        if (auto ino = parse_number<std::uint64_t>(
                link.substr(prefix.size(), link.size() - prefix.size() - 1)))
            inodes.push_back(*ino);
    }
    return inodes;
}

std::optional<std::uint32_t> netns_inode(std::uint32_t pid) {
    const std::string path =
        pid == 0 ? "/proc/self/ns/net" : "/proc/" + std::to_string(pid) + "/ns/net";
    struct stat st {};
    if (::stat(path.c_str(), &st) == -1) return std::nullopt;
    return static_cast<std::uint32_t>(st.st_ino);
}

std::optional<std::uint32_t> socket_netns_inode(int socket_fd) {
    const Fd ns = Fd::adopt(::ioctl(socket_fd, SIOCGSKNS));
    if (!ns) return std::nullopt;
    struct stat st {};
    if (::fstat(ns.get(), &st) == -1) return std::nullopt;
    return static_cast<std::uint32_t>(st.st_ino);
}

void enter_netns_of(std::uint32_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    Fd ns = Fd::adopt(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno("open(" + path + ")");
    if (::setns(ns.get(), CLONE_NEWNET) == -1) throw_errno("setns(" + path + ", CLONE_NEWNET)");
}

long clock_ticks_per_second() noexcept { return ::sysconf(_SC_CLK_TCK); }

std::optional<std::string> cgroup2_mount() {
    // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
    const auto info = read_small_file("/proc/self/mountinfo", 1 << 20);
    if (!info) return std::nullopt;
    std::string_view rest = *info;
    while (!rest.empty()) {
        const auto eol = rest.find('\n');
        const std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
        const auto dash = line.find(" - ");
        if (dash == std::string_view::npos || !line.substr(dash + 3).starts_with("cgroup2 "))
            continue;
        // The fifth field is the mount point (octal escapes such as \040 are not expected here).
        std::string_view f = line;
        for (int i = 0; i < 4; ++i) f = f.substr(f.find(' ') + 1);
        return std::string(f.substr(0, f.find(' ')));
    }
    return std::nullopt;
}

Fd open_directory(const std::string& path) {
    Fd fd = Fd::adopt(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open(" + path + ")");
    return fd;
}

void mount_tracefs(const std::string& where) {
    if (::mount("nodev", where.c_str(), "tracefs", 0, nullptr) == -1)
        throw_errno("mount(tracefs, " + where + ")");
}

}  // namespace ringcap::sys
