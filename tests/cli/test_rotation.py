#!/usr/bin/python3
"""File rotation, -C/-G/-W/-z: every packet lands in exactly one file, in order; no file passes
-C; -G files hold only their clock-aligned period and are named by strftime of its start; -W
keeps the newest files; -z runs on each finished file under its final name; and while a live
capture rotates, every file under a final name is already complete."""
import glob
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC: a multiple of 10 s


def records(n=600, per_second=10):
    """n records, per_second of them in each second from T0, sizes 60..1514 bytes."""
    out = []
    for i in range(n):
        size = 60 + (i * 97) % 1455
        frame = nf.udp_frame("02:00:00:00:00:0b", "02:00:00:00:00:0a", size, fill=i % 251)
        out.append((T0 + i // per_second, (i % per_second) * (1_000_000 // per_second),
                    frame, len(frame)))
    return out


def key(r):
    return (r.ts_sec, r.ts_frac, r.data)


@unittest.skipIf(nf.missing_requirement("capinfos") is not None,
                 nf.missing_requirement("capinfos") or "")
class OfflineRotationTests(unittest.TestCase):
    """-r with rotation: deterministic, the packet timestamps drive -G."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-rot-")
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name
        self.src = os.path.join(self.dir, "in.pcap")
        self.recs = records()
        with open(self.src, "wb") as f:
            f.write(nf.pcap_bytes(self.recs))
        self.env = dict(os.environ, TZ="UTC")

    def ringcap(self, *args, status=0):
        r = subprocess.run([nf.RINGCAP, "-r", self.src] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=nf.CMD_TIMEOUT, env=self.env,
                           cwd=self.dir)
        self.assertEqual(r.returncode, status, r.stderr)
        return r.stderr

    def outputs(self, pattern):
        return [p for p in sorted(glob.glob(os.path.join(self.dir, pattern)))
                if not p.endswith("in.pcap")]

    def expected_keys(self, recs):
        return [(sec, frac, data) for sec, frac, data, _ in recs]

    def test_size_limit_numbers_like_tcpdump(self):
        limit = 100 * 1024
        self.ringcap("-w", "sz.pcap", "-C", "100k")
        names = ["sz.pcap"] + [f"sz.pcap{i}" for i in range(1, 20)]
        files = [os.path.join(self.dir, n) for n in names if os.path.exists(os.path.join(self.dir, n))]
        self.assertGreaterEqual(len(files), 3)
        self.assertEqual(sorted(files), self.outputs("sz.pcap*"))  # no gaps, nothing else
        got = []
        for i, path in enumerate(files):
            size = os.path.getsize(path)
            self.assertLessEqual(size, limit, path)
            recs = nf.read_pcap(path).records
            if i + 1 < len(files):  # it was full: the next record would not have fitted
                nxt = nf.read_pcap(files[i + 1]).records[0]
                self.assertGreater(size + 16 + nxt.caplen, limit, path)
            got += recs
        self.assertEqual([key(r) for r in got], self.expected_keys(self.recs))
        for path in files:
            status, fields, err = nf.capinfos(path)
            self.assertEqual((status, err), (0, ""), path)

    def test_clock_aligned_periods_named_by_strftime(self):
        self.ringcap("-w", "t-%H%M%S.pcap", "-G", "10")
        files = self.outputs("t-*.pcap")
        # 600 records over 60 s from a multiple of 10 s: six periods, 100 records each.
        self.assertEqual([os.path.basename(p) for p in files],
                         [f"t-2213{s:02d}.pcap" for s in (20, 30, 40, 50)] +
                         [f"t-2214{s:02d}.pcap" for s in (0, 10)])
        got = []
        for i, path in enumerate(files):
            recs = nf.read_pcap(path).records
            start = T0 + 10 * i
            self.assertTrue(all(start <= r.ts_sec < start + 10 for r in recs), path)
            self.assertEqual(len(recs), 100)
            got += recs
        self.assertEqual([key(r) for r in got], self.expected_keys(self.recs))

    def test_ring_keeps_the_newest_files(self):
        self.ringcap("-w", "ring.pcap", "-C", "50k", "-W", "3")
        files = self.outputs("ring.pcap*")
        self.assertEqual([os.path.basename(p) for p in files],
                         ["ring.pcap0", "ring.pcap1", "ring.pcap2"])
        # Ordered by their first packet, the three files hold the tail of the input, whole.
        parts = sorted((nf.read_pcap(p).records for p in files), key=lambda rs: key(rs[0]))
        got = [key(r) for rs in parts for r in rs]
        want = self.expected_keys(self.recs)
        self.assertLess(len(got), len(want))
        self.assertEqual(got, want[-len(got):])

    def test_ring_of_periods(self):
        self.ringcap("-w", "p-%M%S.pcap", "-G", "10", "-W", "2")
        self.assertEqual([os.path.basename(p) for p in self.outputs("p-*.pcap")],
                         ["p-1400.pcap", "p-1410.pcap"])

    def test_post_rotate_command_sees_complete_files(self):
        hook = os.path.join(self.dir, "hook.sh")
        log = os.path.join(self.dir, "hook.log")
        with open(hook, "w") as f:
            # The file is complete under its final name when the hook runs.
            f.write(f'#!/bin/sh\ncapinfos -c "$1" >/dev/null 2>&1 && echo "$1 ok" >> {log}\n')
        os.chmod(hook, 0o755)
        # -Z root: the hook and its log are in a directory only root may enter, and the -z
        # command runs as the -Z user (as tcpdump's does).
        self.ringcap("-w", "z.pcap", "-C", "100k", "-z", hook, "-Z", "root")
        files = [os.path.basename(p) for p in self.outputs("z.pcap*")]
        def hook_lines():
            if not os.path.exists(log):
                return []
            with open(log) as f:
                return f.read().splitlines()
        self.assertTrue(nf.wait_until(lambda: len(hook_lines()) == len(files), 10),
                        "the -z command did not run once per file")
        with open(log) as f:
            self.assertEqual(sorted(f.read().splitlines()), sorted(f"{n} ok" for n in files))
        self.assertEqual(glob.glob(os.path.join(self.dir, ".*.part")), [])

    def test_bad_rotation_arguments(self):
        for args, words in ((("-w", "x.pcap", "-W", "3"), "-W needs -C or -G"),
                            (("-C", "10"), "need a file name"),
                            (("-w", "x.pcap", "-C", "ten"), "'ten' is not a size"),
                            (("-w", "x.pcap", "-C", "5T"), "'5T' is not a size"),
                            (("-w", "-", "-C", "1"), "standard output cannot rotate")):
            with self.subTest(args=args):
                err = self.ringcap(*args, status=1)
                self.assertIn(words, err)
        self.assertEqual(self.outputs("x.pcap*"), [])


@nf.skip_unless_ready("capinfos")
class LiveRotationTests(nf.NetTestCase):
    def test_files_under_final_names_are_always_complete(self):
        tmp = tempfile.TemporaryDirectory(prefix="ringcap-rot-")
        self.addCleanup(tmp.cleanup)
        pattern = os.path.join(tmp.name, "live-%s.pcap")  # %s: seconds since the epoch
        p = self.start_ringcap("-i", self.net.cap_if, "-w", pattern, "-G", "1")
        frame = nf.udp_frame(nf.OTHER_HOST, self.net.snd_mac, 200)
        sender = self.net.flood([frame], 3.5)
        seen = set()
        deadline = time.monotonic() + 6
        while sender.poll() is None and time.monotonic() < deadline:
            for path in glob.glob(os.path.join(tmp.name, "live-*.pcap")):
                nf.read_pcap(path)  # strict: raises if a final name holds a partial file
                seen.add(path)
            time.sleep(0.05)
        sender.communicate(timeout=10)
        time.sleep(0.3)
        p.send_signal(2)
        status, _, err = p.finish()
        self.assertEqual(status, 0, err)
        captured, _, _ = self.assert_summary(err)
        files = sorted(glob.glob(os.path.join(tmp.name, "live-*.pcap")))
        self.assertGreaterEqual(len(files), 3)
        self.assertGreaterEqual(len(seen), 2, "no file was finished while capturing")
        self.assertEqual(glob.glob(os.path.join(tmp.name, ".*.part")), [])
        total = 0
        for path in files:
            start = int(os.path.basename(path)[5:-5])
            recs = nf.read_pcap(path).records
            # Its own second; or, for a packet delivered after its period's file was finished,
            # the second before (it goes to the next file rather than reopen a finished one).
            self.assertTrue(all(start - 1 <= r.ts_sec <= start for r in recs), path)
            total += len(recs)
        self.assertEqual(total, captured)


if __name__ == "__main__":
    nf.main()
