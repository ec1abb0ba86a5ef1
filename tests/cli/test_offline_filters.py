#!/usr/bin/python3
"""ringcap -r against tcpdump -r on a recording of real traffic (traffic.py): for each filter
expression both write the packets they select, and the two files must hold the same records
(bytes, caplen, length, timestamps, order) under the same file header. Each expression is also
checked to select something, and not everything, where that is meaningful, so that agreement is
not agreement on an empty file. Also -c with a filter, -r - (standard input), bad expressions,
and the same comparison on a pcapng copy of the recording."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402
import traffic  # noqa: E402

SOME = "some"  # selects at least one packet and not all of them
ALL = "all"    # selects every packet
ANY = "any"    # may select nothing here (kept: both must still agree on an empty result)

V4C, V4S = nf.NetPair.CAP_IP, nf.NetPair.SND_IP
V6C, V6S = nf.NetPair.CAP_IP6, nf.NetPair.SND_IP6


def expressions(rec):
    """(expression, expectation). {cap} and {snd} are the recording's client and server MACs."""
    table = [
        ("", ALL),
        # link layer
        ("arp", SOME),
        ("ether broadcast", SOME),
        ("ether multicast", SOME),
        ("ether src {snd}", SOME),
        ("ether dst {cap} and not ip6", SOME),
        ("ether host {cap} and ether host {snd} and arp", SOME),
        ("ether proto 0x88a8", SOME),
        ("not ether multicast and not ether broadcast", SOME),
        # VLAN (802.1Q and QinQ, tags in the recorded bytes)
        ("vlan", SOME),
        ("vlan 42", SOME),
        ("vlan 42 and udp", SOME),
        ("vlan 7", SOME),
        ("vlan and udp port 7001", SOME),
        ("vlan 100 and vlan 42", SOME),
        ("vlan 200 and vlan 42 and udp", SOME),
        ("not vlan", SOME),
        # network layer
        ("ip", SOME),
        ("ip6", SOME),
        ("not ip and not ip6", SOME),
        (f"host {V4S}", SOME),
        (f"src host {V4C}", SOME),
        (f"dst host {V6S}", SOME),
        (f"ip6 src {V6S} and icmp6", SOME),
        ("net 10.213.0.0/24", SOME),
        ("net fd00:213::/64", SOME),
        ("src net 10.213.0.0/30 and dst net 10.213.0.2/32", SOME),
        ("ip6 multicast", SOME),
        ("ip[6:2] & 0x1fff != 0", SOME),
        ("ip[6:2] & 0x3fff != 0", SOME),
        ("ip[6] & 0x20 != 0 and udp", SOME),
        ("ip6[6] == 44", SOME),
        ("ip6[6] == 58", SOME),
        ("ip[2:2] > 1000", SOME),
        # ICMP
        ("icmp", SOME),
        ("icmp6", SOME),
        ("icmp[icmptype] == icmp-echoreply", SOME),
        ("icmp[icmptype] == icmp-echo", SOME),
        ("icmp[icmptype] == icmp-unreach and icmp[icmpcode] == 3", SOME),
        ("icmp6[icmp6type] == icmp6-echo", SOME),
        ("icmp6 and ip6[40] == 1", SOME),
        # transport
        ("tcp", SOME),
        ("udp", SOME),
        ("port 53", SOME),
        ("udp port 53", SOME),
        ("tcp port 53", SOME),
        ("port domain", SOME),
        ("tcp port 80", SOME),
        ("tcp port http and ip6", SOME),
        ("src port 80", SOME),
        ("dst port 53", SOME),
        ("port 5201", SOME),
        ("portrange 5200-5210", SOME),
        ("udp portrange 7000-7002", SOME),
        ("tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", SOME),
        ("tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)", SOME),
        ("tcp[tcpflags] & tcp-fin != 0", SOME),
        ("tcp[tcpflags] & tcp-push != 0 and greater 200", SOME),
        ("tcp[tcpflags] & tcp-rst != 0", ANY),
        ("udp port 53 and udp[10] & 0x80 != 0", SOME),
        ("udp port 53 and udp[11] & 0xf == 3", SOME),
        ("udp and not port 53 and not port 5201", SOME),
        ("ip and not tcp and not udp", SOME),
        # sizes
        ("less 100", SOME),
        ("greater 1000", SOME),
        ("len > 1514", SOME),
        ("len <= 64", SOME),
        ("udp and greater 1000 and less 1100", SOME),
        # nothing here
        ("mpls", ANY),
        ("ip proto 132", ANY),
    ]
    return [(e.format(cap=rec.cap_mac, snd=rec.snd_mac), x) for e, x in table]


