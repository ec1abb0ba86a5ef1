#!/usr/bin/python3
"""tcpdump parity on a live interface (issue 15).

- A filter the kernel refuses: libpcap's code for `ip6 protochain 44` jumps backwards, which the
  kernel's checker rejects (SO_ATTACH_FILTER: EINVAL). ringcap then does what libpcap does:
  it says so once, attaches a program that accepts everything (still cutting at snaplen) and
  runs the expression in user space. Run next to a concurrent tcpdump, which falls back the same
  way, both files must hold the same packets.
- Privileges: once the capture is open ringcap runs as the -Z user (default: Debian's tcpdump
  user, else nobody) with no capability left (CAP_DAC_OVERRIDE only while rotating files),
  and no_new_privs, read from /proc/PID/status of the running capture; -Z root keeps root; a
  user that does not exist is a one-line error before anything opens."""
import os
import pwd
import re
import signal
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402

CAP_DAC_OVERRIDE = 1 << 1


def ipv6_frame(dst, src, chain, payload_len=16):
    """An IPv6 frame whose extension headers are `chain` (next-header numbers, e.g. [0, 44])
    before a UDP header and payload."""
    nxt = chain + [17]
    body = b""
    for i in reversed(range(len(chain))):
        if chain[i] == 44:  # fragment header: 8 bytes, offset 0, M=0
            ext = struct.pack("!BBHI", nxt[i + 1], 0, 0, 0x1234)
        else:  # hop-by-hop / destination / routing: 8 bytes, padding
            ext = struct.pack("!BB", nxt[i + 1], 0) + b"\x01\x04\x00\x00\x00\x00"
        body = ext + body
    udp = struct.pack("!HHHH", 40000, 7000, 8 + payload_len, 0) + bytes(payload_len)
    payload = body + udp
    first = chain[0] if chain else 17
    ip6 = struct.pack("!IHBB", 6 << 28, len(payload), first, 64)
    ip6 += bytes.fromhex("fd000213000000000000000000000002")
    ip6 += bytes.fromhex("fd000213000000000000000000000077")
    return nf.ether(dst, src, 0x86DD, ip6 + payload)


