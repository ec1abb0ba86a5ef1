#!/usr/bin/python3
"""The capture benchmark's driver. bench/capture.sh makes the namespace, the veth pair and the
helper programs, then runs this; it can also rebuild the report from a saved run:

    bench/capture.py --report bench/results/capture_raw.json

Experiment A (throughput): for each frame size and offered rate, every tool captures on the
receiving end of the veth pair while `ringcap gen` (CPU 0) sends for DUR seconds. The tools run
interleaved (rep 1: A B C ..., rep 2: B C A ..., ...); medians over the reps are reported.
  offered   gen's own "sent N packets"
  arrived   rx_packets of the capturing veth end (what reached the packet taps)
  captured  the tool's own count (tcpdump's "N packets captured" line; netsniff-ng: passed
            filter - unread on exit, it prints no captured count of its own)
  drops     the kernel's ring drops as the tool reports them (PACKET_STATISTICS tp_drops)
  CPU       user+sys of the capture process (all its threads) from /proc/PID/task/*/schedstat,
            read while it waits before the traffic and after the drain time: set-up and exit
            (ring allocation, final flush, unmapping) are outside; "total" (wait4 rusage) is not.
Experiment B (latency): gen --rate 487 (~500 pps); per packet (time user code got it) - (send time in the
payload), pooled over the reps.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

from capture_report import fmt_us, pct, write_report
from capture_tools import (LATENCY_RATE, LATENCY_TOOLS, OPTIONAL_TOOLS, READY, STARTUP_RATE,
                           STARTUP_TOOLS, TCPDUMP_RING, THROUGHPUT_TOOLS, fill, rate_label)

# ---------------------------------------------------------------- measuring

def task_cpu_ns(pid):
    """user+sys of every thread of pid, ns (sum_exec_runtime, exact for a sleeping task)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        return None
    return total


def cpu_jiffies(cpu):
    """(busy, steal) jiffies of one CPU from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + v[4]
                return sum(v[:8]) - idle, v[7]
    return 0, 0


def softirq_jiffies(cpu):
    """softirq jiffies of one CPU from /proc/stat (where veth's receive path, and a BPF program
    on kfree_skb run by it, are accounted)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                return int(line.split()[7])
    return 0


def netdev_counter(ns, dev, name):
    r = subprocess.run(["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/statistics/{name}"],
                       capture_output=True, text=True)
    return int(r.stdout.strip() or 0)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


LIVE = set()  # processes we started and have not reaped: stopped on the way out, whatever happens


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    LIVE.add(p)
    return p


def stop_all_live():
    for p in list(LIVE):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGINT)
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        LIVE.discard(p)


