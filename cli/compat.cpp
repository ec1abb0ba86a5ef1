#include "compat.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>

#include <cctype>

#include <ringcap/error.hpp>

#include "report.hpp"
#include "sys/file.hpp"

namespace ringcap::cli {
namespace {

std::string read_whole(const std::string& path, const char* flag) {
    const sys::Fd fd = sys::open_for_reading(path);
    std::string text;
    char buffer[4096];
    for (;;) {
        const sys::IoResult r = sys::read_some(fd.get(), buffer, sizeof buffer);
        if (r.error != 0) throw Error(r.error, fmt::format("{}: cannot read '{}'", flag, path));
        if (r.bytes == 0) return text;
        text.append(buffer, r.bytes);
        if (text.size() > (1u << 24))
            throw Error(EFBIG, fmt::format("{}: '{}' is too large", flag, path));
    }
}

bool same_name(const std::string& a, const char* b) {
    std::size_t i = 0;
    for (; i < a.size() && b[i] != '\0'; ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) !=
            std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return i == a.size() && b[i] == '\0';
}

bool is_any(const CliOptions& o) { return o.capture.interface == "any"; }

}  // namespace

std::string filter_from_text(std::string text) {
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '#')
            for (; i < text.size() && text[i] != '\n'; ++i) text[i] = ' ';
    return text;
}

std::vector<std::string> names_from_text(const std::string& text) {
    std::vector<std::string> names;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(at, end - at);
        at = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) names.push_back(std::move(line));
    }
    return names;
}

void read_tcpdump_inputs(CliOptions& o) {
    if (!o.filter_file.empty()) {
        if (!o.capture.filter.empty())
            say("ringcap: note: the expression on the command line is ignored: -F gives it");
        o.capture.filter = filter_from_text(read_whole(o.filter_file, "-F"));
    }
    if (!o.file_list.empty()) {
        o.read_paths = names_from_text(read_whole(o.file_list, "-V"));
        if (o.read_paths.empty())
            throw Error(EINVAL, fmt::format("-V: '{}' names no file", o.file_list));
        o.read_path = o.read_paths.front();
    } else if (!o.read_path.empty()) {
        o.read_paths = {o.read_path};
    }
}

// The link types ringcap captures: an Ethernet interface gives EN10MB, 'any' LINUX_SLL2 (tcpdump
// also offers LINUX_SLL there; ringcap writes only SLL2).
int list_link_types_cmd(const CliOptions& o) {
    say(fmt::format("Data link types for {} (use option -y to set):", o.capture.interface));
    say(is_any(o) ? "  LINUX_SLL2 (Linux cooked v2)" : "  EN10MB (Ethernet)");
    return 0;
}

// AF_PACKET rings stamp packets with the host's clock; adapter (hardware) stamps need
// SO_TIMESTAMPING, which ringcap does not set up (and veth has none).
int list_time_stamp_types_cmd(const CliOptions& o) {
    say(fmt::format("Time stamp types for {} (use option -j to set):", o.capture.interface));
    say("  host (Host)");
    return 0;
}

std::string check_link_and_time_stamp(const CliOptions& o) {
    if (!o.link_type_name.empty()) {
        static constexpr const char* kKnown[] = {"EN10MB", "LINUX_SLL", "LINUX_SLL2", "RAW",
                                                 "NULL",   "LOOP",      "IEEE802_11"};
        const char* ours = is_any(o) ? "LINUX_SLL2" : "EN10MB";
        if (!same_name(o.link_type_name, ours)) {
            bool known = false;
            for (const char* k : kKnown) known = known || same_name(o.link_type_name, k);
            throw Error(EINVAL,
                        known
                            ? o.link_type_name + " is not one of the DLTs supported by this device"
                            : "invalid data link type " + o.link_type_name,
                        "ringcap -L lists them");
        }
    }
    if (!o.time_stamp_type.empty() && !same_name(o.time_stamp_type, "host")) {
        static constexpr const char* kKnown[] = {
            "host_lowprec", "host_hiprec", "host_hiprec_unsynced", "adapter", "adapter_unsynced"};
        for (const char* k : kKnown)
            if (same_name(o.time_stamp_type, k))
                return fmt::format(
                    "time stamp type '{}' is not supported by {}: using host time stamps",
                    o.time_stamp_type, o.capture.interface);
        throw Error(EINVAL, "invalid time stamp type " + o.time_stamp_type,
                    "ringcap -J lists them");
    }
    return {};
}

std::vector<std::string> number_flag_as_long(int argc, const char* const* argv) {
    std::vector<std::string> out(argv, argv + argc);
    for (std::size_t i = 1; i < out.size(); ++i) {
        std::string& a = out[i];
        if (a == "--") break;
        if (a.size() < 2 || a[0] != '-' || a[1] == '-' || a.find('#') == std::string::npos)
            continue;
        if (!std::all_of(a.begin() + 1, a.end(), [](char c) {
                return c == '#' || std::isalpha(static_cast<unsigned char>(c));
            }))
            continue;
        std::erase(a, '#');
        if (a == "-")
            a = "--number";
        else
            out.insert(out.begin() + static_cast<std::ptrdiff_t>(++i), "--number");
    }
    return out;
}

std::string packet_type_error(const std::string& type) {
    static constexpr const char* kTypes[] = {
        "vat",  "wb",   "rpc",    "rtp",    "rtcp",  "snmp", "cnfp",      "tftp",
        "aodv", "carp", "radius", "zmtp1",  "vxlan", "pgm",  "pgm_zmtp1", "lmp",
        "resp", "ptp",  "someip", "domain", "quic",  "bfd",  "arista",    "autosar"};
    for (const char* t : kTypes)
        if (same_name(type, t))
            return "-T " + type +
                   ": ringcap does not decode packets as another protocol than their ports "
                   "say (use tcpdump -T for that)";
    return "unknown packet type `" + type + "'";
}

std::string tcpdump_words(const std::exception& e) {
    const std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
        // "The following argument(s) were not expected: -k --bogus": the first one.
        const std::size_t colon = what.find(": ");
        std::string first = colon == std::string::npos ? what : what.substr(colon + 2);
        first = first.substr(0, first.find(' '));
        if (first.starts_with("--")) return "unrecognized option '" + first + "'";
        if (first.size() >= 2 && first[0] == '-')
            return "invalid option -- '" + first.substr(1, 1) + "'";
        return "unexpected argument '" + first + "'";
    }
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
        // "-w: 1 required TEXT missing"
        const std::size_t colon = what.find(':');
        if (colon != std::string::npos && what.find("missing") != std::string::npos) {
            const std::string name = what.substr(0, colon);
            if (name.starts_with("--")) return "option '" + name + "' requires an argument";
            if (name.size() == 2 && name[0] == '-')
                return "option requires an argument -- '" + name.substr(1) + "'";
        }
    }
    return what;
}

}  // namespace ringcap::cli
