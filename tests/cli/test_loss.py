#!/usr/bin/python3
"""The loss ledger end to end (issue 13), on real traffic in namespaces:
- ring overflow: a tiny ring, the reader stopped (SIGSTOP) while `ringcap gen` sends: the
  ledger's ring drops are exactly sent - captured; the pcapng file's ISB says the same
  (isb_osdrop, isb_usrdeliv) and its EPBs carry epb_dropcount; `ringcap doctor` names the ring
  and advises -B or --workers;
- stack drops: frames to a closed UDP port and to another host's MAC are counted under the
  kernel's own reasons (NO_SOCKET, OTHERHOST), names that the running kernel's BTF has;
- unavailable, not zero: veth has no hardware counters; without CAP_BPF the stack stage says why;
- writer loss: a full tmpfs is counted under writer and the file stays valid;
- SIGUSR1 prints the counts and the capture goes on (the file holds every packet);
- the live status line appears on a pseudo-terminal and not in a pipe (nor with -q);
  --stats=json is one JSON object."""
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402

GEN_TIMEOUT = 60


def blocks(path):
    """[(type, body, endian)] of a pcapng file."""
    with open(path, "rb") as f:
        buf = f.read()
    out, pos, endian = [], 0, "<"
    while pos < len(buf):
        if buf[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if buf[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack(endian + "II", buf[pos:pos + 8])
        assert blen >= 12 and pos + blen <= len(buf), f"bad block at {pos}"
        out.append((btype, buf[pos + 8:pos + blen - 4], endian))
        pos += blen
    return out


def options(body, endian):
    opts, pos = {}, 0
    while pos + 4 <= len(body):
        code, length = struct.unpack(endian + "HH", body[pos:pos + 4])
        if code == 0:
            break
        opts.setdefault(code, []).append(body[pos + 4:pos + 4 + length])
        pos += 4 + (length + 3) // 4 * 4
    return opts


def epb_dropcounts(path):
    """(packets, sum of epb_dropcount, packets carrying one)."""
    packets = total = marked = 0
    for btype, body, e in blocks(path):
        if btype != 6:
            continue
        packets += 1
        caplen = struct.unpack(e + "I", body[12:16])[0]
        opts = options(body[20 + (caplen + 3) // 4 * 4:], e)
        if 4 in opts:
            total += struct.unpack(e + "Q", opts[4][0])[0]
            marked += 1
    return packets, total, marked


def last_isb(path):
    isb = [options(body[12:], e) | {"endian": e} for t, body, e in blocks(path) if t == 5]
    o = isb[-1]
    return {code: struct.unpack(o["endian"] + "Q", o[code][0])[0] for code in (4, 5, 7, 8)
            if code in o}


def ledger_json(stderr):
    for line in reversed(stderr.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError("no JSON ledger on stderr:\n" + stderr)


def kernel_drop_reasons():
    r = nf.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"], timeout=120)
    return set(re.findall(r"'SKB_DROP_REASON_(\w+)' val=", r.stdout))


@nf.skip_unless_ready("bpftool")
class LossTest(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-loss-")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def gen(self, *args):
        r = nf.run(self.net.snd([nf.RINGCAP, "gen", "-i", self.net.snd_if, "--dst-mac",
                                 self.net.cap_mac] + [str(a) for a in args]), timeout=GEN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(re.search(r"sent (\d+) packets", r.stdout + r.stderr).group(1))

    def stop(self, proc, status=0):
        proc.send_signal(signal.SIGINT)
        got, out, err = proc.finish()
        self.assertEqual(got, status, err)
        return out, err

    # -- the ring

    def test_ring_overflow_is_exactly_sent_minus_captured(self):
        self.ring_overflow("-B", 512)

    def test_ring_overflow_v2_frames(self):
        """V2 marks each frame after the drops with TP_STATUS_LOSING, V3 the block."""
        self.ring_overflow("--immediate-mode", "-s", 128, "-B", 512)

    def ring_overflow(self, *ring):
        out = self.path("small.pcapng")
        p = self.start_ringcap("-i", self.net.cap_if, *ring, "-w", out, "--stats=json")
        p.send_signal(signal.SIGSTOP)
        try:
            sent = self.gen("-c", 20000, "-r", 100000)
        finally:
            p.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        # The kernel marks the next block it closes after the drops (TP_STATUS_LOSING): its
        # first packet carries them all as epb_dropcount.
        sent += self.gen("-c", 100, "--src-port", 20000)
        time.sleep(0.3)
        _, err = self.stop(p)
        captured, received, dropped = self.assert_summary(err)
        ledger = ledger_json(err)
        self.assertGreater(ledger["ring"]["dropped"], 0, err)
        self.assertEqual(ledger["ring"]["dropped"], dropped)
        self.assertEqual(ledger["backlog"]["dropped"], 0, "the host's backlog dropped too")
        self.assertEqual(ledger["ring"]["dropped"], sent - captured, err)
        self.assertEqual(received, sent)
        self.assertEqual(ledger["captured"], captured)
        isb = last_isb(out)
        self.assertEqual(isb[7], dropped, "isb_osdrop")
        self.assertEqual(isb[8], captured, "isb_usrdeliv")
        packets, marked_total, marked = epb_dropcounts(out)
        self.assertEqual(packets, captured)
        self.assertEqual(marked, 1, "one EPB carries epb_dropcount")
        self.assertEqual(marked_total, dropped)
        status, fields, werr = nf.capinfos(out)
        self.assertEqual(status, 0, werr)

    def test_workers_ledger_counts_each_rings_drops(self):
        """Two fanout workers with tiny rings, both stopped: each worker's drops in the JSON
        ledger, their sum exactly sent - captured; each worker's pcapng file has its ISB and
        one epb_dropcount with its drops."""
        pattern = self.path("w-%w.pcapng")
        p = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "-B", 512, "-w", pattern,
                               "--stats=json")
        p.send_signal(signal.SIGSTOP)
        try:
            sent = self.gen("-c", 20000, "-r", 100000, "--flows", 16)
        finally:
            p.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        sent += self.gen("-c", 400, "--flows", 16, "--src-port", 30000)  # marks the next blocks
        time.sleep(0.3)
        _, err = self.stop(p)
        captured, _, dropped = self.assert_summary(err)
        ring = ledger_json(err)["ring"]
        self.assertEqual(len(ring["workers"]), 2)
        self.assertEqual(sum(w["dropped"] for w in ring["workers"]), dropped)
        self.assertGreater(dropped, 0)
        self.assertEqual(dropped, sent - captured, err)
        delivered = 0
        for w in (0, 1):
            isb = last_isb(self.path(f"w-{w}.pcapng"))
            self.assertEqual(isb[7], ring["workers"][w]["dropped"], "isb_osdrop")
            delivered += isb[8]
            _, marked_total, marked = epb_dropcounts(self.path(f"w-{w}.pcapng"))
            if ring["workers"][w]["dropped"]:
                self.assertEqual((marked, marked_total), (1, ring["workers"][w]["dropped"]),
                                 f"worker {w}'s epb_dropcount")
        self.assertEqual(delivered, captured, "isb_usrdeliv over the workers")

    def test_doctor_names_the_ring_and_advises_a_bigger_ring_or_workers(self):
        p = nf.Proc(self.net.ringcap("doctor", "-i", self.net.cap_if, "-B", 512,
                                     "--duration", 4))
        self.assertTrue(p.wait_for_stderr(r"^doctor: watching"), p.stderr())
        time.sleep(0.3)
        p.send_signal(signal.SIGSTOP)
        try:
            self.gen("-c", 20000, "-r", 100000)
        finally:
            p.send_signal(signal.SIGCONT)
        status, _, err = p.finish(timeout=20)
        self.assertEqual(status, 0, err)
        m = re.search(r"^  ring: (\d+) dropped of (\d+)", err, re.M)
        self.assertIsNotNone(m, err)
        self.assertGreater(int(m.group(1)), 0, err)
        advice = [l for l in err.splitlines() if l.startswith("advice:")]
        self.assertTrue(advice, err)
        self.assertTrue(re.search(r"-B \d+|--workers \d+", advice[0]), advice)
        self.assertIn("ring dropped", advice[0])

    def test_doctor_without_loss_advises_nothing(self):
        p = nf.Proc(self.net.ringcap("doctor", "-i", self.net.cap_if, "--duration", 1))
        status, _, err = p.finish(timeout=20)
        self.assertEqual(status, 0, err)
        self.assertIn("nothing was lost at any stage", err)
        self.assertIn("advice: none", err)

    # -- the stack

    def test_stack_drops_are_named_by_the_running_kernel(self):
        self.net.add_addresses()
        p = self.start_ringcap("-i", self.net.cap_if, "--count", "--stats=json,drops")
        closed = nf.ether(self.net.cap_mac, self.net.snd_mac, 0x0800,
                          nf.ipv4_udp(self.net.SND_IP, self.net.CAP_IP, 40000, 9, b"x" * 20))
        other = nf.ether(nf.OTHER_HOST, self.net.snd_mac, 0x0800,
                         nf.ipv4_udp(self.net.SND_IP, "10.213.0.77", 40000, 9, b"y" * 20))
        self.net.send([closed] * 30 + [other] * 20)
        time.sleep(0.3)
        _, err = self.stop(p)
        stack = ledger_json(err)["stack"]
        self.assertIsNone(stack["unavailable"], err)
        counts = {}
        for d in stack["reasons"]:
            self.assertEqual(d["interface"], self.net.cap_if)
            counts[d["reason"]] = counts.get(d["reason"], 0) + d["count"]
        self.assertGreaterEqual(counts.get("NO_SOCKET", 0), 30, counts)
        self.assertGreaterEqual(counts.get("OTHERHOST", 0), 20, counts)
        known = kernel_drop_reasons()
        self.assertTrue(known, "bpftool found no enum skb_drop_reason")
        for reason in counts:
            self.assertIn(reason, known, f"{reason} is not the kernel's")
        self.assertEqual(stack["dropped"], sum(counts.values()))

    def test_unavailable_is_said_not_zero(self):
        """veth has no hardware counters; without CAP_BPF (and CAP_SYS_ADMIN, CAP_PERFMON) the
        stack stage says why, in text and JSON."""
        drop = "-bpf,-perfmon,-sys_admin"
        argv = self.net.cap(["setpriv", "--bounding-set=" + drop, "--inh-caps=" + drop,
                             nf.RINGCAP, "-i", self.net.cap_if, "--count", "--stats=drops",
                             "--duration", "1"])
        r = nf.run(argv)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^stack: unavailable \(.*Operation not permitted.*"
                                   r"CAP_BPF")
        self.assertRegex(r.stderr, r"(?m)^NIC \S+: .*rx_missed, rx_fifo, rx_over unavailable")
        r = nf.run(argv[:-4] + ["--stats=json,drops", "--duration", "1"])
        ledger = ledger_json(r.stderr)
        self.assertIsNone(ledger["stack"]["dropped"])
        self.assertIn("Operation not permitted", ledger["stack"]["unavailable"])
        nic = ledger["nic"][0]
        self.assertIsNone(nic["rx_missed"])
        self.assertEqual(nic["rx_dropped"], 0)
        self.assertIn("rx_queue_0_drops", nic["driver"], "veth's ethtool -S counters")

    # -- the writer

    def test_full_tmpfs_is_counted_under_writer_and_the_file_is_valid(self):
        mnt = self.path("small")
        os.mkdir(mnt)
        nf.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt], check=True)
        self.addCleanup(lambda: nf.run(["umount", "-l", mnt]))
        out = os.path.join(mnt, "x.pcap")
        p = self.start_ringcap("-i", self.net.cap_if, "-w", out, "--stats=json")
        self.gen("-c", 20000, "-s", 200, "-r", 200000)
        status, _, err = p.finish(timeout=20)  # the full disk ends it
        self.assertEqual(status, 1, err)
        self.assertIn("No space left on device", err)
        writer = ledger_json(err)["writer"]
        self.assertGreaterEqual(writer["write_errors"], 1, err)
        self.assertEqual(writer["last_error"], "No space left on device")
        self.assertGreater(writer["lost"], 0, err)
        records = nf.read_pcap(out).records  # strict: whole records only
        self.assertGreater(len(records), 0)
        captured = self.assert_summary(err)[0]
        self.assertEqual(len(records) + writer["lost"], captured, err)

    # -- SIGUSR1, the live line, JSON

    def test_sigusr1_prints_counts_and_the_capture_goes_on(self):
        out = self.path("usr1.pcap")
        p = self.start_ringcap("-i", self.net.cap_if, "-w", out)
        frame = nf.udp_frame(self.net.cap_mac, self.net.snd_mac, 100)
        self.net.send([frame] * 100)
        time.sleep(0.3)
        p.send_signal(signal.SIGUSR1)
        self.assertTrue(p.wait_for_stderr(r"^100 packets captured$"), p.stderr())
        self.net.send([frame] * 50)
        time.sleep(0.3)
        _, err = self.stop(p)
        self.assertEqual(len(re.findall(r"(?m)^\d+ packets captured$", err)), 2, err)
        self.assert_summary(err.split("100 packets captured", 1)[1], captured=150)
        self.assertEqual(len(nf.read_pcap(out).records), 150)

    def run_on_pty(self, *args):
        """ringcap with stderr on a pseudo-terminal for ~1.2 s of traffic; what the terminal got."""
        master, slave = pty.openpty()
        proc = subprocess.Popen(self.net.ringcap(*args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        got = b""
        gen = subprocess.Popen(self.net.snd([nf.RINGCAP, "gen", "-i", self.net.snd_if, "-c", "6000",
                                             "-r", "5000"]), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    got += os.read(master, 65536)
                except OSError:
                    break
        gen.wait(timeout=GEN_TIMEOUT)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        try:
            while select.select([master], [], [], 0.2)[0]:
                got += os.read(master, 65536)
        except OSError:
            pass
        os.close(master)
        return got.decode(errors="replace")

    def test_live_line_on_a_terminal_only(self):
        tty = self.run_on_pty("-i", self.net.cap_if, "-w", "/dev/null")
        self.assertRegex(tty, r"\r\d+ pkt/s, [\d.]+ Mbit/s, ring \d+% full, drops: ring 0")
        quiet = self.run_on_pty("-i", self.net.cap_if, "-w", "/dev/null", "-q")
        self.assertNotIn("pkt/s", quiet)
        p = self.start_ringcap("-i", self.net.cap_if, "-w", "/dev/null")  # stderr is a pipe
        self.gen("-c", 3000, "-r", 5000)
        _, err = self.stop(p)
        self.assertNotIn("pkt/s", err)
        self.assertNotIn("\r", err)

    def test_stats_text_lists_every_stage(self):
        p = self.start_ringcap("-i", self.net.cap_if, "--count", "--stats")
        self.gen("-c", 1000, "-r", 20000)
        _, err = self.stop(p)
        for stage in (r"NIC \S+: 0 lost", r"backlog \(per-CPU, whole host", r"stack: not watched",
                      r"ring: 0 dropped of \d+", r"delivery latency: p50 "):
            self.assertRegex(err, "(?m)^" + stage)
        without = self.start_ringcap("-i", self.net.cap_if, "--count")
        self.gen("-c", 100)
        _, err = self.stop(without)
        self.assertNotRegex(err, r"(?m)^(ring|NIC|backlog|stack)")


if __name__ == "__main__":
    nf.main()
