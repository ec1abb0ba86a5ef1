#pragma once
// How the loss ledger reads on standard error: a line per stage (text), one JSON object
// (--stats=json), and the live status line.
#include <cstdint>
#include <string>
#include <vector>

#include <ringcap/stats.hpp>

namespace ringcap::cli {

// One line per stage. every_stage: every stage, also those that lost nothing or cannot be read
// (--stats); otherwise only the stages that lost something (printed after any loss).
std::vector<std::string> ledger_lines(const LossLedger& ledger, bool every_stage);
// The whole ledger as one JSON object on one line: an unreadable counter is null, with the
// reason beside it, never 0.
std::string ledger_json(const LossLedger& ledger, std::uint64_t captured);

// "512 us", "1.05 ms", "2.3 s".
std::string duration_text(std::int64_t ns);

// The live line: rates over the last interval, ring fill, drops per stage since the start.
struct StatusSample {
    double seconds = 0;  // the interval
    static constexpr std::uint64_t kUnknown = UINT64_MAX;
    std::uint64_t packets = 0, bytes = 0;  // captured during it (bytes may be kUnknown)
    double ring_fill = 0;                  // 0..1
};
std::string status_text(const StatusSample& s, const LossLedger& ledger);

}  // namespace ringcap::cli
