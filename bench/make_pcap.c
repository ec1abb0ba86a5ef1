/* make_pcap: writes a large pcap (microseconds, Ethernet, snaplen 262144) of synthetic frames
 * for the read benchmark (bench/read.sh). Deterministic for a given seed.
 *
 *   make_pcap OUT SIZE_MIB [SEED]
 *
 * Frame sizes are mixed: 40% small (60..100 bytes), 30% any size from 101 to 1513, 30% full
 * 1514-byte frames. Kinds: IPv4/TCP 50% (a quarter of them to or from port 80), IPv4/UDP 30%
 * (a sixth of them DNS, port 53), IPv6 TCP/UDP 10%, 802.1Q-tagged IPv4/UDP 5%, ARP 5% (always
 * 60 bytes). Timestamps start at 2026-01-01 and advance 1..16 us per record, so the file is
 * a plausible capture at about 1 Gbit/s. Headers are well formed (lengths, IPv4 checksum);
 * payloads are a counting pattern. Prints "records N bytes B" on stdout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint32_t rnd(void) {  // xorshift64*
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static void put16(uint8_t* p, unsigned v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned ip_checksum(const uint8_t* h, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i < n; i += 2) s += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return ~s & 0xFFFF;
}

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

/* Builds one frame of `size` bytes into f; returns the size actually used (ARP is fixed). */
static size_t build_frame(uint8_t* f, size_t size, uint32_t seq) {
    uint32_t kind = rnd() % 100;
    int forward = rnd() & 1;
    memcpy(f, forward ? mac_b : mac_a, 6);
    memcpy(f + 6, forward ? mac_a : mac_b, 6);
    size_t l3 = 14;
    if (kind >= 95) {  // ARP request
        static const uint8_t arp[] = {0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1};
        memset(f, 0xff, 6);
        memcpy(f + 12, arp, sizeof arp);
        memcpy(f + 22, mac_a, 6);
        memcpy(f + 28, (uint8_t[]){10, 1, 0, 1}, 4);
        memset(f + 32, 0, 6);
        memcpy(f + 38, (uint8_t[]){10, 1, (uint8_t)(seq >> 8), (uint8_t)seq}, 4);
        memset(f + 42, 0, 18);
        return 60;
    }
    int vlan = kind >= 90;
    int ipv6 = kind >= 80 && kind < 90;
    int tcp = kind < 50 || (ipv6 && (rnd() & 1));
    if (vlan) {
        put16(f + 12, 0x8100);
        put16(f + 14, 42 + (seq & 3));
        l3 = 18;
    }
    size_t min = l3 + (ipv6 ? 40 : 20) + (tcp ? 20 : 8);
    if (size < min) size = min;
    if (size < 60) size = 60;
    put16(f + l3 - 2, ipv6 ? 0x86DD : 0x0800);
    uint8_t* ip = f + l3;
    size_t iplen = size - l3;
    size_t l4 = ipv6 ? 40 : 20;
    uint8_t proto = tcp ? 6 : 17;
    if (ipv6) {
        memset(ip, 0, 40);
        ip[0] = 0x60;
        put16(ip + 4, (unsigned)(iplen - 40));
        ip[6] = proto;
        ip[7] = 64;
        ip[8] = 0xfd;
        ip[23] = forward ? 1 : 2;
        ip[24] = 0xfd;
        ip[39] = forward ? 2 : 1;
    } else {
        memset(ip, 0, 20);
        ip[0] = 0x45;
        put16(ip + 2, (unsigned)iplen);
        put16(ip + 4, seq & 0xFFFF);
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = proto;
        memcpy(ip + 12, forward ? (uint8_t[]){10, 1, 0, 1} : (uint8_t[]){10, 1, 0, 2}, 4);
        memcpy(ip + 16, forward ? (uint8_t[]){10, 1, 0, 2} : (uint8_t[]){10, 1, 0, 1}, 4);
        put16(ip + 10, ip_checksum(ip, 20));
    }
    uint8_t* t = ip + l4;
    unsigned service = tcp ? (rnd() % 4 == 0 ? 80 : 8000 + rnd() % 1000)
                           : (rnd() % 6 == 0 ? 53 : 5000 + rnd() % 1000);
    unsigned eph = 32768 + rnd() % 28000;
    put16(t, forward ? eph : service);
    put16(t + 2, forward ? service : eph);
    size_t hdr;
    if (tcp) {
        memset(t + 4, 0, 16);
        t[4] = (uint8_t)(seq >> 24);
        t[5] = (uint8_t)(seq >> 16);
        t[6] = (uint8_t)(seq >> 8);
        t[7] = (uint8_t)seq;
        t[12] = 5 << 4;
        t[13] = 0x18;  // PSH|ACK
        put16(t + 14, 502);
        hdr = 20;
    } else {
        put16(t + 4, (unsigned)(iplen - l4));
        put16(t + 6, 0);
        hdr = 8;
    }
    uint8_t* payload = t + hdr;
    size_t n = size - (size_t)(payload - f);
    for (size_t i = 0; i < n; ++i) payload[i] = (uint8_t)(seq + i);
    return size;
}

static size_t pick_size(void) {
    uint32_t r = rnd() % 100;
    if (r < 40) return 60 + rnd() % 41;
    if (r < 70) return 101 + rnd() % (1513 - 101 + 1);
    return 1514;
}

static void put32le(uint8_t* p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: make_pcap OUT SIZE_MIB [SEED]\n");
        return 2;
    }
    uint64_t target = strtoull(argv[2], NULL, 10) << 20;
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) * 2654435761u + 1 : 88172645463325252ULL;
    FILE* out = fopen(argv[1], "wb");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(out, buf, _IOFBF, sizeof buf);
    uint8_t hdr[24] = {0};
    put32le(hdr, 0xA1B2C3D4);
    hdr[4] = 2;
    hdr[6] = 4;
    put32le(hdr + 16, 262144);
    put32le(hdr + 20, 1);
    fwrite(hdr, 1, sizeof hdr, out);
    uint64_t written = sizeof hdr, records = 0;
    uint32_t sec = 1767225600, usec = 0;  // 2026-01-01T00:00:00Z
    uint8_t rec[16 + 1600];
    while (written < target) {
        size_t len = build_frame(rec + 16, pick_size(), (uint32_t)records);
        usec += 1 + rnd() % 16;
        if (usec >= 1000000) {
            usec -= 1000000;
            ++sec;
        }
        put32le(rec, sec);
        put32le(rec + 4, usec);
        put32le(rec + 8, (uint32_t)len);
        put32le(rec + 12, (uint32_t)len);
        if (fwrite(rec, 1, 16 + len, out) != 16 + len) {
            perror(argv[1]);
            return 1;
        }
        written += 16 + len;
        ++records;
    }
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("records %llu bytes %llu\n", (unsigned long long)records, (unsigned long long)written);
    return 0;
}
