// Decoder: timestamps and the line around what text_*.cpp print (JSON objects: json.cpp).
#include <ctime>
#include <ringcap/decode.hpp>

#include "sys/clock.hpp"
#include "text.hpp"

namespace ringcap {

using detail::put;
using detail::put_uint;
using detail::put_uint_w;

Decoder::Decoder(LinkType link, DecodeOptions options)
    : link_(link), options_(std::move(options)), tcp_(std::make_unique<TcpTable>()) {}
Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

namespace {

void put_fraction(detail::Out& o, std::int64_t ns, bool nano) {
    put(o, '.');
    if (nano)
        put_uint_w(o, static_cast<std::uint64_t>(ns), 9);
    else
        put_uint_w(o, static_cast<std::uint64_t>(ns / 1000), 6);
}

// " HH:MM:SS.frac" or "-HH:MM:SS.frac": tcpdump's -ttt/-ttttt deltas.
void put_delta(detail::Out& o, std::int64_t delta_ns, bool nano) {
    put(o, delta_ns < 0 ? '-' : ' ');
    const std::uint64_t d = static_cast<std::uint64_t>(delta_ns < 0 ? -delta_ns : delta_ns);
    const std::uint64_t sec = d / 1'000'000'000;
    put_uint_w(o, sec / 3600, 2);
    put(o, ':');
    put_uint_w(o, sec / 60 % 60, 2);
    put(o, ':');
    put_uint_w(o, sec % 60, 2);
    put_fraction(o, static_cast<std::int64_t>(d % 1'000'000'000), nano);
}

// Floor division: timestamps before 1970 still split into a second and a positive fraction.
std::int64_t floor_sec(std::int64_t ns) {
    return ns >= 0 ? ns / 1'000'000'000 : (ns + 1) / 1'000'000'000 - 1;
}

}  // namespace

void Decoder::append_text(const PacketView& p, fmt::memory_buffer& out) {
    const bool nano = options_.precision == TimestampPrecision::nano;
    const std::int64_t ts = p.ts_ns();
    if (first_ns_ < 0 && previous_ns_ < 0) first_ns_ = previous_ns_ = ts;
    const std::int64_t sec = floor_sec(ts), frac = ts - sec * 1'000'000'000;
    switch (options_.timestamps) {
        case TimestampFormat::none:
            break;
        case TimestampFormat::epoch:
            detail::put_int(out, sec);
            put_fraction(out, frac, nano);
            put(out, ' ');
            break;
        case TimestampFormat::since_previous:
            put_delta(out, ts - previous_ns_, nano);
            put(out, ' ');
            break;
        case TimestampFormat::since_first:
            put_delta(out, ts - first_ns_, nano);
            put(out, ' ');
            break;
        case TimestampFormat::clock:
        case TimestampFormat::date_clock: {
            if (sec != cached_second_) {
                const std::time_t t = static_cast<std::time_t>(sec);
                const std::tm tm = sys::local_time(t);
                std::strftime(clock_, sizeof clock_, "%Y-%m-%d %H:%M:%S", &tm);
                cached_second_ = sec;
            }
            const std::string_view c(clock_);
            put(out,
                options_.timestamps == TimestampFormat::clock && c.size() > 11 ? c.substr(11) : c);
            put_fraction(out, frac, nano);
            put(out, ' ');
        }
    }
    previous_ns_ = ts;

    const detail::Bytes b{reinterpret_cast<const std::uint8_t*>(p.data()), p.caplen()};
    const std::size_t link_len =
        detail::print_packet_text(out, options_, tcp_.get(), link_, b, p.wire_len());
    const detail::Bytes dumped = options_.hex_link_header ? b : b.from(link_len);
    if (options_.hex == HexDump::ascii) {
        if (dumped.n > 0 || options_.hex_link_header) detail::put_ascii_dump(out, dumped);
    } else if (options_.hex != HexDump::none) {
        detail::put_hex_dump(out, dumped, options_.hex == HexDump::hex_ascii);
    }
    put(out, '\n');
}

}  // namespace ringcap
