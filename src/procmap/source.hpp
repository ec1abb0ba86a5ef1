#pragma once
// Where connection records come from: the BPF programs, or the procfs fallback. A source
// appends records and keeps the process cache current; ProcessMap does the rest.
#include <chrono>
#include <cstdint>
#include <vector>

#include <ringcap/conn.hpp>
#include <ringcap/procmap.hpp>

#include "procmap/conn_table.hpp"
#include "procmap/process_cache.hpp"

namespace ringcap::detail {

struct AttributionState {
    ProcessCache processes;
    ConnTable connections;
    std::int64_t boot_offset = 0;  // CLOCK_REALTIME - CLOCK_BOOTTIME, ns
};

class Source {
  public:
    virtual ~Source() = default;
    virtual Attribution mode() const noexcept = 0;
    virtual int fd() const noexcept = 0;
    // Appends the records that arrived to `out`, waiting up to `timeout` for them.
    virtual void read(std::chrono::milliseconds timeout, AttributionState& state,
                      std::vector<ConnEvent>& out) = 0;
    virtual void add_stats(ProcessMapStats& stats) const = 0;
};

}  // namespace ringcap::detail
