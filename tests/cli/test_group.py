#!/usr/bin/python3
"""ringcap with several sockets, end to end: --workers N (PACKET_FANOUT), several -i, --merge.

- `ringcap gen --flows 64` into a veth: with hash fanout every flow is in exactly one worker's
  file, nothing is lost or duplicated (the generator's sequence numbers, and a concurrent tcpdump
  saw as many), both workers got some; -c N over workers writes exactly N.
- --merge: one file in timestamp order that holds exactly what per-worker files of a second
  capture running at the same time hold; pcapng records each packet's worker in epb_queue
  (tshark's frame.interface_queue), the same worker for every packet of a flow.
- Two veth pairs captured with -i a -i b into one pcapng: two interfaces, every packet under the
  one it arrived on, times in order, statistics for both.
- --stats: a line per worker whose counts add up to the total.
- Printing with workers: every line whole (each worker writes whole lines); with --merge in
  time order.
- SIGINT under a flood with workers: every file valid, the summary printed. -C rotation per
  worker and merged: every file under the limit and valid, every packet once.
- Bad input: --workers 0, an unknown --fanout mode or flag, a group id in use with another mode,
  an interface given twice, more workers than CPUs (a note), one interface of several going
  down (the other goes on, the end status is 1 and names the worker).
"""
import collections
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402

GEN_TIMEOUT = 60


def gen_fields(data):
    """(source port, sequence number) of a frame made by ringcap gen (IPv4)."""
    (sport,) = struct.unpack("!H", data[34:36])
    (seq,) = struct.unpack("!Q", data[42:50])
    return sport, seq


def is_gen(data):
    return len(data) >= 50 and data[12:14] == b"\x08\x00" and data[23] == 17


def tshark_fields(path, *fields):
    r = nf.run(["tshark", "-n", "-r", path, "-T", "fields"] + [a for f in fields for a in ("-e", f)],
               timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"tshark -r {path}: {r.stderr}")
    return [line.split("\t") for line in r.stdout.splitlines() if line.strip()]


