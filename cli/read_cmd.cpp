#include "read_cmd.hpp"

#include <fmt/format.h>

#include <ringcap/copy.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/pcap_reader.hpp>

#include "output.hpp"
#include "privileges.hpp"
#include "report.hpp"

namespace ringcap::cli {
namespace {

void say_reading(const std::string& path, const PcapReader& reader) {
    const PcapFileInfo& info = reader.info();
    say(fmt::format("reading from file {}, {}link-type {}, snapshot length {}", path,
                    info.format == FileFormat::pcapng ? "pcapng, " : "",
                    link_type_name(static_cast<LinkType>(info.link_type)), info.snaplen));
}

// -V: a later file must have the first one's link type when it goes into the same pcap file.
void check_same_link(const CliOptions& o, const std::string& path, const PcapReader& first,
                     const PcapReader& next) {
    if (o.write_path.empty() || next.info().link_type == first.info().link_type) return;
    throw Error(EINVAL, fmt::format("{}: new link type {} does not match the first file's ({})",
                                    path, link_type_name(LinkType(next.info().link_type)),
                                    link_type_name(LinkType(first.info().link_type))));
}

}  // namespace

// The filter is libpcap's interpreter, in user space, compiled for each interface's link type
// and snaplen as tcpdump -r does; RecordCopy does the reading (in parts, on several CPUs, for a
// big file passing through to a pcap file). -V: the files one after the other into one output,
// -c counting in each (as tcpdump, which runs its loop with the count once per file). Every file
// is opened before privileges are given up.
int read_cmd(const CliOptions& o, StopToken stop) {
    const std::optional<sys::Account> account = account_to_become(o);
    std::vector<PcapReader> readers;
    for (const std::string& path : o.read_paths)
        readers.push_back(PcapReader::open(path));  // mapped; pipes are streamed
    PcapReader& reader = readers.front();
    // Checks the filter before any output.
    auto copy = std::make_unique<RecordCopy>(
        reader, CopyOptions{.filter = o.capture.filter, .count = o.count});
    relinquish_privileges(account, o);
    const PcapFileInfo& info = reader.info();
    const std::vector<FileInterface>& ifs = reader.interfaces();
    const std::unique_ptr<Sink> out =
        open_output(o, {.link = static_cast<LinkType>(info.link_type),
                        .snaplen = info.snaplen,
                        .interface_name = ifs.empty() ? "" : ifs[0].name,
                        .interface_description = ifs.empty() ? "" : ifs[0].description,
                        .open_first_file = o.rotate_seconds == 0});  // -G: the first packet's
    output_opened(account, o);

    CopyResult total;
    int status = 0;
    for (std::size_t i = 0; i < readers.size() && status == 0 && !stop.stop_requested(); ++i) {
        if (i > 0) {
            try {
                check_same_link(o, o.read_paths[i], reader, readers[i]);
            } catch (const Error& e) {
                report(e);
                status = 1;
                break;
            }
            copy = std::make_unique<RecordCopy>(
                readers[i], CopyOptions{.filter = o.capture.filter, .count = o.count});
        }
        say_reading(o.read_paths[i], readers[i]);
        const CopyResult result = copy->run(*out, stop);
        total.read += result.read;
        total.matched += result.matched;
        for (const Error& e : result.errors) {  // damage in the file, or a failed write
            report(e);
            status = 1;
        }
    }
    try {
        out->close();
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    report_read_summary(total, !o.capture.filter.empty());
    return status;
}

}  // namespace ringcap::cli