def wait_ready(proc, paths, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        for p in paths:
            try:
                with open(p, errors="replace") as f:
                    if READY.search(f.read()):
                        return True
            except FileNotFoundError:
                pass
        time.sleep(0.02)
    return False


def stop(proc, timeout=20):
    """SIGINT to the process we started, wait4 for its rusage; SIGKILL if it will not go."""
    try:
        os.kill(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    end = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            LIVE.discard(proc)
            return ru
        if time.monotonic() > end:
            os.kill(proc.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            LIVE.discard(proc)
            return ru
        time.sleep(0.02)


SENT = re.compile(r"sent (\d+) packets, (\d+) bytes in ([\d.]+) s")


def run_gen(cfg, size, rate, dur, extra=()):
    """ringcap gen in cfg.ns out of cfg.tx (extra: more of its options); returns (packets, bytes,
    seconds) as it reports them."""
    cmd = ["ip", "netns", "exec", cfg.ns, "taskset", "-c", "0", "timeout", "-s", "INT", "-k", "5",
           str(dur), cfg.ringcap, "gen", "-i", cfg.tx, "--size", str(size)] + list(extra)
    if rate:
        cmd += ["--rate", str(rate)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=dur + 30)
    m = SENT.search(r.stderr)
    if not m:
        raise RuntimeError(f"generator failed: {r.stderr.strip()}")
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


def parse_counts(text):
    def num(rx):
        m = re.search(rx, text)
        return int(m.group(1)) if m else None
    captured = num(r"(\d+) packets? captured")
    received = num(r"(\d+) packets? received by filter")
    drops = num(r"(\d+) packets? dropped by kernel")
    if captured is None:  # netsniff-ng
        incoming = re.search(r"(\d+)\s+packets incoming \((\d+) unread on exit\)", text)
        passed = num(r"(\d+)\s+packets passed filter")
        failed = num(r"(\d+)\s+packets failed filter")
        if incoming and passed is not None:
            captured = passed - int(incoming.group(2))
            received = int(incoming.group(1))
            drops = failed
    return captured, received, drops


def throughput_run(cfg, name, argv, drain, size, rate, dur):
    work = cfg.work
    pcap = os.path.join(cfg.tmpfs, "out.pcap")
    if os.path.exists(pcap):
        os.unlink(pcap)
    out_p, err_p = os.path.join(work, "tool.out"), os.path.join(work, "tool.err")
    argv = fill(argv, RINGCAP=cfg.ringcap, BIN=cfg.bin, IF=cfg.rx, FILE=pcap)
    cmd = ["ip", "netns", "exec", cfg.ns, "taskset", "-c", "1"] + argv
    rec = {"tool": name, "size": size, "rate": rate or "max", "dur": dur, "load": loadavg()}
    with open(out_p, "w") as out, open(err_p, "w") as err:
        proc = spawn(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    try:
        if not wait_ready(proc, [out_p, err_p], 30):
            rec["error"] = "not ready: " + open(err_p).read()[-300:]
            stop(proc, 5)
            return rec
        time.sleep(0.05)
        arrived0 = netdev_counter(cfg.ns, cfg.rx, "rx_packets")
        cpu0 = task_cpu_ns(proc.pid)
        j0 = cpu_jiffies(1)
        g0 = softirq_jiffies(0)  # the generator's CPU: its softirq receives (and runs the BPF)
        sent, sent_bytes, secs = run_gen(cfg, size, rate, dur)
        time.sleep(drain)
        cpu1 = task_cpu_ns(proc.pid)
        j1 = cpu_jiffies(1)
        g1 = softirq_jiffies(0)
        arrived1 = netdev_counter(cfg.ns, cfg.rx, "rx_packets")
    except Exception as e:  # keep going: one failed run is a hole in the table, not the end
        rec["error"] = str(e)
        stop(proc, 5)
        return rec
    ru = stop(proc)
    if os.path.exists(pcap):
        # Freeing a file of up to GBs (and the VM handing the pages back to its host) costs the
        # next run's CPU: done here, with a pause, not at the start of the next tool's run.
        os.unlink(pcap)
        time.sleep(1.0)
    text = open(out_p, errors="replace").read() + open(err_p, errors="replace").read()
    captured, received, drops = parse_counts(text)
    window_ms = (j1[0] - j0[0]) * 1000 / os.sysconf("SC_CLK_TCK")
    rec.update(offered=sent, offered_secs=secs, arrived=arrived1 - arrived0, captured=captured,
               received=received, drops=drops, cpu_ns=cpu1 - cpu0,
               total_cpu_ns=int((ru.ru_utime + ru.ru_stime) * 1e9),
               cpu1_busy_ms=window_ms, cpu1_steal_ms=(j1[1] - j0[1]) * 10,
               cpu0_softirq_ms=(g1 - g0) * 1000 / os.sysconf("SC_CLK_TCK"), exit=proc.returncode)
    if captured is None:
        rec["error"] = "no counts in output: " + text[-300:]
    return rec


def latency_run(cfg, name, kind, argv, drain, dur, rep):
    lat_p = os.path.join(cfg.work, "lat.txt")
    if os.path.exists(lat_p):
        os.unlink(lat_p)
    err_p, rerr_p = os.path.join(cfg.work, "tool.err"), os.path.join(cfg.work, "reader.err")
    argv = fill(argv, RINGCAP=cfg.ringcap, BIN=cfg.bin, IF=cfg.rx, LAT=lat_p)
    cmd = ["ip", "netns", "exec", cfg.ns, "taskset", "-c", "1"] + argv
    rec = {"tool": name, "kind": kind, "rep": rep, "load": loadavg()}
    reader = None
    with open(err_p, "w") as err:
        if kind in ("pipe", "text"):
            proc = spawn(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
            with open(rerr_p, "w") as rerr:
                reader = spawn(["taskset", "-c", "1", f"{cfg.bin}/pcap_latency", "-L", lat_p]
                               + (["-t"] if kind == "text" else []),
                               stdin=proc.stdout, stdout=subprocess.DEVNULL, stderr=rerr)
            proc.stdout.close()
        else:
            proc = spawn(cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    try:
        if not wait_ready(proc, [err_p], 30):
            rec["error"] = "not ready: " + open(err_p).read()[-300:]
            stop(proc, 5)
            if reader:
                reader.wait(10)
                LIVE.discard(reader)
            return rec
        time.sleep(0.05)
        sent, _, _ = run_gen(cfg, 64, LATENCY_RATE, dur)
        time.sleep(drain)
    except Exception as e:
        rec["error"] = str(e)
        stop(proc, 5)
        if reader:
            reader.wait(10)
            LIVE.discard(reader)
        return rec
    stop(proc)
    if reader:
        try:
            reader.wait(15)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()
        LIVE.discard(reader)
    try:
        with open(lat_p) as f:
            samples = [int(x) for x in f if x.strip()]
    except FileNotFoundError:
        samples = []
        rec["error"] = "no samples: " + open(err_p).read()[-300:]
    rec.update(sent=sent, samples=samples)
    return rec


def enter_netns_on_cpu1(ns):
    """A preexec_fn: the child joins network namespace ns (setns, no mount namespace, unlike
    `ip netns exec`, whose own CPU and memory would count in the child's rusage) and CPU 1."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)

    def enter():
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            os._exit(126)
        os.sched_setaffinity(0, {1})
    return enter


RING_SIZE = re.compile(r"ring (\d+) (KiB|MiB)")


def vm_hwm_kib(pid):
    """The peak resident set of pid's memory map since its exec, or 0 (not yet exec'ed: the
    forked copy of this Python; or already gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except (FileNotFoundError, ProcessLookupError):
        return 0
    if fields.get("Name", "").strip().startswith("python") or "VmHWM" not in fields:
        return 0
    return int(fields["VmHWM"].split()[0])


def startup_run(cfg, name, argv, rep):
    """One `-c 1` run from fork to reap: CPU (rusage), wall to the "listening on" line and to
    the exit, peak RSS (VmHWM, read every millisecond while it runs), and the ring it mapped."""
    import threading
    argv = fill(argv, RINGCAP=cfg.ringcap, BIN=cfg.bin, IF=cfg.rx)
    rec = {"tool": name, "rep": rep, "load": loadavg()}
    t0 = time.monotonic()
    proc = spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                 preexec_fn=enter_netns_on_cpu1(cfg.ns))
    ready, lines = [], []

    def read_err():
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode(errors="replace")
            if not ready and READY.search(line):
                ready.append(time.monotonic())
            lines.append(line)
    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    pid, status, ru = 0, 0, None
    end = t0 + 20
    peak_kib = 0  # VmHWM of the tool's own memory (ru_maxrss would count the forked Python's)
    while time.monotonic() < end:
        peak_kib = max(peak_kib, vm_hwm_kib(proc.pid))
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        time.sleep(0.001)
    if pid != proc.pid:
        rec["error"] = "did not end within 20 s"
        stop(proc, 5)
        return rec
    wall = time.monotonic() - t0
    LIVE.discard(proc)
    reader.join(5)
    text = "".join(lines)
    m = RING_SIZE.search(text)
    ring = int(m.group(1)) << (10 if m.group(2) == "KiB" else 20) if m else (
        TCPDUMP_RING if name.startswith("tcpdump") else 0)
    rec.update(cpu_ms=(ru.ru_utime + ru.ru_stime) * 1e3, user_ms=ru.ru_utime * 1e3,
               sys_ms=ru.ru_stime * 1e3, wall_ms=wall * 1e3,
               ready_ms=(ready[0] - t0) * 1e3 if ready else None,
               maxrss_kib=peak_kib, ring_bytes=ring, exit=os.waitstatus_to_exitcode(status))
    if os.waitstatus_to_exitcode(status) != 0:
        rec["error"] = f"exit {os.waitstatus_to_exitcode(status)}: {text[-300:]}"
    return rec


# ---------------------------------------------------------------- main

def tool_version(cmd, rx):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        m = re.search(rx, r.stdout + r.stderr)
        return m.group(1) if m else "?"
    except Exception:
        return "?"


def git_state():
    """The checkout the benchmark runs from (the binary is assumed to be built from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "include", "cli"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + (" with uncommitted changes in src/include/cli" if dirty else "") if head else "?"
    except Exception:
        return "?"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns")
    ap.add_argument("--tx")
    ap.add_argument("--rx")
    ap.add_argument("--ringcap")
    ap.add_argument("--bin", help="directory with min_reader_v3, min_reader_v2, pcap_latency, "
                                  "latency_probe")
    ap.add_argument("--work")
    ap.add_argument("--tmpfs")
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--dur", type=float)
    ap.add_argument("--sizes", help="comma-separated frame sizes (default 64,512,1514; --quick: 64)")
    ap.add_argument("--rates", help="comma-separated pps, 'max' = as fast as the generator goes")
    ap.add_argument("--lat-dur", type=float)
    ap.add_argument("--lat-reps", type=int)
    ap.add_argument("--startup-reps", type=int, help="-c 1 runs per tool (default 7; --quick: 2)")
    ap.add_argument("--only", help="run only the tools whose name contains one of these "
                                   "comma-separated words, or (with ';' between them) is one "
                                   "of these names")
    ap.add_argument("--report", help="rebuild capture.md and the plots from this capture_raw.json")
    return ap.parse_args()


def machine_meta(cfg):
    return {
        "nproc": os.cpu_count(), "kernel": os.uname().release,
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?"),
        "mem_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        "tcpdump": tool_version(["tcpdump", "--version"], r"tcpdump version (\S+)"),
        "libpcap": tool_version(["tcpdump", "--version"], r"(libpcap version \S+)"),
        "netsniff": tool_version(["netsniff-ng", "-v"], r"netsniff-ng (\S+)"),
        "ringcap": cfg.ringcap,
        "ringcap_commit": git_state(),
    }


def run_throughput(cfg, raw, tools, reps, sizes, rates, dur, started):
    total = reps * len(sizes) * len(rates) * len(tools)
    n = 0
    for rep in range(reps):
        # Each repetition starts the cell with another tool: none is always the one run right
        # after a change of size or rate.
        order = tools[rep % len(tools):] + tools[:rep % len(tools)]
        for size in sizes:
            for rate in rates:
                for name, argv, drain in order:
                    n += 1
                    rec = throughput_run(cfg, name, argv, drain, size, rate, dur)
                    rec["rep"] = rep
                    raw["throughput"].append(rec)
                    msg = rec.get("error") or (
                        f"offered {rec['offered']:,} captured {rec['captured']:,} drops "
                        f"{rec['drops']} cpu {rec['cpu_ns'] / max(rec['captured'], 1):,.0f} ns/pkt")
                    print(f"[{time.monotonic() - started:5.0f}s] A {n}/{total} {size}B "
                          f"{rate_label(rate or 'max')} {name}: {msg}", flush=True)


def run_latency(cfg, raw, ltools, lat_reps, lat_dur, started):
    for rep in range(lat_reps):
        for name, kind, argv, drain in ltools:
            rec = latency_run(cfg, name, kind, argv, drain, lat_dur, rep)
            raw["latency"].append(rec)
            s = sorted(rec.get("samples", []))
            msg = rec.get("error") or (f"{len(s)}/{rec['sent']} p50 {fmt_us(pct(s, .5))} "
                                       f"p99 {fmt_us(pct(s, .99))}" if s else "no samples")
            print(f"[{time.monotonic() - started:5.0f}s] B rep {rep + 1} {name}: {msg}",
                  flush=True)


def run_startup(cfg, raw, stools, startup_reps, started):
    """-c 1 runs, interleaved, while the generator sends STARTUP_RATE pps (bounded in time)."""
    if not stools:
        return
    budget = 30 * startup_reps * len(stools) + 30
    gen = spawn(["ip", "netns", "exec", cfg.ns, "taskset", "-c", "0", "timeout", "-s", "INT",
                 "-k", "5", str(budget), cfg.ringcap, "gen", "-i", cfg.tx, "--rate",
                 str(STARTUP_RATE)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        for rep in range(startup_reps):
            for name, argv in stools:
                rec = startup_run(cfg, name, argv, rep)
                raw["startup"].append(rec)
                msg = rec.get("error") or (
                    f"cpu {rec['cpu_ms']:.1f} ms wall {rec['wall_ms']:.0f} ms rss "
                    f"{rec['maxrss_kib'] / 1024:.1f} MiB ring {rec['ring_bytes'] / 2**20:.2f} MiB")
                print(f"[{time.monotonic() - started:5.0f}s] C rep {rep + 1} {name}: {msg}",
                      flush=True)
    finally:
        stop(gen, 10)


def main():
    cfg = parse_args()
    os.makedirs(cfg.out, exist_ok=True)
    if cfg.report:
        with open(cfg.report) as f:
            raw = json.load(f)
        write_report(raw, cfg.out)
        return
    quick = cfg.quick
    reps = cfg.reps or (1 if quick else 3)
    dur = cfg.dur or (1.0 if quick else 1.2)
    rates = (cfg.rates or ("10000,max" if quick else "10000,100000,300000,max")).split(",")
    rates = [None if r == "max" else int(r) for r in rates]
    sizes = [int(s) for s in (cfg.sizes or ("64" if quick else "64,512,1514")).split(",")]
    lat_dur = cfg.lat_dur or (1.0 if quick else 2.5)
    lat_reps = cfg.lat_reps or (1 if quick else 3)
    startup_reps = cfg.startup_reps or (2 if quick else 7)

    def chosen(name):
        if not cfg.only:
            return True
        if ";" in cfg.only:
            return name in cfg.only.split(";")
        return any(word in name for word in cfg.only.split(","))
    tools = [t for t in THROUGHPUT_TOOLS + (OPTIONAL_TOOLS if cfg.only else []) if chosen(t[0])]
    ltools = [t for t in LATENCY_TOOLS if chosen(t[0])]
    stools = [t for t in STARTUP_TOOLS if chosen(t[0])]

    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quick": quick, "reps": reps,
            "dur": dur, "lat_dur": lat_dur, "lat_reps": lat_reps, "startup_reps": startup_reps}
    meta.update(machine_meta(cfg))
    raw = {"meta": meta, "throughput": [], "latency": [], "startup": []}
    started = time.monotonic()
    run_throughput(cfg, raw, tools, reps, sizes, rates, dur, started)
    run_latency(cfg, raw, ltools, lat_reps, lat_dur, started)
    run_startup(cfg, raw, stools, startup_reps, started)
    meta["elapsed_s"] = round(time.monotonic() - started)
    with open(os.path.join(cfg.out, "capture_raw.json"), "w") as f:
        json.dump(raw, f)
    write_report(raw, cfg.out)
    print(f"capture.py: {meta['elapsed_s']} s; wrote {cfg.out}/capture.md and plots", flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so the finally below runs
    # Started in the background by capture.sh, we inherit SIGINT ignored, and so would the tools
    # we stop with SIGINT: handle it, which gives every child the default disposition back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        main()
    finally:
        stop_all_live()
