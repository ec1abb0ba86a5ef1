#include "stats/softnet.hpp"

#include <algorithm>
#include <charconv>

namespace ringcap::detail {
namespace {

// The hex columns of one line; stops at the first word that is not hex.
std::vector<std::uint32_t> hex_columns(std::string_view line) {
    std::vector<std::uint32_t> out;
    std::size_t at = 0;
    while (at < line.size()) {
        at = line.find_first_not_of(" \t", at);
        if (at == std::string_view::npos) break;
        const std::size_t end = std::min(line.find_first_of(" \t", at), line.size());
        std::uint32_t v = 0;
        const auto [p, ec] = std::from_chars(line.data() + at, line.data() + end, v, 16);
        if (ec != std::errc() || p != line.data() + end) break;
        out.push_back(v);
        at = end;
    }
    return out;
}

std::uint64_t grown(std::uint32_t before, std::uint32_t now) noexcept {
    return static_cast<std::uint32_t>(now - before);  // modulo 2^32: a wrap counts forward
}

}  // namespace

std::vector<SoftnetLine> parse_softnet(std::string_view text) {
    std::vector<SoftnetLine> out;
    int index = 0;
    while (!text.empty()) {
        const std::size_t nl = std::min(text.find('\n'), text.size());
        const std::vector<std::uint32_t> c = hex_columns(text.substr(0, nl));
        text.remove_prefix(std::min(nl + 1, text.size()));
        if (c.size() < 3) continue;
        out.push_back({.cpu = c.size() >= 13 ? static_cast<int>(c[12]) : index,
                       .processed = c[0],
                       .dropped = c[1],
                       .time_squeeze = c[2],
                       .flow_limit = c.size() >= 11 ? c[10] : 0});
        ++index;
    }
    return out;
}

void SoftnetDeltas::start(const std::vector<SoftnetLine>& now) {
    last_ = now;
    cpus_.clear();
    for (const SoftnetLine& l : now) cpus_.push_back({.cpu = l.cpu});
}

void SoftnetDeltas::update(const std::vector<SoftnetLine>& now) {
    for (const SoftnetLine& l : now) {
        auto before = std::find_if(last_.begin(), last_.end(),
                                   [&](const SoftnetLine& b) { return b.cpu == l.cpu; });
        if (before == last_.end()) {  // a CPU that came online: from zero
            last_.push_back({.cpu = l.cpu});
            cpus_.push_back({.cpu = l.cpu});
            before = last_.end() - 1;
        }
        auto& acc = *std::find_if(cpus_.begin(), cpus_.end(),
                                  [&](const BacklogCounters::Cpu& c) { return c.cpu == l.cpu; });
        acc.dropped += grown(before->dropped, l.dropped);
        acc.time_squeeze += grown(before->time_squeeze, l.time_squeeze);
        acc.flow_limit += grown(before->flow_limit, l.flow_limit);
        *before = l;
    }
}

}  // namespace ringcap::detail
