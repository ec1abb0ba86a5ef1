#include "printer.hpp"

#include <linux/if_packet.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace ringcap::cli {
namespace {

std::uint16_t be16(const std::byte* p) {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) << 8 |
                                      std::to_integer<unsigned>(p[1]));
}

const char* direction(std::uint8_t pkttype) {
    switch (pkttype) {
        case PACKET_HOST: return "In ";
        case PACKET_OUTGOING: return "Out";
        case PACKET_BROADCAST: return "B  ";
        case PACKET_MULTICAST: return "M  ";
        default: return "P  ";  // PACKET_OTHERHOST: seen only in promiscuous mode
    }
}

}  // namespace

std::string describe_ethertype(std::uint16_t type) {
    switch (type) {
        case 0x0800: return "IPv4";
        case 0x86dd: return "IPv6";
        case 0x0806: return "ARP";
        case 0x8035: return "RARP";
        case 0x88cc: return "LLDP";
        case 0x8100: return "802.1Q";
        case 0x88a8: return "802.1ad";
        case 0x8847: return "MPLS";
        case 0x888e: return "EAPOL";
        default: return fmt::format("ethertype 0x{:04x}", type);
    }
}

const std::string& LinePrinter::interface_name(int ifindex) {
    if (ifindex < 0) ifindex = 0;
    if (static_cast<std::size_t>(ifindex) >= names_.size()) names_.resize(ifindex + 1);
    std::string& name = names_[ifindex];
    if (name.empty()) {
        char buf[IF_NAMESIZE] = {};
        name = ::if_indextoname(static_cast<unsigned>(ifindex), buf) ? buf
                                                                     : fmt::format("if{}", ifindex);
    }
    return name;
}

void LinePrinter::print(const PacketView& p) {
    const std::int64_t sec = p.ts_ns() / 1'000'000'000, ns = p.ts_ns() % 1'000'000'000;
    if (sec != cached_second_) {
        const std::time_t t = sec;
        std::tm tm{};
        ::localtime_r(&t, &tm);
        std::strftime(clock_, sizeof clock_, "%H:%M:%S", &tm);
        cached_second_ = sec;
    }
    auto it = std::back_inserter(out_);
    if (nano_)
        fmt::format_to(it, "{}.{:09d} ", clock_, ns);
    else
        fmt::format_to(it, "{}.{:06d} ", clock_, ns / 1000);
    fmt::format_to(it, "{} {} ", interface_name(p.ifindex()), direction(p.pkttype()));

    // Where the EtherType sits: after the MACs (Ethernet) or first in the SLL2 header.
    const std::size_t type_at = link_ == LinkType::ethernet ? 12 : 0;
    const std::size_t tag_at = link_ == LinkType::ethernet ? 14 : 20;
    const std::byte* d = p.data();
    if (p.caplen() >= type_at + 2) {
        const std::uint16_t type = be16(d + type_at);
        if ((type == 0x8100 || type == 0x88a8) && p.caplen() >= tag_at + 4) {
            fmt::format_to(it, "{} vlan {} p {}, {}", describe_ethertype(type),
                           be16(d + tag_at) & 0x0fff, be16(d + tag_at) >> 13,
                           describe_ethertype(be16(d + tag_at + 2)));
        } else {
            fmt::format_to(it, "{}", describe_ethertype(type));
        }
    }
    if (p.is_truncated())
        fmt::format_to(it, ", length {} (captured {})\n", p.wire_len(), p.caplen());
    else
        fmt::format_to(it, ", length {}\n", p.wire_len());
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
