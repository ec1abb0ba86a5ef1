#pragma once
// Private to decode/: the connections whose first sequence numbers make later ones relative,
// as tcpdump prints them without -S. tcpdump keys a connection by its two addresses and ports
// in a canonical order (the lower address first), starts an entry on the first ACK-bearing
// packet of a connection (or again on any SYN), and prints absolute numbers for that packet.
// Here the table is fixed-size (allocated once): an entry displaced by a newer connection
// starts again the same way on its next packet.
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ringcap/decode.hpp>

namespace ringcap {

struct Decoder::TcpTable {
    struct Related {
        std::uint32_t seq, ack;            // what to print
        std::uint32_t base_seq, base_ack;  // the entry's bases (tcpdump's SACK blocks use them)
    };

    static constexpr std::size_t kSlots = 8192;  // power of two
    static constexpr std::size_t kProbe = 8;

    Related relate(const std::uint8_t* src, const std::uint8_t* dst, std::size_t alen,
                   std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                   bool syn) noexcept {
        Key k{};
        const int cmp = std::memcmp(src, dst, alen);
        const bool rev = cmp > 0 || (cmp == 0 && sport > dport);
        std::memcpy(k.a, rev ? dst : src, alen);
        std::memcpy(k.b, rev ? src : dst, alen);
        k.ports = rev ? (std::uint32_t{dport} << 16 | sport) : (std::uint32_t{sport} << 16 | dport);
        k.alen = static_cast<std::uint8_t>(alen);

        const std::size_t h = hash(k);
        Entry* found = nullptr;
        Entry* free_slot = nullptr;
        for (std::size_t i = 0; i < kProbe; ++i) {
            Entry& e = slots_[(h + i) & (kSlots - 1)];
            if (e.used && std::memcmp(&e.key, &k, sizeof k) == 0) {
                found = &e;
                break;
            }
            if (!e.used && !free_slot) free_slot = &e;
        }
        if (!found || syn) {
            Entry& e = found ? *found : free_slot ? *free_slot : slots_[h & (kSlots - 1)];
            e.used = true;
            e.key = k;
            if (rev) {
                e.ack = seq;
                e.seq = ack - 1;
            } else {
                e.seq = seq;
                e.ack = ack - 1;
            }
            return {seq, ack, e.seq, e.ack};
        }
        Entry& e = *found;
        return rev ? Related{seq - e.ack, ack - e.seq, e.seq, e.ack}
                   : Related{seq - e.seq, ack - e.ack, e.seq, e.ack};
    }

  private:
    struct Key {
        std::uint8_t a[16], b[16];
        std::uint32_t ports;
        std::uint8_t alen;
        std::uint8_t pad[3];
    };
    struct Entry {
        Key key;
        std::uint32_t seq = 0, ack = 0;
        bool used = false;
    };
    static std::size_t hash(const Key& k) noexcept {  // FNV-1a over the key
        std::uint64_t h = 1469598103934665603ull;
        const auto* p = reinterpret_cast<const std::uint8_t*>(&k);
        for (std::size_t i = 0; i < sizeof k; ++i) h = (h ^ p[i]) * 1099511628211ull;
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
    std::array<Entry, kSlots> slots_{};
};

}  // namespace ringcap
