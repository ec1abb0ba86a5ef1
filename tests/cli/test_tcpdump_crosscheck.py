#!/usr/bin/python3
"""ringcap and tcpdump capture the same interface at the same time; their files must hold the
same packets, byte for byte, in the same order (timestamps aside)."""
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402


def test_frames(net):
    """Known traffic: several sizes, 802.1Q tags (veth strips them into metadata), an 802.1ad
    tag, ARP, a multicast and an unknown EtherType. Sent to addresses the capture namespace
    does not answer, so nothing else appears on the wire."""
    src, here = net.snd_mac, net.cap_mac
    return [
        nf.udp_frame(nf.OTHER_HOST, src, 60),
        nf.udp_frame(nf.OTHER_HOST, src, 100, fill=1),
        nf.udp_frame(here, src, 500, fill=2),
        nf.udp_frame(nf.OTHER_HOST, src, 1514, fill=3),
        nf.udp_frame(nf.OTHER_HOST, src, 300, dport=7001, fill=4),
        nf.udp_frame(nf.OTHER_HOST, src, 200, vlan=(42, 5), fill=5),
        nf.udp_frame(nf.OTHER_HOST, src, 1518, vlan=(42, 0), fill=6),
        nf.udp_frame(nf.OTHER_HOST, src, 120, vlan=(7, 3), fill=7),
        nf.udp_frame(nf.OTHER_HOST, src, 130, vlan=(42, 1), dport=7001, fill=8),
        nf.udp_frame(nf.OTHER_HOST, src, 140, vlan=(100, 2), tpid=0x88A8, fill=9),
        nf.arp_request(src, "10.213.0.2", "10.213.0.99"),
        nf.udp_frame(nf.MULTICAST, src, 90, fill=10),
        nf.raw_frame(nf.OTHER_HOST, src, 0x88B5, 64),
        nf.udp_frame(nf.OTHER_HOST, src, 61, fill=11),
    ]


