#!/usr/bin/python3
"""ringcap's printed lines against tcpdump's, line by line, on a recording of real traffic
(traffic.py: HTTP over IPv4/IPv6, DNS over UDP and TCP, ping and ping -6, ICMP unreachable,
iperf3, IPv4/IPv6 fragments, VLAN/QinQ, ARP, neighbour discovery, MLD) and on a cooked -i any
capture: default, -e, -q, -x, -xx, -X, -XX and the five -t formats must match exactly; -v
matches on the IP header lines. The one difference on purpose: tcpdump decodes UDP ports
7000-7009 as AFS RX; ringcap prints them as plain UDP. --json: one valid object per packet whose
fields agree with the pcap."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402
import traffic  # noqa: E402

AFS_RX = re.compile(r"\.700\d: +rx type ")  # tcpdump's AFS RX lines (ports 7000-7009)


def lines_of(argv):
    r = nf.run(argv, timeout=120)
    assert r.returncode == 0, f"{argv}: {r.stderr}"
    return r.stdout.splitlines()


@nf.skip_unless_ready(*traffic.TOOLS)
class DecodeTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rec = traffic.Recording.make()
        cls.addClassCleanup(cls.rec.close)
        cls.packets = nf.read_pcap(cls.rec.path).records

    def compare(self, path, *flags, allowed=0):
        """Lines of ringcap -r and tcpdump -n -r with flags: equal, except tcpdump's AFS RX
        packets, where ringcap must print 'UDP, length N' for the same header. Returns the
        number of lines compared."""
        ours = lines_of([nf.RINGCAP, "-r", path] + list(flags))
        theirs = lines_of(["tcpdump", "-n", "-r", path] + list(flags))
        self.assertEqual(len(ours), len(theirs), flags)
        differ = 0
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if a == b:
                continue
            if AFS_RX.search(b):
                head = b[:AFS_RX.search(b).start()]
                self.assertTrue(a.startswith(head), f"{flags} line {i}:\n{a}\n{b}")
                self.assertRegex(a[len(head):], r"^\.700\d: UDP, length \d+$")
                differ += 1
                continue
            self.fail(f"{flags} line {i} differs:\nringcap: {a}\ntcpdump: {b}")
        self.assertLessEqual(differ, 20)
        return len(ours)

    def test_summaries_match_tcpdump(self):
        for flags in ((), ("-e",), ("-q",), ("-t",), ("-tt",), ("-ttt",), ("-tttt",),
                      ("-ttttt",), ("--nano", "-tt")):
            with self.subTest(flags=flags):
                self.assertGreater(self.compare(self.rec.path, *flags), 1000)

    def test_hex_dumps_match_tcpdump(self):
        for flags in (("-x",), ("-xx",), ("-X",), ("-XX",), ("-e", "-XX")):
            with self.subTest(flags=flags):
                self.assertGreater(self.compare(self.rec.path, *flags), 100_000)

    def test_protocols_are_covered(self):
        text = "\n".join(lines_of([nf.RINGCAP, "-r", self.rec.path]))
        for needle in (r"Flags \[S\.\], seq \d+, ack \d+", r": HTTP: GET / HTTP/1\.1",
                       r"\d+\+ \[1au\] AAAA\? www\.ringcap\.test\. \(\d+\)",
                       r"\d+\* 1/0/1 A 10\.213\.0\.2 \(\d+\)", r" NXDomain ",
                       r"ICMP echo request, id \d+, seq \d+", r"ICMP6, echo reply",
                       r"ICMP6, neighbor solicitation, who has", r"frag \(0\|\d+\) \d+ > \d+: UDP",
                       r": ip-proto-17$", r"ARP, Request who-has", r"ARP, Reply .* is-at",
                       r"udp port \d+ unreachable", r"HBH ICMP6, multicast listener report v2"):
            self.assertRegex(text, re.compile(needle, re.M))
        vlan = "\n".join(lines_of([nf.RINGCAP, "-r", self.rec.path, "-e", "vlan"]))
        self.assertRegex(vlan, r"ethertype 802\.1Q \(0x8100\), length \d+: vlan 42, p \d, ")
        self.assertRegex(vlan, r"ethertype 802\.1Q-QinQ \(0x88a8\), length \d+: vlan \d+, p \d, "
                               r"ethertype 802\.1Q \(0x8100\), vlan 42")

    def test_verbose_ip_header_lines_match(self):
        ours = [l for l in lines_of([nf.RINGCAP, "-r", self.rec.path, "-v"]) if l[:1].isdigit()]
        theirs = [l for l in lines_of(["tcpdump", "-n", "-v", "-r", self.rec.path])
                  if l[:1].isdigit()]
        self.assertEqual(len(ours), len(theirs))
        same = 0
        for a, b in zip(ours, theirs):
            # IPv4's header line stands alone; compare it whole. IPv6 and ARP: up to the ':'
            # after the addresses (tcpdump -v adds checksums and protocol detail after it).
            if " IP (" in b:
                self.assertEqual(a, b)
                same += 1
            elif " IP6 (" in b:
                self.assertEqual(a.split(") ", 1)[0], b.split(") ", 1)[0])
                same += 1
        self.assertGreater(same, 1000)

    def test_cooked_any_capture(self):
        tmp = tempfile.TemporaryDirectory(prefix="ringcap-decode-")
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "any.pcap")
        net = nf.NetPair()
        self.addCleanup(net.close)
        net.add_addresses()
        p = nf.Proc(net.cap(["tcpdump", "-i", "any", "-w", path, "-c", "8", "icmp"]))
        self.assertTrue(p.wait_for_stderr(r"listening on", 10), p.stderr())
        nf.run(net.snd(["ping", "-c", "4", "-i", "0.2", net.CAP_IP]), timeout=20)
        status, _, err = p.finish(timeout=20)
        self.assertEqual(status, 0, err)
        for flags in ((), ("-e",), ("-XX",), ("-q",)):
            with self.subTest(flags=flags):
                self.assertEqual(self.compare(path, *flags) >= 8, True)
        # Names come from the ifindex in each SLL2 header, resolved where the reader runs.
        out = "\n".join(lines_of(net.cap([nf.RINGCAP, "-r", path])))
        self.assertRegex(out, re.compile(rf"^\S+ {re.escape(net.cap_if)} +(In |Out) IP ", re.M))

    def test_json(self):
        lines = lines_of([nf.RINGCAP, "-r", self.rec.path, "--json"])
        self.assertEqual(len(lines), len(self.packets))
        kinds = set()
        for line, rec in zip(lines, self.packets):
            obj = json.loads(line)
            self.assertEqual(obj["ts_ns"], rec.ts_sec * 10**9 + rec.ts_frac * 1000)
            self.assertEqual((obj["caplen"], obj["len"]), (rec.caplen, rec.length))
            self.assertEqual(obj["eth"]["dst"], rec.data[0:6].hex(":"))
            ip = obj.get("ip")
            if ip and ip["version"] == 4:
                self.assertEqual(ip["src"], ".".join(str(b) for b in rec.data[26:30])
                                 if obj["eth"]["type"] == 0x0800 and "vlan" not in obj["eth"]
                                 else ip["src"])
            for k in ("tcp", "udp", "icmp", "icmp6", "dns", "arp"):
                if k in obj:
                    kinds.add(k)
            if "tcp" in obj and "vlan" not in obj["eth"]:
                self.assertEqual(obj["tcp"]["sport"], int.from_bytes(rec.data[34:36], "big")
                                 if ip["version"] == 4 else obj["tcp"]["sport"])
        self.assertEqual(kinds, {"tcp", "udp", "icmp", "icmp6", "dns", "arp"})
        qnames = {json.loads(l)["dns"].get("qname") for l in lines if '"dns"' in l}
        self.assertIn("www.ringcap.test.", qnames)

    def test_hostile_bytes_never_break_the_output(self):
        # Every prefix of every packet of a few kinds, as its own record: lines stay one per
        # packet, and the JSON stays valid.
        tmp = tempfile.TemporaryDirectory(prefix="ringcap-decode-")
        self.addCleanup(tmp.cleanup)
        picks = [r for r in self.packets if len(r.data) < 400][:40]
        cut = [(1, i, r.data[:n], len(r.data)) for i, r in enumerate(picks)
               for n in range(0, len(r.data) + 1, 3)]
        path = os.path.join(tmp.name, "cut.pcap")
        with open(path, "wb") as f:
            f.write(nf.pcap_bytes(cut))
        self.assertEqual(len(lines_of([nf.RINGCAP, "-r", path, "-e", "-v", "-X"])) >= len(cut),
                         True)
        plain = lines_of([nf.RINGCAP, "-r", path])
        self.assertEqual(len(plain), len(cut))
        self.assertTrue(any("[|" in l for l in plain))
        for line in lines_of([nf.RINGCAP, "-r", path, "--json"]):
            json.loads(line)


if __name__ == "__main__":
    nf.main()
