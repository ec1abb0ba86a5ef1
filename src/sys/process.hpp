#pragma once
// Signals and child processes: what the command line asks of the process as a whole.
#include <string>

namespace ringcap::sys {

using SignalHandler = void (*)(int);

// SIGINT and SIGTERM call `handler`, installed without SA_RESTART so that a blocking call
// (poll, a pipe's read) returns EINTR and the caller sees its stop request at once.
void on_interrupt_signals(SignalHandler handler);
// SIGUSR1 calls `handler` (tcpdump's "print the counts now"), without SA_RESTART as above.
void on_status_signal(SignalHandler handler);
// SIGPIPE ignored: writing to a pipe whose reader went away fails with EPIPE instead of killing
// the process, and the writer reports it.
void ignore_broken_pipe() noexcept;
// SIGCHLD ignored: the kernel reaps children nobody waits for.
void reap_children_automatically() noexcept;

// Runs `sh -c 'SCRIPT "$1"' sh ARG` (/bin/sh), not waited for. The errno of posix_spawn on
// failure, 0 once started.
int spawn_shell(const std::string& script, const std::string& arg) noexcept;

}  // namespace ringcap::sys
