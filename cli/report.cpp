#include "report.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

namespace ringcap::cli {

void say(const std::string& line) { fmt::print(stderr, "{}\n", line); }

std::string hint_for(const Error& e) {
    switch (e.remedy()) {
        case Remedy::none:
            break;
        case Remedy::name_interface:
            return "name one with -i; ringcap -D lists them";
        case Remedy::list_interfaces:
            return "ringcap -D lists the interfaces";
        case Remedy::capture_cooked:
            return "capture it cooked with -i any";
        case Remedy::smaller_ring:
            return "lower the buffer size (-B)";
        case Remedy::tpacket_v2:
            return "try --tpacket=2";
    }
    return e.hint();
}

void report(const Error& e) {
    // EINVAL is how ringcap says "bad input"; its text, "Invalid argument", adds nothing.
    std::string what = e.what();
    const std::string tail = ": " + e.code().message();
    if (e.code().value() == EINVAL && what.ends_with(tail)) what.resize(what.size() - tail.size());
    const std::string hint = hint_for(e);
    say(hint.empty() ? fmt::format("ringcap: {}", what)
                     : fmt::format("ringcap: {} ({})", what, hint));
}

std::string plural(std::uint64_t n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::string describe_ring(const CaptureInfo& info) {
    const RingLayout& l = info.layout;
    const std::size_t bytes = l.total_bytes();
    const std::string size = bytes % (1u << 20) == 0 ? fmt::format("{} MiB", bytes >> 20)
                                                     : fmt::format("{} KiB", bytes >> 10);
    const std::string why = l.sized_by.empty() ? "" : ", " + l.sized_by;
    return l.version == TpacketVersion::v3
               ? fmt::format(
                     "TPACKET_V3 ring {} ({} blocks of {} KiB{}), packets handed over "
                     "within {} ms",
                     size, l.block_count, l.block_size >> 10, why, l.block_timeout.count())
               : fmt::format(
                     "TPACKET_V2 ring {} ({} frames of {} bytes{}), packets handed over "
                     "as they come",
                     size, l.frame_count, l.frame_size, why);
}

// The interface's alias (ip link set IF alias TEXT), the closest Linux has to a description.
std::string interface_alias(const std::string& name) {
    std::ifstream in("/sys/class/net/" + name + "/ifalias");
    std::string alias;
    std::getline(in, alias);
    return alias;
}

void report_capture_summary(std::uint64_t captured, const CaptureStats& st,
                            const CaptureInfo& info) {
    say(plural(captured, "packet") + " captured");
    say(plural(st.packets, "packet") + " received by filter");
    say(plural(st.drops, "packet") + " dropped by kernel");
    if (info.layout.version == TpacketVersion::v3 && st.freeze_q_count != 0)
        say(fmt::format("{} times the ring was full (tp_freeze_q_cnt); consider a larger -B",
                        st.freeze_q_count));
}

void report_read_summary(const CopyResult& result, bool filtered) {
    say(filtered ? fmt::format("{} matched the filter, of {} read",
                               plural(result.matched, "packet"), result.read)
                 : plural(result.matched, "packet") + " read");
}

}  // namespace ringcap::cli
