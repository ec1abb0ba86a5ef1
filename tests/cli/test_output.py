#!/usr/bin/python3
"""What ringcap prints: -d (the compiled program, as tcpdump -d prints it), -D (interfaces with
index and state), one line per packet without -w (tcpdump's, also with -q), and only the
summary with --count."""
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
    """Lines as tcpdump prints them (the decoder's own conformance is test_decode.py): here,
    that live capture prints one per packet, on Ethernet and on 'any' (SLL2, with the interface
    and direction), in micro and nano precision, and -q is tcpdump's quick output while --count
    prints nothing per packet."""

    def frames_in(self):
        """(frame, SLL2 direction, what tcpdump -n prints after the time stamp)."""
        src = self.net.snd_mac
        udp = "IP 10.213.0.2.40000 > 10.213.0.77.7000: UDP, length {}"
        return [
            (nf.udp_frame(self.net.cap_mac, src, 100), "In ", udp.format(100 - 42)),
            (nf.udp_frame(nf.OTHER_HOST, src, 1514), "P  ", udp.format(1514 - 42)),
            (nf.arp_request(src, "10.213.0.2", "10.213.0.99"), "B  ",
             "ARP, Request who-has 10.213.0.99 tell 10.213.0.2, length 46"),
            (nf.udp_frame(nf.MULTICAST, src, 90), "M  ", udp.format(90 - 42)),
            (nf.udp_frame(nf.OTHER_HOST, src, 200, vlan=(42, 5)), "P  ", udp.format(200 - 46)),
        ]

    def run_printing(self, *args, iface=None, extra_out=()):
        """Sends the incoming frames, then extra_out out of the capture side; returns (stdout
        lines, stderr)."""
        expected = self.frames_in()
        total = len(expected) + len(extra_out)
        p = self.start_ringcap("-i", iface or self.net.cap_if, "-c", total, *args,
                               stdout=subprocess.PIPE)
        self.net.send([f for f, *_ in expected])
        if extra_out:
            self.net.send(list(extra_out), side="cap")
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assert_summary(err, captured=total)
        return out.decode().splitlines(), err, expected

    def check_lines(self, lines, expected, frac_digits, iface=None):
        self.assertEqual(len(lines), len(expected), "\n".join(lines))
        for line, (_, direction, what) in zip(lines, expected):
            m = re.match(r"^\d\d:\d\d:\d\d\.(\d+) (.*)$", line)
            self.assertIsNotNone(m, f"line not in the expected form: {line!r}")
            self.assertEqual(len(m.group(1)), frac_digits, line)
            # On 'any' (SLL2) tcpdump shows the interface (5 columns) and the direction.
            prefix = "" if iface is None else f"{iface:<5} {direction:<3} "
            self.assertEqual(m.group(2), prefix + what, line)

    def test_lines_ethernet(self):
        out_frame = nf.udp_frame(nf.OTHER_HOST, self.net.cap_mac, 700)
        lines, err, expected = self.run_printing(extra_out=[out_frame])
        self.assertRegex(err, rf"(?m)^listening on {self.net.cap_if}, link-type EN10MB "
                              r"\(Ethernet\), snapshot length 262144 bytes")
        expected.append((out_frame, "Out",
                         "IP 10.213.0.2.40000 > 10.213.0.77.7000: UDP, length 658"))
        self.check_lines(lines, expected, 6)

    def test_lines_nano(self):
        lines, _, expected = self.run_printing("--nano")
        self.check_lines(lines, expected, 9)

    def test_lines_any(self):
        """-i any: the interface each packet came through and its direction, as tcpdump prints
        an SLL2 header; the VLAN tag (put back after the cooked header) shows as tcpdump shows
        it there, by the inner EtherType."""
        lines, err, expected = self.run_printing(iface="any")
        self.assertIn("link-type LINUX_SLL2", err)
        expected[-1] = (expected[-1][0], expected[-1][1], "ethertype IPv4, " + expected[-1][2])
        self.check_lines(lines, expected, 6, iface=self.net.cap_if)

    def test_lines_v2(self):
        lines, _, expected = self.run_printing("--tpacket=2")
        self.check_lines(lines, expected, 6)

    def test_quick(self):
        """-q is tcpdump's quick output: still a line per packet, less protocol detail."""
        lines, _, expected = self.run_printing("-q")
        self.check_lines(lines, expected, 6)

    def test_count_only(self):
        lines, err, _ = self.run_printing("--count")
        self.assertEqual(lines, [])
        self.assertIn("listening on", err)

    def test_count_only_until_sigint(self):
        p = self.start_ringcap("-i", self.net.cap_if, "--count", stdout=subprocess.PIPE)
        self.net.send([f for f, *_ in self.frames_in()])
        time.sleep(0.5)  # the frames reach the ring; nothing may be printed for them
        p.send_signal(signal.SIGINT)
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertEqual(out, b"")
        self.assert_summary(err, captured=len(self.frames_in()))


if __name__ == "__main__":
    nf.main()
