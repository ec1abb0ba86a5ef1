#pragma once
// Packet decoding for people and pipelines: tcpdump-style one-line summaries (as tcpdump 4.99 -n
// prints them) and one JSON object per packet. Decoding never runs on the capture path unless
// printing is asked for; it allocates nothing per packet (lines are appended to the caller's
// buffer) and reads only within the captured bytes, so truncated or hostile packets print a
// truncation mark ("[|tcp]") instead of reading past the end.
//
// Covered: Ethernet, 802.1Q/802.1ad (stacked), Linux SLL2 and raw IP link types; ARP; IPv4 with
// fragments; IPv6 with hop-by-hop, routing, destination-options and fragment headers; TCP
// (flags, seq/ack relative per connection as tcpdump prints them, window, options, length,
// HTTP request/status lines), UDP, ICMP, ICMPv6, DNS questions and answers.
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include <ringcap/options.hpp>
#include <ringcap/packet.hpp>

namespace ringcap {

enum class TimestampFormat {
    clock,              // HH:MM:SS.ffffff, local time (tcpdump's default)
    none,               // -t
    epoch,              // -tt: seconds.fraction since 1970
    delta,              // -ttt: since the previous packet
    date,               // -tttt: YYYY-MM-DD HH:MM:SS.ffffff
    since_first,        // -ttttt: since the first packet
};

enum class HexDump { none, payload, all, payload_ascii, all_ascii };  // -x -xx -X -XX

struct DecodeOptions {
    TimestampFormat timestamps = TimestampFormat::clock;
    bool nanoseconds = false;  // 9 fraction digits instead of 6
    bool link_header = false;  // -e
    int verbose = 0;           // -v
    bool quick = false;        // -q
    HexDump hex = HexDump::none;
};

class Decoder {
public:
    explicit Decoder(DecodeOptions options = {});

    // One tcpdump-style line (and hex lines with -x/-X) for a packet of link type `link`;
    // `interface` names it where the link type carries an interface (SLL2).
    void summarize(const PacketView& packet, LinkType link, std::string_view interface,
                   fmt::memory_buffer& out);
    // One JSON object and a newline: time, interface, direction, lengths and the fields of each
    // layer decoded. Strings are escaped; the output is valid JSON whatever the bytes.
    void json(const PacketView& packet, LinkType link, std::string_view interface,
              fmt::memory_buffer& out);

private:
    void timestamp(std::int64_t ts_ns, fmt::memory_buffer& out);

    DecodeOptions options_;
    std::int64_t first_ts_ = -1;
    std::int64_t previous_ts_ = -1;
    std::int64_t cached_second_ = -1;
    char clock_[32] = {};

public:
    // TCP conversations for relative sequence numbers (tcpdump's rule: the first packet with
    // ACK set, or a SYN-ACK, records both directions' initial numbers). A fixed table: when it
    // is full the oldest slot is reused, so memory stays bounded.
    struct Conversation {
        std::array<std::uint8_t, 32> addresses{};  // lower-ordered side first
        std::uint32_t ports = 0;
        std::uint32_t seq = 0, ack = 0;
        bool used = false;
    };

private:
    static constexpr std::size_t kConversations = 4096;
    std::unique_ptr<Conversation[]> conversations_;
};

}  // namespace ringcap
