#!/usr/bin/python3
"""tcpdump's flags that ringcap took on for issue 15, each against tcpdump 4.99 on the shared
recording of real traffic (traffic.py), and the odd files tcpdump reads.

- -A / -AA (ASCII dump), -# / --number, -dd / -ddd, -F FILE, --print with -w, -V FILE: printed
  text (record by record; for UDP to ports 7000-7009 tcpdump's AFS rx guess is the one known
  difference, as in test_decode.py) and written records must be tcpdump's.
- -c -1 / -c 0 / -c abc: "invalid packet count", status 1, as tcpdump; an unknown option: a
  tcpdump-like line and a pointer to --help; --version; -L / -J; -K, -N and -vv accepted.
- A pcap header whose link-type field carries FCS bits (0x40000001: Ethernet with a 4-byte FCS;
  the link type is the low 26 bits) and DLT_NULL files in either byte order (the address family
  is in the writer's byte order; libpcap compiles `ip6` with the file's), made here, read as
  tcpdump reads them: same lines, same records through filters."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402
import test_decode as td  # noqa: E402  (records_of, AFS_RX, dst_port)
import traffic  # noqa: E402


def same_records(test, mine, theirs, frames=None):
    """Printed records equal, except tcpdump's AFS rx guess on UDP ports 7000-7009."""
    m, t = td.records_of(mine), td.records_of(theirs)
    test.assertEqual(len(m), len(t))
    for i, (a, b) in enumerate(zip(m, t)):
        if a == b:
            continue
        rx = td.AFS_RX.match(b[0].split("  ", 1)[-1]) or td.AFS_RX.match(b[0])
        test.assertTrue(rx, f"record {i}:\n  tcpdump: {b}\n  ringcap: {a}")
        test.assertTrue(a[0].endswith(f"UDP, length {rx['len']}"), f"record {i}: {a[0]}")
        test.assertEqual(a[1:], b[1:], f"record {i}")


