#pragma once
// ringcap doctor -i IF [filter]: captures for a few seconds (--duration, default 5), then says
// what was lost where, how late packets were delivered, and the one or two changes that would
// help, each with its flag. Every piece of advice comes from a counter (advise(), unit-tested
// on made-up ledgers); none is printed unconditionally.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/stats.hpp>
#include <ringcap/types.hpp>

namespace ringcap::cli {

// What the doctor saw, beside the ledger.
struct DoctorFacts {
    LossLedger ledger;
    std::string interface;
    double seconds = 0;
    std::uint64_t captured = 0;
    std::uint64_t captured_bytes = 0;  // caplen summed
    double cpu_share = 0;              // the capture's CPU time over the wall time (0..1+)
    double ring_fill_max = 0, ring_fill_mean = 0;  // 0..1, looked at ten times a second
    std::vector<double> ring_fill_per_second;      // the fullest look of each second
    std::size_t ring_kib = 0;
    std::size_t workers = 1;
    bool pinned = false;  // --cpus
    std::uint32_t snaplen = kDefaultSnaplen;
    bool filtered = false;                            // a filter expression was given
    std::optional<std::uint64_t> netdev_max_backlog;  // net.core.netdev_max_backlog
    bool rps = false;                                 // RPS on for the interface's rx queue 0
    std::uint64_t tx_dropped = 0;                     // the interface's tx_dropped meanwhile
};

struct Advice {
    int priority = 0;  // higher first
    std::string why;   // the counter that calls for it
    std::string what;  // the change, with its flag or setting
};

// The changes the counters call for, most useful first (the doctor prints the first two).
std::vector<Advice> advise(const DoctorFacts& facts);

int doctor_cmd(int argc, const char* const* argv, StopToken stop);

}  // namespace ringcap::cli
