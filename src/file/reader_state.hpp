#pragma once
// PRIVATE: PcapReader's state and the helpers its pcap (pcap_reader.cpp) and pcapng
// (pcapng_reader.cpp) halves share.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_reader.hpp>

#include "file/format.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"

namespace ringcap {
namespace reading {

using namespace format;
inline constexpr std::size_t kGrowStep = 64u << 10;

inline std::uint32_t load32(const std::byte* p, bool swapped) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

inline std::uint16_t load16(const std::byte* p, bool swapped) noexcept {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return swapped ? __builtin_bswap16(v) : v;
}

// An interface's timestamp units to ns since the epoch: (ts * mul / div) or (ts * 1e9) >> shift,
// plus if_tsoffset seconds.
struct TsScale {
    std::uint64_t mul = 1000, div = 1;
    int shift = -1;  // >= 0: binary resolution 2^-shift
    std::int64_t offset_ns = 0;

    static TsScale from(std::uint8_t tsresol) noexcept {
        TsScale t;
        if (tsresol & 0x80) {
            t.shift = std::min(tsresol & 0x7f, 63);
            return t;
        }
        std::uint64_t p = 1;
        const int v = std::min<int>(tsresol, 19);
        for (int i = 0; i < std::abs(9 - v); ++i) p *= 10;
        t.mul = v <= 9 ? p : 1;
        t.div = v <= 9 ? 1 : p;
        return t;
    }
    std::int64_t ns(std::uint64_t ts) const noexcept {
        const unsigned __int128 wide =
            shift >= 0 ? (static_cast<unsigned __int128>(ts) * 1'000'000'000u) >> shift
                       : static_cast<unsigned __int128>(ts) * mul / div;
        // Hostile values wrap (defined for unsigned) instead of overflowing.
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(wide) +
                                         static_cast<std::uint64_t>(offset_ns));
    }
};

// Calls f(code, value, length) for each option in [p, p + n), stopping at opt_endofopt or at the
// first option that runs past the end (options are advisory: a bad one is ignored, not fatal).
template <class F>
void for_each_option(const std::byte* p, std::size_t n, bool swapped, F f) {
    std::size_t pos = 0;
    while (pos + 4 <= n) {
        const std::uint16_t code = load16(p + pos, swapped), len = load16(p + pos + 2, swapped);
        if (code == kOptEnd || pos + 4 + len > n) return;
        f(code, p + pos + 4, len);
        pos += 4 + pad4(len);
    }
}

inline std::string hex_bytes(const std::byte* p, std::size_t n) {
    std::string out;
    char b[4];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>(p[i]));
        if (i) out += ' ';
        out += b;
    }
    return out;
}

}  // namespace reading

struct PcapReader::State {
    sys::Fd owned;  // empty for standard input, which the reader does not close
    int fd = -1;
    std::string path;  // as opened ("-": standard input)
    std::string name;  // "'path'" or "standard input", for messages
    std::unique_ptr<std::byte[]> buf;
    sys::Mapping map;                 // a regular file is mapped whole: no read() copy per record
    const std::byte* base = nullptr;  // buf or the mapping
    std::size_t capacity = 0;
    std::size_t pos = 0;         // first unconsumed byte
    std::size_t end = 0;         // one past the last byte read
    std::size_t prefetched = 0;  // offset up to which the stream has been prefetched
    bool eof = false;
    bool swapped = false;
    std::int64_t frac_unit = 1000;  // ns per unit of the timestamp fraction
    std::uint32_t max_caplen = 0;
    std::uint64_t stop = ~std::uint64_t{0};  // pcap: next() ends at this offset (stop_at())
    // pcapng
    bool pcapng = false;
    std::size_t section_first = 0;         // index of this section's first interface in interfaces_
    std::vector<reading::TsScale> scales;  // per interface, parallel to interfaces_

    static std::unique_ptr<State> open(const std::string& path, ReadMode mode);

    std::size_t available() const noexcept { return end - pos; }

    // Makes at least `need` unconsumed bytes available, unless the input ends first. Moves the
    // unconsumed tail to the front of the buffer and grows the buffer only when one record does
    // not fit in it (need is bounded by kRecordHeader + max_caplen).
    void fill(std::size_t need) {
        if (available() >= need || eof) return;
        if (pos > 0) {
            std::memmove(buf.get(), base + pos, available());
            end -= pos;
            pos = 0;
            prefetched = 0;
        }
        if (need > capacity) grow(need);
        while (end < need && !eof) {
            const sys::IoResult r = sys::read_some(fd, buf.get() + end, capacity - end);
            if (r.error != 0) throw Error(r.error, "read " + name);
            end += r.bytes;
            eof = r.bytes == 0;
        }
    }

    void grow(std::size_t need) {
        const std::size_t cap =
            (need + reading::kGrowStep - 1) / reading::kGrowStep * reading::kGrowStep;
        std::unique_ptr<std::byte[]> bigger(new (std::nothrow) std::byte[cap]);
        if (!bigger)
            throw Error(ENOMEM,
                        "pcap reader buffer of " + std::to_string(cap) + " bytes for " + name);
        std::memcpy(bigger.get(), base + pos, available());
        end -= pos;
        pos = 0;
        prefetched = 0;
        buf = std::move(bigger);
        base = buf.get();
        capacity = cap;
    }

    [[noreturn]] void damaged(std::uint64_t offset, std::uint64_t records,
                              const std::string& what) const {
        throw Error(EINVAL,
                    name + (pcapng ? ": block at offset " : ": record at offset ") +
                        std::to_string(offset) + ": " + what,
                    "the file is damaged or was cut short; the " + std::to_string(records) +
                        " records before offset " + std::to_string(offset) + " were read");
    }
};

}  // namespace ringcap
