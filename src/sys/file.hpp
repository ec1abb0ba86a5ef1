#pragma once
// Files: the calls the capture-file reader and writers, rotation and the CLI make. Opening
// returns an Fd (the only owner, the only closer); reads and writes are retried on EINTR and
// return what happened as a value, since a short or failed write is something the writers
// handle (cut the file back to its last whole record), not an exception here.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "sys/fd.hpp"

namespace ringcap::sys {

// Opens `path` for reading. Throws ringcap::Error "cannot open 'PATH'" with errno.
Fd open_for_reading(const std::string& path);
// Creates `path` (or truncates it), write-only, mode 0644. Throws "cannot create 'PATH'".
Fd create_file(const std::string& path);
// A second fd on the same open file (close-on-exec): the caller's fd stays the caller's.
// Throws "dup(fd N)".
Fd duplicate(int fd);

// What one read(2), write(2) or writev(2) did: bytes moved, or the errno (0: none). EINTR is
// retried inside and never returned.
struct IoResult {
    std::size_t bytes = 0;
    int error = 0;
};
IoResult read_some(int fd, void* buffer, std::size_t size) noexcept;
IoResult write_some(int fd, const void* data, std::size_t size) noexcept;
IoResult write_vector(int fd, const iovec* runs, std::size_t count) noexcept;

// The size of a regular file; nullopt for anything else (pipe, terminal, device) or on error.
std::optional<std::uint64_t> regular_file_size(int fd) noexcept;
// The file offset (lseek(fd, 0, SEEK_CUR)); nullopt when the fd cannot seek.
std::optional<std::uint64_t> file_offset(int fd) noexcept;
// ftruncate(2) and lseek(fd, offset, SEEK_SET): the errno on failure, 0 on success.
int truncate_file(int fd, std::uint64_t size) noexcept;
int seek_to(int fd, std::uint64_t offset) noexcept;

bool is_terminal(int fd) noexcept;

// rename(2); throws ringcap::Error "rename 'FROM' to 'TO'" with `hint`.
void rename_file(const std::string& from, const std::string& to, const std::string& hint = {});
// unlink(2); the errno on failure, 0 on success.
int remove_file(const std::string& path) noexcept;

// A read-only stdio stream over `size` bytes at `data` (fmemopen), for libraries that take a
// FILE* (libpcap's pcap_fopen_offline, which closes it). The bytes must outlive the stream.
// nullptr on failure.
std::FILE* memory_stream(const void* data, std::size_t size) noexcept;
void close_stream(std::FILE* stream) noexcept;

inline constexpr int kStdin = 0;
inline constexpr int kStdout = 1;
inline constexpr int kStderr = 2;

}  // namespace ringcap::sys
