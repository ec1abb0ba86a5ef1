#!/usr/bin/python3
"""ringcap replay and ringcap gen, end to end: sent from one end of a veth pair, captured at the
other with ringcap and tcpdump at the same time.

- replay --topspeed: the multiset of frames received (by both captures) is the one in the file;
  --loop, --limit; a frame bigger than the interface takes is skipped and reported, never cut;
  a non-Ethernet file is refused; a damaged file sends every whole record before the damage,
  then exits 1 naming the file and the offset.
- gen: exactly --count frames, sequence numbers 0..N-1 in the payload, source ports cycling with
  --flows, IPv6 with -6, --size, checksums that tshark calls Good.
- Bad input: exit status 1 and one line "ringcap: ..."; an unreachable rate is reported, status 0.
- The summary line "sent N packets, B bytes in T s: X pps, Y Mbps" on stderr with the right N.
"""
import collections
import os
import re
import signal
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402
from test_errors import without_capabilities  # noqa: E402

SUMMARY = re.compile(r"^sent (\d+) packets, (\d+) bytes in ([0-9.]+) s: (\d+) pps, ([0-9.]+) Mbps$",
                     re.M)
SEND_TIMEOUT = 60  # seconds for any one ringcap replay/gen run


def write_pcap(path, frames, linktype=nf.LINKTYPE_ETHERNET, nano=True, gap_ns=1_000_000,
               start_ns=1_700_000_000_000_000_000, snaplen=262144):
    """A classic pcap file of `frames` (bytes), one every gap_ns. Returns the byte offset of
    each record."""
    offsets = []
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0,
                            snaplen, linktype))
        for i, data in enumerate(frames):
            sec, frac = divmod(start_ns + i * gap_ns, 10**9)
            if not nano:
                frac //= 1000
            offsets.append(f.tell())
            f.write(struct.pack("<IIII", sec, frac, len(data), len(data)) + data)
    return offsets


def parse_summary(test, stderr):
    """The summary line; returns (packets, bytes, seconds, pps, mbps)."""
    m = SUMMARY.search(stderr)
    test.assertIsNotNone(m, f"no summary line in stderr:\n{stderr}")
    return int(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4)), float(m.group(5))


def gen_payload(data):
    """(ethertype, seq, ts_ns, source port) of a frame made by ringcap gen."""
    (ethertype,) = struct.unpack("!H", data[12:14])
    udp = 34 if ethertype == 0x0800 else 54
    (sport,) = struct.unpack("!H", data[udp:udp + 2])
    seq, ts = struct.unpack("!QQ", data[udp + 8:udp + 24])
    return ethertype, seq, ts, sport


