#pragma once
// libbpf prints its warnings on stderr unless told otherwise, and the library never prints: its
// messages are kept instead, and the last one explains a failed load or attach. Shared by every
// BPF user in ringcap (process attribution, the stack's drop counter): libbpf has one print
// function per process.
#include <string>

namespace ringcap::sys {

// Routes libbpf's messages to the keeper (again is harmless).
void keep_libbpf_messages() noexcept;

// Throws ringcap::Error(err, what): the hint is `privilege_hint` for EPERM/EACCES, else libbpf's
// last message.
[[noreturn]] void throw_bpf(int err, const std::string& what, const std::string& privilege_hint);

}  // namespace ringcap::sys
