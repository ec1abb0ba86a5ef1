#!/usr/bin/python3
"""The files ringcap writes: capinfos and tshark read them without a complaint (microsecond and
nanosecond magic, Ethernet and LINUX_SLL2); -w - puts the same pcap on standard output; -s
truncates records to the snapshot length and keeps the original length."""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402


def sample_frames(net):
    src = net.snd_mac
    return [
        nf.udp_frame(nf.OTHER_HOST, src, 60),
        nf.udp_frame(nf.OTHER_HOST, src, 1514, fill=1),
        nf.udp_frame(nf.OTHER_HOST, src, 200, vlan=(42, 5), fill=2),
        nf.arp_request(src, "10.213.0.2", "10.213.0.99"),
        nf.udp_frame(net.cap_mac, src, 333, fill=3),
        nf.raw_frame(nf.OTHER_HOST, src, 0x88B5, 64),
    ]


@nf.skip_unless_ready("capinfos", "tshark", "tcpdump")
class FileTests(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-")
        self.addCleanup(self.tmp.cleanup)
        self.path = os.path.join(self.tmp.name, "out.pcap")

    def capture(self, frames, *args, iface=None):
        """ringcap -c len(frames) -w path ARGS; the frames are sent once it listens."""
        before = time.time()
        p = self.start_ringcap("-i", iface or self.net.cap_if, "-w", self.path,
                               "-c", len(frames), *args)
        self.net.send(frames)
        status, _, err = p.finish(timeout=10)
        after = time.time()
        self.assertEqual(status, 0, err)
        self.assert_summary(err, captured=len(frames))
        return nf.read_pcap(self.path), before, after

    def assert_wireshark_reads(self, count, encapsulation, precision):
        status, info, err = nf.capinfos(self.path)
        self.assertEqual(status, 0, f"capinfos failed: {err}")
        self.assertEqual(err, "", "capinfos printed warnings")
        self.assertEqual(info.get("Number of packets"), str(count))
        self.assertEqual(info.get("File encapsulation"), encapsulation)
        self.assertIn(precision, info.get("File timestamp precision", ""))
        # Plain pcap, and Wireshark's name for the nanosecond variant when the magic says so.
        self.assertEqual(info.get("File type"),
                         "nsecpcap" if precision == "nanoseconds" else "pcap")
        status, lines, err = nf.tshark_read(self.path)
        self.assertEqual(status, 0, f"tshark failed: {err}")
        self.assertEqual(err, "", "tshark printed warnings")
        self.assertEqual(len(lines), count)
        # The tag ringcap put back is dissected as 802.1Q by Wireshark too.
        r = nf.run(["tshark", "-n", "-r", self.path, "-Y", "vlan", "-T", "fields",
                    "-e", "vlan.id", "-e", "vlan.priority"], timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["42", "5"])
        # ARP was dissected as ARP: the bytes after the link header line up.
        r = nf.run(["tshark", "-n", "-r", self.path, "-Y", "arp", "-T", "fields",
                    "-e", "arp.dst.proto_ipv4"], timeout=60)
        self.assertEqual(r.stdout.split(), ["10.213.0.99"])

    def assert_timestamps(self, f, before, after):
        limit = 10**9 if f.nano else 10**6
        stamps = [r.ts_sec + r.ts_frac / limit for r in f.records]
        for t in stamps:
            self.assertGreaterEqual(t, before - 1)
            self.assertLessEqual(t, after + 1)
        self.assertEqual(stamps, sorted(stamps))

    def test_microseconds_ethernet(self):
        frames = sample_frames(self.net)
        f, before, after = self.capture(frames)
        self.assertFalse(f.nano)
        self.assertEqual((f.endian, f.version_major, f.version_minor), ("<", 2, 4))
        self.assertEqual((f.linktype, f.snaplen), (nf.LINKTYPE_ETHERNET, 262144))
        self.assertEqual([r.data for r in f.records], frames)
        self.assert_timestamps(f, before, after)
        self.assert_wireshark_reads(len(frames), "ether", "microseconds")

    def test_nanoseconds_ethernet(self):
        frames = sample_frames(self.net)
        f, before, after = self.capture(frames, "--nano")
        self.assertTrue(f.nano)
        self.assertEqual([r.data for r in f.records], frames)
        self.assert_timestamps(f, before, after)
        # Real nanoseconds, not microseconds times 1000.
        self.assertTrue(any(r.ts_frac % 1000 for r in f.records))
        self.assert_wireshark_reads(len(frames), "ether", "nanoseconds")

    def test_time_stamp_precision_option(self):
        frames = sample_frames(self.net)
        f, _, _ = self.capture(frames, "--time-stamp-precision=nano")
        self.assertTrue(f.nano)

    def test_any_is_linux_sll2(self):
        frames = sample_frames(self.net)
        f, before, after = self.capture(frames, iface="any")
        self.assertEqual(f.linktype, nf.LINKTYPE_LINUX_SLL2)
        self.assert_timestamps(f, before, after)
        self.assert_wireshark_reads(len(frames), "linux-sll2", "microseconds")
        # Wireshark agrees on the interface index and direction in the SLL2 header.
        r = nf.run(["tshark", "-n", "-r", self.path, "-T", "fields", "-e", "sll.ifindex",
                    "-e", "sll.pkttype"], timeout=60)
        ifindex = str(nf.NetPair.link_info(self.net.cap_ns, self.net.cap_if)["ifindex"])
        rows = [line.split("\t") for line in r.stdout.splitlines()]
        self.assertEqual([row[0] for row in rows], [ifindex] * len(frames))
        # PACKET_OTHERHOST 3 (promiscuous), broadcast 1 for the ARP, host 0 for ours.
        self.assertEqual([row[1] for row in rows], ["3", "3", "3", "1", "0", "3"])

    def test_any_nano(self):
        frames = sample_frames(self.net)
        f, _, _ = self.capture(frames, "--nano", iface="any")
        self.assertTrue(f.nano)
        self.assert_wireshark_reads(len(frames), "linux-sll2", "nanoseconds")

    # -- -w - --

    def test_stdout_parsed_in_python(self):
        frames = sample_frames(self.net)
        p = self.start_ringcap("-i", self.net.cap_if, "-w", "-", "-c", len(frames),
                               stdout=subprocess.PIPE)
        self.net.send(frames)
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assert_summary(err, captured=len(frames))
        f = nf.parse_pcap(out)  # strict: nothing but the header and whole records
        self.assertEqual(f.linktype, nf.LINKTYPE_ETHERNET)
        self.assertEqual([r.data for r in f.records], frames)

    def test_stdout_into_tcpdump(self):
        frames = sample_frames(self.net)
        rfd, wfd = os.pipe()
        try:
            p = self.start_ringcap("-i", self.net.cap_if, "-w", "-", "-c", len(frames),
                                   stdout=wfd)
            reader = subprocess.Popen(["tcpdump", "-nn", "-e", "-r", "-"], stdin=rfd,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        finally:
            os.close(wfd)
            os.close(rfd)
        try:
            self.net.send(frames)
            status, _, err = p.finish(timeout=10)
            out, rerr = reader.communicate(timeout=20)
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertEqual(reader.returncode, 0, rerr)
        self.assertIn("link-type EN10MB (Ethernet)", rerr)
        lines = [l for l in out.splitlines() if re.match(r"\d\d:\d\d:\d\d\.\d{6} ", l)]
        self.assertEqual(len(lines), len(frames), out)
        self.assertIn("vlan 42, p 5", lines[2])
        self.assertIn("Request who-has 10.213.0.99", lines[3])
        self.assertIn("length 1514", lines[1])

    def test_stdout_reader_goes_away(self):
        """The reader of -w - exits early: ringcap notices the broken pipe, says so and ends
        instead of capturing into nothing."""
        rfd, wfd = os.pipe()
        p = self.start_ringcap("-i", self.net.cap_if, "-w", "-", "-U", stdout=wfd)
        os.close(wfd)
        os.close(rfd)  # nobody reads
        self.net.send(sample_frames(self.net))
        status, _, err = p.finish(timeout=10)
        self.assertEqual(status, 1, err)
        self.assertRegex(err, r"(?m)^ringcap: write to 'standard output': Broken pipe")
        self.assert_summary(err)

    # -- -s --

    def test_snaplen_100(self):
        frames = sample_frames(self.net)
        f, _, _ = self.capture(frames, "-s", "100")
        self.assertEqual(f.snaplen, 100)
        self.assertEqual([(r.caplen, r.length) for r in f.records],
                         [(min(100, len(x)), len(x)) for x in frames])
        self.assertEqual([r.data for r in f.records], [x[:100] for x in frames])
        status, info, err = nf.capinfos(self.path)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(info.get("Packet size limit"), "file hdr: 100 bytes")
        status, lines, err = nf.tshark_read(self.path)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(len(lines), len(frames))
        # tcpdump -r sees the original lengths and the truncation.
        r = nf.run(["tcpdump", "-nn", "-e", "-r", self.path])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("snapshot length 100", r.stderr)
        self.assertRegex(r.stdout.splitlines()[1], r"length 1514")

    def test_snaplen_100_printed(self):
        frames = sample_frames(self.net)
        p = self.start_ringcap("-i", self.net.cap_if, "-s", "100", "-c", len(frames),
                               stdout=subprocess.PIPE)
        self.net.send(frames)
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertIn("snapshot length 100 bytes", err)
        lines = [l for l in out.decode().splitlines() if not l.startswith("\t")]  # no hex
        self.assertEqual(len(lines), len(frames))
        # The lengths the headers state, as tcpdump prints them from a 100-byte capture.
        self.assertTrue(lines[1].endswith(": UDP, length 1472"), lines[1])
        self.assertTrue(lines[2].endswith(": UDP, length 154"), lines[2])
        self.assertTrue(lines[0].endswith(": UDP, length 18"), lines[0])

    def test_snaplen_100_any(self):
        frames = sample_frames(self.net)
        f, _, _ = self.capture(frames, "-s", "100", iface="any")
        self.assertEqual(f.snaplen, 100)
        # SLL2: 20-byte header instead of the 14-byte Ethernet header.
        self.assertEqual([(r.caplen, r.length) for r in f.records],
                         [(min(100, len(x) + 6), len(x) + 6) for x in frames])
        status, info, err = nf.capinfos(self.path)
        self.assertEqual((status, err), (0, ""))


if __name__ == "__main__":
    nf.main()