@nf.skip_unless_ready(*traffic.TOOLS)
class TcpdumpFlags(traffic.RecordingCase):
    def both(self, *args, ok=True):
        mine = nf.run([nf.RINGCAP, *map(str, args)])
        # -Z root: tcpdump would read -V's later files as its own user (ringcap opens them all
        # first).
        theirs = nf.run(["tcpdump", "-Z", "root", *map(str, args)])
        if ok:
            self.assertEqual(theirs.returncode, 0, theirs.stderr)
            self.assertEqual(mine.returncode, 0, mine.stderr)
        return mine, theirs

    def ringcap_wrote(self, path, *args):
        r = nf.run([nf.RINGCAP, "-w", path, *map(str, args)])
        self.assertEqual(r.returncode, 0, r.stderr)

    def both_wrote(self, path, *args):
        """tcpdump ARGS -w PATH (as root, to write in the test's directory)."""
        r = nf.run(["tcpdump", "-Z", "root", "-w", path, *map(str, args)])
        self.assertEqual(r.returncode, 0, r.stderr)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def records(self, path):
        return [(r.caplen, r.length, r.data) for r in nf.read_pcap(path).records]

    def test_ascii(self):
        for flags in (["-A"], ["-AA"], ["-A", "-e"], ["-A", "-q"], ["-X", "-A"]):
            with self.subTest(flags=flags):
                mine, theirs = self.both("-r", self.rec.path, "-n", *flags)
                same_records(self, mine.stdout, theirs.stdout)
        # The HTTP request is there as text.
        mine, _ = self.both("-r", self.rec.path, "-n", "-A", "tcp", "port", "80")
        self.assertIn("GET / HTTP/1.1\nHost:", mine.stdout)

    def test_number(self):
        for flags in (["-#"], ["--number"], ["-n#"], ["-#", "-X"], ["-#", "-tt", "-e"]):
            with self.subTest(flags=flags):
                mine, theirs = self.both("-r", self.rec.path, "-n", *flags)
                same_records(self, mine.stdout, theirs.stdout)
        self.assertTrue(mine.stdout.startswith("    1  "), mine.stdout[:40])

    def test_dump_styles(self):
        for expression in ("", "udp", "tcp port 80 and host 10.213.0.2", "vlan 42",
                           "ip6 protochain 44", "icmp6 or arp"):
            for d in ("-d", "-dd", "-ddd"):
                with self.subTest(expression=expression, d=d):
                    mine, theirs = self.both(d, "-r", self.rec.path, *expression.split())
                    self.assertEqual(mine.stdout, theirs.stdout)
                    self.assertNotEqual(mine.stdout, "")

    def test_filter_file(self):
        f = self.path("filter.txt")
        with open(f, "w") as out:
            out.write("# web and DNS\n(tcp port 80   # the server\n or udp port 53)\n"
                      "and not icmp # never\n")
        a, b = self.path("f-ringcap.pcap"), self.path("f-tcpdump.pcap")
        mine = nf.run([nf.RINGCAP, "-r", self.rec.path, "-F", f, "-w", a])
        self.assertEqual(mine.returncode, 0, mine.stderr)
        self.both_wrote(b, "-r", self.rec.path, "-F", f)
        self.assertGreater(len(self.records(b)), 10)
        self.assertEqual(self.records(a), self.records(b))
        # An expression on the command line is ignored, as tcpdump ignores it (ringcap says so).
        mine, theirs = self.both("-r", self.rec.path, "-n", "-F", f, "arp")
        same_records(self, mine.stdout, theirs.stdout)
        self.assertIn("ignored", mine.stderr)
        bad = nf.run([nf.RINGCAP, "-r", self.rec.path, "-F", self.path("none.txt")])
        self.assertEqual(bad.returncode, 1)
        self.assertRegex(bad.stderr, r"^ringcap: cannot open '.*none.txt': No such file")

    def test_print_while_writing(self):
        a, b = self.path("p-ringcap.pcap"), self.path("p-tcpdump.pcap")
        mine = nf.run([nf.RINGCAP, "-r", self.rec.path, "-n", "--print", "-w", a, "udp"])
        theirs = nf.run(["tcpdump", "-Z", "root", "-r", self.rec.path, "-n", "--print", "-w", b,
                         "udp"])
        self.assertEqual(mine.returncode, 0, mine.stderr)
        same_records(self, mine.stdout, theirs.stdout)
        self.assertGreater(len(mine.stdout.splitlines()), 10)
        self.assertEqual(self.records(a), self.records(b))

    def test_file_list(self):
        # Three files: the recording's first 200 records, all of it, and its last 100.
        recs = [(r.ts_sec, r.ts_frac, r.data, r.length) for r in self.pcap.records]
        first, last = self.path("first.pcap"), self.path("last.pcap")
        with open(first, "wb") as f:
            f.write(nf.pcap_bytes(recs[:200]))
        with open(last, "wb") as f:
            f.write(nf.pcap_bytes(recs[-100:]))
        listing = self.path("files.txt")
        with open(listing, "w") as f:
            f.write(f"{first}\n{self.rec.path}\n{last}\n")
        mine, theirs = self.both("-V", listing, "-n", "-tt")
        same_records(self, mine.stdout, theirs.stdout)
        self.assertEqual(len(td.records_of(mine.stdout)), 300 + len(recs))
        self.assertEqual(mine.stderr.count("reading from file"), 3)
        for extra in (["icmp6"], ["-c", "250", "tcp"]):
            with self.subTest(extra=extra):
                a, b = self.path("v-ringcap.pcap"), self.path("v-tcpdump.pcap")
                self.ringcap_wrote(a, "-V", listing, *extra)
                self.both_wrote(b, "-V", listing, *extra)
                self.assertEqual(self.records(a), self.records(b))
        r = nf.run([nf.RINGCAP, "-V", listing, "-r", first])
        self.assertEqual(r.returncode, 1)
        self.assertIn("-V and -r are mutually exclusive", r.stderr)

    def test_bad_counts(self):
        for count in ("-1", "0", "abc"):
            with self.subTest(count=count):
                mine, theirs = self.both("-r", self.rec.path, "-c", count, ok=False)
                self.assertEqual(theirs.returncode, 1)
                self.assertEqual(mine.returncode, 1)
                self.assertEqual(mine.stderr, f"ringcap: invalid packet count {count}\n"
                                              "Run with --help for usage.\n")
                self.assertEqual(theirs.stderr, f"tcpdump: invalid packet count {count}\n")

    def test_unknown_options(self):
        for arg, line in (("--bogus", "ringcap: unrecognized option '--bogus'"),
                          ("-g", "ringcap: invalid option -- 'g'")):
            with self.subTest(arg=arg):
                r = nf.run([nf.RINGCAP, "-r", self.rec.path, arg])
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stdout, "")
                self.assertEqual(r.stderr, line + "\nRun with --help for usage.\n")
        r = nf.run([nf.RINGCAP, "-r", self.rec.path, "-w"])
        self.assertTrue(r.stderr.startswith("ringcap: option requires an argument -- 'w'\n"))
        r = nf.run([nf.RINGCAP, "-T", "nonsense"])
        self.assertEqual(r.stderr, "ringcap: unknown packet type `nonsense'\n")

    def test_version(self):
        mine, theirs = self.both("--version")
        self.assertRegex(mine.stdout, r"^ringcap version \d+\.\d+\.\d+\n")
        # The libpcap line is tcpdump's.
        self.assertEqual(mine.stdout.splitlines()[1], theirs.stdout.splitlines()[1])

    def test_link_and_time_stamp_types(self):
        for flag in ("-L", "-J"):
            with self.subTest(flag=flag):
                mine, theirs = self.both(flag, "-i", "lo")
                self.assertEqual(mine.stderr, theirs.stderr)
                self.assertEqual(mine.stdout, "")
        r = nf.run([nf.RINGCAP, "-L", "-i", "any"])
        self.assertEqual(r.stderr, "Data link types for any (use option -y to set):\n"
                                   "  LINUX_SLL2 (Linux cooked v2)\n")
        r = nf.run([nf.RINGCAP, "-i", "lo", "-y", "LINUX_SLL", "-c", "1"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("LINUX_SLL is not one of the DLTs supported by this device", r.stderr)
        r = nf.run([nf.RINGCAP, "-i", "lo", "-j", "bogus", "-c", "1"])
        self.assertIn("ringcap: invalid time stamp type bogus", r.stderr)

    def test_accepted_without_change(self):
        plain = nf.run([nf.RINGCAP, "-r", self.rec.path, "-n"]).stdout
        for flags in (["-K"], ["-N"], ["-f"], ["--dont-verify-checksums"]):
            with self.subTest(flags=flags):
                r = nf.run([nf.RINGCAP, "-r", self.rec.path, "-n", *flags])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, plain)
        # -vv adds TCP sequence numbers to every segment (as tcpdump -vv); -vvv is -vv.
        vv = nf.run([nf.RINGCAP, "-r", self.rec.path, "-n", "-vv"]).stdout
        self.assertIn("seq 1, ack 1, win", vv)
        for flags in (["-vvv"], ["-v", "-v"]):
            r = nf.run([nf.RINGCAP, "-r", self.rec.path, "-n", *flags])
            self.assertEqual(r.stdout, vv, flags)

    # -- files tcpdump reads --

    def test_fcs_bits_in_link_type(self):
        with open(self.rec.path, "rb") as f:
            data = bytearray(f.read())
        self.assertEqual(struct.unpack_from("<I", data, 20)[0], 1)
        struct.pack_into("<I", data, 20, 0x40000001)
        path = self.path("fcs.pcap")
        with open(path, "wb") as f:
            f.write(data)
        for flags in (["-n"], ["-n", "-e", "udp"], ["-n", "-x", "ip6"]):
            with self.subTest(flags=flags):
                mine, theirs = self.both("-r", path, *flags)
                same_records(self, mine.stdout, theirs.stdout)
                self.assertIn("link-type EN10MB (Ethernet)", mine.stderr)
        a, b = self.path("fcs-ringcap.pcap"), self.path("fcs-tcpdump.pcap")
        self.ringcap_wrote(a, "-r", path, "tcp", "or", "arp")
        self.both_wrote(b, "-r", path, "tcp", "or", "arp")
        self.assertEqual(self.records(a), self.records(b))
        self.assertGreater(len(self.records(a)), 10)

    def null_file(self, endian, af6):
        """The recording's IPv4 and IPv6 packets as DLT_NULL: a 4-byte address family in the
        writer's byte order (`endian`) instead of the Ethernet header."""
        recs = []
        for r in self.pcap.records:
            etype = struct.unpack_from("!H", r.data, 12)[0] if len(r.data) >= 14 else 0
            af = {0x0800: 2, 0x86DD: af6}.get(etype)
            if af is not None:
                body = struct.pack(endian + "I", af) + r.data[14:]
                recs.append((r.ts_sec, r.ts_frac, body, r.length - 10))
        path = self.path(f"null-{'be' if endian == '>' else 'le'}-{af6}.pcap")
        with open(path, "wb") as f:
            f.write(nf.pcap_bytes(recs, endian=endian, linktype=0))
        return path, len(recs)

    def test_dlt_null_either_byte_order(self):
        for endian in (">", "<"):
            for af6 in (24, 28, 30):  # AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS
                path, n = self.null_file(endian, af6)
                for expression in ("ip6", "ip", "not ip6", "ip6 and tcp port 80", "udp"):
                    with self.subTest(endian=endian, af6=af6, expression=expression):
                        a = self.path("null-ringcap.pcap")
                        b = self.path("null-tcpdump.pcap")
                        for f in (a, b):
                            if os.path.exists(f):
                                os.remove(f)
                        self.ringcap_wrote(a, "-r", path, *expression.split())
                        self.both_wrote(b, "-r", path, *expression.split())
                        self.assertEqual(self.records(a), self.records(b))
                        if expression == "ip6":
                            self.assertGreater(len(self.records(a)), 20)


if __name__ == "__main__":
    nf.main()
