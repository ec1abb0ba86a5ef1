/* Shared by min_reader_v3.c and min_reader_v2.c: option parsing, socket set-up steps both ring
 * versions need, the pcap writer, the latency recorder and the exit report. Plain C, no
 * dependencies. Everything per packet is inline and does the least that each mode needs. */
#ifndef RINGCAP_BENCH_MIN_COMMON_H
#define RINGCAP_BENCH_MIN_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MR_UNUSED __attribute__((unused))

static volatile sig_atomic_t g_stop;
MR_UNUSED static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

MR_UNUSED static void die(const char *what) {
    fprintf(stderr, "min_reader: %s: %s\n", what, strerror(errno));
    exit(1);
}

struct opts {
    const char *ifname;
    size_t block_size; /* bytes */
    unsigned blocks;
    unsigned frame_size; /* V2 only */
    unsigned tov_ms;     /* V3 only; 0 = the kernel chooses (8 ms when the link speed is unknown) */
    const char *write_path; /* pcap output, "-" = stdout */
    int flush_each;         /* -U: write out whenever the ring runs empty */
    int zero_copy;          /* -Z (V3): -w with writev() straight from the ring, block by block */
    const char *lat_path;   /* latency mode: per-packet samples (ns) to this file ("" = none) */
    int latency;
};

MR_UNUSED static void usage(const char *prog, int v3) {
    fprintf(stderr,
            "usage: %s -i IF [-b BLOCK_BYTES] [-n BLOCKS]%s [-w FILE|-] [-U] [-l] [-L FILE]\n"
            "  counts packets until SIGINT/SIGTERM, then prints tcpdump's three count lines\n"
            "  -w  write a pcap (microsecond) file; -U  write it out whenever the ring is empty\n"
            "  -Z  (V3) with -w: writev() headers and packets straight from the ring, per block\n"
            "  -l  latency mode: arrival (CLOCK_REALTIME) - ringcap gen send stamp, percentiles\n"
            "  -L  latency mode, and write every sample (ns, one per line) to FILE\n",
            prog, v3 ? " [-t BLOCK_TIMEOUT_MS]" : " [-f FRAME_BYTES]");
    exit(2);
}

MR_UNUSED static struct opts parse_opts(int argc, char **argv, int v3) {
    struct opts o = {.block_size = v3 ? 256 * 1024 : 64 * 1024,
                     .blocks = v3 ? 256 : 1024,
                     .frame_size = 2048,
                     .lat_path = ""};
    int c;
    while ((c = getopt(argc, argv, "i:b:n:f:t:w:UZlL:")) != -1) {
        switch (c) {
            case 'i':
                o.ifname = optarg;
                break;
            case 'b':
                o.block_size = strtoul(optarg, NULL, 0);
                break;
            case 'n':
                o.blocks = (unsigned)strtoul(optarg, NULL, 0);
                break;
            case 'f':
                o.frame_size = (unsigned)strtoul(optarg, NULL, 0);
                break;
            case 't':
                o.tov_ms = (unsigned)strtoul(optarg, NULL, 0);
                break;
            case 'w':
                o.write_path = optarg;
                break;
            case 'U':
                o.flush_each = 1;
                break;
            case 'Z':
                o.zero_copy = 1;
                break;
            case 'l':
                o.latency = 1;
                break;
            case 'L':
                o.latency = 1;
                o.lat_path = optarg;
                break;
            default:
                usage(argv[0], v3);
        }
    }
    if (!o.ifname) usage(argv[0], v3);
    return o;
}

MR_UNUSED static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Protocol 0 so that nothing is queued before the ring exists; bound with ETH_P_ALL later. */
MR_UNUSED static int open_socket(int version) {
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) die("socket(AF_PACKET)");
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0)
        die("PACKET_VERSION");
    return fd;
}

MR_UNUSED static void *map_ring(int fd, size_t len) {
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED)
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    return p;
}

MR_UNUSED static void bind_promisc(int fd, const char *ifname) {
    int ifindex = (int)if_nametoindex(ifname);
    if (ifindex == 0) die(ifname);
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind");
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC; /* as tcpdump and ringcap by default */
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
        die("PACKET_ADD_MEMBERSHIP");
}

static inline int64_t realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- pcap writer: one copy into a 128 KiB buffer, one write() per buffer ---- */
struct writer {
    int fd;
    unsigned char *buf;
    size_t used, cap;
};
struct pcap_rec {
    uint32_t sec, usec, caplen, len;
};

