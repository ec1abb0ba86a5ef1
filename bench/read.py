#!/usr/bin/python3
"""The read benchmark's driver (bench/read.sh makes the helper and the work directory on
/dev/shm, then runs this).

1. make_pcap writes BIG (SIZE MiB of mixed 60..1514-byte frames, see make_pcap.c) on tmpfs.
2. Check, once per filter, that ringcap -r BIG -w X FILTER writes the same bytes as tcpdump -r BIG
   -w X FILTER (otherwise the timings compare different work).
3. Time, interleaved (rep 1: A B [C], rep 2: A B [C], ...), medians over the reps:
   - ringcap -r BIG -w /dev/null FILTER  vs  tcpdump -r BIG -w /dev/null FILTER, per filter;
   - ringcap -r BIG -w OUT  vs  cat BIG > OUT (the copy limit)  vs  tcpdump -r BIG -w OUT,
     OUT on the same tmpfs, removed before every run (not timed).
   Wall time is taken around the child's whole life; user+sys from wait4's rusage.
4. Write read.md (and read_raw.json) to --out.
"""
import argparse
import filecmp
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time

FILTERS = ["", "udp", "tcp port 80"]
RUN_TIMEOUT = 300  # seconds for one run on a ~1 GiB file; a run that overstays is killed


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def timed(argv, stdout_path=None):
    """Runs argv to completion; returns (wall s, user+sys s). stdout_path: stdout goes to that
    file (created fresh), else /dev/null. Fails on a non-zero status or a timeout."""
    out = open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb")
    try:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
        killer = threading.Timer(RUN_TIMEOUT, p.kill)
        killer.start()
        err = p.stderr.read().decode(errors="replace")  # until the child closes it (exits)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        p.stderr.close()
        if p.returncode == -9:
            raise RuntimeError(f"{argv} took longer than {RUN_TIMEOUT}s and was killed")
        if p.returncode != 0:
            raise RuntimeError(f"{argv} exited with {p.returncode}: {err.strip()}")
        return wall, ru.ru_utime + ru.ru_stime
    finally:
        out.close()


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringcap", required=True)
    ap.add_argument("--make-pcap", required=True, help="the make_pcap helper")
    ap.add_argument("--work", required=True, help="a directory on tmpfs")
    ap.add_argument("--size-mib", type=int, default=1100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()

    big = os.path.join(args.work, "big.pcap")
    out = os.path.join(args.work, "out.pcap")
    check = os.path.join(args.work, "check.pcap")
    td = ["tcpdump", "-n"] + (["-Z", "root"] if os.geteuid() == 0 else [])

    load_before = loadavg()
    t0 = time.monotonic()
    made = subprocess.run([args.make_pcap, big, str(args.size_mib)], capture_output=True,
                          text=True, check=True, timeout=600).stdout.split()
    records, size = int(made[1]), int(made[3])
    print(f"read.py: {big}: {size} bytes, {records} records, made in "
          f"{time.monotonic() - t0:.1f} s", flush=True)

    # Same output as tcpdump, and how many records each filter keeps.
    kept = {}
    for filt in FILTERS:
        f = [filt] if filt else []
        remove(out)
        remove(check)
        subprocess.run([args.ringcap, "-r", big, "-w", out] + f, check=True, timeout=RUN_TIMEOUT,
                       capture_output=True)
        subprocess.run(td + ["-r", big, "-w", check] + f, check=True, timeout=RUN_TIMEOUT,
                       capture_output=True)
        if not filecmp.cmp(out, check, shallow=False):
            sys.exit(f"read.py: ringcap and tcpdump wrote different files for {filt!r}")
        kept[filt] = os.path.getsize(out)
        print(f"read.py: filter {filt or '(none)'!r}: same {kept[filt]} bytes from both",
              flush=True)
    remove(out)
    remove(check)

    experiments = []
    for filt in FILTERS:
        f = [filt] if filt else []
        experiments.append((f"-w /dev/null, filter: {filt or '(none)'}", filt, [
            ("ringcap", [args.ringcap, "-r", big, "-w", "/dev/null"] + f, None),
            ("tcpdump", td + ["-r", big, "-w", "/dev/null"] + f, None)]))
    experiments.append(("-w file on tmpfs, no filter (copy)", None, [
        ("ringcap", [args.ringcap, "-r", big, "-w", out], None),
        ("cat", ["cat", big], out),
        ("tcpdump", td + ["-r", big, "-w", out], None)]))

    runs = []
    for rep in range(args.reps):
        for name, filt, tools in experiments:
            for tool, argv, stdout_path in tools:
                remove(out)
                wall, cpu = timed(argv, stdout_path)
                if name.startswith("-w file") and os.path.getsize(out) != size:
                    sys.exit(f"read.py: {tool} wrote {os.path.getsize(out)} bytes, not {size}")
                runs.append({"experiment": name, "tool": tool, "rep": rep, "wall": wall,
                             "cpu": cpu, "load": loadavg()})
                print(f"read.py: rep {rep + 1}/{args.reps} {name}: {tool} {wall:.3f} s wall, "
                      f"{cpu:.3f} s cpu", flush=True)
    remove(out)

    meta = {"size": size, "records": records, "reps": args.reps, "kept": kept,
            "load_before": load_before, "load_after": loadavg(), "cpu": cpu_model(),
            "ncpu": os.cpu_count(), "kernel": platform.release(),
            "tcpdump": subprocess.run(["tcpdump", "--version"], capture_output=True,
                                      text=True).stdout.splitlines()[:2],
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "read_raw.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1)
    report = render(meta, experiments, runs)
    with open(os.path.join(args.out, "read.md"), "w") as f:
        f.write(report)
    print(report)


def render(meta, experiments, runs):
    size = meta["size"]
    lines = [
        "# Read benchmark: ringcap -r vs tcpdump -r, and the copy limit",
        "",
        f"Made by `bench/read.sh` on {meta['date']}. Machine: {meta['ncpu']} CPUs ({meta['cpu']}),"
        f" kernel {meta['kernel']}, {'; '.join(meta['tcpdump'])}. Load average before "
        f"{meta['load_before']}, after {meta['load_after']}.",
        "",
        f"Input: {size / 2**30:.2f} GiB on tmpfs (/dev/shm), {meta['records']} records of "
        f"60..1514 bytes (bench/make_pcap.c: 40% small, 30% any size, 30% full-size; IPv4 "
        f"TCP/UDP, IPv6, 802.1Q, ARP). Interleaved runs (A B, A B, ...), {meta['reps']} "
        f"repetitions, medians; GB/s = input bytes / median wall time. Before timing, every "
        f"filter's output was checked to be byte-identical to tcpdump's (kept: "
        + ", ".join(f"{(k or 'no filter')!r} {v / 2**20:.0f} MiB" for k, v in meta["kept"].items())
        + ").",
        "",
        "| experiment | tool | wall s (median) | wall min..max | user+sys s (median) | GB/s |",
        "|---|---|---|---|---|---|",
    ]
    med = {}
    for name, _, tools in experiments:
        for tool, _, _ in tools:
            rs = [r for r in runs if r["experiment"] == name and r["tool"] == tool]
            wall = statistics.median(r["wall"] for r in rs)
            cpu = statistics.median(r["cpu"] for r in rs)
            med[(name, tool)] = (wall, cpu)
            lines.append(f"| {name} | {tool} | {wall:.3f} | {min(r['wall'] for r in rs):.3f}.."
                         f"{max(r['wall'] for r in rs):.3f} | {cpu:.3f} | "
                         f"{size / wall / 1e9:.2f} |")
    lines += ["", "| ratio | value | target | met |", "|---|---|---|---|"]
    for name, filt, _ in experiments:
        if filt is not None:
            r = med[(name, "tcpdump")][0] / med[(name, "ringcap")][0]
            lines.append(f"| throughput ringcap / tcpdump, {name} | {r:.2f}x | >= 2.5x | "
                         f"{'yes' if r >= 2.5 else 'no'} |")
        else:
            r = med[(name, "ringcap")][0] / med[(name, "cat")][0]
            lines.append(f"| wall time ringcap / cat, {name} | {r:.2f}x | <= 1.25x | "
                         f"{'yes' if r <= 1.25 else 'no'} |")
            r = med[(name, "tcpdump")][0] / med[(name, "ringcap")][0]
            lines.append(f"| throughput ringcap / tcpdump, {name} | {r:.2f}x | (none) | |")
    lines += ["", "Noise: a shared 2-CPU VM; other work (builds, tests) may run at the same time. "
              "The load averages above and the min..max spread say how much. Compare within one "
              "run only.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
