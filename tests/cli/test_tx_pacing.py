#!/usr/bin/python3
"""Pacing of ringcap gen and ringcap replay, measured where it matters: at the receiver, from the
nanosecond receive timestamps of a ringcap capture (--nano) on the far end of the veth pair.

Tolerances, not a stopwatch: the achieved rate (packets - 1 over the first-to-last span) within
5% of the asked rate, and the median inter-packet gap within 10% of the asked gap. The median
ignores the odd late wake-up on a busy machine; the span is robust because the senders pace
against an absolute schedule (a late packet does not push the later ones back).

- gen --rate 1000 --count 2000
- replay --pps 1000 of a 2000-packet file
- replay with the file's own timing (packets 10 ms apart), and with --multiplier 2 (5 ms)
"""
import os
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402
from test_tx import gen_payload, parse_summary, write_pcap  # noqa: E402

RATE_TOLERANCE = 0.05
GAP_TOLERANCE = 0.10


@nf.skip_unless_ready()
class Pacing(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-pacing-")
        self.addCleanup(self.tmp.cleanup)

    def receive_times(self, expected, *sender_args, timeout=60):
        """Captures on cap_if (ringcap, nanosecond file) while ringcap runs sender_args in the
        sending namespace. Returns (sender result, records, receive timestamps in ns)."""
        out = os.path.join(self.tmp.name, "rx.pcap")
        cap = self.start_ringcap("-i", self.net.cap_if, "--nano", "-w", out, "-U")
        r = nf.run(self.net.snd([nf.RINGCAP] + [str(a) for a in sender_args]), timeout=timeout)
        nf.wait_until(lambda: nf.count_records(out) >= expected, timeout=10)
        time.sleep(0.2)
        cap.send_signal(signal.SIGINT)
        status, _, err = cap.finish()
        self.assertEqual(status, 0, err)
        self.assertEqual(r.returncode, 0, f"stdout {r.stdout!r}\nstderr {r.stderr!r}")
        f = nf.read_pcap(out)
        self.assertTrue(f.nano, "capture file is not nanosecond precision")
        self.assertEqual(len(f.records), expected, r.stderr)
        times = [rec.ts_sec * 1_000_000_000 + rec.ts_frac for rec in f.records]
        return r, f.records, times

    def assert_paced(self, times, gap_ns, what):
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(g >= 0 for g in gaps), f"{what}: receive times go back")
        span = times[-1] - times[0]
        rate = (len(times) - 1) * 1e9 / span
        want_rate = 1e9 / gap_ns
        median = statistics.median(gaps)
        p10, p90 = (statistics.quantiles(gaps, n=10)[i] for i in (0, 8))
        # On stderr, so that a run shows the accuracy achieved, not only pass or fail.
        print(f"\n  {what}: {len(times)} packets, achieved {rate:.1f} pps (asked "
              f"{want_rate:.1f}, {100 * (rate / want_rate - 1):+.2f}%), median gap "
              f"{median / 1e6:.4f} ms (asked {gap_ns / 1e6:.4f}, "
              f"{100 * (median / gap_ns - 1):+.2f}%), p10 {p10 / 1e6:.4f} ms, "
              f"p90 {p90 / 1e6:.4f} ms, max {max(gaps) / 1e6:.3f} ms",
              file=sys.stderr, flush=True)
        self.assertLessEqual(abs(rate / want_rate - 1), RATE_TOLERANCE,
                             f"{what}: achieved {rate:.1f} pps, asked {want_rate:.1f}")
        self.assertLessEqual(abs(median / gap_ns - 1), GAP_TOLERANCE,
                             f"{what}: median gap {median} ns, asked {gap_ns} ns")

    def file_of(self, n, gap_ns, name):
        path = os.path.join(self.tmp.name, name)
        write_pcap(path, [nf.udp_frame(nf.OTHER_HOST, self.net.snd_mac, 100 + i % 50,
                                       fill=i % 251, sport=20000 + i % 1000) for i in range(n)],
                   gap_ns=gap_ns)
        return path

    def test_gen_rate_1000(self):
        r, recs, times = self.receive_times(
            2000, "gen", "-i", self.net.snd_if, "--rate", 1000, "--count", 2000)
        self.assertEqual([gen_payload(x.data)[1] for x in recs], list(range(2000)))
        self.assert_paced(times, 1_000_000, "gen --rate 1000")
        self.assertEqual(parse_summary(self, r.stderr)[0], 2000)
        self.assertNotIn("asked", r.stderr)
        # The send times in the payload are paced too (sender's clock, no link in between).
        sent = [gen_payload(x.data)[2] for x in recs]
        self.assert_paced(sent, 1_000_000, "gen --rate 1000, payload send times")

    def test_replay_pps_1000(self):
        path = self.file_of(2000, 1000, "pps.pcap")  # 1 us apart in the file: --pps decides
        r, _, times = self.receive_times(
            2000, "replay", "-i", self.net.snd_if, "--pps", 1000, path)
        self.assert_paced(times, 1_000_000, "replay --pps 1000")
        self.assertEqual(parse_summary(self, r.stderr)[0], 2000)
        self.assertNotIn("asked", r.stderr)

    def test_replay_original_timing_10ms(self):
        path = self.file_of(200, 10_000_000, "10ms.pcap")
        _, _, times = self.receive_times(200, "replay", "-i", self.net.snd_if, path)
        self.assert_paced(times, 10_000_000, "replay, file timing 10 ms")

    def test_replay_multiplier_2(self):
        path = self.file_of(200, 10_000_000, "10ms.pcap")
        _, _, times = self.receive_times(200, "replay", "-i", self.net.snd_if,
                                         "--multiplier", 2, path)
        self.assert_paced(times, 5_000_000, "replay --multiplier 2 of 10 ms")

    def test_replay_micro_file_timing(self):
        """A microsecond file paces the same (its timestamps scaled to ns)."""
        path = os.path.join(self.tmp.name, "micro.pcap")
        write_pcap(path, [nf.udp_frame(nf.OTHER_HOST, self.net.snd_mac, 90, fill=i)
                          for i in range(150)], gap_ns=4_000_000, nano=False)
        _, _, times = self.receive_times(150, "replay", "-i", self.net.snd_if, path)
        self.assert_paced(times, 4_000_000, "replay, microsecond file, 4 ms")


if __name__ == "__main__":
    nf.main()
