#pragma once
// One short line per packet: time, interface, direction, EtherType, length. Full decoding is a
// separate module (see the files/decoding issue). Lines collect in a buffer written once a batch.
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include <ringcap/options.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/pcap.hpp>

namespace ringcap::cli {

class LinePrinter {
public:
    LinePrinter(int fd, LinkType link, TimestampPrecision precision)
        : fd_(fd), link_(link), nano_(precision == TimestampPrecision::nano) {}
    void print(const PacketView& p);
    void flush();  // one write(2) of everything buffered

private:
    const std::string& interface_name(int ifindex);

    int fd_;
    LinkType link_;
    bool nano_;
    fmt::memory_buffer out_;
    std::vector<std::string> names_;  // by ifindex, filled on first sight
    std::int64_t cached_second_ = -1;
    char clock_[16] = {};             // "HH:MM:SS" of cached_second_, local time
};

std::string describe_ethertype(std::uint16_t type);

}  // namespace ringcap::cli
