#include "sys/fd.hpp"

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ringcap::sys {

void throw_errno(const std::string& what_failed, std::string hint, Remedy remedy) {
    throw Error(errno, what_failed, std::move(hint), remedy);
}

Fd Fd::socket(int domain, int type, int protocol) {
    const int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd == -1) {
        const int err = errno;
        std::string hint;
        if (err == EPERM || err == EACCES)
            hint =
                "needs CAP_NET_RAW: run as root, or setcap cap_net_raw,cap_net_admin+eip "
                "on the binary";
        throw Error(err, "socket(AF_PACKET)", hint);
    }
    return Fd(fd);
}

void Fd::reset() noexcept { close(); }

int Fd::close() noexcept {
    if (fd_ < 0) return 0;
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == -1 && errno != EINTR ? errno : 0;
}

Mapping Mapping::map_shared(int fd, std::size_t length, bool try_lock, bool* locked) {
    void* p = MAP_FAILED;
    if (try_lock)
        p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
    *locked = p != MAP_FAILED;
    if (p == MAP_FAILED) p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        throw_errno("mmap(ring, " + std::to_string(length) + " bytes)", "ask for a smaller ring",
                    Remedy::smaller_ring);
    Mapping m;
    m.addr_ = static_cast<std::byte*>(p);
    m.len_ = length;
    return m;
}

Mapping Mapping::map_readonly(int fd, std::size_t length) {
    void* p = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) throw_errno("mmap(file, " + std::to_string(length) + " bytes)");
    ::madvise(p, length, MADV_SEQUENTIAL);
    Mapping m;
    m.addr_ = static_cast<std::byte*>(p);
    m.len_ = length;
    return m;
}

void Mapping::reset() noexcept {
    if (addr_ != nullptr) ::munmap(addr_, len_);
    addr_ = nullptr;
    len_ = 0;
}

std::size_t page_size() noexcept { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

}  // namespace ringcap::sys