@nf.skip_unless_ready("tcpdump")
class CrossCheckWithTcpdump(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-")
        self.addCleanup(self.tmp.cleanup)

    def capture_both(self, frames, expected_count, ringcap_args=(), tcpdump_args=(), filt=(),
                     iface=None, traffic=None):
        """Runs both on the same interface, sends the frames, waits until both files hold
        expected_count records (then a little longer, to catch extras), stops both with SIGINT.
        Returns (ringcap file, tcpdump file)."""
        iface = iface or self.net.cap_if
        a = os.path.join(self.tmp.name, "ringcap.pcap")
        b = os.path.join(self.tmp.name, "tcpdump.pcap")
        rc = self.start_ringcap("-i", iface, "-w", a, "-U", *ringcap_args, *filt)
        # tcpdump's default 2 MiB ring holds only ~30 of the 64 KiB frames libpcap sizes for an
        # offloading interface (veth): a burst of GRO'd segments on a busy 2-CPU machine can
        # fill it and tcpdump drops one. 64 MiB keeps the comparison about content.
        td = self.start_tcpdump("-i", iface, "-w", b, "-U", "--immediate-mode", "-n",
                                "-B", "65536", *tcpdump_args, *filt)
        if traffic is not None:
            traffic()
        else:
            self.net.send(frames, gap=0.002)
        ok = nf.wait_until(lambda: nf.count_records(a) >= expected_count
                           and nf.count_records(b) >= expected_count, timeout=10)
        # Late packets (a TCP close the server's process gets round to slowly) must reach both
        # files before the stop: wait until the two counts agree and hold still for 0.3 s.
        seen = []
        def settled():
            seen.append((nf.count_records(a), nf.count_records(b)))
            return len(seen) > 6 and len(set(seen[-7:])) == 1 and seen[-1][0] == seen[-1][1]
        nf.wait_until(settled, timeout=5)
        for p in (rc, td):
            p.send_signal(signal.SIGINT)
        status_r, _, err_r = rc.finish()
        status_t, _, err_t = td.finish()
        self.assertEqual(status_r, 0, err_r)
        self.assertEqual(status_t, 0, err_t)
        self.assertEqual(self.assert_summary(err_r)[2], 0, "ringcap dropped packets:\n" + err_r)
        self.assertEqual(self.assert_summary(err_t)[2], 0, "tcpdump dropped packets:\n" + err_t)
        fa, fb = nf.read_pcap(a), nf.read_pcap(b)
        self.assertTrue(ok, f"records: ringcap {len(fa.records)}, tcpdump {len(fb.records)}, "
                        f"expected {expected_count}")
        return fa, fb

    def assert_same_packets(self, fa, fb):
        self.assertEqual(fa.linktype, fb.linktype)
        self.assertEqual(fa.snaplen, fb.snaplen)
        ra = [(r.caplen, r.length, r.data) for r in fa.records]
        rb = [(r.caplen, r.length, r.data) for r in fb.records]
        self.assertEqual(len(ra), len(rb), "different packet counts")
        for i, (x, y) in enumerate(zip(ra, rb)):
            self.assertEqual(x[:2], y[:2], f"packet {i}: (caplen, len) differ")
            self.assertEqual(x[2].hex(), y[2].hex(), f"packet {i}: bytes differ")

    def test_everything_no_filter(self):
        frames = test_frames(self.net)
        fa, fb = self.capture_both(frames, len(frames))
        self.assert_same_packets(fa, fb)
        self.assertEqual(fa.linktype, nf.LINKTYPE_ETHERNET)
        # And both hold exactly what was sent: tags back in place, nothing else on the wire.
        self.assertEqual([r.data for r in fa.records], frames)
        self.assertEqual([r.length for r in fa.records], [len(f) for f in frames])

    def test_filter_udp_port(self):
        frames = test_frames(self.net)
        # Untagged UDP to port 7000: the 60, 100, 500, 1514, multicast and 61-byte frames.
        # (Whether tagged frames match too depends on libpcap's Linux VLAN code; both tools
        # share it, so only equality is asserted for them.)
        fa, fb = self.capture_both(frames, 6, filt=("udp", "port", "7000"))
        self.assert_same_packets(fa, fb)
        untagged = [f for f in frames if f[12:14] == b"\x08\x00" and f[36:38] == b"\x1b\x58"]
        got = [r.data for r in fa.records]
        self.assertEqual([d for d in got if d[12:14] == b"\x08\x00"], untagged)
        self.assertNotIn(frames[4], got)  # port 7001

    def test_filter_vlan(self):
        frames = test_frames(self.net)
        tagged42 = [f for f in frames if f[12:14] == b"\x81\x00" and
                    int.from_bytes(f[14:16], "big") & 0xFFF == 42]
        self.assertEqual(len(tagged42), 3)
        fa, fb = self.capture_both(frames, len(tagged42), filt=("vlan", "42"))
        self.assert_same_packets(fa, fb)
        self.assertEqual([r.data for r in fa.records], tagged42)

    def test_filter_vlan_and_udp_port(self):
        frames = test_frames(self.net)
        fa, fb = self.capture_both(frames, 2, filt=("vlan", "42", "and", "udp", "port", "7000"))
        self.assert_same_packets(fa, fb)
        self.assertEqual([r.data for r in fa.records], [frames[5], frames[6]])

    def test_snaplen_100(self):
        frames = test_frames(self.net)
        fa, fb = self.capture_both(frames, len(frames), ringcap_args=("-s", "100"),
                                   tcpdump_args=("-s", "100"))
        self.assert_same_packets(fa, fb)
        self.assertEqual(fa.snaplen, 100)
        self.assertEqual([r.caplen for r in fa.records], [min(100, len(f)) for f in frames])
        self.assertEqual([r.data for r in fa.records], [f[:100] for f in frames])

    def test_tpacket_v2(self):
        frames = test_frames(self.net)
        fa, fb = self.capture_both(frames, len(frames), ringcap_args=("--tpacket=2",))
        self.assert_same_packets(fa, fb)
        self.assertEqual([r.data for r in fa.records], frames)

    # -- real traffic in both directions: ping across the veth --

    def ping(self):
        self.net.add_addresses()
        def traffic():
            r = nf.run(self.net.snd(["ping", "-c", "3", "-i", "0.2", "-W", "2",
                                     nf.NetPair.CAP_IP]), timeout=20)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return traffic

    def test_ping_both_directions(self):
        # ARP request in, reply out; three echo requests in, three replies out.
        fa, fb = self.capture_both(None, 8, traffic=self.ping())
        self.assert_same_packets(fa, fb)
        types = [r.data[12:14].hex() for r in fa.records[:2]]
        self.assertEqual(types, ["0806", "0806"])
        echo = [r.data[34] for r in fa.records if r.data[12:14] == b"\x08\x00"
                and r.data[23] == 1]
        self.assertEqual(echo, [8, 0, 8, 0, 8, 0])

    def test_direction_in(self):
        fa, fb = self.capture_both(None, 4, ringcap_args=("-Q", "in"), tcpdump_args=("-Q", "in"),
                                   traffic=self.ping())
        self.assert_same_packets(fa, fb)
        self.assertTrue(all(r.data[6:12] == nf.mac_bytes(self.net.snd_mac) for r in fa.records))

    def test_direction_out(self):
        fa, fb = self.capture_both(None, 4, ringcap_args=("-Q", "out"),
                                   tcpdump_args=("-Q", "out"), traffic=self.ping())
        self.assert_same_packets(fa, fb)
        self.assertTrue(all(r.data[6:12] == nf.mac_bytes(self.net.cap_mac) for r in fa.records))

    def test_any_direction_in(self):
        fa, fb = self.capture_both(None, 4, iface="any", ringcap_args=("-Q", "in"),
                                   tcpdump_args=("-Q", "in"), traffic=self.ping())
        self.assert_same_packets(fa, fb)
        self.assertTrue(all(r.data[10] != 4 for r in fa.records))  # never PACKET_OUTGOING

    def test_any_direction_out(self):
        fa, fb = self.capture_both(None, 4, iface="any", ringcap_args=("-Q", "out"),
                                   tcpdump_args=("-Q", "out"), traffic=self.ping())
        self.assert_same_packets(fa, fb)
        self.assertTrue(all(r.data[10] == 4 for r in fa.records))

    def test_any_inbound_filter(self):
        # "inbound" reads the SLL2 packet type: the kernel gets it as an ancillary load.
        fa, fb = self.capture_both(None, 4, iface="any", filt=("inbound",), traffic=self.ping())
        self.assert_same_packets(fa, fb)
        self.assertTrue(all(r.data[10] != 4 for r in fa.records))  # never PACKET_OUTGOING

    def test_any_outbound_icmp_filter(self):
        fa, fb = self.capture_both(None, 3, iface="any", filt=("outbound", "and", "icmp"),
                                   traffic=self.ping())
        self.assert_same_packets(fa, fb)
        self.assertEqual([r.data[10] for r in fa.records], [4, 4, 4])

    def http_download(self, size=300_000):
        """curl in the capture namespace fetches a file from python3 -m http.server in the
        other: TCP both ways, and on the way in, GRO/GSO packets far larger than the MTU."""
        self.net.add_addresses()
        www = os.path.join(self.tmp.name, "www")
        os.mkdir(www)
        with open(os.path.join(www, "blob"), "wb") as f:
            f.write(bytes(i * 7 & 0xFF for i in range(size)))
        server = nf.Proc(self.net.snd([nf.PYTHON, "-m", "http.server", "--bind",
                                       nf.NetPair.SND_IP, "--directory", www, "8080"]))
        self.addCleanup(server.kill)
        up = nf.wait_until(lambda: nf.run(self.net.snd(["ss", "-Hltn", "sport = :8080"]))
                           .stdout.strip() != "", timeout=10)
        self.assertTrue(up, "http.server did not start: " + server.stderr())
        out = os.path.join(self.tmp.name, "got")

        def traffic():
            r = nf.run(self.net.cap(["curl", "-sS", "--max-time", "20", "-o", out,
                                     f"http://{nf.NetPair.SND_IP}:8080/blob"]), timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.path.getsize(out), size)
        return traffic

    def assert_same_per_direction(self, fa, fb):
        """Incoming and outgoing packets are handed to the sockets on different CPUs, so the
        two tools may interleave the two directions differently; each direction on its own,
        and the whole set, must still agree."""
        mine = nf.mac_bytes(self.net.cap_mac)
        def split(f):
            recs = [(r.caplen, r.length, r.data) for r in f.records]
            return ([x for x in recs if x[2][6:12] == mine],
                    [x for x in recs if x[2][6:12] != mine])
        (oa, ia), (ob, ib) = split(fa), split(fb)
        self.assertEqual(len(oa), len(ob), "outgoing counts differ")
        self.assertEqual(len(ia), len(ib), "incoming counts differ")
        for name, xa, xb in (("out", oa, ob), ("in", ia, ib)):
            for i, (x, y) in enumerate(zip(xa, xb)):
                self.assertEqual(x[:2], y[:2], f"{name} packet {i}: (caplen, len) differ")
                self.assertTrue(x[2] == y[2], f"{name} packet {i}: bytes differ")

    def test_http_tcp(self):
        fa, fb = self.capture_both(None, 10, traffic=self.http_download(),
                                   filt=("tcp", "port", "8080"))
        self.assert_same_per_direction(fa, fb)
        self.assertGreater(max(r.length for r in fa.records), 1514)  # GRO'd segments

    def test_http_tcp_v2(self):
        """TPACKET_V2 (also what --immediate-mode picks): frames must hold the aggregated
        packets too. libpcap sizes V2 frames for 65535 + 18 bytes when the interface does
        offloading (veth does GRO/GSO/TSO), so tcpdump keeps them whole."""
        fa, fb = self.capture_both(None, 10, traffic=self.http_download(),
                                   ringcap_args=("--tpacket=2",), filt=("tcp", "port", "8080"))
        cut = [r for r in fa.records if r.caplen < r.length]
        self.assertEqual(len([r for r in fb.records if r.caplen < r.length]), 0)
        self.assertEqual(
            len(cut), 0, f"ringcap --tpacket=2 truncated {len(cut)} of {len(fa.records)} packets "
            f"(caplen {max((r.caplen for r in cut), default=0)}, lengths up to "
            f"{max((r.length for r in cut), default=0)}) although the snapshot length is "
            f"{fa.snaplen}: its V2 frames are sized for MTU + 18 only")
        self.assert_same_per_direction(fa, fb)

    # -- -i any --

    @staticmethod
    def untag_sll2(rec):
        """ringcap puts a stripped tag back into SLL2 records too (protocol 0x8100, then TCI and
        the inner EtherType after the 20-byte header); libpcap 1.10 inserts tags only for
        Ethernet and SLL (vlan_offset is -1 for SLL2), so tcpdump -i any loses them. The same
        record without the tag, as tcpdump writes it."""
        if rec.data[0:2] not in (b"\x81\x00", b"\x88\xa8") or rec.caplen < 24:
            return rec
        data = rec.data[22:24] + rec.data[2:20] + rec.data[24:]
        return rec._replace(caplen=rec.caplen - 4, length=rec.length - 4, data=data)

    def check_any(self, frames, fa, fb):
        self.assertEqual(fa.linktype, nf.LINKTYPE_LINUX_SLL2)
        self.assertEqual(fb.linktype, nf.LINKTYPE_LINUX_SLL2)
        untagged = fa._replace(records=[self.untag_sll2(r) for r in fa.records])
        self.assert_same_packets(untagged, fb)
        # ringcap's own records: the SLL2 header, then the frame from its EtherType on (with the
        # tag for tagged frames: SLL2 protocol = TPID, then TCI, inner type, payload).
        by_payload = {f[12:]: f for f in frames}
        for rec in fa.records:
            hdr, body = rec.data[:20], rec.data[20:]
            frame = by_payload.get(hdr[0:2] + body)
            self.assertIsNotNone(frame, f"unexpected record {rec.data[:48].hex()}")
            self.assertEqual(rec.length, len(frame) - 14 + 20)
            ifindex = int.from_bytes(hdr[4:8], "big")
            self.assertEqual(ifindex, nf.NetPair.link_info(self.net.cap_ns,
                                                           self.net.cap_if)["ifindex"])
            self.assertEqual(int.from_bytes(hdr[8:10], "big"), 1)  # ARPHRD_ETHER
            self.assertEqual(hdr[11], 6)                           # halen
            self.assertEqual(hdr[12:18], frame[6:12])              # source MAC

    def test_any_interface_cooked(self):
        frames = test_frames(self.net)
        fa, fb = self.capture_both(frames, len(frames), iface="any")
        self.check_any(frames, fa, fb)
        self.assertEqual(len(fa.records), len(frames))
        tagged = [r for r in fa.records if r.data[0:2] == b"\x81\x00"]
        self.assertEqual(len(tagged), 4)
        self.assertEqual(tagged[0].data[20:24], bytes.fromhex("a02a0800"))  # pcp 5, vid 42, IPv4

    def test_any_interface_cooked_filter(self):
        frames = test_frames(self.net)
        fa, fb = self.capture_both(frames, 6, iface="any", filt=("udp", "port", "7000"))
        self.check_any(frames, fa, fb)

if __name__ == "__main__":
    nf.main()
