#include "sys/libbpf_log.hpp"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <mutex>

#include <ringcap/error.hpp>

namespace ringcap::sys {
namespace {

std::mutex g_log_mutex;
std::string g_last_message;

int keep_message(libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    char buf[512];
    const int n = std::vsnprintf(buf, sizeof buf, format, args);
    std::string line(buf, n > 0 ? std::min<std::size_t>(std::size_t(n), sizeof buf - 1) : 0);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return 0;
    const std::lock_guard lock(g_log_mutex);
    g_last_message = std::move(line);
    return 0;
}

}  // namespace

void keep_libbpf_messages() noexcept { libbpf_set_print(keep_message); }

void throw_bpf(int err, const std::string& what, const std::string& privilege_hint) {
    std::string hint;
    if (err == EPERM || err == EACCES) {
        hint = privilege_hint;
    } else {
        const std::lock_guard lock(g_log_mutex);
        hint = g_last_message;
    }
    throw Error(err, what, hint);
}

}  // namespace ringcap::sys
