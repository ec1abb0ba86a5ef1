// The ledger's sums and the latency histogram's quantiles: plain arithmetic on its counters.
#include <ringcap/stats.hpp>

namespace ringcap {

std::int64_t LatencyHistogram::quantile_ns(double q) const noexcept {
    if (count == 0) return 0;
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    // The rank of the quantile, 1-based: the smallest age with at least q of them at or below.
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count) + 0.999999);
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        seen += buckets[i];
        if (seen >= rank) {
            const std::uint64_t end = bucket_end(i);
            return end == 0 || end - 1 > static_cast<std::uint64_t>(max_ns)
                       ? max_ns
                       : static_cast<std::int64_t>(end - 1);
        }
    }
    return max_ns;
}

namespace {

template <class T, class Member>
std::uint64_t sum_of(const std::vector<T>& items, Member member) noexcept {
    std::uint64_t n = 0;
    for (const T& item : items) n += item.*member;
    return n;
}

}  // namespace

std::uint64_t BacklogCounters::dropped() const noexcept { return sum_of(cpus, &Cpu::dropped); }
std::uint64_t BacklogCounters::time_squeeze() const noexcept {
    return sum_of(cpus, &Cpu::time_squeeze);
}
std::uint64_t BacklogCounters::flow_limit() const noexcept {
    return sum_of(cpus, &Cpu::flow_limit);
}

std::uint64_t StackCounters::lost() const noexcept { return sum_of(drops, &Drop::count); }

bool LossLedger::lost_any() const noexcept {
    for (const NicCounters& n : nic)
        if (n.lost() != 0) return true;
    return backlog.lost() != 0 || stack.lost() != 0 || ring_total().drops != 0 ||
           (writer && writer->lost() + writer->write_errors != 0);
}

}  // namespace ringcap