class TxCase(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-tx-")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def ringcap_tx(self, *args, timeout=SEND_TIMEOUT, **kw):
        """ringcap gen/replay run in the sending namespace; returns the CompletedProcess."""
        return nf.run(self.net.snd([nf.RINGCAP] + [str(a) for a in args]), timeout=timeout, **kw)

    def replay(self, *args, **kw):
        return self.ringcap_tx("replay", "-i", self.net.snd_if, *args, **kw)

    def gen(self, *args, **kw):
        return self.ringcap_tx("gen", "-i", self.net.snd_if, *args, **kw)

    def captured(self, expected, send, tcpdump=True, ringcap_args=(), settle=0.3):
        """Starts ringcap (and tcpdump) on cap_if writing files, runs send(), waits until each
        file holds `expected` records (bounded), then `settle` seconds for extras, and stops
        them. Returns (send's result, ringcap's records, tcpdump's records or None)."""
        a, b = self.path("ringcap.pcap"), self.path("tcpdump.pcap")
        caps = [(self.start_ringcap("-i", self.net.cap_if, "-w", a, "-U", *ringcap_args), a)]
        if tcpdump:
            # -B: in immediate mode libpcap uses TPACKET_V2 frames sized for veth's 64 KiB
            # offload packets; its default 2 MiB ring then holds only ~32 and drops in bursts.
            caps.append((self.start_tcpdump("-i", self.net.cap_if, "-w", b, "-U", "-B", "65536",
                                            "--immediate-mode", "-n"), b))
        result = send()
        nf.wait_until(lambda: all(nf.count_records(f) >= expected for _, f in caps), timeout=15)
        time.sleep(settle)
        for p, _ in caps:
            p.send_signal(signal.SIGINT)
        files = []
        for p, f in caps:
            status, _, err = p.finish()
            self.assertEqual(status, 0, err)
            files.append(nf.read_pcap(f).records)
        return result, files[0], (files[1] if tcpdump else None)

    def assert_ok(self, r):
        self.assertEqual(r.returncode, 0, f"stdout {r.stdout!r}\nstderr {r.stderr!r}")


@nf.skip_unless_ready("tcpdump")
class Replay(TxCase):
    def frames(self):
        """Distinct frames of many sizes; some 802.1Q-tagged (veth takes the tag off into
        metadata, both captures put it back); addressed so nobody answers."""
        src = self.net.snd_mac
        return [
            nf.udp_frame(nf.OTHER_HOST, src, 42, fill=0),
            nf.udp_frame(nf.OTHER_HOST, src, 60, fill=1),
            nf.udp_frame(nf.OTHER_HOST, src, 61, fill=2),
            nf.udp_frame(nf.OTHER_HOST, src, 100, fill=3),
            nf.udp_frame(nf.OTHER_HOST, src, 513, fill=4),
            nf.udp_frame(nf.OTHER_HOST, src, 1000, fill=5),
            nf.udp_frame(nf.OTHER_HOST, src, 1514, fill=6),
            nf.udp_frame(nf.OTHER_HOST, src, 64, vlan=(42, 5), fill=7),
            nf.udp_frame(nf.OTHER_HOST, src, 1518, vlan=(42, 0), fill=8),
            nf.udp_frame(nf.OTHER_HOST, src, 200, vlan=(7, 3), fill=9),
            nf.udp_frame(nf.MULTICAST, src, 90, fill=10),
            nf.raw_frame(nf.OTHER_HOST, src, 0x88B5, 64),
            nf.arp_request(src, "10.213.0.2", "10.213.0.99"),
            nf.udp_frame(nf.BROADCAST, src, 77, fill=11),
        ]

    def assert_same_multiset(self, records, frames, who):
        got = collections.Counter(r.data for r in records)
        want = collections.Counter(frames)
        missing = want - got
        extra = got - want
        self.assertFalse(missing or extra,
                         f"{who}: {sum(missing.values())} missing "
                         f"(sizes {sorted(len(f) for f in missing.elements())}), "
                         f"{sum(extra.values())} unexpected "
                         f"(sizes {sorted(len(f) for f in extra.elements())})")
        for r in records:
            self.assertEqual(r.caplen, r.length, f"{who}: a frame was cut")

    def test_topspeed_frames_arrive_as_sent_for_ringcap_and_tcpdump(self):
        frames = self.frames()
        path = self.path("in.pcap")
        write_pcap(path, frames)
        r, mine, theirs = self.captured(len(frames), lambda: self.replay("--topspeed", path))
        self.assert_ok(r)
        self.assert_same_multiset(mine, frames, "ringcap")
        self.assert_same_multiset(theirs, frames, "tcpdump")
        n, nbytes, *_ = parse_summary(self, r.stderr)
        self.assertEqual(n, len(frames))
        self.assertEqual(nbytes, sum(map(len, frames)))
        self.assertNotIn("skipped", r.stderr)

    def test_zero_copy_sends_the_same_frames(self):
        frames = self.frames()
        path = self.path("in.pcap")
        write_pcap(path, frames)
        r, mine, _ = self.captured(len(frames),
                                   lambda: self.replay("--topspeed", "--zero-copy", path),
                                   tcpdump=False)
        self.assert_ok(r)
        self.assert_same_multiset(mine, frames, "ringcap")
        self.assertEqual(parse_summary(self, r.stderr)[:2], (len(frames), sum(map(len, frames))))

    def test_micro_precision_and_swapped_files_replay_too(self):
        frames = self.frames()[:6]
        path = self.path("micro.pcap")
        write_pcap(path, frames, nano=False)
        # the same records, big-endian
        with open(path, "rb") as f:
            pf = nf.parse_pcap(f.read())
        be = self.path("be.pcap")
        with open(be, "wb") as f:
            f.write(struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
            for rec in pf.records:
                f.write(struct.pack(">IIII", rec.ts_sec, rec.ts_frac, rec.caplen, rec.length)
                        + rec.data)
        r, mine, _ = self.captured(2 * len(frames), lambda: self.replay("-t", path, be),
                                   tcpdump=False)
        self.assert_ok(r)
        self.assert_same_multiset(mine, frames * 2, "ringcap")

    def test_standard_input(self):
        frames = self.frames()[:6]
        path = self.path("in.pcap")
        write_pcap(path, frames)

        def send():
            with open(path, "rb") as f:
                return self.replay("-t", "-", stdin=f)
        r, mine, _ = self.captured(len(frames), send, tcpdump=False)
        self.assert_ok(r)
        self.assertEqual([x.data for x in mine], frames)

    def test_loop_three_sends_three_times(self):
        frames = self.frames()[:5]
        path = self.path("in.pcap")
        write_pcap(path, frames)
        r, mine, theirs = self.captured(15, lambda: self.replay("-t", "--loop", "3", path))
        self.assert_ok(r)
        self.assert_same_multiset(mine, frames * 3, "ringcap")
        self.assert_same_multiset(theirs, frames * 3, "tcpdump")
        self.assertEqual([x.data for x in mine], frames * 3, "not in file order")
        self.assertEqual(parse_summary(self, r.stderr)[0], 15)

    def test_limit_sends_n(self):
        frames = self.frames()
        path = self.path("in.pcap")
        write_pcap(path, frames)
        r, mine, _ = self.captured(5, lambda: self.replay("-t", "--limit", "5", path),
                                   tcpdump=False, settle=0.5)
        self.assert_ok(r)
        self.assertEqual([x.data for x in mine], frames[:5])
        self.assertEqual(parse_summary(self, r.stderr)[0], 5)

    def test_limit_across_loops(self):
        frames = self.frames()[:5]
        path = self.path("in.pcap")
        write_pcap(path, frames)
        r, mine, _ = self.captured(7, lambda: self.replay("-t", "-l", "3", "--limit", "7", path),
                                   tcpdump=False, settle=0.5)
        self.assert_ok(r)
        self.assertEqual([x.data for x in mine], (frames * 2)[:7])
        self.assertEqual(parse_summary(self, r.stderr)[0], 7)

    def test_frame_bigger_than_the_mtu_is_skipped_and_reported_never_cut(self):
        src = self.net.snd_mac
        small = nf.udp_frame(nf.OTHER_HOST, src, 100, fill=1)
        big = nf.udp_frame(nf.OTHER_HOST, src, 1515, fill=2)  # MTU 1500 + 15
        full = nf.udp_frame(nf.OTHER_HOST, src, 1514, fill=3)
        tagged = nf.udp_frame(nf.OTHER_HOST, src, 1518, vlan=(5, 0), fill=4)  # allowed: 802.1Q
        after = nf.udp_frame(nf.OTHER_HOST, src, 200, fill=5)
        path = self.path("big.pcap")
        write_pcap(path, [small, big, full, tagged, after])
        good = [small, full, tagged, after]
        r, mine, theirs = self.captured(len(good), lambda: self.replay("-t", path), settle=0.5)
        self.assert_ok(r)
        self.assert_same_multiset(mine, good, "ringcap")
        self.assert_same_multiset(theirs, good, "tcpdump")
        for rec in mine:
            self.assertFalse(big.startswith(rec.data), "a cut copy of the big frame arrived")
        self.assertRegex(r.stderr, r"(?m)^skipped 1 packets? larger than the interface allows "
                                   r"\(MTU 1500\)$")
        self.assertEqual(parse_summary(self, r.stderr)[0], len(good))
        self.assertNotIn("refused", r.stderr)

    def test_qinq_frame_gets_no_extra_room(self):
        """The kernel allows 4 bytes over MTU + 14 only for an 802.1Q tag (0x8100): an 802.1ad
        tagged frame of MTU + 18 does not go out, and is reported as skipped."""
        src = self.net.snd_mac
        qinq = nf.udp_frame(nf.OTHER_HOST, src, 1518, vlan=(5, 0), tpid=0x88A8, fill=1)
        ok = nf.udp_frame(nf.OTHER_HOST, src, 300, fill=2)
        path = self.path("qinq.pcap")
        write_pcap(path, [qinq, ok])
        r, mine, _ = self.captured(1, lambda: self.replay("-t", path), tcpdump=False, settle=0.5)
        self.assert_ok(r)
        self.assertEqual([x.data for x in mine], [ok])
        self.assertIn("skipped 1 packet", r.stderr)
        self.assertEqual(parse_summary(self, r.stderr)[0], 1)

    def one_line_error(self, r):
        self.assertEqual(r.returncode, 1, f"stdout {r.stdout!r}\nstderr {r.stderr!r}")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"expected one line, got:\n{r.stderr}")
        self.assertTrue(lines[0].startswith("ringcap: "), lines[0])
        return lines[0]

    def test_non_ethernet_file_is_refused(self):
        path = self.path("raw-ip.pcap")
        write_pcap(path, [bytes(40)], linktype=101)  # LINKTYPE_RAW
        r, mine, _ = self.captured(0, lambda: self.replay("-t", path), tcpdump=False)
        line = self.one_line_error(r)
        self.assertIn(path, line)
        self.assertIn("link type 101", line)
        self.assertEqual(mine, [])

    def test_damaged_file_sends_whole_records_then_names_file_and_offset(self):
        frames = self.frames()[:7]
        path = self.path("cut.pcap")
        offsets = write_pcap(path, frames)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size - 30)  # the last record loses 30 of its data bytes
        whole = frames[:-1]
        r, mine, theirs = self.captured(len(whole), lambda: self.replay("-t", path), settle=0.5)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assert_same_multiset(mine, whole, "ringcap")
        self.assert_same_multiset(theirs, whole, "tcpdump")
        self.assertEqual(parse_summary(self, r.stderr)[0], len(whole))
        last = r.stderr.splitlines()[-1]
        self.assertTrue(last.startswith("ringcap: "), r.stderr)
        self.assertIn(path, last)
        self.assertIn(f"offset {offsets[-1]}", last)


