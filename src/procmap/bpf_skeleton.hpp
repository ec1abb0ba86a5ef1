#pragma once
// The libbpf skeleton of bpf/ringcap.bpf.c (generated into the build directory by bpftool), and
// what uses it besides BpfSource.
#include <string>
#include <vector>

#include "procmap/bpf/events.h"
#include "ringcap_bpf.skel.h"

namespace ringcap::detail {

// Runs the iterators after the hooks are attached: every TCP and UDP socket a process holds
// open gets its socket-local record (so its end is reported) and an existing record, in every
// network namespace one is found in. A namespace that cannot be entered is skipped with a note.
std::vector<rc_conn_event> seed_existing_sockets(ringcap_bpf& skel,
                                                 std::vector<std::string>& notes);

}  // namespace ringcap::detail
