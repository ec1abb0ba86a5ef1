#pragma once
// The fallback without BPF: a netlink sock_diag dump of the TCP and UDP sockets every poll
// interval, compared with the one before (new sockets start, missing ones end), and the owner
// of each new socket found through an inode -> pid map built from /proc/PID/fd, rebuilt when a
// socket's inode is not in it (at most once per interval). It misses sockets that open and
// close between two dumps (short-lived processes), sees only its own network namespace, cannot
// tell the peers of an unconnected UDP socket, and names the process, not the thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "procmap/source.hpp"
#include "sys/fd.hpp"
#include "sys/sock_diag.hpp"

namespace ringcap::detail {

class ProcfsSource final : public Source {
  public:
    static std::unique_ptr<ProcfsSource> open(const ProcessMapOptions& options,
                                              AttributionState& state,
                                              std::vector<ConnEvent>& existing);

    Attribution mode() const noexcept override { return Attribution::procfs; }
    int fd() const noexcept override { return timer_.get(); }
    void read(std::chrono::milliseconds timeout, AttributionState& state,
              std::vector<ConnEvent>& out) override;
    void add_stats(ProcessMapStats& stats) const override { stats.procfs_scans += scans_; }

  private:
    struct Known {
        sys::DiagSocket last;
        ConnEvent start;
        std::int64_t seen_ns = 0;  // CLOCK_REALTIME of the dump that found it
    };

    ProcfsSource() = default;
    void poll(AttributionState& state, std::vector<ConnEvent>& out, bool first);
    ConnEvent start_record(const sys::DiagSocket& s, std::uint32_t pid, AttributionState& state,
                           bool first, const std::vector<sys::DiagSocket>& all);
    // The pid holding socket `inode`: 0 when no process does; nullopt when the map must be
    // rebuilt to know and the rate limit says not yet (the socket waits for the next poll).
    std::optional<std::uint32_t> owner_pid(std::uint64_t inode);

    sys::Fd timer_;
    std::uint32_t netns_ = 0;
    std::int64_t interval_ns_ = 0;
    std::int64_t last_scan_ns_ = 0;
    std::int64_t last_look_ns_ = 0;  // CLOCK_MONOTONIC of the last look at the timer
    std::uint64_t scans_ = 0;
    std::unordered_map<std::uint64_t, Known> known_;           // by socket cookie
    std::unordered_map<std::uint64_t, std::uint32_t> inodes_;  // socket inode -> pid
};

}  // namespace ringcap::detail
