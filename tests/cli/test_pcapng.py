#!/usr/bin/python3
"""pcapng written by ringcap: capinfos and tshark read it without a warning; the section header
names OS, hardware and application; the interface block its name, alias, link type, snaplen
and nanosecond resolution; packets carry their direction; an Interface Statistics Block holds
the kernel's counts at close (and in every rotated file); -r keeps a file's interfaces; the
packets are those tcpdump -r reads from the same file. And the other way round: pcapng files
that dumpcap and tshark write during a live capture on two interfaces read in ringcap as in
tcpdump, bytes and timestamps (to the nanosecond)."""
import os
import re
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402


def blocks(path):
    """[(type, body)] of a little- or big-endian pcapng file, strictly: lengths must agree."""
    with open(path, "rb") as f:
        buf = f.read()
    out, pos, endian = [], 0, "<"
    while pos < len(buf):
        if buf[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if buf[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack(endian + "II", buf[pos:pos + 8])
        assert blen >= 12 and blen % 4 == 0 and pos + blen <= len(buf), f"bad block at {pos}"
        (trailer,) = struct.unpack(endian + "I", buf[pos + blen - 4:pos + blen])
        assert trailer == blen, f"trailing length at {pos}"
        out.append((btype, buf[pos + 8:pos + blen - 4], endian))
        pos += blen
    return out


def options(body, endian):
    """{code: [value bytes]} of an options list."""
    opts, pos = {}, 0
    while pos + 4 <= len(body):
        code, length = struct.unpack(endian + "HH", body[pos:pos + 4])
        if code == 0:
            break
        opts.setdefault(code, []).append(body[pos + 4:pos + 4 + length])
        pos += 4 + (length + 3) // 4 * 4
    return opts


def statistics(path):
    """[(interface, ifrecv, ifdrop)] of every Interface Statistics Block."""
    out = []
    for btype, body, e in blocks(path):
        if btype == 5:
            opts = options(body[12:], e)
            recv = struct.unpack(e + "Q", opts[4][0])[0]
            drop = struct.unpack(e + "Q", opts[5][0])[0]
            out.append((struct.unpack(e + "I", body[:4])[0], recv, drop))
    return out


@nf.skip_unless_ready("capinfos", "tshark", "tcpdump")
class PcapngTests(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-ng-")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def frames(self):
        src = self.net.snd_mac
        return [nf.udp_frame(self.net.cap_mac, src, 60 + 100 * i, fill=i) for i in range(5)] + [
            nf.udp_frame(nf.OTHER_HOST, src, 1514, vlan=(42, 1)),
            nf.arp_request(src, "10.213.0.2", "10.213.0.99")]

    def capture(self, out, *args, outgoing=2):
        """Sends frames in (from the peer) and `outgoing` out of the capture interface."""
        frames_in = self.frames()
        p = self.start_ringcap("-i", self.net.cap_if, "-w", out,
                               "-c", len(frames_in) + outgoing, *args)
        self.net.send(frames_in, gap=0.01)
        out_frames = [nf.udp_frame(nf.OTHER_HOST, self.net.cap_mac, 100, fill=7)] * outgoing
        self.net.send(out_frames, gap=0.01, side="cap")
        status, _, err = p.finish()
        self.assertEqual(status, 0, err)
        return frames_in, err

    def check_readers_agree(self, path, count):
        status, fields, err = nf.capinfos(path)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(fields["File type"], "pcapng")
        self.assertEqual(int(fields["Number of packets"].replace(",", "")), count)
        status, lines, err = nf.tshark_read(path)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(len(lines), count)
        # tcpdump (libpcap) reads it too, and gets what ringcap -r gets.
        a, b = self.path("tcpdump.pcap"), self.path("ringcap.pcap")
        self.assertEqual(nf.run(["tcpdump", "-r", path, "-w", a]).returncode, 0)
        self.assertEqual(nf.run([nf.RINGCAP, "-r", path, "-w", b]).returncode, 0)
        self.assertEqual(nf.read_pcap(a).records, nf.read_pcap(b).records)
        return nf.read_pcap(b).records

    def test_live_capture_by_suffix(self):
        nf._ip("-n", self.net.cap_ns, "link", "set", self.net.cap_if, "alias", "uplink to lab")
        out = self.path("live.pcapng")
        frames_in, err = self.capture(out)
        records = self.check_readers_agree(out, len(frames_in) + 2)
        self.assertEqual([r.data for r in records[:len(frames_in)]], frames_in)

        kinds = [(t, b, e) for t, b, e in blocks(out)]
        self.assertEqual(kinds[0][0], 0x0A0D0D0A)
        shb = options(kinds[0][1][16:], kinds[0][2])
        self.assertTrue(shb[3][0].startswith(b"Linux"))          # shb_os
        self.assertTrue(shb[4][0].startswith(b"ringcap"))        # shb_userappl
        self.assertEqual(kinds[1][0], 1)
        idb_body, e = kinds[1][1], kinds[1][2]
        link, _, snaplen = struct.unpack(e + "HHI", idb_body[:8])
        self.assertEqual((link, snaplen), (1, 262144))
        idb = options(idb_body[8:], e)
        self.assertEqual(idb[2][0], self.net.cap_if.encode())     # if_name
        self.assertEqual(idb[3][0], b"uplink to lab")            # if_description
        self.assertEqual(idb[9][0], b"\x09")                     # if_tsresol: ns
        # Wireshark's view of the same: every packet names its interface and description.
        r = nf.run(["tshark", "-r", out, "-T", "fields", "-e", "frame.interface_name",
                    "-e", "frame.interface_description"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         [f"{self.net.cap_if}\tuplink to lab"] * (len(frames_in) + 2))

        r = nf.run(["tshark", "-r", out, "-T", "fields", "-e", "frame.packet_flags_direction"])
        directions = [int(x, 16) for x in r.stdout.split()]
        self.assertEqual(directions, [1] * len(frames_in) + [2, 2])

        m = re.search(r"^(\d+) packets? received by filter$", err, re.M)
        stats = statistics(out)
        self.assertEqual(len(stats), 1)
        self.assertEqual(stats[0][0], 0)
        self.assertGreaterEqual(stats[0][1], len(frames_in) + 2)
        self.assertLessEqual(stats[0][1], int(m.group(1)))
        self.assertEqual(stats[0][2], 0)

    def test_flag_with_any_name_and_cooked(self):
        out = self.path("capture.file")
        frames_in, _ = self.capture(out, "--pcapng")
        self.check_readers_agree(out, len(frames_in) + 2)

    def test_rotated_files_each_have_statistics(self):
        out = self.path("rot.pcapng")
        frames_in, _ = self.capture(out, "-C", "1k")
        files = sorted(f for f in os.listdir(self.tmp.name) if f.startswith("rot.pcapng"))
        self.assertGreaterEqual(len(files), 3)
        total = 0
        for name in files:
            path = self.path(name)
            status, fields, err = nf.capinfos(path)
            self.assertEqual((status, err), (0, ""), name)
            packets = int(fields["Number of packets"].replace(",", ""))
            if packets > 1:  # a packet larger than -C alone gets a file of its own
                self.assertLessEqual(os.path.getsize(path), 1024, name)
            total += packets
            self.assertEqual(len(statistics(path)), 1, name)
        self.assertEqual(total, len(frames_in) + 2)

    def test_read_keeps_interfaces(self):
        # A file with two interfaces of two link types (mergecap of Ethernet and raw IP).
        eth = self.path("eth.pcap")
        raw = self.path("raw.pcap")
        frames = [nf.udp_frame("02:00:00:00:00:0b", "02:00:00:00:00:0a", 100 + i) for i in range(4)]
        with open(eth, "wb") as f:
            f.write(nf.pcap_bytes([(1_700_000_000 + i, 0, fr, len(fr)) for i, fr in enumerate(frames)]))
        with open(raw, "wb") as f:
            f.write(nf.pcap_bytes([(1_700_000_010 + i, 0, fr[14:], len(fr) - 14)
                                   for i, fr in enumerate(frames)], linktype=101))
        mixed = self.path("mixed.pcapng")
        self.assertEqual(nf.run(["mergecap", "-F", "pcapng", "-w", mixed, eth, raw]).returncode, 0)
        out = self.path("copy.pcapng")
        r = nf.run([nf.RINGCAP, "-r", mixed, "-w", out, "udp"])
        self.assertEqual(r.returncode, 0, r.stderr)
        status, fields, err = nf.capinfos(out)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(fields["Number of packets"], "8")
        r = nf.run(["tshark", "-r", out, "-T", "fields", "-e", "frame.interface_id",
                    "-e", "frame.encap_type"])
        self.assertEqual(r.stdout.split(), ["0", "1"] * 4 + ["1", "7"] * 4)

    def test_copy_of_pcap_has_no_direction(self):
        """Packets from a pcap file have no direction: the pcapng copy has no epb_flags, so
        Wireshark shows none (rather than a made-up one)."""
        src = self.path("in.pcap")
        frames = self.frames()
        with open(src, "wb") as f:
            f.write(nf.pcap_bytes([(1_700_000_000 + i, i, fr, len(fr))
                                   for i, fr in enumerate(frames)]))
        out = self.path("copy.pcapng")
        r = nf.run([nf.RINGCAP, "-r", src, "-w", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_readers_agree(out, len(frames))
        epbs = [options(body[20 + (struct.unpack(e + "I", body[12:16])[0] + 3) // 4 * 4:], e)
                for t, body, e in blocks(out) if t == 6]
        self.assertEqual(len(epbs), len(frames))
        self.assertTrue(all(2 not in o for o in epbs), "epb_flags written for unknown direction")
        r = nf.run(["tshark", "-r", out, "-T", "fields", "-e", "frame.packet_flags_direction"])
        self.assertEqual(r.stdout.split(), [])

    # -- pcapng written by Wireshark's tools, read by ringcap --

    def wireshark_capture(self, tool):
        """`tool` (dumpcap or tshark) captures on cap_if and lo into a pcapng file while frames
        arrive on cap_if and leave it; returns (path, number of packets in the file)."""
        out = self.path(f"{tool}.pcapng")
        frames_in = self.frames()
        frames_out = [nf.udp_frame(nf.OTHER_HOST, self.net.cap_mac, 80 + i, fill=9)
                      for i in range(3)]
        count = len(frames_in) + len(frames_out)
        p = nf.Proc(self.net.cap([tool, "-i", self.net.cap_if, "-i", "lo", "-w", out,
                                  "-c", str(count)]))
        if not p.wait_for_stderr(r"Capturing on", 15):
            p.kill()
            self.fail(f"{tool} did not start: {p.stderr()}")
        time.sleep(0.5)  # it says so just before its capture loop
        self.net.send(frames_in, gap=0.005)
        self.net.send(frames_out, gap=0.005, side="cap")
        status, _, err = p.finish(timeout=30)
        self.assertEqual(status, 0, err)
        kinds = [t for t, _, _ in blocks(out)]
        self.assertEqual(kinds.count(1), 2, f"{tool} wrote {kinds.count(1)} IDBs")
        self.assertEqual(kinds.count(6), count)
        return out, count

    def check_same_as_tcpdump(self, src, count):
        """ringcap -r and tcpdump -r make the same pcap records of src: data, lengths and
        timestamps, in microseconds and in nanoseconds."""
        for precision, ours in (("micro", []), ("nano", ["--nano"])):
            with self.subTest(precision=precision):
                a, b = self.path(f"tcpdump-{precision}.pcap"), self.path(f"ringcap-{precision}.pcap")
                r = nf.run(["tcpdump", f"--time-stamp-precision={precision}", "-r", src, "-w", a])
                self.assertEqual(r.returncode, 0, r.stderr)
                r = nf.run([nf.RINGCAP, "-r", src, "-w", b] + ours)
                self.assertEqual(r.returncode, 0, r.stderr)
                theirs, mine = nf.read_pcap(a), nf.read_pcap(b)
                self.assertEqual(len(mine.records), count)
                self.assertEqual(mine.records, theirs.records)
                self.assertEqual((mine.nano, mine.linktype), (theirs.nano, theirs.linktype))
        # Printing reads the same file without writing one: as many lines as packets.
        r = nf.run([nf.RINGCAP, "-r", src])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), count)

    def test_dumpcap_file_reads_as_in_tcpdump(self):
        self.check_same_as_tcpdump(*self.wireshark_capture("dumpcap"))

    def test_tshark_file_reads_as_in_tcpdump(self):
        self.check_same_as_tcpdump(*self.wireshark_capture("tshark"))

    def test_editcap_conversions_of_a_dumpcap_file(self):
        """A dumpcap file converted by editcap (pcapng again, and nanosecond pcap) reads the
        same as the original."""
        src, count = self.wireshark_capture("dumpcap")
        for fmt in ("pcapng", "nsecpcap"):
            with self.subTest(fmt=fmt):
                dst = self.path(f"conv.{fmt}")
                r = nf.run(["editcap", "-F", fmt, src, dst])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.check_same_as_tcpdump(dst, count)


if __name__ == "__main__":
    nf.main()