MR_UNUSED static void writer_flush(struct writer *w) {
    size_t off = 0;
    while (off < w->used) {
        ssize_t n = write(w->fd, w->buf + off, w->used - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("write");
        }
        off += (size_t)n;
    }
    w->used = 0;
}

MR_UNUSED static void writer_open(struct writer *w, const char *path) {
    w->fd = strcmp(path, "-") == 0 ? STDOUT_FILENO
                                   : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) die(path);
    w->cap = 128 << 10; /* as ringcap's live captures: it stays in L2 between wake-ups */
    w->buf = malloc(w->cap);
    if (!w->buf) die("malloc");
    struct {
        uint32_t magic;
        uint16_t maj, min;
        int32_t zone;
        uint32_t sigfigs, snaplen, link;
    } h = {0xa1b2c3d4, 2, 4, 0, 0, 262144, 1};
    memcpy(w->buf, &h, sizeof h);
    w->used = sizeof h;
}

/* writev() of every iovec, resuming after short writes. */
MR_UNUSED static void writev_all(int fd, struct iovec *iov, int n) {
    while (n > 0) {
        ssize_t done = writev(fd, iov, n);
        if (done < 0) {
            if (errno == EINTR) continue;
            die("writev");
        }
        while (n > 0 && (size_t)done >= iov->iov_len) {
            done -= (ssize_t)iov->iov_len;
            ++iov;
            --n;
        }
        if (n > 0) {
            iov->iov_base = (unsigned char *)iov->iov_base + done;
            iov->iov_len -= (size_t)done;
        }
    }
}

static inline void writer_put(struct writer *w, uint32_t sec, uint32_t nsec, const void *data,
                              uint32_t caplen, uint32_t len) {
    if (w->used + sizeof(struct pcap_rec) + caplen > w->cap) {
        writer_flush(w);
        if (sizeof(struct pcap_rec) + caplen > w->cap) { /* larger than the buffer: straight out */
            struct pcap_rec r = {sec, nsec / 1000, caplen, len};
            memcpy(w->buf, &r, sizeof r);
            w->used = sizeof r;
            writer_flush(w);
            if (write(w->fd, data, caplen) != (ssize_t)caplen) die("write");
            return;
        }
    }
    struct pcap_rec r = {sec, nsec / 1000, caplen, len};
    memcpy(w->buf + w->used, &r, sizeof r);
    memcpy(w->buf + w->used + sizeof r, data, caplen);
    w->used += sizeof r + caplen;
}

/* ---- latency: arrival - the send time ringcap gen wrote at payload offset 8 (IPv4/UDP: 50) ----
 */
struct lat {
    int64_t *v;
    size_t n, cap;
};

static inline uint64_t be64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline void lat_push(struct lat *l, int64_t sample) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 65536;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) die("realloc");
    }
    l->v[l->n++] = sample;
}

static inline void lat_add(struct lat *l, const unsigned char *frame, uint32_t caplen,
                           int64_t now) {
    /* Ethernet / IPv4 (IHL 5) / UDP: the stamp is seq at 42, send time at 50. */
    if (caplen < 58 || frame[12] != 0x08 || frame[13] != 0x00 || frame[23] != 17) return;
    lat_push(l, now - (int64_t)be64(frame + 50));
}

MR_UNUSED static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

MR_UNUSED static void lat_report(struct lat *l, const char *path) {
    if (path && *path) {
        FILE *f = fopen(path, "w");
        if (!f) die(path);
        for (size_t i = 0; i < l->n; ++i) fprintf(f, "%lld\n", (long long)l->v[i]);
        fclose(f);
    }
    if (l->n == 0) {
        fprintf(stderr, "latency: no stamped packets\n");
        return;
    }
    qsort(l->v, l->n, sizeof *l->v, cmp_i64);
#define PCT(p) (l->v[(size_t)((double)(p) * (double)(l->n - 1) + 0.5)] / 1000.0)
    fprintf(stderr, "latency us: n=%zu p50=%.1f p90=%.1f p99=%.1f max=%.1f\n", l->n, PCT(0.50),
            PCT(0.90), PCT(0.99), l->v[l->n - 1] / 1000.0);
#undef PCT
}

MR_UNUSED static void print_counts(uint64_t captured, uint64_t received, uint64_t drops) {
    fprintf(stderr,
            "%llu packets captured\n%llu packets received by filter\n"
            "%llu packets dropped by kernel\n",
            (unsigned long long)captured, (unsigned long long)received, (unsigned long long)drops);
}

#endif
