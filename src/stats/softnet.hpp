#pragma once
// /proc/net/softnet_stat, one line per CPU of 32-bit hex counters (net/core/net-procfs.c,
// softnet_seq_show): processed, dropped (the backlog was full), time_squeeze (the softirq's
// budget ran out), five zeros, cpu_collision, received_rps, flow_limit_count, and on newer
// kernels the backlog's length and the CPU's number. Older kernels print fewer columns; a CPU
// that is offline has no line, which is why the CPU's number is read when it is there.
#include <cstdint>
#include <string_view>
#include <vector>

#include <ringcap/stats.hpp>

namespace ringcap::detail {

struct SoftnetLine {
    int cpu = 0;
    std::uint32_t processed = 0, dropped = 0, time_squeeze = 0, flow_limit = 0;
};

// Every well-formed line; the CPU's number from column 13 when there, else the line's index.
std::vector<SoftnetLine> parse_softnet(std::string_view text);

// Follows each CPU's 32-bit counters across reads into 64-bit deltas since the first read (a
// counter that went down wrapped at 2^32, which needs 4 billion packets between two reads).
class SoftnetDeltas {
  public:
    void start(const std::vector<SoftnetLine>& now);
    void update(const std::vector<SoftnetLine>& now);
    const std::vector<BacklogCounters::Cpu>& cpus() const noexcept { return cpus_; }

  private:
    std::vector<SoftnetLine> last_;
    std::vector<BacklogCounters::Cpu> cpus_;
};

}  // namespace ringcap::detail
