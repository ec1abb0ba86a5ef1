#include "printer.hpp"

#include <net/if.h>
#include <unistd.h>

#include <cerrno>

namespace ringcap::cli {

const std::string& LinePrinter::interface_name(int ifindex) {
    static const std::string none;
    if (ifindex <= 0 || ifindex > 1 << 20) return none;
    if (static_cast<std::size_t>(ifindex) >= names_.size()) names_.resize(ifindex + 1);
    std::string& name = names_[ifindex];
    if (name.empty()) {
        char buf[IF_NAMESIZE] = {};
        name = ::if_indextoname(static_cast<unsigned>(ifindex), buf) ? buf
                                                                     : fmt::format("ifindex {}", ifindex);
    }
    return name;
}

void LinePrinter::print(const PacketView& p, LinkType link) {
    // The interface a line names: from the SLL2 header (-i any, or such a file), else none.
    int ifindex = 0;
    if (link == LinkType::linux_sll2 && p.caplen() >= 8) {
        const auto* d = reinterpret_cast<const unsigned char*>(p.data());
        ifindex = static_cast<int>(std::uint32_t(d[4]) << 24 | std::uint32_t(d[5]) << 16 |
                                   std::uint32_t(d[6]) << 8 | d[7]);
    }
    const std::string& name = interface_name(ifindex);
    if (json_)
        decoder_.json(p, link, name, out_);
    else
        decoder_.summarize(p, link, name, out_);
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
