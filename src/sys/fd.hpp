#pragma once
// Owners of kernel resources. Nothing else in ringcap closes an fd or unmaps memory.
#include <cerrno>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include <ringcap/error.hpp>

namespace ringcap::sys {

// errno as an Error, read right after a call returned -1.
[[noreturn]] void throw_errno(const std::string& what_failed, std::string hint = {},
                              Remedy remedy = Remedy::none);

class Fd {
  public:
    Fd() = default;
    static Fd adopt(int fd) noexcept { return Fd(fd); }
    static Fd socket(int domain, int type, int protocol);
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset() noexcept;  // close(2), never retried on EINTR (the fd is gone either way)
    // close(2), for files whose last data a failed close may have lost (NFS, some FUSE file
    // systems report write errors only here): 0, or its errno. The fd is gone either way.
    int close() noexcept;

  private:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    int fd_ = -1;
};

class Mapping {
  public:
    Mapping() = default;
    // Shared mapping of `fd`. Tries MAP_LOCKED first when asked (pins the ring, no page faults
    // on the hot path); without CAP_IPC_LOCK or over RLIMIT_MEMLOCK that fails and we map plainly.
    static Mapping map_shared(int fd, std::size_t length, bool try_lock, bool* locked);
    // Read-only private mapping of a file, read front to back (MADV_SEQUENTIAL).
    static Mapping map_readonly(int fd, std::size_t length);
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    Mapping(Mapping&& o) noexcept
        : addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
    Mapping& operator=(Mapping&& o) noexcept {
        if (this != &o) {
            reset();
            addr_ = std::exchange(o.addr_, nullptr);
            len_ = std::exchange(o.len_, 0);
        }
        return *this;
    }
    ~Mapping() { reset(); }

    std::span<std::byte> bytes() const noexcept { return {addr_, len_}; }
    void reset() noexcept;

  private:
    std::byte* addr_ = nullptr;
    std::size_t len_ = 0;
};

std::size_t page_size() noexcept;

}  // namespace ringcap::sys
