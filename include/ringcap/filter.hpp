#pragma once
// tcpdump filter expressions compiled to classic BPF by libpcap, in the form the kernel takes.
#include <linux/filter.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ringcap/packet.hpp>
#include <ringcap/types.hpp>

struct pcap;  // libpcap's handle, pcap_t

namespace ringcap {

// How dump() prints the program: tcpdump -d, -dd (a C array) or -ddd (decimal numbers).
enum class DumpStyle { text, c_array, decimal };

class Filter {
  public:
    // Compiles for a link type and snaplen, as tcpdump -r would. `link` may be any LINKTYPE_
    // value a file carries (static_cast<LinkType>(raw)), not only the two live ones. Throws
    // ringcap::Error(EINVAL) carrying libpcap's message and the expression.
    static Filter compile(std::string_view expression, LinkType link, std::uint32_t snaplen);

    // Compiles for a capture file as libpcap does for one it reads (tcpdump -r): as compile(),
    // except where libpcap's code differs for files: DLT_NULL's address family is compared with
    // BSD's AF_INET6 values, in the byte order the file was written in (`swapped`: the other
    // one than this machine's).
    static Filter compile_for_file(std::string_view expression, LinkType link,
                                   std::uint32_t snaplen, bool swapped);

    // Compiles the way a live tcpdump on `interface` does. libpcap emits its Linux VLAN code
    // (SKF_AD_VLAN_TAG_PRESENT, because the kernel strips tags before the socket filter runs)
    // only for an activated live handle, so one is opened briefly when the link is Ethernet and
    // the expression needs it (needs_live_handle()); otherwise, and if that handle cannot be
    // activated, this is compile(). The handle costs a packet socket with a ring of its own and
    // two RCU grace periods: ~45 ms of wall time and ~2 ms of CPU at start-up.
    static Filter compile_live(std::string_view expression, const std::string& interface,
                               LinkType link, std::uint32_t snaplen);

    // The program in the form SO_ATTACH_FILTER takes. For cooked (SLL2) captures the kernel sees
    // packets from the network header on, so loads are moved and header fields become ancillary
    // loads; throws ringcap::Error(EINVAL) if the program reads something the kernel cannot give.
    std::vector<sock_filter> for_kernel(LinkType link) const;

    // Runs the program on a packet in user space (libpcap's interpreter).
    bool matches(const PacketView& packet) const;

    std::span<const sock_filter> program() const noexcept { return insns_; }
    const std::string& expression() const noexcept { return expression_; }
    // One line per instruction, as tcpdump -d prints them; or as -dd / -ddd.
    std::string dump(DumpStyle style = DumpStyle::text) const;

  private:
    Filter(std::string expression, std::vector<sock_filter> insns)
        : expression_(std::move(expression)), insns_(std::move(insns)) {}
    friend Filter compile_with(::pcap* handle, std::string_view expression);

    std::string expression_;
    std::vector<sock_filter> insns_;
};

// Whether libpcap compiles `expression` differently on a live Linux handle than on a dead one:
// when it names vlan (the kernel's VLAN metadata instead of tag bytes), or inbound, outbound or
// ifindex (packet metadata that newer libpcaps read only on live handles). Looked for as words,
// in any case; a false yes only costs the live handle.
bool needs_live_handle(std::string_view expression) noexcept;

// A link type as tcpdump names it, from libpcap's table: "EN10MB (Ethernet)"; the number when
// libpcap does not know it.
std::string link_type_name(LinkType link);

// "libpcap version 1.10.3 (with TPACKET_V3)", as tcpdump --version prints it.
std::string libpcap_version();

// A program that accepts every packet, keeping `snaplen` bytes of it: what the kernel runs when
// it refuses a filter and the filter runs in user space instead.
std::vector<sock_filter> accept_all(std::uint32_t snaplen);

// Prepends a check that lets only outgoing packets (PACKET_OUTGOING) through: tcpdump -Q out.
std::vector<sock_filter> only_outgoing(std::span<const sock_filter> program);

}  // namespace ringcap
