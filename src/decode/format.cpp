// Appenders shared by the text and JSON printers: addresses, escaped text.
#include "bytes.hpp"

namespace ringcap::detail {

void put_mac(Out& o, const std::uint8_t* m) {
    char buf[17];
    for (int i = 0; i < 6; ++i) {
        buf[i * 3] = kHex[m[i] >> 4];
        buf[i * 3 + 1] = kHex[m[i] & 0xf];
        if (i < 5) buf[i * 3 + 2] = ':';
    }
    put(o, buf, 17);
}

void put_tcp_flags(Out& o, std::uint8_t flags) {
    static constexpr char kLetters[] = "FSRP.UEW";  // bit 0 (FIN) up to bit 7 (CWR)
    for (int bit = 0; bit < 8; ++bit)
        if (flags & (1u << bit)) put(o, kLetters[bit]);
}

void put_ipv4(Out& o, const std::uint8_t* a) {
    for (int i = 0; i < 4; ++i) {
        if (i) put(o, '.');
        put_uint(o, a[i]);
    }
}

void put_ipv6(Out& o, const std::uint8_t* a) {
    std::uint16_t w[8];
    for (int i = 0; i < 8; ++i) w[i] = static_cast<std::uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
    // The longest run of two or more zero words (the first of equals) becomes "::".
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && w[j] == 0) ++j;
        if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
        i = j;
    }
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) keep a dotted quad, as
    // inet_ntop writes them.
    const bool v4_tail = best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff));
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            put(o, "::");
            i += best_len - 1;
            continue;
        }
        if (i != 0 && i != best + best_len) put(o, ':');
        if (v4_tail && i == 6) {
            put_ipv4(o, a + 12);
            break;
        }
        put_hex(o, w[i]);
    }
}

void put_safe_char(Out& o, std::uint8_t c) {
    if (c & 0x80) {
        put(o, "M-");
        c &= 0x7f;
    }
    if (c < 0x20 || c == 0x7f) {
        put(o, '^');
        put(o, static_cast<char>(c ^ 0x40));
    } else {
        put(o, static_cast<char>(c));
    }
}

void put_json_escaped(Out& o, std::string_view s) {
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                put(o, "\\\"");
                break;
            case '\\':
                put(o, "\\\\");
                break;
            case '\n':
                put(o, "\\n");
                break;
            case '\r':
                put(o, "\\r");
                break;
            case '\t':
                put(o, "\\t");
                break;
            default:
                if (c < 0x20 || c >= 0x7f) {
                    put(o, "\\u00");
                    put_hex_w(o, c, 2);
                } else {
                    put(o, ch);
                }
        }
    }
}

}  // namespace ringcap::detail
