#!/usr/bin/python3
"""ringcap -r: files in, the same records out as tcpdump -r writes (pcap in either byte order,
micro- and nanosecond magic, standard input), and damaged files: one clear message naming the
file, the byte offset and what is wrong, every whole record before the damage still written,
exit status 1. No network: these files are built here, byte by byte."""
import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def frames():
    """Twelve frames of different sizes and kinds (UDP on two ports, VLAN, ARP, other)."""
    out = []
    for i in range(8):
        out.append(nf.udp_frame(MAC_B, MAC_A, 60 + 180 * i, dport=7000 + i % 2, fill=i))
    out.append(nf.udp_frame(MAC_B, MAC_A, 300, vlan=(42, 3)))
    out.append(nf.arp_request(MAC_A, "10.0.0.1", "10.0.0.2"))
    out.append(nf.raw_frame(MAC_B, MAC_A, 0x88B5, 64))
    out.append(nf.udp_frame(MAC_B, MAC_A, 1514, dport=7001, fill=9))
    return out


def sample_records(nano=False):
    scale = 1000 if nano else 1
    return [(1_700_000_000 + i, (123_457 + 1000 * i) * scale + (999 if nano else 0), f, len(f))
            for i, f in enumerate(frames())]


@unittest.skipIf(nf.missing_requirement("tcpdump") is not None,
                 nf.missing_requirement("tcpdump") or "")
class ReadTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-read-")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def put(self, name, content):
        with open(self.path(name), "wb") as f:
            f.write(content)
        return self.path(name)

    def ringcap(self, *args, status=0, stdin=None):
        r = subprocess.run([nf.RINGCAP] + [str(a) for a in args], capture_output=True,
                           timeout=nf.CMD_TIMEOUT, stdin=stdin)
        self.assertEqual(r.returncode, status, f"{args}: {r.stderr.decode()}")
        return r.stdout, r.stderr.decode()

    def tcpdump_copy(self, src, *args):
        out = self.path("tcpdump.pcap")
        r = nf.run(["tcpdump", "-r", src, "-w", out] + list(args))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            return f.read()

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    # -- what tcpdump writes, byte for byte --

    def check_same_file_as_tcpdump(self, src, *args):
        out = self.path("ringcap.pcap")
        self.ringcap("-r", src, "-w", out, *args)
        theirs = self.tcpdump_copy(src, *args)
        ours = self.read(out)
        self.assertEqual(nf.parse_pcap(ours).records, nf.parse_pcap(theirs).records)
        self.assertEqual(ours, theirs)  # the file header too
        return nf.parse_pcap(ours)

    def test_copy_is_tcpdumps(self):
        src = self.put("in.pcap", nf.pcap_bytes(sample_records()))
        self.assertEqual(len(self.check_same_file_as_tcpdump(src).records), 12)

    def test_filters_select_as_tcpdump(self):
        src = self.put("in.pcap", nf.pcap_bytes(sample_records()))
        for expression, expected in (("udp port 7001", 5), ("vlan 42", 1), ("arp", 1),
                                     ("greater 1000", 3), ("not udp", 3)):
            with self.subTest(expression=expression):
                got = self.check_same_file_as_tcpdump(src, expression)
                self.assertEqual(len(got.records), expected)

    def test_big_endian_file(self):
        src = self.put("be.pcap", nf.pcap_bytes(sample_records(), endian=">"))
        self.assertEqual(len(self.check_same_file_as_tcpdump(src, "udp").records), 9)  # not the tagged one

    def test_nanosecond_file_becomes_microsecond_as_tcpdump(self):
        src = self.put("nano.pcap", nf.pcap_bytes(sample_records(nano=True), nano=True))
        got = self.check_same_file_as_tcpdump(src)
        self.assertFalse(got.nano)
        self.assertEqual(got.records[1].ts_frac, 124_457)  # 124_457_999 ns, cut as libpcap does

    def test_nanosecond_kept_with_nano(self):
        src = self.put("nano.pcap", nf.pcap_bytes(sample_records(nano=True), nano=True))
        out = self.path("out.pcap")
        self.ringcap("-r", src, "-w", out, "--nano")
        got = nf.parse_pcap(self.read(out))
        self.assertTrue(got.nano)
        self.assertEqual([r.ts_frac for r in got.records],
                         [frac for _, frac, _, _ in sample_records(nano=True)])

    def test_standard_input_and_count(self):
        src = self.put("in.pcap", nf.pcap_bytes(sample_records()))
        out = self.path("out.pcap")
        with open(src, "rb") as f:
            _, err = self.ringcap("-r", "-", "-w", out, "-c", 3, "udp port 7000", stdin=f)
        got = nf.parse_pcap(self.read(out)).records
        self.assertEqual([r.data for r in got], [frames()[i] for i in (0, 2, 4)])
        self.assertIn("3 packets matched the filter", err)

    # -- pcapng --

    def pcapng_copy(self, src, name="in.pcapng"):
        dst = self.path(name)
        r = nf.run(["editcap", "-F", "pcapng", src, dst])
        self.assertEqual(r.returncode, 0, r.stderr)
        return dst

    def test_pcapng_as_tcpdump_reads_it(self):
        src = self.pcapng_copy(self.put("in.pcap", nf.pcap_bytes(sample_records())))
        for args in ((), ("udp port 7001",), ("vlan 42",), ("not udp",)):
            with self.subTest(args=args):
                self.check_same_file_as_tcpdump(src, *args)

    def test_pcapng_with_two_link_types(self):
        eth = self.put("eth.pcap", nf.pcap_bytes(sample_records()[:4]))
        # The same bytes as raw IP (LINKTYPE_RAW 101): the IPv4 packets without Ethernet.
        raw_records = [(s, f, d[14:], w - 14) for s, f, d, w in sample_records()[4:8]]
        raw = self.put("raw.pcap", nf.pcap_bytes(raw_records, linktype=101))
        mixed = self.path("mixed.pcapng")
        r = nf.run(["mergecap", "-F", "pcapng", "-w", mixed, eth, raw])
        self.assertEqual(r.returncode, 0, r.stderr)
        # A filter compiled for each link type: 'udp port 7001' finds the raw packets too.
        out, err = self.ringcap("-r", mixed, "--count", "udp port 7001")
        self.assertIn("4 packets matched the filter, of 8 read", err)
        # Printed, each packet is decoded for its own interface's link type.
        lines, _ = self.ringcap("-r", mixed, "-t")
        lines = lines.decode().splitlines()
        self.assertEqual(len(lines), 8)
        self.assertTrue(all(l.startswith("IP 10.213.0.2.40000 > ") for l in lines), lines)
        # One pcap file cannot hold both: what came before is written, then a clear error.
        out = self.path("out.pcap")
        _, err = self.ringcap("-r", mixed, "-w", out, status=1)
        self.assertIn("link type RAW", err)
        self.assertIn("EN10MB", err)
        self.assertIn("write pcapng", err)
        got = nf.parse_pcap(self.read(out)).records
        self.assertEqual([x.data for x in got], frames()[:4])

    # -- damage --

    def check_damaged(self, content, whole, *words):
        """Reads `content` with -w: status 1, one message with the file name and the words,
        and the output holds exactly the first `whole` records of the sample."""
        src = self.put("damaged.pcap", content)
        out = self.path("out.pcap")
        _, err = self.ringcap("-r", src, "-w", out, status=1)
        errors = [l for l in err.splitlines() if l.startswith("ringcap: ")]
        self.assertEqual(len(errors), 1, err)
        self.assertIn(src, errors[0])
        for w in words:
            self.assertIn(w, errors[0])
        got = nf.parse_pcap(self.read(out))  # strict: a valid file
        self.assertEqual([r.data for r in got.records], frames()[:whole])
        return errors[0]

    def test_truncated_last_record(self):
        content = nf.pcap_bytes(sample_records())
        last = 24 + sum(16 + len(f) for f in frames()[:-1])
        line = self.check_damaged(content[:-100], 11, f"offset {last}",
                                  "header says 1514 bytes, 1414 present")
        self.assertIn("11 records", line)

    def test_truncated_record_header(self):
        content = nf.pcap_bytes(sample_records()[:5])
        self.check_damaged(content + b"\x00" * 7, 5, "truncated record header, 7 of 16")

    def test_absurd_caplen(self):
        records = sample_records()
        content = bytearray(nf.pcap_bytes(records[:4]))
        at = len(content)
        content += struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 100) + b"\x00" * 64
        self.check_damaged(bytes(content), 4, f"offset {at}", "caplen 2147483647 is absurd")

    # -- big files, read in parts on several threads (64 MiB and more; see read_cmd) --

    BIG = 80_000  # records of about 1000 bytes: 73-77 MiB, over the 64 MiB that parts need

    def big_file(self, payload_of):
        """BIG records with the bytes payload_of(i), a thousand per second."""
        out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i in range(self.BIG):
            data = payload_of(i)
            out += struct.pack("<IIII", 1_700_000_000 + i // 1000, i % 1000, len(data),
                               len(data)) + data
        return bytes(out)

    def test_big_file_in_parts_is_tcpdumps(self):
        frame = nf.udp_frame(MAC_B, MAC_A, 1000, fill=1)
        src = self.put("big.pcap", self.big_file(lambda i: frame[:600] if i % 7 == 0 else frame))
        for expression, expected in (((), self.BIG), (("greater", "700"), self.BIG - self.BIG // 7 - 1),
                                     (("less", "700"), self.BIG // 7 + 1)):
            with self.subTest(expression=expression):
                got = self.check_same_file_as_tcpdump(src, *expression)
                self.assertEqual(len(got.records), expected)

    def test_big_file_whose_packets_look_like_records(self):
        # Every payload is a chain of fake 32-byte records (a sane header and 16 bytes), so a
        # guessed boundary inside a packet is wrong: the parts must be refuted, not written.
        # (A first record of 100 bytes keeps the halfway point off a true boundary.)
        fake = struct.pack("<IIII", 1_700_000_000, 5, 16, 16) + bytes(16)
        src = self.put("fake.pcap", self.big_file(
            lambda i: fake * 3 + bytes(4) if i == 0 else fake * (19 if i % 7 == 0 else 31)))
        got = self.check_same_file_as_tcpdump(src)
        self.assertEqual(len(got.records), self.BIG)
        got = self.check_same_file_as_tcpdump(src, "greater", "700")
        self.assertEqual(len(got.records), self.BIG - self.BIG // 7 - 1)

    def test_big_file_damaged_in_a_later_part(self):
        frame = nf.udp_frame(MAC_B, MAC_A, 1000, fill=2)
        content = bytearray(self.big_file(lambda i: frame))
        bad = 60_000  # at 75%: never in the first part, which the main thread reads
        at = 24 + bad * 1016
        content[at + 8:at + 12] = struct.pack("<I", 0x7FFFFFFF)
        src = self.put("damaged.pcap", bytes(content))
        out = self.path("ringcap.pcap")
        _, err = self.ringcap("-r", src, "-w", out, status=1)
        self.assertIn(f"record at offset {at}: caplen 2147483647 is absurd", err)
        self.assertIn(f"the {bad} records before offset {at} were read", err)
        got = nf.parse_pcap(self.read(out))
        self.assertEqual(len(got.records), bad)
        self.assertTrue(all(r.data == frame for r in got.records))

    def test_empty_file(self):
        src = self.put("empty.pcap", b"")
        _, err = self.ringcap("-r", src, status=1)
        self.assertIn("is empty", err)

    def test_not_a_capture_file(self):
        src = self.put("text.pcap", b"hello, this is not a capture file\n" * 3)
        _, err = self.ringcap("-r", src, "-w", self.path("out.pcap"), status=1)
        self.assertIn("not a pcap or pcapng file", err)
        self.assertIn("68 65 6c 6c", err)  # the magic found, in hex
        self.assertFalse(os.path.exists(self.path("out.pcap")))

    def test_missing_file(self):
        _, err = self.ringcap("-r", self.path("nothere.pcap"), status=1)
        self.assertIn("No such file", err)

    # -- a full disk --

    def write_to_full_disk(self, records, *filter_words):
        """ringcap -r SRC -w into a 128 KiB tmpfs mounted in a private mount namespace; returns
        (status, stderr, the output file's bytes)."""
        src = self.put("in.pcap", nf.pcap_bytes(records))
        mnt, out = self.path("mnt"), self.path("out.pcap")
        os.mkdir(mnt)
        script = ('mount -t tmpfs -o size=128k tmpfs "$1" || exit 99; shift; '
                  '"$@"; status=$?; cp "$MNT/out.pcap" "$OUT"; exit $status')
        r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", mnt, nf.RINGCAP, "-r", src,
                            "-w", os.path.join(mnt, "out.pcap")] + list(filter_words),
                           capture_output=True, text=True, timeout=nf.CMD_TIMEOUT,
                           env=dict(os.environ, MNT=mnt, OUT=out))
        self.assertNotEqual(r.returncode, 99, "cannot mount a tmpfs: " + r.stderr)
        return r.returncode, r.stderr, self.read(out)

    def check_full_disk(self, frames_in, *filter_words):
        records = [(1_700_000_000 + i, i, f, len(f)) for i, f in enumerate(frames_in)]
        status, err, content = self.write_to_full_disk(records, *filter_words)
        self.assertEqual(status, 1, err)
        self.assertIn("No space left on device", err)
        self.assertIn("disk full", err)
        got = nf.parse_pcap(content).records  # strict: whole records only
        self.assertGreater(len(got), 10)
        self.assertGreater(len(content), 100_000)  # it stopped because the disk was full
        return got

    def test_full_disk_keeps_whole_records(self):
        frames_in = [nf.udp_frame(MAC_B, MAC_A, 1000 + i % 500, fill=i % 200) for i in range(400)]
        got = self.check_full_disk(frames_in, "--nano")  # converted: record by record
        self.assertEqual([r.data for r in got], frames_in[:len(got)])

    def test_full_disk_with_short_runs(self):
        # Every other record matches: runs of one record, copied into the buffer.
        frames_in = [nf.udp_frame(MAC_B, MAC_A, 1000 + i % 500, fill=i % 200) if i % 2 == 0
                     else nf.arp_request(MAC_A, "10.0.0.1", "10.0.0.2") for i in range(800)]
        got = self.check_full_disk(frames_in, "udp")
        self.assertEqual([r.data for r in got], frames_in[0:2 * len(got):2])

    def test_full_disk_in_one_long_run(self):
        # No filter, records as they lie in the file: written straight from the mapping.
        frames_in = [nf.udp_frame(MAC_B, MAC_A, 1000 + i % 500, fill=i % 200) for i in range(400)]
        got = self.check_full_disk(frames_in)
        self.assertEqual([r.data for r in got], frames_in[:len(got)])

    def test_read_and_interface_are_exclusive(self):
        src = self.put("in.pcap", nf.pcap_bytes(sample_records()))
        _, err = self.ringcap("-r", src, "-i", "lo", status=1)
        self.assertIn("give one of them", err)


if __name__ == "__main__":
    nf.main()
