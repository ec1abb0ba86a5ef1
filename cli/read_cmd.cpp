#include "read_cmd.hpp"

#include <fmt/format.h>

#include <ringcap/copy.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/pcap_reader.hpp>

#include "output.hpp"
#include "report.hpp"

namespace ringcap::cli {

// The filter is libpcap's interpreter, in user space, compiled for each interface's link type
// and snaplen as tcpdump -r does; RecordCopy does the reading (in parts, on several CPUs, for a
// big file passing through to a pcap file).
int read_cmd(const CliOptions& o, StopToken stop) {
    PcapReader reader = PcapReader::open(o.read_path);  // mapped; pipes are streamed
    RecordCopy copy(reader, {.filter = o.capture.filter, .count = o.count});  // checks the filter
    const PcapFileInfo& info = reader.info();
    const LinkType link = static_cast<LinkType>(info.link_type);
    const std::vector<FileInterface>& ifs = reader.interfaces();
    const std::unique_ptr<Sink> out =
        open_output(o, {.link = link,
                        .snaplen = info.snaplen,
                        .interface_name = ifs.empty() ? "" : ifs[0].name,
                        .interface_description = ifs.empty() ? "" : ifs[0].description,
                        .open_first_file = o.rotate_seconds == 0});  // -G: the first packet's
    say(fmt::format("reading from file {}, {}link-type {}, snapshot length {}", o.read_path,
                    info.format == FileFormat::pcapng ? "pcapng, " : "", link_type_name(link),
                    info.snaplen));

    const CopyResult result = copy.run(*out, stop);
    int status = 0;
    for (const Error& e : result.errors) {  // damage in the file, or a failed write
        report(e);
        status = 1;
    }
    try {
        out->close();
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    report_read_summary(result, !o.capture.filter.empty());
    return status;
}

}  // namespace ringcap::cli
