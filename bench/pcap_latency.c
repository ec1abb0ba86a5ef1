/* Reads a pcap stream on stdin (e.g. `tcpdump -U -w - | pcap_latency`) and, for every record
 * holding a ringcap gen stamp, records (CLOCK_REALTIME right after the read() that completed the
 * record) - (send time in the payload). Prints the count and percentiles at EOF; -L FILE also
 * writes every sample (ns, one per line). The clock is read once per read() return, before any
 * parsing, so the cost measured is the writer's path through the pipe plus our wake-up.
 *
 * -t: printed lines instead (`ringcap -tt --nano | pcap_latency -t`): each line starts with the
 * packet's capture time, SECONDS.NANOSECONDS, which is taken by the kernel on the sending CPU a
 * few microseconds after the send time (veth), and the sample is (arrival) - (that time).
 *
 *   tcpdump -i IF -U -w - | pcap_latency [-L FILE]
 *   ringcap -i IF -tt --nano | pcap_latency -t [-L FILE] */
#include "min_common.h"

/* Printed lines: every whole line in buf[*off..used) whose first word is SEC.NSEC. */
static void text_lines(struct lat *lat, const unsigned char *buf, size_t *off, size_t used,
                       int64_t now, uint64_t *records) {
    for (;;) {
        const unsigned char *start = buf + *off;
        const unsigned char *nl = memchr(start, '\n', used - *off);
        if (!nl) return;
        *off = (size_t)(nl - buf) + 1;
        char *end = NULL;
        const long long sec = strtoll((const char *)start, &end, 10);
        if (end == (const char *)start || *end != '.') continue; /* hex dump, other lines */
        const long long nsec = strtoll(end + 1, NULL, 10);
        lat_push(lat, now - (sec * 1000000000LL + nsec));
        ++*records;
    }
}

int main(int argc, char **argv) {
    const char *lat_path = "";
    int c, text = 0;
    while ((c = getopt(argc, argv, "L:t")) != -1) {
        if (c == 'L')
            lat_path = optarg;
        else if (c == 't')
            text = 1;
        else {
            fprintf(stderr, "usage: %s [-t] [-L FILE] < pcap-stream or printed lines\n", argv[0]);
            return 2;
        }
    }
    signal(SIGINT, SIG_IGN); /* the writer is told to stop; we end at its EOF */
    size_t cap = 4 << 20, used = 0, off = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) die("malloc");
    struct lat lat = {0};
    uint64_t records = 0;
    int have_header = 0, swapped = 0;
    for (;;) {
        if (used == cap) { /* compact; grow when one record needs it */
            if (off == 0) {
                cap *= 2;
                buf = realloc(buf, cap);
                if (!buf) die("realloc");
            } else {
                memmove(buf, buf + off, used - off);
                used -= off;
                off = 0;
            }
        }
        ssize_t n = read(STDIN_FILENO, buf + used, cap - used);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("read");
        }
        if (n == 0) break;
        const int64_t now = realtime_ns();
        used += (size_t)n;
        if (text) {
            text_lines(&lat, buf, &off, used, now, &records);
            if (off == used) off = used = 0;
            continue;
        }
        if (!have_header) {
            if (used < 24) continue;
            uint32_t magic;
            memcpy(&magic, buf, 4);
            if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
                swapped = 0;
            else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
                swapped = 1;
            else {
                fprintf(stderr, "pcap_latency: not a pcap stream\n");
                return 1;
            }
            have_header = 1;
            off = 24;
        }
        while (used - off >= 16) {
            uint32_t caplen;
            memcpy(&caplen, buf + off + 8, 4);
            if (swapped) caplen = __builtin_bswap32(caplen);
            if (used - off < 16 + (size_t)caplen) break;
            lat_add(&lat, buf + off + 16, caplen, now);
            ++records;
            off += 16 + caplen;
        }
        if (off == used) off = used = 0;
    }
    fprintf(stderr, "%llu records read\n", (unsigned long long)records);
    lat_report(&lat, lat_path);
    return 0;
}
