#pragma once
// The BPF programs' records (bpf/events.h) turned into ConnEvents and process cache updates.
#include <cstdint>
#include <string_view>

#include <ringcap/conn.hpp>

#include "procmap/bpf/events.h"
#include "procmap/process_cache.hpp"

namespace ringcap::detail {

TaskFacts facts_of(const rc_task& t);

// A socket record as a ConnEvent: addresses of IPv4-mapped IPv6 sockets as IPv4, the flow
// from the side that started it, counts per side, duration for ends. The owner is resolved
// through `cache` (which may read /proc for a process it has not seen).
ConnEvent to_conn_event(const rc_conn_event& e, ProcessCache& cache, std::int64_t boot_offset);

// Applies one ring buffer record of another kind (exec, fork, exit) to the cache. Returns false
// for a record too short for its kind.
bool apply_process_record(std::string_view record, ProcessCache& cache);

}  // namespace ringcap::detail
