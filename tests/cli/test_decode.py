#!/usr/bin/python3
"""What ringcap prints for packets, against tcpdump 4.99 at test time, on a recording of real
traffic made in namespaces this module creates (traffic.py: ping and ping -6, ARP, curl against
python3 -m http.server over IPv4 and IPv6, dig against dnsmasq over UDP and TCP, iperf3, 3000-byte
UDP datagrams in IPv4 and IPv6 fragments, ICMP/ICMPv6 unreachables, neighbour and router
discovery, MLD, and VLAN/QinQ frames sent raw).

`ringcap -r FILE -n FLAGS` and `tcpdump -r FILE -n FLAGS` must print the same text, record by
record, for the flags tcpdump users reach for (none, -e, -q, -x, -xx, -X, -XX, -t, -tt, -ttt,
-tttt, -ttttt, -S, --nano). Where ringcap differs on purpose, the difference is asserted exactly:

- UDP to ports 7000-7009: tcpdump guesses AFS rx there ("  rx type 20 (154)"); ringcap does not
  decode application protocols guessed from ports (other than DNS and HTTP's first line) and
  prints "UDP, length 154".
- -v: the IPv4 and IPv6 header fields must match tcpdump's; what tcpdump -v adds further in
  (checksum verification, IP options, DNS TTLs, ICMPv6 options, HTTP headers) is not printed.
- A record of caplen 0: tcpdump prints "[Invalid header: caplen==0]" without a time stamp,
  ringcap its time stamp and " [|ether]".

The same comparison runs on the recording cut at every length (the first records of each kind),
on it rewritten as Linux SLL2, SLL and raw IP files, and on a real tcpdump -i any capture; --json
is parsed line by line and checked field by field against the bytes of the pcap."""
import ipaddress
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402
import traffic  # noqa: E402

AFS_RX = re.compile(r"^(?P<head>.*: ) rx type \d+ \((?P<len>\d+)\)$")


def records_of(text):
    """Output split into records: a line and the lines under it (hex dumps, -v continuations)."""
    out = []
    for line in text.splitlines():
        if out and (line.startswith("\t") or line.startswith("    ") or line.startswith(" \t")):
            out[-1].append(line)
        else:
            out.append([line])
    return out


def dst_port(frame):
    """The UDP destination port of an (optionally VLAN-tagged) IPv4 frame, else None."""
    at, etype = 12, struct.unpack_from("!H", frame, 12)[0]
    while etype in (0x8100, 0x88A8) and len(frame) >= at + 6:
        at += 4
        etype = struct.unpack_from("!H", frame, at)[0]
    at += 2
    if etype != 0x0800 or len(frame) < at + 24 or frame[at + 9] != 17:
        return None
    ihl = (frame[at] & 0xF) * 4
    if struct.unpack_from("!H", frame, at + 6)[0] & 0x1FFF:
        return None
    return struct.unpack_from("!H", frame, at + ihl + 2)[0]


