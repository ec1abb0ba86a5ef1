#pragma once
// PRIVATE (RecordCopy's): the filter of a file copy, compiled for each interface of the file by
// its link type and snaplen, as libpcap compiles it for a file of that type (tcpdump -r); each
// link type once.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include <ringcap/filter.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/pcap_reader.hpp>

namespace ringcap {

class FileFilters {
  public:
    // `swapped`: the file is in the other byte order (PcapFileInfo::swapped), which libpcap's
    // code for some link types depends on (DLT_NULL's address family is in the writer's order).
    FileFilters(std::string expression, bool swapped)
        : expression_(std::move(expression)), swapped_(swapped) {}

    bool empty() const noexcept { return expression_.empty(); }
    // Compiles for the interfaces met since the last call. Throws ringcap::Error(EINVAL) for a
    // bad expression.
    void update(const std::vector<FileInterface>& interfaces);
    // The compiled filter of an interface met already; nullptr without an expression.
    const Filter* of(std::size_t interface) const {
        return expression_.empty() ? nullptr : by_interface_.at(interface);
    }
    // With an expression only: whether `p` of `reader` passes.
    bool matches(const PcapReader& reader, const PacketView& p) {
        if (static_cast<std::size_t>(p.ifindex()) >= by_interface_.size())
            update(reader.interfaces());
        return by_interface_[static_cast<std::size_t>(p.ifindex())]->matches(p);
    }

  private:
    std::string expression_;
    bool swapped_ = false;
    std::deque<std::pair<std::uint32_t, Filter>> compiled_;  // stable addresses
    std::vector<const Filter*> by_interface_;
};

}  // namespace ringcap
