#include "printer.hpp"

#include <algorithm>

#include "sys/file.hpp"
#include "sys/names.hpp"

namespace ringcap::cli {

LinePrinter::LinePrinter(int fd, LinkType link, const CliOptions& o, std::mutex* shared)
    : fd_(fd), shared_(shared), json_(o.json), number_(o.number_packets), decoder_(link, [&] {
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

void LinePrinter::write_owned(std::span<const PacketView> packets,
                              std::span<const PacketOwner* const> owners) {
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const PacketView& p = packets[i];
        const LinkType link =
            links_.empty() ? decoder_.link() : links_[static_cast<std::size_t>(p.ifindex())];
        Decoder& d = link == decoder_.link() ? decoder_ : decoder_for(link);
        const std::size_t start = out_.size();
        print_with(d, p);
        add_owner(start, owners[i], d.options().timestamps);
    }
}

void LinePrinter::add_owner(std::size_t start, const PacketOwner* owner, TimestampFormat stamps) {
    if (json_) {  // the object ends with "}\n": the fields go before it
        if (owner == nullptr || out_.size() < start + 2) return;
        out_.resize(out_.size() - 2);
        out_.append(owner->json);
        out_.append(std::string_view("}\n"));
        return;
    }
    // After the timestamp: it has no space in it, but -tttt's has one between date and time,
    // and -ttt's and -ttttt's deltas are padded in front.
    int spaces = stamps == TimestampFormat::none         ? 0
                 : stamps == TimestampFormat::date_clock ? 2
                                                         : 1;
    std::size_t at = start;
    while (spaces > 0 && at < out_.size() && out_[at] == ' ') ++at;
    while (spaces > 0 && at < out_.size())
        if (out_[at++] == ' ') --spaces;
    const std::size_t end = out_.size();
    out_.append(std::string_view(owner ? owner->label : kUnknownOwnerLabel));
    out_.push_back(' ');
    std::rotate(out_.data() + at, out_.data() + end, out_.data() + out_.size());
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
    if (out_.size() == 0) return;
    std::unique_lock<std::mutex> lock;
    if (shared_ != nullptr) lock = std::unique_lock(*shared_);
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