def filter_args(expr):
    return [expr] if expr else []


@nf.skip_unless_ready(*traffic.TOOLS)
class OfflineFilters(traffic.RecordingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        print(f"\nrecording {cls.rec.path}, {len(cls.pcap.records)} packets:\n"
              + traffic.describe(cls.rec.path), file=sys.stderr)

    def out(self, name):
        return os.path.join(self.tmp.name, name)

    def read_with(self, tool, args, stdin=None):
        """Runs `tool ARGS` (tool: the ringcap binary or tcpdump); returns the CompletedProcess."""
        return nf.run([tool] + list(args), stdin=stdin, timeout=60)

    def both(self, src, expr, extra=(), stdin_for_ringcap=False):
        """ringcap and tcpdump read src with expr; returns the two parsed output files."""
        a, b = self.out("ringcap.pcap"), self.out("tcpdump.pcap")
        for f in (a, b):
            if os.path.exists(f):
                os.unlink(f)
        if stdin_for_ringcap:
            with open(src, "rb") as f:
                r = self.read_with(nf.RINGCAP, ["-r", "-", "-w", a, *extra, *filter_args(expr)],
                                   stdin=f)
        else:
            r = self.read_with(nf.RINGCAP, ["-r", src, "-w", a, *extra, *filter_args(expr)])
        t = self.read_with("tcpdump", ["-r", src, "-w", b, *extra, *filter_args(expr)])
        self.assertEqual(t.returncode, 0, f"tcpdump {expr!r}: {t.stderr}")
        self.assertEqual(r.returncode, 0, f"ringcap {expr!r}: {r.stderr}")
        return nf.read_pcap(a), nf.read_pcap(b)

    def assert_same_file(self, fa, fb, what):
        self.assertEqual((fa.nano, fa.version_major, fa.version_minor, fa.snaplen, fa.linktype),
                         (fb.nano, fb.version_major, fb.version_minor, fb.snaplen, fb.linktype),
                         f"{what}: file headers differ (nano, version, snaplen, linktype)")
        n = min(len(fa.records), len(fb.records))
        for i in range(n):
            x, y = fa.records[i], fb.records[i]
            if x != y:
                self.fail(f"{what}: record {i} differs: ringcap (ts {x.ts_sec}.{x.ts_frac}, "
                          f"caplen {x.caplen}, len {x.length}, {x.data[:32].hex()}...) vs "
                          f"tcpdump (ts {y.ts_sec}.{y.ts_frac}, caplen {y.caplen}, "
                          f"len {y.length}, {y.data[:32].hex()}...)")
        self.assertEqual(len(fa.records), len(fb.records),
                         f"{what}: ringcap wrote {len(fa.records)} records, tcpdump "
                         f"{len(fb.records)}")

    def assert_expectation(self, expr, expect, count, total):
        if expect == ALL:
            self.assertEqual(count, total, f"{expr!r} should select every packet")
        elif expect == SOME:
            self.assertGreater(count, 0, f"{expr!r} selects nothing in the recording")
            self.assertLess(count, total, f"{expr!r} selects every packet in the recording")

    # -- the recording itself --

    def test_recording_holds_every_kind(self):
        counts = traffic.census(self.pcap.records)
        for kind in ("arp", "ipv4", "ipv6", "icmp echo request", "icmp echo reply",
                     "icmp6 echo request", "icmp6 echo reply", "icmp unreachable",
                     "icmp6 unreachable", "http (tcp)", "dns (udp)", "dns (tcp)", "iperf3 (tcp)",
                     "iperf3 (udp)", "ipv4 fragment", "ipv6 fragment", "802.1Q", "QinQ",
                     "ether broadcast", "ether multicast", "tcp syn"):
            self.assertGreater(counts[kind], 0, f"the recording has no {kind}")
        self.assertEqual(self.pcap.linktype, nf.LINKTYPE_ETHERNET)
        self.assertFalse(self.pcap.nano)
        self.assertLess(os.path.getsize(self.rec.path), 8 << 20)

    # -- expressions --

    def test_expressions(self):
        table = expressions(self.rec)
        self.assertGreaterEqual(len(table), 40)
        total = len(self.pcap.records)
        counts = {}
        for expr, expect in table:
            with self.subTest(expr=expr):
                fa, fb = self.both(self.rec.path, expr)
                self.assert_same_file(fa, fb, repr(expr))
                counts[expr] = len(fb.records)
                self.assert_expectation(expr, expect, len(fb.records), total)
        # The table as a whole: most expressions select something, few select everything.
        some = sum(1 for n in counts.values() if n > 0)
        everything = sum(1 for n in counts.values() if n == total)
        self.assertGreaterEqual(some, 0.9 * len(table), counts)
        self.assertLessEqual(everything, 1, counts)
        print("\n" + "\n".join(f"{n:6d}  {e or '(no filter)'}" for e, n in counts.items()),
              file=sys.stderr)

    def test_filter_results_match_census(self):
        """Counts an independent parser (traffic.census) gives for a few expressions: so the
        comparison is also anchored outside libpcap."""
        counts = traffic.census(self.pcap.records)
        for expr, kinds in (("arp", ["arp"]), ("vlan", ["802.1Q", "QinQ"]),
                            ("ip6[6] == 44", ["ipv6 fragment"]),
                            ("ip[6:2] & 0x3fff != 0", ["ipv4 fragment"]),
                            ("ether broadcast", ["ether broadcast"]),
                            ("len > 1514", ["longer than 1514 (TSO/GRO)"])):
            with self.subTest(expr=expr):
                fa, _ = self.both(self.rec.path, expr)
                self.assertEqual(len(fa.records), sum(counts[k] for k in kinds))

    # -- -c, standard input --

    def test_count_with_filter(self):
        full_a, _ = self.both(self.rec.path, "udp")
        self.assertGreater(len(full_a.records), 7)
        fa, fb = self.both(self.rec.path, "udp", extra=("-c", "7"))
        self.assert_same_file(fa, fb, "-c 7 udp")
        self.assertEqual(fa.records, full_a.records[:7])

    def test_count_larger_than_matches(self):
        fa, fb = self.both(self.rec.path, "arp", extra=("-c", "1000"))
        self.assert_same_file(fa, fb, "-c 1000 arp")
        self.assertEqual(len(fa.records), traffic.census(self.pcap.records)["arp"])

    def test_stdin(self):
        for expr in ("", "tcp port 80", "vlan 42 and udp"):
            with self.subTest(expr=expr):
                fa, fb = self.both(self.rec.path, expr, stdin_for_ringcap=True)
                self.assert_same_file(fa, fb, f"-r - {expr!r}")
                self.assertGreater(len(fa.records), 0)

    # -- bad expressions --

    def test_bad_filter(self):
        for expr in ("udp and and", "tcp port 99999", "vlan 5000", "ether host 1:2:3"):
            with self.subTest(expr=expr):
                out = self.out("bad.pcap")
                t = self.read_with("tcpdump", ["-r", self.rec.path, "-w", out, expr])
                r = self.read_with(nf.RINGCAP, ["-r", self.rec.path, "-w", out, expr])
                self.assertEqual(t.returncode, 1, t.stderr)
                self.assertEqual(r.returncode, 1, r.stderr)
                # libpcap's own words (pcap_geterr), which tcpdump prints after "tcpdump: ".
                said = [l for l in t.stderr.splitlines() if l.startswith("tcpdump: ")]
                self.assertEqual(len(said), 1, t.stderr)
                libpcap_says = said[0][len("tcpdump: "):]
                self.assertIn(libpcap_says, r.stderr)
                self.assertIn(expr, r.stderr)
                self.assertNotIn("Traceback", r.stderr)

    # -- pcapng --

    def test_pcapng_copy(self):
        if not shutil.which("editcap"):
            self.skipTest("editcap is not installed")
        ng = self.out("traffic.pcapng")
        r = nf.run(["editcap", "-F", "pcapng", self.rec.path, ng], timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        for expr, _ in expressions(self.rec):
            with self.subTest(expr=expr):
                fa, fb = self.both(ng, expr)
                self.assert_same_file(fa, fb, f"pcapng {expr!r}")
        # And the pcapng copy selects what the pcap original selects.
        fa, _ = self.both(ng, "udp port 53")
        fo, _ = self.both(self.rec.path, "udp port 53")
        self.assertEqual(fa.records, fo.records)


if __name__ == "__main__":
    nf.main()
