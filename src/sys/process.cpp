#include "sys/process.hpp"

#include <signal.h>
#include <spawn.h>
#include <unistd.h>

namespace ringcap::sys {

void on_interrupt_signals(SignalHandler handler) {
    struct sigaction sa {};
    sa.sa_handler = handler;  // no SA_RESTART
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

void on_status_signal(SignalHandler handler) {
    struct sigaction sa {};
    sa.sa_handler = handler;  // no SA_RESTART
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGUSR1, &sa, nullptr);
}

void ignore_broken_pipe() noexcept { ::signal(SIGPIPE, SIG_IGN); }

void reap_children_automatically() noexcept { ::signal(SIGCHLD, SIG_IGN); }

int spawn_shell(const std::string& script, const std::string& arg) noexcept {
    const std::string command = script + " \"$1\"";
    const char* argv[] = {"sh", "-c", command.c_str(), "sh", arg.c_str(), nullptr};
    pid_t pid;
    return ::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ);
}

}  // namespace ringcap::sys