@nf.skip_unless_ready(*traffic.TOOLS)
class DecodeTests(traffic.RecordingCase):
    def print_both(self, path, *flags):
        mine = nf.run([nf.RINGCAP, "-r", path, "-n", *flags])
        theirs = nf.run(["tcpdump", "-r", path, "-n", *flags])
        self.assertEqual(theirs.returncode, 0, theirs.stderr)
        self.assertEqual(mine.returncode, 0, mine.stderr)
        return records_of(mine.stdout), records_of(theirs.stdout)

    def assert_same_lines(self, name, records, flag_sets, describe):
        """Writes records ((sec, frac, data, wire_len)) to a pcap file NAME; with each set of
        flags, ringcap and tcpdump must print the same lines for every record. Returns the path."""
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(nf.pcap_bytes(records))
        for flags in flag_sets:
            with self.subTest(flags=flags):
                mine, theirs = self.print_both(path, *flags)
                self.assertEqual(len(mine), len(records))
                for k, (m, t) in enumerate(zip(mine, theirs)):
                    self.assertEqual(m, t, describe(k))
        return path

    def compare(self, path, flags, frames, rx_ok=True):
        """Record-by-record comparison; returns (equal records, AFS rx records)."""
        mine, theirs = self.print_both(path, *flags)
        self.assertEqual(len(mine), len(theirs), f"{flags}: record counts differ")
        self.assertEqual(len(mine), len(frames), f"{flags}: one record per packet")
        equal = rx = 0
        for i, (m, t) in enumerate(zip(mine, theirs)):
            if m == t:
                equal += 1
                continue
            what = f"{flags} record {i}:\n  tcpdump: {t}\n  ringcap: {m}"
            rx_line = AFS_RX.match(t[0])
            self.assertTrue(rx_ok and rx_line, what)
            self.assertIn(dst_port(frames[i]), range(7000, 7010), what)
            self.assertEqual(m[0], f"{rx_line['head']}UDP, length {rx_line['len']}", what)
            self.assertEqual(m[1:], t[1:], what)  # the hex dump, if any, is the same
            rx += 1
        return equal, rx

    def test_lines_as_tcpdump(self):
        frames = [r.data for r in self.pcap.records]
        expected_rx = sum(dst_port(f) in range(7000, 7010) for f in frames)
        self.assertGreater(expected_rx, 0)
        for flags in ([], ["-e"], ["-q"], ["-x"], ["-xx"], ["-X"], ["-XX"], ["-t"], ["-tt"],
                      ["-ttt"], ["-tttt"], ["-ttttt"], ["-S"], ["--nano"], ["-e", "-X", "-tt"]):
            with self.subTest(flags=flags):
                equal, rx = self.compare(self.rec.path, flags, frames, rx_ok="-q" not in flags)
                self.assertEqual(rx, 0 if "-q" in flags else expected_rx)
                self.assertEqual(equal + rx, len(frames))

    def test_protocols_present_and_matched(self):
        """The recording holds what the comparison is meant to cover, and those lines are
        among the identical ones (or, for AFS rx ports, identical up to the ports)."""
        mine, theirs = self.print_both(self.rec.path, "-e")
        same = "\n".join(m[0] for m, t in zip(mine, theirs)
                         if m == t or (AFS_RX.match(t[0]) and
                                       m[0].startswith(AFS_RX.match(t[0])["head"])))
        for needle in ("Request who-has", "Reply 10.213.0.2 is-at", "ICMP echo request",
                       "ICMP6, echo reply", "neighbor solicitation, who has",
                       "neighbor advertisement, tgt is", "router solicitation",
                       "HBH ICMP6, multicast listener report v2", "Flags [S.]", "Flags [P.]",
                       "HTTP: GET / HTTP/1.1", "A? www.ringcap.test.", "AAAA fd00:213::2",
                       " MX mail.ringcap.test. 10", " TXT ", " NXDomain ", "frag (0|1448)",
                       "ip-proto-17", "udp port 9998 unreachable", "unreachable port",
                       "ethertype 802.1Q (0x8100), length", "ethertype 802.1Q-QinQ (0x88a8)",
                       "vlan 42, p 5", "length 59 "):
            self.assertTrue(needle in same, needle)

    def test_verbose_ip_headers(self):
        """-v: the IPv4 "(tos .., ttl .., id .., offset .., flags [..], proto .. (..), length ..)"
        and IPv6 "(.. hlim .., next-header .. (..) payload length: ..)" as tcpdump prints them,
        and ARP's -v line whole."""
        mine, theirs = self.print_both(self.rec.path, "-v")
        self.assertEqual(len(mine), len(theirs))
        header = re.compile(r"^\S+ (IP \(tos .*?, length \d+\)|IP6 \(.*?payload length: \d+\) )")
        checked = 0
        for m, t in zip(mine, theirs):
            th = header.match(t[0])
            if th:
                mh = header.match(m[0])
                self.assertIsNotNone(mh, f"\n  tcpdump: {t[0]}\n  ringcap: {m[0]}")
                self.assertEqual(mh.group(0), th.group(0))
                checked += 1
            elif " ARP, " in t[0]:
                self.assertEqual(m, t)
                checked += 1
        self.assertEqual(checked, len(theirs))

    def test_cut_at_every_length(self):
        """The first record of each kind cut to every caplen from 1 up (the wire length kept):
        the same line as tcpdump's, markers included."""
        kinds, picked = set(), []
        theirs_all = records_of(nf.run(["tcpdump", "-r", self.rec.path, "-n", "-q"]).stdout)
        for r, line in zip(self.pcap.records, theirs_all):
            kind = re.sub(r"[\d.:a-f]+", "", line[0])[:40]
            if kind not in kinds:
                kinds.add(kind)
                picked.append(r)
        self.assertGreater(len(picked), 10)
        cut = [(i, r.data[:n], r.length) for i, r in enumerate(picked)
               for n in range(1, min(len(r.data), 300) + 1)]
        self.assert_same_lines("cut.pcap", [(1, i, d, w) for i, d, w in cut], ([], ["-e"], ["-q"]),
                               lambda k: f"record {cut[k][0]} cut to {len(cut[k][1])}")

    def test_icmp6_kinds_the_recording_lacks(self):
        """Crafted ICMPv6 messages: parameter problems of every code, MLDv1 query, report and
        done, MLDv2 queries with and without sources and of an impossible length, an unknown
        type (tcpdump dumps it in hex); whole and cut at every length, as tcpdump prints them."""
        def frame(icmp):
            ip6 = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 1) + \
                bytes.fromhex("fe80" + "00" * 13 + "01" + "ff02" + "00" * 13 + "16")
            return bytes.fromhex("333300000016" "020000000001" "86dd") + ip6 + icmp
        group = bytes.fromhex("ff02" + "00" * 13 + "fb")
        quoted = bytes(40) + bytes(8)  # a quoted IPv6 header and 8 bytes
        msgs = [bytes([4, code, 0, 0]) + struct.pack("!I", 40 + code) + quoted
                for code in range(5)]
        msgs += [bytes([t, 0, 0, 0]) + struct.pack("!HH", 1000, 0) + group for t in (130, 131, 132)]
        msgs += [bytes([130, 0, 0, 0]) + struct.pack("!HH", 1000, 0) + group + bytes([2, 125]) +
                 struct.pack("!H", n) + group * n for n in (0, 2)]
        msgs += [bytes([130, 0, 0, 0]) + struct.pack("!HH", 1000, 0) + group[:10],
                 bytes([250, 0, 0, 0]) + b"not a known message"]
        frames = [frame(m) for m in msgs]
        records = [(1, i, f, len(f)) for i, f in enumerate(frames)]
        records += [(2, i, f[:n], len(f)) for i, f in enumerate(frames)
                    for n in range(54, len(f))]
        path = self.assert_same_lines("icmp6.pcap", records, ([], ["-x"], ["-e"]),
                                      lambda k: f"record {k}")
        mine, _ = self.print_both(path)
        self.assertIn("parameter problem, next header - octet 41", mine[1][0])
        self.assertIn("parameter problem, code-#4, length", mine[4][0])
        self.assertIn("multicast listener querymax resp delay: 1000 addr: ff02::fb", mine[5][0])
        self.assertIn("multicast listener query v2 [gaddr ff02::fb, 2 source(s)]", mine[9][0])
        self.assertIn("unknown icmp6 type (250)", mine[11][0])

    def test_caplen_zero_difference(self):
        path = os.path.join(self.tmp.name, "zero.pcap")
        with open(path, "wb") as f:
            f.write(nf.pcap_bytes([(5, 0, b"", 60)]))
        mine, theirs = self.print_both(path, "-tt")
        self.assertEqual(theirs, [["[Invalid header: caplen==0]"]])
        self.assertEqual(mine, [["5.000000  [|ether]"]])

    def cooked_files(self):
        """The recording as Linux SLL2 (interface 1, lo), SLL, and raw IP (IP packets only);
        with, for each file, the Ethernet frames its records came from."""
        sll2, sll, raw, ip_frames = [], [], [], []
        for r in self.pcap.records:
            d = r.data
            outgoing = d[6:12] == nf.mac_bytes(self.rec.cap_mac)
            pkttype = 4 if outgoing else (1 if d[0:6] == b"\xff" * 6 else
                                           2 if d[0] & 1 else 0)
            proto, rest = struct.unpack_from("!H", d, 12)[0], d[14:]
            sll2.append((r.ts_sec, r.ts_frac,
                         struct.pack("!HHIHBB", proto, 0, 1, 1, pkttype, 6) + d[6:12] + b"\0\0" +
                         rest, r.length + 6))
            sll.append((r.ts_sec, r.ts_frac,
                        struct.pack("!HHH", pkttype, 1, 6) + d[6:12] + b"\0\0" +
                        struct.pack("!H", proto) + rest, r.length + 2))
            if proto in (0x0800, 0x86DD):
                raw.append((r.ts_sec, r.ts_frac, rest, r.length - 14))
                ip_frames.append(d)
        paths = {}
        for name, recs, link in (("sll2", sll2, 276), ("sll", sll, 113), ("raw", raw, 101)):
            paths[name] = os.path.join(self.tmp.name, f"{name}.pcap")
            with open(paths[name], "wb") as f:
                f.write(nf.pcap_bytes(recs, linktype=link))
        frames = [r.data for r in self.pcap.records]
        return paths, {"sll2": frames, "sll": frames, "raw": ip_frames}

    def test_cooked_and_raw_files(self):
        paths, sources = self.cooked_files()
        for name, path in paths.items():
            frames = sources[name]
            for flags in ([], ["-e"], ["-x"]):
                with self.subTest(file=name, flags=flags):
                    # After a cooked header tcpdump decodes an 802.1Q tag but not 802.1ad:
                    # both print the latter as an unknown type with a hex dump.
                    equal, rx = self.compare(path, flags, frames)
                    self.assertEqual(equal + rx, len(frames))

    def test_cooked_any_capture(self):
        """A real tcpdump -i any capture (SLL2), read in the namespace it was taken in, so both
        tools resolve each record's interface index to the same name."""
        path = os.path.join(self.tmp.name, "any.pcap")
        net = nf.NetPair()
        self.addCleanup(net.close)
        net.add_addresses()
        p = nf.Proc(net.cap(["tcpdump", "-i", "any", "-w", path, "-c", "8", "icmp"]))
        self.assertTrue(p.wait_for_stderr(r"listening on", 10), p.stderr())
        nf.run(net.snd(["ping", "-c", "4", "-i", "0.2", net.CAP_IP]), timeout=20)
        status, _, err = p.finish(timeout=20)
        self.assertEqual(status, 0, err)
        for flags in ([], ["-e"], ["-XX"], ["-q"], ["--json"]):
            with self.subTest(flags=flags):
                mine = nf.run(net.cap([nf.RINGCAP, "-r", path, "-n", *flags]))
                self.assertEqual(mine.returncode, 0, mine.stderr)
                if flags == ["--json"]:
                    objs = [json.loads(line) for line in mine.stdout.splitlines()]
                    self.assertEqual(len(objs), 8)
                    self.assertEqual({o["interface"] for o in objs}, {net.cap_if})
                    self.assertEqual({o["direction"] for o in objs}, {"in", "out"})
                    continue
                theirs = nf.run(net.cap(["tcpdump", "-r", path, "-n", *flags]))
                self.assertEqual(mine.stdout, theirs.stdout)
                self.assertRegex(mine.stdout, re.compile(
                    rf"^\S+ {re.escape(net.cap_if)} +(In |Out) ", re.M))

    def test_json(self):
        r = nf.run([nf.RINGCAP, "-r", self.rec.path, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), len(self.pcap.records))
        seen = set()
        for line, rec in zip(lines, self.pcap.records):
            o = json.loads(line)
            d = rec.data
            what = f"{line}\n{d.hex()}"
            self.assertEqual(o["ts_ns"], rec.ts_sec * 10**9 + rec.ts_frac * 1000, what)
            self.assertEqual((o["caplen"], o["len"]), (rec.caplen, rec.length), what)
            self.assertEqual(o["dst_mac"], d[0:6].hex(":"), what)
            self.assertEqual(o["src_mac"], d[6:12].hex(":"), what)
            at, etype, vlans = 14, struct.unpack_from("!H", d, 12)[0], []
            while etype in (0x8100, 0x88A8):
                tci = struct.unpack_from("!H", d, at)[0]
                vlans.append({"tpid": etype, "id": tci & 0xFFF, "pcp": tci >> 13})
                etype = struct.unpack_from("!H", d, at + 2)[0]
                at += 4
            self.assertEqual(o["ethertype"], etype, what)
            self.assertEqual(o.get("vlan", []), vlans, what)
            if etype == 0x0806:
                self.assertEqual(o["arp_op"], struct.unpack_from("!H", d, at + 6)[0], what)
                self.assertEqual(o["arp_tpa"], str(ipaddress.IPv4Address(d[at + 24:at + 28])))
                seen.add("arp")
                continue
            if etype == 0x0800:
                ihl = (d[at] & 0xF) * 4
                src, dst = ipaddress.IPv4Address(d[at + 12:at + 16]), ipaddress.IPv4Address(
                    d[at + 16:at + 20])
                proto, l4 = d[at + 9], at + ihl
                first = struct.unpack_from("!H", d, at + 6)[0] & 0x1FFF == 0
                self.assertEqual(o["ip_id"], struct.unpack_from("!H", d, at + 4)[0], what)
            elif etype == 0x86DD:
                src, dst = ipaddress.IPv6Address(d[at + 8:at + 24]), ipaddress.IPv6Address(
                    d[at + 24:at + 40])
                proto, l4, first = d[at + 6], at + 40, True
                while proto in (0, 43, 60, 44):
                    if proto == 44:
                        first = struct.unpack_from("!H", d, l4 + 2)[0] & 0xFFF8 == 0
                        proto, l4 = d[l4], l4 + 8
                        self.assertIn("frag_offset", o, what)
                    else:
                        proto, l4 = d[l4], l4 + (d[l4 + 1] + 1) * 8
            else:
                self.assertNotIn("ip_version", o, what)
                continue
            self.assertEqual((o["src_ip"], o["dst_ip"]), (str(src), str(dst)), what)
            self.assertEqual(o["ip_proto"], proto, what)
            seen.add(f"ip{o['ip_version']}")
            if not first:
                self.assertNotIn("src_port", o, what)
                seen.add("fragment")
                continue
            if proto in (6, 17):
                sport, dport = struct.unpack_from("!HH", d, l4)
                self.assertEqual((o["src_port"], o["dst_port"]), (sport, dport), what)
            if proto == 6:
                flags = d[l4 + 13]
                self.assertEqual(o["tcp_flags"], "".join(
                    c for bit, c in zip(range(8), "FSRP.UEW") if flags >> bit & 1), what)
                self.assertEqual(o["tcp_seq"], struct.unpack_from("!I", d, l4 + 4)[0], what)
                seen.add("tcp")
            if proto in (1, 58):
                self.assertEqual((o["icmp_type"], o["icmp_code"]), (d[l4], d[l4 + 1]), what)
                seen.add("icmp")
            if proto == 17 and 53 in (sport, dport):
                msg = d[l4 + 8:]
                self.assertEqual(o["dns_id"], struct.unpack_from("!H", msg, 0)[0], what)
                self.assertEqual(o["dns_response"], bool(msg[2] & 0x80), what)
                self.assertEqual(o["dns_qname"], self.qname(msg), what)
                seen.add("dns")
        self.assertEqual(seen, {"arp", "ip4", "ip6", "fragment", "tcp", "icmp", "dns"})

    @staticmethod
    def qname(msg):
        at, labels = 12, []
        while msg[at]:
            labels.append(msg[at + 1:at + 1 + msg[at]].decode())
            at += 1 + msg[at]
        return ".".join(labels) + "."

    def test_json_hostile_bytes_stay_valid(self):
        """Truncated and mutated records: every line still parses."""
        recs = []
        for i, r in enumerate(self.pcap.records[:400]):
            d = bytearray(r.data)
            for k in range(0, len(d), 7):
                d[k] = (d[k] * 31 + i) & 0xFF
            recs.append((1, i, bytes(d[: (i * 13) % (len(d) + 1)]), len(d)))
        path = os.path.join(self.tmp.name, "hostile.pcap")
        with open(path, "wb") as f:
            f.write(nf.pcap_bytes(recs))
        r = nf.run([nf.RINGCAP, "-r", path, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), len(recs))
        for line in lines:
            json.loads(line)


if __name__ == "__main__":
    nf.main()
