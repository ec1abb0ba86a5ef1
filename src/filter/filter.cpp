#include <linux/if_packet.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

#include <ringcap/error.hpp>
#include <ringcap/filter.hpp>

#include "sys/file.hpp"

namespace ringcap {

static_assert(sizeof(bpf_insn) == sizeof(sock_filter), "libpcap and kernel BPF layouts differ");

Filter compile_with(pcap_t* handle, std::string_view expression) {
    const std::string expr(expression);
    bpf_program prog{};
    if (pcap_compile(handle, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) == -1)
        throw Error(EINVAL, "bad filter expression '" + expr + "': " + pcap_geterr(handle),
                    "see pcap-filter(7) for the syntax");
    std::vector<sock_filter> insns(prog.bf_len);
    std::memcpy(insns.data(), prog.bf_insns, prog.bf_len * sizeof(sock_filter));
    pcap_freecode(&prog);
    return Filter(expr, std::move(insns));
}

namespace {

using PcapHandle = std::unique_ptr<pcap_t, decltype(&pcap_close)>;

constexpr std::uint32_t kSll2Len = 20;

// SLL2 header fields that the kernel offers as ancillary data to a SOCK_DGRAM socket filter.
std::uint32_t ancillary_for(std::uint16_t size, std::uint32_t offset) {
    if (size == BPF_H && offset == 0) return SKF_AD_OFF + SKF_AD_PROTOCOL;  // wraps: SKF_AD_OFF < 0
    if (size == BPF_W && offset == 4) return SKF_AD_OFF + SKF_AD_IFINDEX;
    if (size == BPF_H && offset == 8) return SKF_AD_OFF + SKF_AD_HATYPE;
    if (size == BPF_B && offset == 10) return SKF_AD_OFF + SKF_AD_PKTTYPE;
    return 0;
}

// Files carry LINKTYPE_ values; pcap_open_dead takes DLT_ values. They are the same numbers
// except for a few old link types (see pcap-linktype(7)); these are the ones still met in files.
int dlt_of(LinkType link) {
    switch (static_cast<std::uint32_t>(link)) {
        case 100:
            return DLT_ATM_RFC1483;
        case 101:
            return DLT_RAW;
        case 102:
            return DLT_SLIP_BSDOS;
        case 103:
            return DLT_PPP_BSDOS;
        default:
            return static_cast<int>(link);
    }
}

}  // namespace

Filter Filter::compile(std::string_view expression, LinkType link, std::uint32_t snaplen) {
    PcapHandle dead(pcap_open_dead(dlt_of(link), static_cast<int>(snaplen)), pcap_close);
    if (!dead) throw Error(ENOMEM, "pcap_open_dead");
    return compile_with(dead.get(), expression);
}

bool needs_live_handle(std::string_view expression) noexcept {
    static constexpr std::string_view kWords[] = {"vlan", "inbound", "outbound", "ifindex"};
    const auto letter = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    };
    for (std::size_t at = 0; at < expression.size();) {
        std::size_t end = at;
        while (end < expression.size() && letter(expression[end])) ++end;
        const std::string_view word = expression.substr(at, end - at);
        for (std::string_view k : kWords)
            if (word.size() == k.size() &&
                std::equal(word.begin(), word.end(), k.begin(), [](char a, char b) {
                    return (a >= 'A' && a <= 'Z' ? char(a - 'A' + 'a') : a) == b;
                }))
                return true;
        at = end == at ? at + 1 : end;
    }
    return false;
}

Filter Filter::compile_for_file(std::string_view expression, LinkType link, std::uint32_t snaplen,
                                bool swapped) {
    // libpcap compiles some link types differently for a file than for a live or dead handle
    // (DLT_NULL: a file's address family values are BSD's, in the writer's byte order), and
    // learns what a file is only from the file itself. So give it one: a pcap file header in
    // the file's byte order, read from memory; its handle compiles as for that file.
    std::uint8_t header[24] = {};
    const bool big_endian = (std::endian::native == std::endian::little) == swapped;
    const auto put = [&](std::size_t at, std::uint32_t v, std::size_t size) {
        for (std::size_t i = 0; i < size; ++i)
            header[at + i] =
                static_cast<std::uint8_t>(v >> (big_endian ? 8 * (size - 1 - i) : 8 * i));
    };
    put(0, 0xa1b2c3d4, 4);  // magic, version 2.4, zone 0, sigfigs 0, snaplen, link type
    put(4, 2, 2);
    put(6, 4, 2);
    put(16, snaplen, 4);
    put(20, static_cast<std::uint32_t>(link), 4);
    std::FILE* stream = sys::memory_stream(header, sizeof header);
    if (stream == nullptr) throw Error(errno, "fmemopen (a pcap header to compile the filter)");
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    PcapHandle file(pcap_fopen_offline(stream, errbuf), pcap_close);  // closes the stream
    if (!file) {
        sys::close_stream(stream);
        return compile(expression, link, snaplen);  // a header libpcap refuses: as before
    }
    return compile_with(file.get(), expression);
}

