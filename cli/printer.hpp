#pragma once
// Printed packets: the decoder's tcpdump-style lines (or JSON) collected in a buffer that goes
// out with one write(2) per batch.
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include <ringcap/decode.hpp>
#include <ringcap/options.hpp>
#include <ringcap/packet.hpp>

namespace ringcap::cli {

class LinePrinter {
public:
    LinePrinter(int fd, LinkType link, DecodeOptions options, bool json)
        : fd_(fd), link_(link), json_(json), decoder_(options) {}
    void print(const PacketView& p) { print(p, link_); }
    void print(const PacketView& p, LinkType link);
    void flush();  // one write(2) of everything buffered

private:
    const std::string& interface_name(int ifindex);

    int fd_;
    LinkType link_;
    bool json_;
    Decoder decoder_;
    fmt::memory_buffer out_;
    std::vector<std::string> names_;  // by kernel ifindex, filled on first sight
};

}  // namespace ringcap::cli