@nf.skip_unless_ready("tcpdump", "tshark")
class Gen(TxCase):
    def assert_checksums_good(self, path, ipv6=False):
        r = nf.run(["tshark", "-n", "-r", path, "-o", "udp.check_checksum:TRUE",
                    "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "frame.number",
                    "-e", "ip.checksum.status", "-e", "udp.checksum.status"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split("\t") for line in r.stdout.splitlines() if line.strip()]
        self.assertGreater(len(rows), 0)
        for number, ip_status, udp_status in rows:
            # 1 is PROTO_CHECKSUM_E_GOOD; IPv6 has no header checksum.
            self.assertEqual(ip_status, "" if ipv6 else "1", f"IP checksum of frame {number}")
            self.assertEqual(udp_status, "1", f"UDP checksum of frame {number}")
        return len(rows)

    def test_count_at_rate_arrives_exactly_with_consecutive_seq(self):
        before = time.time_ns()
        r, mine, theirs = self.captured(
            5000, lambda: self.gen("--count", "5000", "--rate", "20000"), settle=0.5)
        after = time.time_ns()
        self.assert_ok(r)
        for who, recs in (("ringcap", mine), ("tcpdump", theirs)):
            self.assertEqual(len(recs), 5000, who)
            parsed = [gen_payload(x.data) for x in recs]
            self.assertEqual([p[1] for p in parsed], list(range(5000)), f"{who}: seq")
            self.assertTrue(all(len(x.data) == 64 for x in recs), f"{who}: sizes")
            self.assertTrue(all(p[0] == 0x0800 and p[3] == 10000 for p in parsed), who)
            stamps = [p[2] for p in parsed]
            self.assertEqual(stamps, sorted(stamps), f"{who}: send times go back")
            self.assertGreaterEqual(stamps[0], before)
            self.assertLessEqual(stamps[-1], after)
        n, nbytes, secs, pps, _ = parse_summary(self, r.stderr)
        self.assertEqual(n, 5000)
        self.assertEqual(nbytes, 5000 * 64)
        self.assertNotIn("asked", r.stderr)  # 20000 pps is reachable
        self.assert_checksums_good(self.path("ringcap.pcap"))

    def test_flows_cycle_source_ports(self):
        r, mine, _ = self.captured(400, lambda: self.gen("--count", "400", "--flows", "4",
                                                         "--src-port", "30000"), tcpdump=False)
        self.assert_ok(r)
        parsed = [gen_payload(x.data) for x in mine]
        self.assertEqual([p[1] for p in parsed], list(range(400)))
        self.assertEqual([p[3] for p in parsed], [30000 + i % 4 for i in range(400)])
        self.assert_checksums_good(self.path("ringcap.pcap"))

    def test_ipv6(self):
        r, mine, _ = self.captured(300, lambda: self.gen("--count", "300", "-6", "--flows", "3"),
                                   tcpdump=False)
        self.assert_ok(r)
        self.assertEqual(len(mine), 300)
        for i, rec in enumerate(mine):
            d = rec.data
            self.assertEqual(len(d), 78)  # the smallest IPv6 frame with the stamp (64 is too small)
            self.assertEqual(d[12:14], b"\x86\xdd")
            self.assertEqual(d[14] >> 4, 6)
            self.assertEqual(d[20], 17)
            self.assertEqual(d[22:38], bytes.fromhex("fd000000000000000000000000000001"))
            self.assertEqual(d[38:54], bytes.fromhex("fd000000000000000000000000000002"))
            ethertype, seq, _, sport = gen_payload(d)
            self.assertEqual((seq, sport), (i, 10000 + i % 3))
        self.assert_checksums_good(self.path("ringcap.pcap"), ipv6=True)

    def test_size_1514(self):
        r, mine, theirs = self.captured(500, lambda: self.gen("--count", "500", "--size", "1514"))
        self.assert_ok(r)
        for who, recs in (("ringcap", mine), ("tcpdump", theirs)):
            self.assertEqual(len(recs), 500, who)
            self.assertTrue(all(x.caplen == x.length == 1514 for x in recs), who)
            self.assertEqual([gen_payload(x.data)[1] for x in recs], list(range(500)), who)
        self.assertEqual(parse_summary(self, r.stderr)[:2], (500, 500 * 1514))
        self.assertEqual(self.assert_checksums_good(self.path("tcpdump.pcap")), 500)

    def test_size_9000_on_a_jumbo_link_both_paths(self):
        for ns, ifname in ((self.net.cap_ns, self.net.cap_if), (self.net.snd_ns, self.net.snd_if)):
            nf.run(["ip", "-n", ns, "link", "set", ifname, "mtu", "9000"], check=True)
        for how in ((), ("--zero-copy",)):
            with self.subTest(how=how):
                r, mine, _ = self.captured(
                    50, lambda: self.gen("--count", "50", "--size", "9000", *how), tcpdump=False)
                self.assert_ok(r)
                self.assertTrue(all(x.caplen == x.length == 9000 for x in mine))
                self.assertEqual([gen_payload(x.data)[1] for x in mine], list(range(50)))

    def test_size_1514_zero_copy(self):
        r, mine, _ = self.captured(
            300, lambda: self.gen("--count", "300", "--size", "1514", "--zero-copy"), tcpdump=False)
        self.assert_ok(r)
        self.assertTrue(all(x.caplen == x.length == 1514 for x in mine))
        self.assertEqual([gen_payload(x.data)[1] for x in mine], list(range(300)))
        self.assertEqual(self.assert_checksums_good(self.path("ringcap.pcap")), 300)

    def test_size_larger_than_the_link_is_refused(self):
        r = self.gen("--count", "1", "--size", "1515")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("1515", r.stderr)
        self.assertIn("MTU 1500", r.stderr)

    def test_unreachable_rate_is_reported_and_exits_zero(self):
        r = self.gen("--rate", "50000000", "--count", "200000")
        self.assert_ok(r)
        self.assertRegex(r.stderr, r"(?m)^asked 50000000 pps, achieved \d+ \(\d+%\)")
        self.assertEqual(parse_summary(self, r.stderr)[0], 200000)


@nf.skip_unless_ready()
class BadInput(TxCase):
    def setUp(self):
        super().setUp()
        self.good = self.path("good.pcap")
        write_pcap(self.good, [nf.udp_frame(nf.OTHER_HOST, self.net.snd_mac, 100)])

    def one_line(self, r):
        self.assertEqual(r.returncode, 1, f"stdout {r.stdout!r}\nstderr {r.stderr!r}")
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"expected one line, got:\n{r.stderr}")
        self.assertTrue(lines[0].startswith("ringcap: "), lines[0])
        return lines[0]

    def both(self, *extra):
        """The same interface arguments for gen and for replay (of a good file)."""
        return [nf.run(self.net.snd([nf.RINGCAP, "gen", *extra, "--count", "1"]), timeout=20),
                nf.run(self.net.snd([nf.RINGCAP, "replay", *extra, self.good]), timeout=20)]

    def test_unknown_interface(self):
        for r in self.both("-i", "nosuchif0"):
            line = self.one_line(r)
            self.assertIn("nosuchif0", line)
            self.assertIn("No such device", line)

    def test_interface_down(self):
        nf.run(["ip", "-n", self.net.snd_ns, "link", "set", self.net.snd_if, "down"], check=True)
        for r in self.both("-i", self.net.snd_if):
            self.assertIn(f"'{self.net.snd_if}' is down", self.one_line(r))

    def test_no_cap_net_raw(self):
        for sub, tail in (("gen", ["--count", "1"]), ("replay", [self.good])):
            argv = without_capabilities([nf.RINGCAP, sub, "-i", self.net.snd_if, *tail])
            if argv is None:
                self.skipTest("neither setpriv nor capsh is installed")
            line = self.one_line(nf.run(self.net.snd(argv), timeout=20))
            self.assertIn("CAP_NET_RAW", line)
            self.assertIn("Operation not permitted", line)

    def test_missing_file(self):
        missing = self.path("nope.pcap")
        line = self.one_line(self.replay("-t", missing))
        self.assertIn(missing, line)
        self.assertIn("No such file or directory", line)

    def test_missing_second_file_sends_nothing(self):
        missing = self.path("nope.pcap")
        line = self.one_line(self.replay("-t", self.good, missing))
        self.assertIn(missing, line)

    def test_not_a_pcap_file(self):
        text = self.path("notes.txt")
        with open(text, "w") as f:
            f.write("this is not a capture\n")
        line = self.one_line(self.replay("-t", text))
        self.assertIn(text, line)
        self.assertIn("not a pcap or pcapng file", line)

    def test_empty_file(self):
        empty = self.path("empty.pcap")
        open(empty, "w").close()
        line = self.one_line(self.replay("-t", empty))
        self.assertIn(empty, line)
        self.assertIn("empty", line)

    def test_usage_errors(self):
        for args in (["replay", "-i", self.net.snd_if],
                     ["replay", "-i", self.net.snd_if, "-t", "-p", "10", self.good],
                     ["gen", "-i", self.net.snd_if, "--src-mac", "nope"],
                     ["gen", "-i", self.net.snd_if, "--size", "20"]):
            r = nf.run(self.net.snd([nf.RINGCAP, *args]), timeout=20)
            self.assertEqual(r.returncode, 1, f"{args}: {r.stderr}")
            self.assertNotIn("sent ", r.stderr, args)


if __name__ == "__main__":
    nf.main()