@nf.skip_unless_ready("tshark", "capinfos", "tcpdump")
class GroupCase(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-group-")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def second_pair(self):
        """A second veth pair whose capture end is moved into our capture namespace."""
        other = nf.NetPair()
        self.addCleanup(other.close)
        nf.run(["ip", "-n", other.cap_ns, "link", "set", other.cap_if, "netns", self.net.cap_ns],
               check=True)
        nf.run(["ip", "-n", self.net.cap_ns, "link", "set", other.cap_if, "up"], check=True)
        return other

    def gen(self, *args, ifname=None, ns=None):
        ns = ns or self.net.snd_ns
        r = nf.run(nf.in_ns(ns, [nf.RINGCAP, "gen", "-i", ifname or self.net.snd_if] +
                            [str(a) for a in args]), timeout=GEN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)

    def stop(self, proc):
        proc.send_signal(signal.SIGINT)
        status, _, err = proc.finish()
        self.assertEqual(status, 0, err)
        return err

    def gen_records(self, path):
        return [gen_fields(r.data) for r in nf.read_pcap(path).records if is_gen(r.data)]

    def test_hash_keeps_each_flow_on_one_worker_and_loses_nothing(self):
        n = 20000
        p = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "--stats", "-w",
                               self.path("w.pcap"), "udp")
        td = self.start_tcpdump("-i", self.net.cap_if, "-w", self.path("td.pcap"), "udp")
        self.gen("--flows", 64, "-c", n, "-r", 50000)
        time.sleep(0.5)
        err = self.stop(p)
        td.send_signal(signal.SIGINT)
        _, _, td_err = td.finish()
        td_dropped = int(re.search(r"^(\d+) packets? dropped by kernel", td_err, re.M).group(1))
        per = [self.gen_records(self.path(f"w-{w}.pcap")) for w in (0, 1)]
        seqs = collections.Counter(seq for recs in per for _, seq in recs)
        self.assertEqual(sorted(seqs), list(range(n)), "lost or extra packets")
        self.assertEqual(max(seqs.values()), 1, "duplicated packets")
        workers_of = collections.defaultdict(set)
        for w, recs in enumerate(per):
            for sport, _ in recs:
                workers_of[sport].add(w)
        self.assertEqual(len(workers_of), 64)
        for sport, ws in workers_of.items():
            self.assertEqual(len(ws), 1, f"flow from port {sport} on workers {ws}")
        self.assertTrue(per[0] and per[1], "one worker got everything")
        # tcpdump saw as many (what its own ring dropped counted too: a loaded VM is slow).
        self.assertEqual(len([r for r in nf.read_pcap(self.path("td.pcap")).records
                              if is_gen(r.data)]) + td_dropped, n, "tcpdump saw another count")
        captured, received, dropped = self.assert_summary(err, n)
        self.assertEqual(dropped, 0)
        lines = re.findall(r"^worker (\d) \(.*\): (\d+) received by filter \(([0-9.]+)%\), "
                           r"(\d+) dropped", err, re.M)
        self.assertEqual([int(w) for w, *_ in lines], [0, 1], err)
        self.assertEqual(sum(int(r) for _, r, _, _ in lines), received)
        self.assertAlmostEqual(sum(float(s) for _, _, s, _ in lines), 100.0, delta=0.2)

    def test_count_over_workers_is_exact(self):
        p = nf.Proc(self.net.ringcap("-i", self.net.cap_if, "--workers", 2, "-c", 1000, "-w",
                                     self.path("c.pcap"), "udp"))
        self.assertTrue(p.wait_for_stderr(r"^listening on ", 10), p.stderr())
        self.gen("--flows", 64, "-c", 5000)
        status, _, err = p.finish(timeout=15)
        self.assertEqual(status, 0, err)
        total = sum(len(nf.read_pcap(self.path(f"c-{w}.pcap")).records) for w in (0, 1))
        self.assertEqual(total, 1000)
        self.assert_summary(err, 1000)

    def test_merge_is_ordered_and_holds_what_per_worker_files_hold(self):
        n = 10000
        merged = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "--merge", "-w",
                                    self.path("m.pcap"), "udp")
        split = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "-w",
                                   self.path("s.pcap"), "udp")
        ng = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "--merge", "-w",
                                self.path("q.pcapng"), "udp")
        self.gen("--flows", 64, "-c", n, "-r", 100000)
        time.sleep(0.5)
        for p in (merged, split, ng):
            self.stop(p)
        m = nf.read_pcap(self.path("m.pcap")).records
        stamps = [(r.ts_sec, r.ts_frac) for r in m]
        self.assertEqual(stamps, sorted(stamps), "merged file out of timestamp order")
        union = collections.Counter()
        for w in (0, 1):
            union.update(r.data for r in nf.read_pcap(self.path(f"s-{w}.pcap")).records)
        self.assertEqual(collections.Counter(r.data for r in m), union)
        self.assertEqual(sum(1 for r in m if is_gen(r.data)), n)
        # pcapng: the worker of each packet, the same for every packet of a flow.
        status, info, _ = nf.capinfos(self.path("q.pcapng"))
        self.assertEqual(status, 0)
        self.assertEqual(info.get("Strict time order"), "True")
        rows = tshark_fields(self.path("q.pcapng"), "frame.interface_queue", "udp.srcport")
        self.assertEqual(len(rows), n)
        queues_of = collections.defaultdict(set)
        for queue, sport in rows:
            queues_of[sport].add(queue)
        self.assertEqual(len(queues_of), 64)
        self.assertTrue(all(len(q) == 1 for q in queues_of.values()), queues_of)
        self.assertEqual(set().union(*queues_of.values()), {"0", "1"})

    def test_two_interfaces_into_one_pcapng(self):
        other = self.second_pair()
        p = self.start_ringcap("-i", self.net.cap_if, "-i", other.cap_if, "--stats", "-w",
                               self.path("two.pcapng"), "udp")
        a = subprocess.Popen(nf.in_ns(self.net.snd_ns, [nf.RINGCAP, "gen", "-i", self.net.snd_if,
                                                        "-c", "2000", "-r", "20000", "--src-port",
                                                        "1000"]), stderr=subprocess.DEVNULL)
        self.gen("-c", 3000, "-r", 20000, "--src-port", 2000, ifname=other.snd_if,
                 ns=other.snd_ns)
        a.wait(timeout=GEN_TIMEOUT)
        time.sleep(0.5)
        err = self.stop(p)
        status, info, _ = nf.capinfos(self.path("two.pcapng"))
        self.assertEqual(status, 0)
        self.assertEqual(info.get("Number of interfaces in file"), "2")
        self.assertEqual(info.get("Strict time order"), "True")
        rows = tshark_fields(self.path("two.pcapng"), "frame.interface_name", "udp.srcport")
        by_if = collections.Counter((name, int(port) // 1000) for name, port in rows)
        self.assertEqual(by_if, {(self.net.cap_if, 1): 2000, (other.cap_if, 2): 3000})
        self.assertIn(f"worker 1 ({other.cap_if})", err)
        r = nf.run(["tshark", "-n", "-r", self.path("two.pcapng"), "-q", "-z", "io,stat,0"])
        self.assertEqual(r.returncode, 0)

    def printed(self, *args):
        out_path = self.path("lines.txt")
        with open(out_path, "wb") as out:
            p = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "-n", "-tt", *args,
                                   "udp", stdout=out)
            self.gen("--flows", 64, "-c", 2000, "-r", 50000)
            time.sleep(0.5)
            self.stop(p)
        with open(out_path) as f:
            return f.read().splitlines()

    def test_printing_with_workers_keeps_lines_whole(self):
        line = re.compile(r"^(\d+\.\d{6}) IP 198\.18\.0\.1\.\d+ > 198\.18\.0\.2\.9: UDP, "
                          r"length 22$")
        for args in ((), ("--merge",)):
            lines = self.printed(*args)
            self.assertEqual(len(lines), 2000, args)
            stamps = []
            for text in lines:
                m = line.match(text)
                self.assertIsNotNone(m, f"{args}: a broken line: {text!r}")
                stamps.append(float(m.group(1)))
            if args:  # merged: in time order
                self.assertEqual(stamps, sorted(stamps))

    def test_rotation_with_workers_and_merged(self):
        # -C 100k: every worker's files (and the merged ones) stay under the limit, are valid,
        # and together hold every packet once.
        n = 6000
        split = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "-C", "100k", "-w",
                                   self.path("r-%w.pcap"), "udp")
        merged = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "--merge", "-C",
                                    "100k", "-w", self.path("rm.pcap"), "udp")
        self.gen("--flows", 64, "-c", n, "-r", 50000)
        time.sleep(0.5)
        for p in (split, merged):
            self.stop(p)
        for prefix in ("r-0.pcap", "r-1.pcap", "rm.pcap"):
            files = sorted(f for f in os.listdir(self.tmp.name) if f.startswith(prefix))
            self.assertGreater(len(files), 1, f"{prefix} did not rotate: {files}")
            for f in files:
                self.assertLessEqual(os.path.getsize(self.path(f)), 100 * 1024, f)
                status, _, err = nf.capinfos(self.path(f))
                self.assertEqual((status, err), (0, ""), f)
        def seqs(prefix):
            return collections.Counter(seq for f in os.listdir(self.tmp.name) if f.startswith(prefix)
                                       for _, seq in self.gen_records(self.path(f)))
        both = seqs("r-0.pcap") + seqs("r-1.pcap")
        self.assertEqual(both, collections.Counter(range(n)))
        self.assertEqual(seqs("rm.pcap"), collections.Counter(range(n)))

    def test_sigint_under_flood_leaves_valid_files(self):
        p = self.start_ringcap("-i", self.net.cap_if, "--workers", 2, "-w", self.path("f.pcap"))
        flood = subprocess.Popen(nf.in_ns(self.net.snd_ns, ["timeout", "-s", "INT", "3",
                                                            nf.RINGCAP, "gen", "-i",
                                                            self.net.snd_if, "--flows", "64"]),
                                 stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        err = self.stop(p)
        flood.wait(timeout=GEN_TIMEOUT)
        captured, _, _ = self.assert_summary(err)
        total = sum(len(nf.read_pcap(self.path(f"f-{w}.pcap")).records) for w in (0, 1))
        self.assertEqual(total, captured)
        self.assertGreater(total, 0)

    def test_one_interface_of_two_going_down(self):
        other = self.second_pair()
        p = self.start_ringcap("-i", self.net.cap_if, "-i", other.cap_if, "-w",
                               self.path("d.pcap"), "udp")
        nf.run(["ip", "-n", self.net.cap_ns, "link", "set", other.cap_if, "down"], check=True)
        time.sleep(0.3)
        self.gen("-c", 500)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        status, _, err = p.finish()
        self.assertEqual(status, 1, err)
        self.assertRegex(err, rf"worker 1 on '{other.cap_if}' ended early")
        self.assertIn("the interface went down", err)
        self.assertEqual(sum(1 for r in nf.read_pcap(self.path("d.pcap")).records
                             if is_gen(r.data)), 500)

    def fails(self, *args):
        r = nf.run(self.net.ringcap(*args))
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        return "\n".join(lines)

    def test_bad_input(self):
        cap = self.net.cap_if
        self.assertIn("--workers", self.fails("-i", cap, "--workers", 0))
        self.assertIn("--fanout: 'spray' is not a mode", self.fails("-i", cap, "--workers", 2,
                                                                    "--fanout", "spray"))
        self.assertIn("--fanout: 'fast' is not a flag", self.fails("-i", cap, "--workers", 2,
                                                                   "--fanout", "lb,fast"))
        self.assertIn("--cpus: 'x' is not", self.fails("-i", cap, "--workers", 2, "--cpus", "x"))
        self.assertIn(f"interface '{cap}' given twice", self.fails("-i", cap, "-i", cap))
        holder = self.start_ringcap("-i", cap, "--workers", 2, "--fanout", "lb",
                                    "--fanout-group", 4242, "-w", "/dev/null")
        line = self.fails("-i", cap, "--workers", 2, "--fanout", "hash", "--fanout-group", 4242)
        self.assertRegex(line, r"setsockopt\(PACKET_FANOUT, group 4242, hash\).*exists already "
                               r"with another mode")
        self.stop(holder)

    def test_more_workers_than_cpus_is_a_note(self):
        cpus = os.cpu_count() or 1
        p = self.start_ringcap("-i", self.net.cap_if, "--workers", cpus + 2, "-w",
                               self.path("x-%w.pcap"))
        self.gen("--flows", 64, "-c", 500)
        time.sleep(0.3)
        err = self.stop(p)
        self.assertRegex(err, rf"note: {cpus + 2} capture threads on \d+ CPUs")
        self.assertTrue(os.path.exists(self.path(f"x-{cpus + 1}.pcap")))
        self.assert_summary(err, 500)


if __name__ == "__main__":
    nf.main()
