#pragma once
// Joining a PACKET_FANOUT group: the last step of Capture::open() when options.fanout is set.
#include <cstdint>

#include <ringcap/options.hpp>

#include "sys/fd.hpp"

namespace ringcap::detail {

// Joins `fd` (bound already: the kernel refuses unbound sockets) to the group of `f`, or to a new
// group with an id no other group in the network namespace has when f.group is nullopt, and
// sets the group's program for cbpf/ebpf. Returns the group id. Throws ringcap::Error naming the
// group, mode and flags; EINVAL for a group that exists with another mode or flags, or on another
// interface.
std::uint16_t join_fanout(const sys::Fd& fd, const FanoutOptions& f);

// "hash,defrag": the mode and flags as the CLI spells them.
std::string fanout_name(FanoutMode mode, FanoutFlags flags);

}  // namespace ringcap::detail
