/* Minimal TPACKET_V3 reader: the floor of user-space capture cost for the benchmark.
 *
 * Per block: one acquire load of the block status (poll() only when the next block is not ours),
 * one release store to hand it back. Per packet: follow tp_next_offset and add tp_snaplen, and
 * nothing else unless -w (copy into a pcap buffer) or -l/-L (read the send stamp) asks for it.
 *
 *   min_reader_v3 -i IF [-b 262144] [-n 256] [-t MS] [-w FILE|-] [-U] [-Z] [-l | -L FILE]
 *
 * -t 0 (default) lets the kernel choose the block retire timeout (8 ms when the link speed is
 * unknown, as on veth). Ends on SIGINT/SIGTERM with tcpdump's three count lines on stderr. */
#include "min_common.h"

int main(int argc, char **argv) {
    struct opts o = parse_opts(argc, argv, 1);
    install_signals();

    int fd = open_socket(TPACKET_V3);
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = (unsigned)o.block_size;
    req.tp_block_nr = o.blocks;
    req.tp_frame_size = 2048; /* V3 ignores it for packing, but the kernel checks the arithmetic */
    req.tp_frame_nr = (unsigned)(o.block_size / 2048) * o.blocks;
    req.tp_retire_blk_tov = o.tov_ms;
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) die("PACKET_RX_RING");
    unsigned char *ring = map_ring(fd, o.block_size * o.blocks);
    bind_promisc(fd, o.ifname);

    struct writer w = {0};
    if (o.write_path) writer_open(&w, o.write_path);
    if (o.zero_copy) writer_flush(&w); /* the file header; then everything goes by writev() */
    static struct iovec iov[1024];     /* IOV_MAX: a record header and its packet each */
    static struct pcap_rec hdr[512];
    struct lat lat = {0};
    fprintf(
        stderr,
        "listening on %s, TPACKET_V3 ring %zu KiB (%u blocks of %zu KiB, block timeout %s%u ms)\n",
        o.ifname, o.block_size * o.blocks >> 10, o.blocks, o.block_size >> 10,
        o.tov_ms ? "" : "kernel default, ", o.tov_ms);

    uint64_t packets = 0, bytes = 0;
    unsigned cur = 0;
    while (!g_stop) {
        struct tpacket_block_desc *bd = (void *)(ring + (size_t)cur * o.block_size);
        if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
            if (o.flush_each && w.used) writer_flush(&w);
            struct pollfd p = {.fd = fd, .events = POLLIN | POLLERR};
            if (poll(&p, 1, 1000) < 0 && errno != EINTR) die("poll");
            continue;
        }
        const uint32_t n = bd->hdr.bh1.num_pkts;
        struct tpacket3_hdr *h = (void *)((unsigned char *)bd + bd->hdr.bh1.offset_to_first_pkt);
        if (o.latency) {
            const int64_t now = realtime_ns(); /* the whole block reaches us at once */
            for (uint32_t i = 0; i < n; ++i) {
                lat_add(&lat, (unsigned char *)h + h->tp_mac, h->tp_snaplen, now);
                bytes += h->tp_snaplen;
                h = (void *)((unsigned char *)h + h->tp_next_offset);
            }
        } else if (o.write_path && o.zero_copy) {
            int k = 0;
            for (uint32_t i = 0; i < n; ++i) {
                struct pcap_rec *r = &hdr[k / 2];
                *r = (struct pcap_rec){h->tp_sec, h->tp_nsec / 1000, h->tp_snaplen, h->tp_len};
                iov[k] = (struct iovec){r, sizeof *r};
                iov[k + 1] = (struct iovec){(unsigned char *)h + h->tp_mac, h->tp_snaplen};
                k += 2;
                if (k == 1024) {
                    writev_all(w.fd, iov, k);
                    k = 0;
                }
                bytes += h->tp_snaplen;
                h = (void *)((unsigned char *)h + h->tp_next_offset);
            }
            writev_all(w.fd, iov, k); /* before the block goes back to the kernel */
        } else if (o.write_path) {
            for (uint32_t i = 0; i < n; ++i) {
                writer_put(&w, h->tp_sec, h->tp_nsec, (unsigned char *)h + h->tp_mac, h->tp_snaplen,
                           h->tp_len);
                bytes += h->tp_snaplen;
                h = (void *)((unsigned char *)h + h->tp_next_offset);
            }
        } else {
            for (uint32_t i = 0; i < n; ++i) {
                bytes += h->tp_snaplen;
                h = (void *)((unsigned char *)h + h->tp_next_offset);
            }
        }
        packets += n;
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        if (++cur == o.blocks) cur = 0;
    }
    if (o.write_path) writer_flush(&w);

    struct tpacket_stats_v3 st;
    socklen_t len = sizeof st;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) die("PACKET_STATISTICS");
    print_counts(packets, st.tp_packets, st.tp_drops); /* the kernel adds drops into tp_packets */
    fprintf(stderr, "%llu bytes captured, %u times the ring was frozen\n",
            (unsigned long long)bytes, st.tp_freeze_q_cnt);
    if (o.latency) lat_report(&lat, o.lat_path);
    return 0;
}
