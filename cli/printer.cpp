#include "printer.hpp"

#include "sys/file.hpp"
#include "sys/names.hpp"

namespace ringcap::cli {

LinePrinter::LinePrinter(int fd, LinkType link, const CliOptions& o)
    : fd_(fd), json_(o.json), number_(o.number_packets), decoder_(link, [&] {
          DecodeOptions d = o.decode;
          d.precision = o.precision;
          d.interface_name = [this](int ifindex) { return interface_name(ifindex); };
          return d;
      }()) {}

void LinePrinter::write(std::span<const PacketView> packets) {
    if (links_.empty()) {
        for (const PacketView& p : packets) print(p);
        return;
    }
    for (const PacketView& p : packets) print(p, links_[static_cast<std::size_t>(p.ifindex())]);
}

bool LinePrinter::add_interface(const FileInterface& interface) {
    if (links_.empty()) links_.push_back(decoder_.link());
    links_.push_back(static_cast<LinkType>(interface.link_type));
    return true;
}

// The name of an interface index on this machine, as tcpdump looks up an SLL2 header's index.
std::string_view LinePrinter::interface_name(int ifindex) {
    if (ifindex <= 0 || ifindex > 1 << 20) return {};
    const auto i = static_cast<std::size_t>(ifindex);
    if (i >= names_.size()) {
        names_.resize(i + 1);
        looked_up_.resize(i + 1);
    }
    if (!looked_up_[i]) {
        names_[i] = sys::interface_name(ifindex);
        looked_up_[i] = true;
    }
    return names_[i];
}

void LinePrinter::put_number() { fmt::format_to(std::back_inserter(out_), "{:5}  ", ++numbered_); }

Decoder& LinePrinter::decoder_for(LinkType link) {
    for (Decoder& d : others_)
        if (d.link() == link) return d;
    return others_.emplace_back(link, decoder_.options());
}

void LinePrinter::flush() {
    const char* data = out_.data();
    std::size_t left = out_.size();
    while (left > 0) {
        const sys::IoResult r = sys::write_some(fd_, data, left);
        if (r.error != 0 || r.bytes == 0) break;  // a closed pipe (head, less): nothing to show
        data += r.bytes;
        left -= r.bytes;
    }
    out_.clear();
}

}  // namespace ringcap::cli
