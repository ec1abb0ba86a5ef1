#!/usr/bin/python3
"""What ringcap prints: -d (the compiled program, as tcpdump -d prints it), -D (interfaces with
index and state), one line per packet without -w as tcpdump prints it, and only the summary
with --count."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402

@nf.skip_unless_ready("tcpdump")
class DumpFilterTests(nf.NetTestCase):
    EXPRESSIONS = [
        "",
        "udp port 7000",
        "vlan 42",
        "vlan 42 and udp port 7000",
        "vlan and vlan 7",
        "tcp[tcpflags] & tcp-syn != 0",
        "host 10.213.0.1 and not arp",
        "ether proto 0x88b5",
        "inbound",
        "ip6 or (icmp and len > 100)",
    ]

    def compare(self, iface, expression, *extra):
        words = expression.split()
        mine = nf.run(self.net.ringcap("-d", "-i", iface, *extra, *words))
        theirs = nf.run(self.net.cap(["tcpdump", "-d", "-i", iface, *extra, *words]))
        self.assertEqual(theirs.returncode, 0, theirs.stderr)
        self.assertEqual(mine.returncode, 0, mine.stderr)
        self.assertEqual(mine.stderr, "")
        self.assertTrue(mine.stdout.startswith("(000) "), mine.stdout)
        self.assertEqual(mine.stdout, theirs.stdout, f"-d {' '.join(extra)} '{expression}'")

    def test_ethernet_interface(self):
        for expression in self.EXPRESSIONS:
            with self.subTest(expression=expression):
                self.compare(self.net.cap_if, expression)

    def test_snaplen_in_return(self):
        for expression in ("", "udp", "vlan 42"):
            with self.subTest(expression=expression):
                self.compare(self.net.cap_if, expression, "-s", "100")

    def test_any(self):
        for expression in ("", "udp port 7000", "inbound", "outbound and udp", "arp"):
            with self.subTest(expression=expression):
                self.compare("any", expression)

    def test_vlan_code_is_linux_ancillary(self):
        """On a live Ethernet handle libpcap tests the kernel's VLAN metadata (the tag is no
        longer in the bytes the socket filter sees); -d shows that form."""
        r = nf.run(self.net.ringcap("-d", "-i", self.net.cap_if, "vlan", "42"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[vlanp]", r.stdout)  # SKF_AD_VLAN_TAG_PRESENT
        self.assertIn("[vlan_tci]", r.stdout)

    def test_bad_expression(self):
        r = nf.run(self.net.ringcap("-d", "-i", self.net.cap_if, "udp", "port", "nope"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertRegex(r.stderr, r"^ringcap: bad filter expression 'udp port nope': .*\n$")


@nf.skip_unless_ready()
class ListInterfacesTests(nf.NetTestCase):
    def listing(self):
        r = nf.run(self.net.ringcap("-D"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        entries = {}
        for line in r.stdout.splitlines():
            m = re.match(r"^(\d+)\.(\S+) (?:\(.*\) )?\[(.*)\]$", line)
            self.assertIsNotNone(m, f"unexpected -D line: {line!r}")
            entries[m.group(2)] = (int(m.group(1)), m.group(3))
        return entries

    def test_lists_test_interface_with_index_and_state(self):
        entries = self.listing()
        info = nf.NetPair.link_info(self.net.cap_ns, self.net.cap_if)
        self.assertIn(self.net.cap_if, entries)
        self.assertEqual(entries[self.net.cap_if], (info["ifindex"], "Up, Running"))
        self.assertEqual(entries["lo"], (1, "Up, Running, Loopback"))
        self.assertEqual(entries["any"], (0, "Up, Running"))
        # Only this namespace's interfaces.
        self.assertNotIn(self.net.snd_if, entries)
        self.assertEqual(set(entries), {"lo", self.net.cap_if, "any"})

    def test_down_interface(self):
        self.net.set_cap_up(False)
        self.assertEqual(self.listing()[self.net.cap_if][1], "Down")

    def test_up_without_carrier(self):
        # The peer down: the interface is up but not running (no carrier).
        # The kernel updates the operational state asynchronously (linkwatch): wait for it.
        nf.run(["ip", "-n", self.net.snd_ns, "link", "set", self.net.snd_if, "down"], check=True)
        self.assertTrue(nf.wait_until(
            lambda: nf.NetPair.link_info(self.net.cap_ns, self.net.cap_if)["operstate"]
            == "DOWN", 5))
        self.assertEqual(self.listing()[self.net.cap_if][1], "Up")


@nf.skip_unless_ready()
class PrintTests(nf.NetTestCase):
    """Live printing: ringcap's lines are the lines tcpdump -n prints for the same packets,
    captured by tcpdump at the same time on the same interface (the kernel stamps both copies
    with the same time), in each link type and ring version and with the decoding flags."""

    def frames_in(self):
        src = self.net.snd_mac
        return [
            nf.udp_frame(self.net.cap_mac, src, 100, dport=9003),
            nf.udp_frame(nf.OTHER_HOST, src, 1514, dport=9000),
            nf.arp_request(src, "10.213.0.2", "10.213.0.99"),
            nf.udp_frame(nf.MULTICAST, src, 90, dport=53),
            nf.udp_frame(nf.OTHER_HOST, src, 200, vlan=(42, 5), dport=9001),
            nf.udp_frame(nf.OTHER_HOST, src, 140, vlan=(100, 2), tpid=0x88A8, dport=9002),
            nf.raw_frame(nf.OTHER_HOST, src, 0x88B5, 64),
        ]

    def run_printing(self, *args, iface=None, extra_out=(), tcpdump_flags=()):
        """Sends the frames in (and extra_out out) while ringcap prints and tcpdump writes a
        file; returns (ringcap's lines, tcpdump -n -r's lines, ringcap's stderr)."""
        iface = iface or self.net.cap_if
        total = len(self.frames_in()) + len(extra_out)
        path = os.path.join(self.tmp.name, "tcpdump.pcap")
        dump = self.start_tcpdump("-i", iface, "-w", path, "-c", total,
                                  *(["--nano"] if "--nano" in args else []))
        p = self.start_ringcap("-i", iface, "-c", total, *args, stdout=subprocess.PIPE)
        self.net.send(self.frames_in())
        if extra_out:
            self.net.send(list(extra_out), side="cap")
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assert_summary(err, captured=total)
        self.assertEqual(dump.finish(timeout=10)[0], 0)
        decode_flags = [a for a in args if a.startswith("-") and a not in ("--tpacket=2",)]
        theirs = nf.run(self.net.cap(["tcpdump", "-n", "-r", path] + decode_flags))
        self.assertEqual(theirs.returncode, 0, theirs.stderr)
        # Each socket stamps its own copy of a packet, microseconds apart: lines are compared
        # without the time, and the time's form is checked on its own.
        stamp = re.compile(r"^(\d\d:\d\d:\d\d\.\d{6}|\d\d:\d\d:\d\d\.\d{9}|\d+\.\d{6}) ")
        ours, theirs = out.decode().splitlines(), theirs.stdout.splitlines()
        first = lambda lines: [l for l in lines if l[:1] not in ("\t", " ")]  # noqa: E731
        for a, b in zip(first(ours), first(theirs)):
            ma, mb = stamp.match(a), stamp.match(b)
            self.assertIsNotNone(ma, a)
            self.assertEqual(len(ma.group(1)), len(mb.group(1)), (a, b))
        strip = lambda lines: [stamp.sub("", l) for l in lines]  # noqa: E731
        return strip(ours), strip(theirs), err

    def setUp(self):
        super().setUp()
        import tempfile
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-print-")
        self.addCleanup(self.tmp.cleanup)

    def test_lines_ethernet(self):
        out_frame = nf.udp_frame(nf.OTHER_HOST, self.net.cap_mac, 700, dport=9004)
        ours, theirs, err = self.run_printing(extra_out=[out_frame])
        self.assertRegex(err, rf"(?m)^listening on {self.net.cap_if}, link-type EN10MB "
                              r"\(Ethernet\), snapshot length 262144 bytes")
        self.assertEqual(len([l for l in ours if l[:1] != "\t"]), len(self.frames_in()) + 1)
        self.assertEqual(ours, theirs)

    def test_lines_with_flags(self):
        for flags in (("--nano",), ("-e",), ("-XX",), ("-q", "-tt"), ("-e", "-v")):
            with self.subTest(flags=flags):
                ours, theirs, _ = self.run_printing(*flags)
                if "-v" in flags:  # -v: the IP header lines (tcpdump -v adds checksums after)
                    ours = [l.split(": (")[1] for l in ours if ": (tos" in l]
                    theirs = [l.split(": (")[1] for l in theirs if ": (tos" in l]
                    self.assertGreaterEqual(len(ours), 3)
                self.assertEqual(ours, theirs)

    def test_lines_any(self):
        """-i any: the interface and direction of each packet, from the cooked header. ringcap
        keeps VLAN tags in its SLL2 records (libpcap drops them) and prints those bytes as
        tcpdump -r prints them: an 802.1Q tag as "ethertype IPv4, " before the IP line, an
        802.1ad tag (a type tcpdump does not decode after a cooked header) as the header and a
        hex dump. Every other line is tcpdump's."""
        out_frame = nf.udp_frame(nf.OTHER_HOST, self.net.cap_mac, 700, dport=9004)
        ours, theirs, err = self.run_printing(iface="any", extra_out=[out_frame])
        self.assertIn("link-type LINUX_SLL2", err)
        def records(lines):  # a line and the hex-dump lines under it
            out = []
            for line in lines:
                if line[:1] == "\t":
                    out[-1].append(line)
                else:
                    out.append([line])
            return out

        ours_r, theirs_r = records(ours), records(theirs)
        self.assertEqual(len(ours_r), len(theirs_r), ours)
        prefix = f"{self.net.cap_if:<5} P   "
        q_tagged = next(i for i, r in enumerate(theirs_r) if ".9001: " in r[0])
        ad_tagged = next(i for i, r in enumerate(theirs_r) if ".9002: " in r[0])
        self.assertEqual(ours_r[q_tagged],
                         [theirs_r[q_tagged][0].replace(prefix, prefix + "ethertype IPv4, ", 1)])
        self.assertRegex(ours_r[ad_tagged][0], rf"^{re.escape(prefix)}ifindex \d+ "
                         r"[0-9a-f:]{17} ethertype 802\.1Q-QinQ \(0x88a8\), length 146: $")
        self.assertEqual(ours_r[ad_tagged][1][:24], "\t0x0000:  4064 0800 4500")  # TCI, IPv4
        for i, (a, b) in enumerate(zip(ours_r, theirs_r)):
            if i not in (q_tagged, ad_tagged):
                self.assertEqual(a, b)
        self.assertTrue(any(l.startswith(f"{self.net.cap_if} Out IP ") for l in ours), ours)

    def test_lines_v2(self):
        ours, theirs, _ = self.run_printing("--tpacket=2")
        self.assertEqual(ours, theirs)

    def test_count_only(self):
        p = self.start_ringcap("-i", self.net.cap_if, "-c", len(self.frames_in()), "--count",
                               stdout=subprocess.PIPE)
        self.net.send(self.frames_in())
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertEqual(out, b"")
        self.assertIn("listening on", err)

    def test_count_only_until_sigint(self):
        p = self.start_ringcap("-i", self.net.cap_if, "--count", stdout=subprocess.PIPE)
        self.net.send(self.frames_in())
        time.sleep(0.5)  # the frames reach the ring; nothing may be printed for them
        p.send_signal(signal.SIGINT)
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertEqual(out, b"")
        self.assert_summary(err, captured=len(self.frames_in()))


if __name__ == "__main__":
    nf.main()
