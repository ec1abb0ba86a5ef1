#include "printer.hpp"

#include <net/if.h>
#include <unistd.h>

#include <cerrno>

namespace ringcap::cli {

LinePrinter::LinePrinter(int fd, LinkType link, const CliOptions& o)
    : fd_(fd), json_(o.json), decoder_(link, [&] {
          DecodeOptions d = o.decode;
          d.precision = o.precision;
          d.interface_name = [this](int ifindex) { return interface_name(ifindex); };
          return d;
      }()) {}

// The name of an interface index on this machine, as tcpdump looks up an SLL2 header's index.
std::string_view LinePrinter::interface_name(int ifindex) {
    if (ifindex <= 0 || ifindex > 1 << 20) return {};
    const auto i = static_cast<std::size_t>(ifindex);
    if (i >= names_.size()) {
        names_.resize(i + 1);
        looked_up_.resize(i + 1);
    }
    if (!looked_up_[i]) {
        char buf[IF_NAMESIZE] = {};
        if (::if_indextoname(static_cast<unsigned>(ifindex), buf)) names_[i] = buf;
        looked_up_[i] = true;
    }
    return names_[i];
}

Decoder& LinePrinter::decoder_for(LinkType link) {
    for (Decoder& d : others_)
        if (d.link() == link) return d;
    return others_.emplace_back(link, decoder_.options());
}

void LinePrinter::flush() {
    const char* data = out_.data();
    std::size_t left = out_.size();
    while (left > 0) {
        const ssize_t n = ::write(fd_, data, left);
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) break;  // a closed pipe (head, less): nothing more to show
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    out_.clear();
}

}  // namespace ringcap::cli
