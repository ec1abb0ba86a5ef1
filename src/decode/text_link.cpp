// The link layer as tcpdump prints it: Ethernet (with -e its MACs, EtherType and VLAN tags),
// Linux SLL and SLL2, raw IP; ARP; the hex dump. Then the network layer, by what dissect()
// found after the link header.
#include <cstring>

#include "text.hpp"

namespace ringcap::detail {
namespace {

constexpr CodeName kEthertypeNames[] = {
    {0x0800, "IPv4"},        {0x86dd, "IPv6"},         {0x0806, "ARP"},
    {0x8035, "Reverse ARP"}, {0x8100, "802.1Q"},       {0x88a8, "802.1Q-QinQ"},
    {0x88cc, "LLDP"},        {0x8847, "MPLS unicast"}, {0x8848, "MPLS multicast"},
    {0x888e, "EAPOL"},       {0x8863, "PPPoE D"},      {0x8864, "PPPoE S"},
};
const char* ethertype_name(std::uint16_t t) { return name_of(kEthertypeNames, t, "Unknown"); }

constexpr CodeName kSllDirections[] = {
    {0, "In"}, {1, "B"}, {2, "M"}, {3, "P"}, {4, "Out"},
};
const char* sll_direction(std::uint16_t pkttype) { return name_of(kSllDirections, pkttype, "?"); }

void put_ethertype(Out& o, std::uint16_t type, bool quick = false) {
    if (quick) {  // tcpdump -q: the name alone, unless there is none
        if (std::strcmp(ethertype_name(type), "Unknown") != 0) return put(o, ethertype_name(type));
        put(o, "Unknown Ethertype (0x");
        put_hex_w(o, type, 4);
        return put(o, ')');
    }
    put(o, "ethertype ");
    put(o, ethertype_name(type));
    put(o, " (0x");
    put_hex_w(o, type, 4);
    put(o, ")");
}

// ", length N: " after the link header's fields.
void put_length(Out& o, std::uint32_t wire) {
    put(o, ", length ");
    put_uint(o, wire);
    put(o, ": ");
}

// "src > dst, ": an Ethernet header's MACs.
void put_macs(Out& o, Bytes b) {
    put_mac(o, b.p + 6);
    put(o, " > ");
    put_mac(o, b.p);
    put(o, ", ");
}

// "vlan 42, p 5, DEI, ": a tag's fields.
void put_tci(Out& o, std::uint16_t tci) {
    put(o, "vlan ");
    put_uint(o, tci & 0xfff);
    put(o, ", p ");
    put_uint(o, tci >> 13);
    if (tci & 0x1000) put(o, ", DEI");
    put(o, ", ");
}

// The type that follows tag i: the next tag's TPID, or the innermost type.
std::uint16_t type_after_tag(const Dissection& d, int i) {
    return i + 1 < d.vlan_count ? d.vlan[i + 1].tpid : d.ethertype;
}

bool print_arp(Text& t, Bytes b, std::uint32_t length) {
    Out& o = t.o;
    if (!b.has(0, 28)) return t.trunc("arp");
    if (!t.opt.link_header) put(o, "ARP, ");
    const std::uint16_t hrd = b.be16(0), pro = b.be16(2), op = b.be16(6);
    const std::uint8_t hln = b.u8(4), pln = b.u8(5);
    if (t.opt.verbosity > 0) {
        put(o, hrd == 1 ? "Ethernet" : "Unknown Hardware");
        put(o, " (len ");
        put_uint(o, hln);
        put(o, "), ");
        put(o, pro == 0x0800 ? "IPv4" : "Unknown Protocol");
        put(o, " (len ");
        put_uint(o, pln);
        put(o, "), ");
    }
    if (pro != 0x0800 || pln != 4 || hln != 6) {
        put(o, "Unknown Protocol (0x");
        put_hex_w(o, pro, 4);
        put(o, ")");
        put(o, ", length ");
        put_uint(o, length);
        return true;
    }
    const std::uint8_t *sha = b.p + 8, *spa = b.p + 14, *tha = b.p + 18, *tpa = b.p + 24;
    switch (op) {
        case 1: {
            put(o, "Request who-has ");
            put_ipv4(o, tpa);
            bool zero = true;
            for (int i = 0; i < 6; ++i) zero &= tha[i] == 0;
            if (!zero) {
                put(o, " (");
                put_mac(o, tha);
                put(o, ')');
            }
            put(o, " tell ");
            put_ipv4(o, spa);
            break;
        }
        case 2:
            put(o, "Reply ");
            put_ipv4(o, spa);
            put(o, " is-at ");
            put_mac(o, sha);
            break;
        default:
            put(o, "Unknown (");
            put_uint(o, op);
            put(o, ')');
    }
    put(o, ", length ");
    put_uint(o, length);
    return true;
}

// After the link layer: the protocol dissect() found. Returns false when tcpdump would show
// the payload as a hex dump (a type it does not know).
bool print_network(Text& t, const Dissection& d) {
    switch (d.net) {
        case Net::ipv4:
            print_ipv4(t, d);
            return true;
        case Net::ipv6:
            print_ipv6(t, d);
            return true;
        case Net::arp:
            print_arp(t, d.bytes.from(d.net_at), d.net_len);
            return true;
        default:
            return false;
    }
}

std::size_t print_ethernet(Text& t, const Dissection& d) {
    Out& o = t.o;
    const DecodeOptions& opt = t.opt;
    const Bytes b = d.bytes;
    if (!d.link_ok) return t.trunc("ether"), t.cut = false, b.n;  // nothing left to dump
    if (opt.link_header) put_macs(o, b);
    if (d.length_field) {
        if (!opt.link_header) put_macs(o, b);
        put(o, "802.3");
        put_length(o, d.wire);
        if (!dumps_hex(opt)) put_hex_dump(o, b.from(d.net_at), true);
        return d.net_at;
    }
    if (opt.link_header) {
        put_ethertype(o, b.be16(12), opt.quick);
        put_length(o, d.wire);
        // Every tag, as tcpdump prints them (the dissection keeps the first few): tag i's TCI
        // at 14 + 4i, the type after it two bytes on.
        const int tags = d.vlan_count + d.vlan_more;
        for (int i = 0; i < tags; ++i) {
            put_tci(o, b.be16(14 + 4 * i));
            put_ethertype(o, b.be16(16 + 4 * i), opt.quick);
            put(o, ", ");
        }
        // A tag cut after its TCI: tcpdump prints the TCI, then the cut.
        if (d.cut == Cut::vlan && b.has(14 + 4 * tags, 2)) put_tci(o, b.be16(14 + 4 * tags));
    }
    if (d.cut == Cut::vlan) return t.trunc("vlan"), t.cut = false, b.n;  // nothing left to dump
    if (!print_network(t, d)) {
        if (!opt.link_header) {
            put_macs(o, b);
            put_ethertype(o, d.ethertype, opt.quick);
            put_length(o, d.wire);
        }
        if (!dumps_hex(opt) && !opt.quick) put_hex_dump(o, b.from(d.net_at), true);
    }
    return d.net_at;
}

// A cooked header's link-layer address: halen bytes (at most 8) in hex, colon-separated.
void put_link_address(Out& o, Bytes b, std::size_t at, std::size_t halen) {
    for (std::size_t i = 0; i < halen && i < 8; ++i) {
        if (i) put(o, ':');
        put_hex_w(o, b.u8(at + i), 2);
    }
}

// What follows an SLL or SLL2 header: with -e the header (`header` prints its fields), the
// 802.1Q tags as tcpdump shows them there (the inner EtherType by name only, the tag itself
// with -e), then the payload, or for a type tcpdump does not know, its hex dump.
template <class Header>
std::size_t print_cooked(Text& t, const Dissection& d, const Header& header) {
    Out& o = t.o;
    const auto header_and_length = [&] {
        header();
        put_length(o, d.wire);
    };
    if (t.opt.link_header) header_and_length();
    for (int i = 0; i < d.vlan_count; ++i) {
        if (t.opt.link_header) put_tci(o, d.vlan[i].tci);
        put(o, "ethertype ");
        put(o, ethertype_name(type_after_tag(d, i)));
        put(o, ", ");
    }
    if (d.cut == Cut::vlan) return t.trunc("vlan"), 0;
    if (print_network(t, d)) return d.net_at;
    if (!t.opt.link_header) header_and_length();
    if (!dumps_hex(t.opt)) put_hex_dump(o, d.bytes.from(d.net_at), true);
    return d.net_at;
}

// A direction word padded to three columns (left or right), as tcpdump aligns it.
void put_direction(Out& o, const char* dir, bool pad_left) {
    if (!pad_left) put(o, dir);
    for (std::size_t i = std::strlen(dir); i < 3; ++i) put(o, ' ');
    if (pad_left) put(o, dir);
}

std::size_t print_sll2(Text& t, const Dissection& d) {
    Out& o = t.o;
    const Bytes b = d.bytes;
    if (!d.link_ok) return t.trunc("sll2"), t.cut = false, b.n;  // nothing left to dump
    const std::uint16_t type = b.be16(0);
    const std::int32_t ifindex = static_cast<std::int32_t>(b.be32(4));
    const std::uint8_t pkttype = b.u8(10), halen = b.u8(11);
    std::string_view name =
        t.opt.interface_name ? t.opt.interface_name(ifindex) : std::string_view{};
    if (name.empty()) name = "?";
    put(o, name);
    for (std::size_t i = name.size(); i < 5; ++i) put(o, ' ');
    put(o, ' ');
    put_direction(o, sll_direction(pkttype), false);
    put(o, ' ');
    return print_cooked(t, d, [&] {
        put(o, "ifindex ");
        put_uint(o, static_cast<std::uint32_t>(ifindex));
        put(o, ' ');
        put_link_address(o, b, 12, halen);
        put(o, ' ');
        put_ethertype(o, type);
    });
}

std::size_t print_sll(Text& t, const Dissection& d) {
    Out& o = t.o;
    const Bytes b = d.bytes;
    if (!d.link_ok) return t.trunc("sll"), t.cut = false, b.n;  // nothing left to dump
    const std::uint16_t type = b.be16(14), pkttype = b.be16(0), halen = b.be16(4);
    return print_cooked(t, d, [&] {
        put_direction(o, sll_direction(pkttype), true);
        put(o, ' ');
        put_link_address(o, b, 6, halen);
        put(o, ' ');
        put_ethertype(o, type);
    });
}

std::size_t print_raw(Text& t, const Dissection& d) {
    if (t.opt.link_header) put(t.o, "ip: ");
    if (!d.bytes.has(0, 1)) return t.trunc("ip"), 0;
    if (d.net == Net::ipv4) {
        print_ipv4(t, d);
    } else if (d.net == Net::ipv6) {
        print_ipv6(t, d);
    } else {
        put(t.o, "ip v");
        put_uint(t.o, d.bytes.u8(0) >> 4);
    }
    return 0;
}

std::size_t print_link(Text& t, const Dissection& d) {
    switch (d.link) {
        case LinkType::ethernet:
            return print_ethernet(t, d);
        case LinkType::linux_sll2:
            return print_sll2(t, d);
        case LinkType::linux_sll:
            return print_sll(t, d);
        case LinkType::raw:
            return print_raw(t, d);
        default:
            put(t.o, "[link type ");
            put_uint(t.o, static_cast<std::uint32_t>(d.link));
            put(t.o, " not decoded]");
            return 0;
    }
}

}  // namespace

std::size_t print_packet_text(Out& o, const DecodeOptions& opt, Decoder::TcpTable* tcp,
                              LinkType link, Bytes b, std::uint32_t wire) {
    Text t{o, opt, tcp};
    const Dissection d = dissect(link, b, wire);
    const std::size_t link_len = print_link(t, d);
    return t.cut ? 0 : link_len;
}

void put_ascii_dump(Out& o, Bytes b) {
    put(o, '\n');
    for (std::size_t i = 0; i < b.n; ++i) {
        const std::uint8_t c = b.u8(i);
        if (c == '\r') {
            // Line ends print as one '\n'; a lone CR inside a line as '.', as tcpdump -A does
            // (which looks only when at least two bytes follow).
            if (b.n - i - 1 > 1 && b.u8(i + 1) != '\n') put(o, '.');
        } else {
            const bool shown = (c > 0x20 && c < 0x7f) || c == '\t' || c == ' ' || c == '\n';
            put(o, shown ? static_cast<char>(c) : '.');
        }
    }
}

void put_hex_dump(Out& o, Bytes b, bool ascii) {
    for (std::size_t line = 0; line < b.n; line += 16) {
        put(o, "\n\t0x");
        put_hex_w(o, line, 4);
        put(o, ": ");
        const std::size_t n = b.n - line < 16 ? b.n - line : 16;
        std::size_t width = 0;
        for (std::size_t i = 0; i < n; i += 2) {
            put(o, ' ');
            put_hex_w(o, b.u8(line + i), 2);
            width += 3;
            if (i + 1 < n) {
                put_hex_w(o, b.u8(line + i + 1), 2);
                width += 2;
            }
        }
        if (!ascii) continue;
        for (; width < 40; ++width) put(o, ' ');
        put(o, "  ");
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t c = b.u8(line + i);
            put(o, c > 0x20 && c < 0x7f ? static_cast<char>(c) : '.');  // graphic only
        }
    }
}

}  // namespace ringcap::detail
