#pragma once
// Private to decode/: bounds-checked reads of packet bytes and allocation-free appenders.
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringcap::detail {

using Out = fmt::memory_buffer;

// A bounded window on packet bytes. Every read checks the bounds; callers ask has() first and
// print a truncation marker when it says no.
struct Bytes {
    const std::uint8_t* p = nullptr;
    std::size_t n = 0;

    bool has(std::size_t off, std::size_t len) const noexcept { return off <= n && len <= n - off; }
    std::uint8_t u8(std::size_t o) const noexcept { return o < n ? p[o] : 0; }
    std::uint16_t be16(std::size_t o) const noexcept {
        return has(o, 2) ? static_cast<std::uint16_t>(p[o] << 8 | p[o + 1]) : 0;
    }
    std::uint32_t be32(std::size_t o) const noexcept {
        return has(o, 4) ? (std::uint32_t{p[o]} << 24 | std::uint32_t{p[o + 1]} << 16 |
                            std::uint32_t{p[o + 2]} << 8 | p[o + 3])
                         : 0;
    }
    Bytes from(std::size_t off) const noexcept {
        return off <= n ? Bytes{p + off, n - off} : Bytes{p + n, 0};
    }
    Bytes first(std::size_t len) const noexcept { return {p, len < n ? len : n}; }
};

// Appends n bytes. Once the reused buffer has grown they fit, and a short inline copy beats
// fmt's general append (a size check and a memmove call per piece); otherwise fmt grows it.
inline void put(Out& o, const char* s, std::size_t n) {
    const std::size_t size = o.size();
    if (n > o.capacity() - size) return o.append(s, s + n);
    o.try_resize(size + n);
    char* to = o.data() + size;
    for (std::size_t i = 0; i < n; ++i) to[i] = s[i];
}
inline void put(Out& o, std::string_view s) { put(o, s.data(), s.size()); }
inline void put(Out& o, char c) { o.push_back(c); }

inline void put_uint(Out& o, std::uint64_t v) {
    char buf[20];
    int i = 20;
    do {
        buf[--i] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(o, buf + i, static_cast<std::size_t>(20 - i));
}
inline void put_int(Out& o, std::int64_t v) {
    if (v < 0) {
        put(o, '-');
        put_uint(o, static_cast<std::uint64_t>(-(v + 1)) + 1);
    } else {
        put_uint(o, static_cast<std::uint64_t>(v));
    }
}
// Zero-padded to `width` digits.
inline void put_uint_w(Out& o, std::uint64_t v, int width) {
    char buf[20];
    int i = 20;
    do {
        buf[--i] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while ((v != 0 || 20 - i < width) && i > 0);
    put(o, buf + i, static_cast<std::size_t>(20 - i));
}
inline constexpr char kHex[] = "0123456789abcdef";
inline void put_hex_w(Out& o, std::uint64_t v, int width) {  // lower case, zero padded
    char buf[16];
    int i = 16;
    do {
        buf[--i] = kHex[v & 0xf];
        v >>= 4;
    } while ((v != 0 || 16 - i < width) && i > 0);
    put(o, buf + i, static_cast<std::size_t>(16 - i));
}
inline void put_hex(Out& o, std::uint64_t v) { put_hex_w(o, v, 1); }

void put_mac(Out& o, const std::uint8_t* m);
// TCP flags as tcpdump's letters, in its order: F S R P . U E W (nothing for none).
void put_tcp_flags(Out& o, std::uint8_t flags);
void put_ipv4(Out& o, const std::uint8_t* a);
void put_ipv6(Out& o, const std::uint8_t* a);  // as inet_ntop (RFC 5952 zero compression)
// tcpdump's printing of untrusted text: M- for the high bit, ^X for control characters.
void put_safe_char(Out& o, std::uint8_t c);
// A JSON string body: quotes, backslashes and control characters escaped, bytes >= 0x80 as
// \u00XX (so the output is valid UTF-8 whatever the input).
void put_json_escaped(Out& o, std::string_view s);

}  // namespace ringcap::detail
