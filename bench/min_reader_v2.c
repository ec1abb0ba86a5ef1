/* Minimal TPACKET_V2 reader: the floor of user-space cost with one frame per packet.
 *
 * Per frame: one acquire load of tp_status (poll() only when the next frame is not ours), add
 * tp_snaplen, one release store to hand the frame back. -w copies into a pcap buffer, -l/-L
 * reads the send stamp and takes the arrival time per frame.
 *
 *   min_reader_v2 -i IF [-b 65536] [-n 1024] [-f 2048] [-w FILE|-] [-U] [-l | -L FILE]
 *
 * Default ring: 1024 blocks of 64 KiB, 2048-byte frames = 32768 frames in 64 MiB (room for a
 * 1514-byte frame; larger packets are cut to the frame). Ends on SIGINT/SIGTERM with tcpdump's
 * three count lines on stderr. */
#include "min_common.h"

int main(int argc, char **argv) {
    struct opts o = parse_opts(argc, argv, 0);
    install_signals();

    int fd = open_socket(TPACKET_V2);
    struct tpacket_req req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = (unsigned)o.block_size;
    req.tp_block_nr = o.blocks;
    req.tp_frame_size = o.frame_size;
    req.tp_frame_nr = (unsigned)(o.block_size / o.frame_size) * o.blocks;
    if (o.block_size % o.frame_size != 0) {
        fprintf(stderr, "min_reader_v2: block size must be a multiple of the frame size\n");
        return 2;
    }
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) die("PACKET_RX_RING");
    const unsigned frames = req.tp_frame_nr;
    unsigned char *ring = map_ring(fd, o.block_size * o.blocks); /* frames are contiguous */
    bind_promisc(fd, o.ifname);

    struct writer w = {0};
    if (o.write_path) writer_open(&w, o.write_path);
    struct lat lat = {0};
    fprintf(stderr, "listening on %s, TPACKET_V2 ring %zu KiB (%u frames of %u bytes)\n", o.ifname,
            o.block_size * o.blocks >> 10, frames, o.frame_size);

    uint64_t packets = 0, bytes = 0;
    unsigned cur = 0;
    while (!g_stop) {
        struct tpacket2_hdr *h = (void *)(ring + (size_t)cur * o.frame_size);
        if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
            if (o.flush_each && w.used) writer_flush(&w);
            struct pollfd p = {.fd = fd, .events = POLLIN | POLLERR};
            if (poll(&p, 1, 1000) < 0 && errno != EINTR) die("poll");
            continue;
        }
        if (o.latency)
            lat_add(&lat, (unsigned char *)h + h->tp_mac, h->tp_snaplen, realtime_ns());
        else if (o.write_path)
            writer_put(&w, h->tp_sec, h->tp_nsec, (unsigned char *)h + h->tp_mac, h->tp_snaplen,
                       h->tp_len);
        bytes += h->tp_snaplen;
        ++packets;
        __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        if (++cur == frames) cur = 0;
    }
    if (o.write_path) writer_flush(&w);

    struct tpacket_stats st;
    socklen_t len = sizeof st;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) die("PACKET_STATISTICS");
    print_counts(packets, st.tp_packets, st.tp_drops);
    fprintf(stderr, "%llu bytes captured\n", (unsigned long long)bytes);
    if (o.latency) lat_report(&lat, o.lat_path);
    return 0;
}
