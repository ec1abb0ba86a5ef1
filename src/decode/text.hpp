#pragma once
// Private to decode/: what the tcpdump-style printers share. The wording follows tcpdump 4.99's
// printers for the same protocols (learned from its output, not its code): what it prints, in
// that order, and where a captured packet ends early, a " [|proto]" marker at that point.
// dissect() finds the layers; each text_*.cpp words one of them:
//   text_link.cpp       Ethernet, VLAN tags, Linux SLL/SLL2, raw IP, ARP, the hex dump
//   text_ip.cpp         IPv4, IPv6 and its extension headers
//   text_transport.cpp  TCP (options, relative sequence numbers), UDP, other IP protocols
//   text_icmp.cpp       ICMP, ICMPv6
//   text_app.cpp        DNS, the first line of HTTP
#include <cstdint>
#include <ringcap/decode.hpp>

#include "bytes.hpp"
#include "dissect.hpp"
#include "tcp_table.hpp"

namespace ringcap::detail {

// A name for a protocol code, from a table: EtherTypes, IP protocols, DNS types, ...
struct CodeName {
    std::uint16_t code;
    const char* name;
};
template <std::size_t N>
const char* name_of(const CodeName (&table)[N], std::uint16_t code, const char* unknown) {
    for (const CodeName& c : table)
        if (c.code == code) return c.name;
    return unknown;
}

// One packet being printed.
struct Text {
    Out& o;
    const DecodeOptions& opt;
    Decoder::TcpTable* tcp;
    bool cut = false;  // the captured bytes ended inside a header (-x then dumps them all)

    // tcpdump's marker where the captured bytes end inside what it was reading.
    // `checked`: where tcpdump tests the bounds itself (the -x dump then starts after the
    // link header); elsewhere its reads unwind the printer (the dump shows the whole packet).
    bool trunc(const char* proto, bool checked = false) {
        cut = cut || !checked;
        put(o, " [|");
        put(o, proto);
        put(o, ']');
        return false;
    }
};

// Where an upper layer sits: its addresses, and whether tcpdump prints them with the ports.
struct Ends {
    const std::uint8_t* src = nullptr;
    const std::uint8_t* dst = nullptr;
    bool v6 = false;
    bool with_addresses = true;  // IPv6: only when the fixed header's next header is TCP/UDP
};
void put_addr(Out& o, const Ends& e, const std::uint8_t* a);
// "src > dst": the two addresses.
void put_addresses(Out& o, const Ends& e);

// The packet after the timestamp; returns how many bytes the link layer took (the -x dump
// starts there), 0 when the dump must show the whole packet.
std::size_t print_packet_text(Out& o, const DecodeOptions& opt, Decoder::TcpTable* tcp,
                              LinkType link, Bytes b, std::uint32_t wire);
// The dump tcpdump appends with -x/-X (and for payloads it cannot decode).
void put_hex_dump(Out& o, Bytes b, bool ascii);
// -x/-X: the hex dump under the line replaces the one tcpdump appends for what it cannot decode
// (-A does not).
inline bool dumps_hex(const DecodeOptions& o) {
    return o.hex == HexDump::hex || o.hex == HexDump::hex_ascii;
}
// The dump tcpdump appends with -A: the bytes as text, a '.' for what does not print.
void put_ascii_dump(Out& o, Bytes b);

// text_ip.cpp: the IP header at d.net_at and what follows it.
void print_ipv4(Text& t, const Dissection& d);
void print_ipv6(Text& t, const Dissection& d);
const char* ipproto_name(std::uint8_t p);

// text_transport.cpp: the upper layer the walk found (d.proto, d.l4, d.l4_len).
bool print_upper(Text& t, const Dissection& d, const Ends& e);

// text_icmp.cpp
bool print_icmp(Text& t, Bytes b, std::uint32_t length);
bool print_icmp6(Text& t, Bytes b, std::uint32_t length);

// text_app.cpp: a DNS message of `length` bytes (the captured part in m); the first line of
// an HTTP request or response.
bool print_dns(Text& t, Bytes m, std::uint32_t length);
void print_http(Text& t, Bytes b, std::uint32_t length);

}  // namespace ringcap::detail
