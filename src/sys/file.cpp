#include "sys/file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace ringcap::sys {

Fd open_for_reading(const std::string& path) {
    Fd fd = Fd::adopt(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("cannot open '" + path + "'");
    return fd;
}

Fd create_file(const std::string& path) {
    Fd fd = Fd::adopt(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw_errno("cannot create '" + path + "'");
    return fd;
}

Fd duplicate(int fd) {
    Fd copy = Fd::adopt(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!copy) throw_errno("dup(fd " + std::to_string(fd) + ")");
    return copy;
}

namespace {

template <class Call>
IoResult retried(Call call) noexcept {
    for (;;) {
        const ssize_t n = call();
        if (n >= 0) return {.bytes = static_cast<std::size_t>(n), .error = 0};
        if (errno != EINTR) return {.bytes = 0, .error = errno};
    }
}

}  // namespace

IoResult read_some(int fd, void* buffer, std::size_t size) noexcept {
    return retried([&] { return ::read(fd, buffer, size); });
}

IoResult write_some(int fd, const void* data, std::size_t size) noexcept {
    return retried([&] { return ::write(fd, data, size); });
}

IoResult write_vector(int fd, const iovec* runs, std::size_t count) noexcept {
    const int n = static_cast<int>(count < IOV_MAX ? count : IOV_MAX);
    return retried([&] { return ::writev(fd, runs, n); });
}

std::optional<std::uint64_t> regular_file_size(int fd) noexcept {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return static_cast<std::uint64_t>(st.st_size);
}

std::optional<std::uint64_t> file_offset(int fd) noexcept {
    const off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at == -1) return std::nullopt;
    return static_cast<std::uint64_t>(at);
}

int truncate_file(int fd, std::uint64_t size) noexcept {
    return ::ftruncate(fd, static_cast<off_t>(size)) == -1 ? errno : 0;
}

int seek_to(int fd, std::uint64_t offset) noexcept {
    return ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) == -1 ? errno : 0;
}

bool is_terminal(int fd) noexcept { return ::isatty(fd) == 1; }

void rename_file(const std::string& from, const std::string& to, const std::string& hint) {
    if (::rename(from.c_str(), to.c_str()) == -1)
        throw_errno("rename '" + from + "' to '" + to + "'", hint);
}

int remove_file(const std::string& path) noexcept {
    return ::unlink(path.c_str()) == -1 ? errno : 0;
}

std::FILE* memory_stream(const void* data, std::size_t size) noexcept {
    return ::fmemopen(const_cast<void*>(data), size, "rb");
}

void close_stream(std::FILE* stream) noexcept { ::fclose(stream); }

}  // namespace ringcap::sys