def status_of(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


@nf.skip_unless_ready("tcpdump")
class KernelRefusesFilter(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-parity-")
        self.addCleanup(self.tmp.cleanup)

    def test_protochain_filtered_in_user_space_as_tcpdump(self):
        src = self.net.snd_mac
        frames = [
            ipv6_frame(nf.OTHER_HOST, src, [44]),          # fragment header: matches
            ipv6_frame(nf.OTHER_HOST, src, []),            # plain UDP: no
            ipv6_frame(nf.OTHER_HOST, src, [0, 44]),       # hop-by-hop, then fragment: matches
            nf.udp_frame(nf.OTHER_HOST, src, 100),         # IPv4: no
            ipv6_frame(nf.OTHER_HOST, src, [60, 44], 40),  # destination options, fragment
            ipv6_frame(nf.OTHER_HOST, src, [60]),          # destination options only: no
            nf.udp_frame(nf.OTHER_HOST, src, 1514, fill=3),
        ]
        expected = [frames[i] for i in (0, 2, 4)]
        a = os.path.join(self.tmp.name, "ringcap.pcap")
        b = os.path.join(self.tmp.name, "tcpdump.pcap")
        filt = ("ip6", "protochain", "44")
        rc = self.start_ringcap("-i", self.net.cap_if, "-w", a, "-U", "-s", "100", *filt)
        td = self.start_tcpdump("-i", self.net.cap_if, "-w", b, "-U", "--immediate-mode",
                                "-n", "-s", "100", "-Z", "root", *filt)
        self.net.send(frames, gap=0.002)
        ok = nf.wait_until(lambda: nf.count_records(a) >= len(expected)
                           and nf.count_records(b) >= len(expected), timeout=10)
        nf.wait_until(lambda: False, timeout=0.5)  # nothing more may arrive
        for p in (rc, td):
            p.send_signal(signal.SIGINT)
        status_r, _, err_r = rc.finish()
        status_t, _, err_t = td.finish()
        self.assertEqual(status_r, 0, err_r)
        self.assertEqual(status_t, 0, err_t)
        self.assertTrue(ok, err_r)
        self.assertIn("Kernel filter failed: Invalid argument", err_t)  # tcpdump did fall back
        notes = [l for l in err_r.splitlines() if "kernel filter failed" in l]
        self.assertEqual(notes, ["ringcap: note: kernel filter failed: Invalid argument; "
                                 "filtering in user space"])
        fa, fb = nf.read_pcap(a), nf.read_pcap(b)
        self.assertEqual([(r.caplen, r.length, r.data) for r in fa.records],
                         [(r.caplen, r.length, r.data) for r in fb.records])
        self.assertEqual([r.data for r in fa.records], [f[:100] for f in expected])
        self.assertEqual(self.assert_summary(err_r)[0], len(expected))

    def test_count_applies_after_the_user_space_filter(self):
        src = self.net.snd_mac
        frames = [nf.udp_frame(nf.OTHER_HOST, src, 100)] * 5 + [
            ipv6_frame(nf.OTHER_HOST, src, [44])] * 2
        a = os.path.join(self.tmp.name, "c.pcap")
        rc = self.start_ringcap("-i", self.net.cap_if, "-w", a, "-c", "2", "ip6", "protochain",
                                "44")
        self.net.send(frames, gap=0.002)
        status, _, err = rc.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertEqual(len(nf.read_pcap(a).records), 2)
        self.assert_summary(err, captured=2)


@nf.skip_unless_ready()
class Privileges(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-priv-")
        self.addCleanup(self.tmp.cleanup)

    def default_user(self):
        for name in ("ringcap", "tcpdump", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                pass
        self.skipTest("no unprivileged user on this machine")

    def running(self, *args):
        p = self.start_ringcap("-i", self.net.cap_if, *args)
        # The drop happens right after the banner's capture opened; give it a moment.
        nf.wait_until(lambda: status_of(p.pid)["Uid"].split()[0] != "0", timeout=2)
        return p, status_of(p.pid)

    def stop(self, p):
        p.send_signal(signal.SIGINT)
        status, _, err = p.finish()
        self.assertEqual(status, 0, err)
        return err

    def test_default_user_no_capabilities_no_new_privs(self):
        user = self.default_user()
        p, st = self.running("--count")
        self.assertEqual(st["Uid"].split(), [str(user.pw_uid)] * 4)
        self.assertEqual(st["Gid"].split(), [str(user.pw_gid)] * 4)
        self.assertEqual(int(st["CapEff"], 16), 0)
        self.assertEqual(int(st["CapPrm"], 16), 0)
        self.assertEqual(int(st["CapBnd"], 16), 0)
        self.assertEqual(int(st["CapAmb"], 16), 0)
        self.assertEqual(st["NoNewPrivs"], "1")
        # Packets still arrive through the socket opened as root.
        self.net.send([nf.udp_frame(nf.OTHER_HOST, self.net.snd_mac, 80)] * 3)
        nf.wait_until(lambda: False, timeout=0.3)
        self.assertRegex(self.stop(p), r"(?m)^3 packets captured$")

    def test_named_user_and_file(self):
        out = os.path.join(self.tmp.name, "x.pcap")  # a directory only root may write
        p, st = self.running("-Z", "nobody", "-w", out)
        self.assertEqual(st["Uid"].split()[0], str(pwd.getpwnam("nobody").pw_uid))
        self.assertEqual(int(st["CapEff"], 16), 0)  # the file is open: nothing kept
        self.stop(p)
        self.assertEqual(os.stat(out).st_uid, pwd.getpwnam("nobody").pw_uid)
        nf.read_pcap(out)

    def test_rotation_keeps_only_dac_override(self):
        out = os.path.join(self.tmp.name, "r.pcap")
        p, st = self.running("-Z", "nobody", "-w", out, "-C", "1k")
        self.assertEqual(int(st["CapEff"], 16), CAP_DAC_OVERRIDE)
        self.assertEqual(int(st["CapPrm"], 16), CAP_DAC_OVERRIDE)
        self.net.send([nf.udp_frame(nf.OTHER_HOST, self.net.snd_mac, 600)] * 6, gap=0.002)
        nf.wait_until(lambda: len(os.listdir(self.tmp.name)) >= 3, timeout=5)
        self.stop(p)
        names = sorted(os.listdir(self.tmp.name))
        self.assertGreaterEqual(len(names), 3, names)
        for n in names:
            nf.read_pcap(os.path.join(self.tmp.name, n))

    def test_root_keeps_root(self):
        p, _ = self.start_ringcap("-i", self.net.cap_if, "-Z", "root", "--count"), None
        nf.wait_until(lambda: False, timeout=0.3)
        st = status_of(p.pid)
        self.assertEqual(st["Uid"].split()[0], "0")
        self.assertNotEqual(int(st["CapEff"], 16), 0)
        self.stop(p)

    def test_bad_user(self):
        out = os.path.join(self.tmp.name, "never.pcap")
        r = nf.run(self.net.ringcap("-i", self.net.cap_if, "-Z", "no-such-user-15", "-w", out))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ringcap: -Z: couldn't find user 'no-such-user-15' (give an "
                                   "existing user, or -Z root to keep root)\n")
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    nf.main()