Filter Filter::compile_live(std::string_view expression, const std::string& interface,
                            LinkType link, std::uint32_t snaplen) {
    if (link == LinkType::ethernet && needs_live_handle(expression)) {
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        PcapHandle live(pcap_create(interface.c_str(), errbuf), pcap_close);
        if (live && pcap_set_snaplen(live.get(), static_cast<int>(snaplen)) == 0 &&
            pcap_set_buffer_size(live.get(), 64 * 1024) == 0 && pcap_activate(live.get()) >= 0 &&
            pcap_datalink(live.get()) == DLT_EN10MB)
            return compile_with(live.get(), expression);
    }
    return compile(expression, link, snaplen);
}

std::vector<sock_filter> Filter::for_kernel(LinkType link) const {
    std::vector<sock_filter> out(insns_.begin(), insns_.end());
    if (link != LinkType::linux_sll2) return out;
    // A cooked (SOCK_DGRAM) socket's filter sees the packet from the network header on; the SLL2
    // header ringcap shows is built later, in user space. Shift packet loads past it, and turn
    // loads of its fields into the kernel's ancillary loads.
    for (sock_filter& insn : out) {
        const std::uint16_t cls = BPF_CLASS(insn.code), mode = BPF_MODE(insn.code);
        if (cls != BPF_LD && cls != BPF_LDX) continue;
        if (mode != BPF_ABS && mode != BPF_IND && mode != BPF_MSH) continue;
        if (insn.k >= kSll2Len) {
            insn.k -= kSll2Len;
            continue;
        }
        const std::uint32_t ad =
            (cls == BPF_LD && mode == BPF_ABS) ? ancillary_for(BPF_SIZE(insn.code), insn.k) : 0;
        if (ad == 0)
            throw Error(EINVAL,
                        "filter '" + expression_ + "' reads byte " + std::to_string(insn.k) +
                            " of the cooked header, which the kernel cannot provide",
                        "capture on a named interface instead of 'any'");
        insn.k = ad;
    }
    return out;
}

bool Filter::matches(const PacketView& packet) const {
    return bpf_filter(reinterpret_cast<const bpf_insn*>(insns_.data()),
                      reinterpret_cast<const u_char*>(packet.data()), packet.wire_len(),
                      packet.caplen()) != 0;
}

std::string Filter::dump(DumpStyle style) const {
    std::string out;
    if (style == DumpStyle::decimal) out = fmt::format("{}\n", insns_.size());
    for (std::size_t i = 0; i < insns_.size(); ++i) {
        const sock_filter& f = insns_[i];
        switch (style) {
            case DumpStyle::text:
                out += bpf_image(reinterpret_cast<const bpf_insn*>(&f), static_cast<int>(i));
                out += '\n';
                break;
            case DumpStyle::c_array:
                out += fmt::format("{{ 0x{:x}, {}, {}, 0x{:08x} }},\n", f.code, f.jt, f.jf, f.k);
                break;
            case DumpStyle::decimal:
                out += fmt::format("{} {} {} {}\n", f.code, f.jt, f.jf, f.k);
                break;
        }
    }
    return out;
}

std::string libpcap_version() { return pcap_lib_version(); }

std::vector<sock_filter> accept_all(std::uint32_t snaplen) {
    return {BPF_STMT(BPF_RET | BPF_K, snaplen)};
}

std::string link_type_name(LinkType link) {
    const int dlt = dlt_of(link);
    const char* name = pcap_datalink_val_to_name(dlt);
    const char* what = pcap_datalink_val_to_description(dlt);
    if (name == nullptr) return std::to_string(static_cast<std::uint32_t>(link));
    return what ? std::string(name) + " (" + what + ")" : std::string(name);
}

std::vector<sock_filter> only_outgoing(std::span<const sock_filter> program) {
    std::vector<sock_filter> out = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 1, 0), BPF_STMT(BPF_RET | BPF_K, 0),
        BPF_STMT(BPF_LD | BPF_IMM, 0),  // the program starts with A = 0, as it would have
    };
    out.insert(out.end(), program.begin(), program.end());
    return out;
}

}  // namespace ringcap
