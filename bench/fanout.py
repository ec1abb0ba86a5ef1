#!/usr/bin/python3
"""The driver of bench/fanout.sh (see there). Two experiments:

A. Scaling with a CPU-bound sink. Each worker prints every packet with -X (hex and ASCII of
   512-byte frames) to /dev/null, which costs microseconds a packet: one thread is the
   bottleneck long before the generator is. For 1 and 2 workers, rates are swept upwards; at
   each the loss (ringcap's kernel drops over the generator's sent count) and ringcap's CPU per
   packet (utime + stime over the packets captured) are taken. The zero-loss rate is the
   highest rate with no drop (each rate run `--reps` times: all must be clean).
B. --merge against a file per worker: 2 workers, -w on tmpfs, at fixed rates: CPU per packet.

The generator is pinned to CPU 0; with 1 worker ringcap runs on CPU 1 (--cpus 1), with 2 on
CPUs 1 and 0 (--cpus 1,0): on this 2-CPU machine the second worker shares CPU 0 with the
generator and with the receive softirq of every packet (veth runs it on the sender's CPU).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime (incl. threads)


def run_point(a, workers, rate, extra, sink_to_file=False):
    """One capture while the generator sends at `rate` for a.dur seconds; returns a dict."""
    ns = ["ip", "netns", "exec", a.ns]
    cpus = "1" if workers == 1 else "1,0"
    cmd = ns + [a.ringcap, "-i", a.rx, "--workers", str(workers), "--cpus", cpus] + extra
    stdout = subprocess.DEVNULL
    cap = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    line = ""
    while "listening on" not in line and time.monotonic() < deadline:
        line = cap.stderr.readline()
    if "listening on" not in line:
        cap.kill()
        raise SystemExit(f"ringcap did not start: {line}")
    time.sleep(0.2)
    cpu0 = cpu_seconds(cap.pid)
    gen = subprocess.run(ns + ["taskset", "-c", "0", "timeout", "-s", "INT", str(a.dur),
                               a.ringcap, "gen", "-i", a.tx, "--flows", "64", "-s", "512", "-r",
                               str(rate)], capture_output=True, text=True, timeout=a.dur + 30)
    time.sleep(0.3)
    cpu1 = cpu_seconds(cap.pid)
    cap.send_signal(signal.SIGINT)
    try:
        _, err = cap.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        cap.kill()
        _, err = cap.communicate()
    sent = int(re.search(r"sent (\d+) packets", gen.stderr).group(1))
    captured = int(re.search(r"^(\d+) packets? captured", err, re.M).group(1))
    dropped = int(re.search(r"^(\d+) packets? dropped by kernel", err, re.M).group(1))
    return {"workers": workers, "rate": rate, "sent": sent, "captured": captured,
            "dropped": dropped, "cpu_s": cpu1 - cpu0,
            "ns_per_pkt": (cpu1 - cpu0) * 1e9 / max(captured, 1),
            "loss": (sent - captured) / max(sent, 1)}


def scaling(a, results):
    best = {}
    for workers in (1, 2):
        best[workers] = 0
        for rate in a.rates:
            points = [run_point(a, workers, rate, ["-n", "-X", "udp"]) for _ in range(a.reps)]
            for p in points:
                print(f"A workers={workers} rate={rate}: sent {p['sent']} captured "
                      f"{p['captured']} dropped {p['dropped']} ({100 * p['loss']:.2f}%) "
                      f"{p['ns_per_pkt']:.0f} ns/pkt", flush=True)
                results.append(dict(p, experiment="scaling"))
            if all(p["dropped"] == 0 and p["loss"] < 0.001 for p in points):
                best[workers] = rate
            elif best[workers]:
                break  # past the knee: higher rates only lose more
    return best


def merge_cost(a, results):
    rows = []
    for rate in a.merge_rates:
        for mode, extra in (("file per worker", []), ("--merge", ["--merge"])):
            out = os.path.join(a.tmpfs, "m.pcap")
            for _ in range(a.reps):
                p = run_point(a, 2, rate, ["-w", out, "udp"] + extra)
                print(f"B {mode} rate={rate}: {p['ns_per_pkt']:.0f} ns/pkt, dropped "
                      f"{p['dropped']}", flush=True)
                results.append(dict(p, experiment="merge", mode=mode))
                rows.append((rate, mode, p))
            for f in os.listdir(a.tmpfs):
                os.unlink(os.path.join(a.tmpfs, f))
    return rows


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def report(a, best, results):
    lines = ["# Fanout: scaling with a CPU-bound sink, and the cost of --merge", "",
             f"Command: `bench/fanout.sh {' '.join(sys.argv[1:])}` (ringcap {a.ringcap}), "
             f"{a.dur} s per point, {a.reps} run(s) per point, 512-byte frames, 64 flows.", "",
             "## A. Zero-loss rate with `-n -X udp` printed to /dev/null by every worker", "",
             "| workers | rate (pps) | sent | captured | dropped | loss | CPU ns/packet (median) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for workers in (1, 2):
        for rate in a.rates:
            ps = [r for r in results if r["experiment"] == "scaling" and
                  r["workers"] == workers and r["rate"] == rate]
            if not ps:
                continue
            p = ps[0]
            lines.append(f"| {workers} | {rate:,} | {p['sent']:,} | {p['captured']:,} | "
                         f"{sum(x['dropped'] for x in ps):,} | "
                         f"{100 * max(x['loss'] for x in ps):.2f}% | "
                         f"{median([x['ns_per_pkt'] for x in ps]):,.0f} |")
    ratio = best[2] / best[1] if best.get(1) else float("nan")
    lines += ["", f"Zero-loss rate: 1 worker {best.get(1, 0):,} pps, 2 workers "
                  f"{best.get(2, 0):,} pps: **{ratio:.2f}x** (target >= 1.8x).", "",
              "## B. 2 workers, -w on tmpfs: a file per worker against --merge", "",
              "| rate (pps) | output | CPU ns/packet (median) | dropped |", "|---:|---|---:|---:|"]
    for rate in a.merge_rates:
        for mode in ("file per worker", "--merge"):
            ps = [r for r in results if r["experiment"] == "merge" and r["rate"] == rate and
                  r["mode"] == mode]
            if ps:
                lines.append(f"| {rate:,} | {mode} | {median([x['ns_per_pkt'] for x in ps]):,.0f}"
                             f" | {sum(x['dropped'] for x in ps):,} |")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "fanout.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(a.out, "fanout_raw.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    for name in ("--ns", "--tx", "--rx", "--ringcap", "--tmpfs", "--out"):
        ap.add_argument(name, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dur", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    if a.quick:
        a.dur, a.reps = 1.0, 1
        a.rates = [50_000, 200_000]
        a.merge_rates = [100_000]
    else:
        a.rates = [25_000, 50_000, 75_000, 100_000, 125_000, 150_000, 200_000, 250_000,
                   300_000, 400_000]
        a.merge_rates = [100_000, 300_000]
    results = []
    best = scaling(a, results)
    merge_cost(a, results)
    report(a, best, results)


if __name__ == "__main__":
    main()
