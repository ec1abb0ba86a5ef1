#!/usr/bin/env python3
"""Driver of the --process capture benchmark (bench/process.sh runs it, as root).

What --process costs a capture: the capture's own CPU per captured packet, with and without
--process, side by side in one run (interleaved, medians over the reps), for two kinds of
traffic at 100k packets/s and at the most the sender manages:
  - gen:    `ringcap gen --flows 64` (64-byte UDP frames, 64 source ports) to an address nobody
            has: no local process owns these flows (each lookup is a cached "no owner");
  - iperf3: `iperf3 -u -l 64` from a client in the capture's namespace to a server in the other:
            every datagram belongs to a real local process (the client), whose owner is found.
Two namespaces joined by a veth pair; the senders (and iperf3's server) are pinned to CPU 0, the
capture to CPU 1, and captures on the client's end in the client's namespace (entered with
`nsenter --net`, keeping the host's mounts: the BPF hooks need the cgroup v2 mount). Both
captures write pcapng to /dev/null (--process needs pcapng; the baseline writes the same format).
CPU: the capture's user+sys (all threads) over the traffic window, from /proc/PID/task/*/schedstat
(its start-up, which opens the BPF side, is outside). The BPF programs' run time is reported
too (kernel.bpf_stats_enabled=1 during the run, restored after): it is spent in the processes
that make and use sockets, per socket event (and per UDP send/receive call), not per packet.
Writes OUT/process.md and OUT/process_raw.json.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture as cb  # noqa: E402  (the capture benchmark's measuring helpers)
import capture_report as cr  # noqa: E402  (its medians and number formats)
from conn import CLI, SRV, Net  # noqa: E402  (two namespaces joined by a veth pair)

IPERF_PORT = 5201
TOOLS = [
    ("ringcap --pcapng -w /dev/null", ["--pcapng", "-w", "/dev/null"]),
    ("ringcap --process --pcapng -w /dev/null", ["--process", "--pcapng", "-w", "/dev/null"]),
]


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)


def gen_traffic(cfg, net, rate, dur):
    """ringcap gen from the server's side into the capture's interface; returns frames sent."""
    where = argparse.Namespace(ns=net.srv, tx=net.sif, ringcap=cfg.ringcap)
    return cb.run_gen(where, 64, rate, dur, extra=("--flows", "64"))[0]


def iperf_traffic(cfg, net, rate, dur):
    """iperf3 UDP, 64-byte datagrams, client in the capture's namespace; returns datagrams."""
    bitrate = str(rate * 64 * 8) if rate else "0"  # 0: as fast as it can
    cmd = ["ip", "netns", "exec", net.cli, "taskset", "-c", "0", "iperf3", "-c", SRV, "-u", "-l",
           "64", "-b", bitrate, "-t", str(dur), "-J", "-p", str(IPERF_PORT)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=dur + 30)
    try:
        return int(json.loads(r.stdout)["end"]["sum"]["packets"])
    except (ValueError, KeyError) as e:
        raise RuntimeError(f"iperf3 failed: {r.stderr.strip() or r.stdout[-300:]}") from e


TRAFFIC = {"gen": gen_traffic, "iperf3": iperf_traffic}
ATTRIBUTED = re.compile(r"ringcap: processes \((\w+)\): (\d+) packets? of (\d+) attributed")
BPF = re.compile(r"BPF programs: (\d+) runs, ([0-9.]+) ms")


def one_run(cfg, net, traffic, rate, tool, args, dur):
    work = cfg.work
    out_p, err_p = os.path.join(work, "tool.out"), os.path.join(work, "tool.err")
    cmd = ["nsenter", f"--net=/run/netns/{net.cli}", "taskset", "-c", "1", cfg.ringcap, "-i",
           net.cif] + args
    rec = {"traffic": traffic, "rate": rate or "max", "tool": tool, "load": cb.loadavg()}
    with open(out_p, "w") as out, open(err_p, "w") as err:
        proc = cb.spawn(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    try:
        if not cb.wait_ready(proc, [err_p], 30):
            rec["error"] = "not ready: " + open(err_p).read()[-300:]
            cb.stop(proc, 5)
            return rec
        time.sleep(0.2)
        cpu0 = cb.task_cpu_ns(proc.pid)
        sent = TRAFFIC[traffic](cfg, net, rate, dur)
        time.sleep(0.3)
        cpu1 = cb.task_cpu_ns(proc.pid)
    except Exception as e:  # one failed run is a hole in the table, not the end
        rec["error"] = str(e)
        cb.stop(proc, 5)
        return rec
    cb.stop(proc)
    text = open(err_p, errors="replace").read()
    captured, _, drops = cb.parse_counts(text)
    rec.update(sent=sent, captured=captured, drops=drops, cpu_ns=cpu1 - cpu0, dur=dur)
    if m := ATTRIBUTED.search(text):
        rec.update(mode=m.group(1), attributed=int(m.group(2)), annotated=int(m.group(3)))
    if m := BPF.search(text):
        rec.update(bpf_runs=int(m.group(1)), bpf_ms=float(m.group(2)))
    if captured is None:
        rec["error"] = "no counts: " + text[-300:]
    return rec


def summarize(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["traffic"], str(r["rate"]), r["tool"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if "error" not in r and r.get("captured")]
        s = {"reps": len(rs), "errors": [r["error"] for r in rs if "error" in r]}
        if ok:
            s["ns_per_pkt"] = cr.median([r["cpu_ns"] / r["captured"] for r in ok])
            s["pps"] = cr.median([r["captured"] / r["dur"] for r in ok])
            s["loss"] = cr.median([max(0, r["sent"] - r["captured"]) / r["sent"] for r in ok
                                   if r["sent"]])
            s["drops"] = cr.median([r["drops"] for r in ok])
            if any("annotated" in r for r in ok):
                s["attributed"] = cr.median([r["attributed"] / max(r["annotated"], 1)
                                             for r in ok if "annotated" in r])
                s["mode"] = ok[0].get("mode")
            if any("bpf_ms" in r for r in ok):
                s["bpf_ms_per_s"] = cr.median([r["bpf_ms"] / r["dur"] for r in ok if "bpf_ms" in r])
        out[key] = s
    return out


def write_report(raw, outdir):
    meta, tp = raw["meta"], summarize(raw["runs"])
    L = ["# --process on captures: CPU per packet with and without process attribution", "",
         f"Run {meta['date']}: {meta['reps']} interleaved rep(s) per cell, {meta['dur']} s of "
         f"traffic per run, medians. Machine: {meta['nproc']} CPUs, kernel {meta['kernel']}. "
         f"ringcap `{meta['ringcap']}`, checkout {meta['commit']}. Load average during the run: "
         f"{meta['load_min']:.2f}-{meta['load_max']:.2f}.", "",
         "| traffic | rate | ns/packet without | ns/packet with --process | extra | "
         "packets/s | attributed | loss (without / with) | BPF ms per s |",
         "|---|---|---|---|---|---|---|---|---|"]
    base, proc = TOOLS[0][0], TOOLS[1][0]
    for traffic in ("gen", "iperf3"):
        for rate in meta["rates"]:
            a, b = tp.get((traffic, str(rate), base), {}), tp.get((traffic, str(rate), proc), {})
            na, nb = a.get("ns_per_pkt"), b.get("ns_per_pkt")
            extra = f"{nb - na:+.0f} ns ({(nb / na - 1) * 100:+.0f}%)" if na and nb else "—"
            att = f"{b['attributed'] * 100:.1f}% ({b.get('mode')})" if "attributed" in b else "—"
            loss = " / ".join(f"{s['loss'] * 100:.2f}%" if "loss" in s else "—" for s in (a, b))
            bpf = f"{b['bpf_ms_per_s']:.2f}" if "bpf_ms_per_s" in b else "—"
            L.append(f"| {traffic} | {cb.rate_label(rate)} | {cr.fmt_int(na)} | {cr.fmt_int(nb)} "
                     f"| {extra} | {cr.fmt_int(b.get('pps'))} | {att} | {loss} | {bpf} |")
    errors = [f"- {k}: {e}" for k, s in tp.items() for e in s["errors"]]
    L += ["", "gen: `ringcap gen --flows 64 --size 64` to an address no local socket has (every "
          "lookup ends in the cache's \"no owner\"); iperf3: `iperf3 -u -l 64` from a client in "
          "the capture's namespace (every datagram its own). Both captures: `ringcap -i IF "
          "--pcapng -w /dev/null`, the second with `--process`, pinned to CPU 1; senders on "
          "CPU 0. CPU: the capture process's own (schedstat), over the traffic. BPF ms per s: "
          "the BPF programs' run time (kernel.bpf_stats_enabled=1), spent by the processes that "
          "use sockets, not by the capture.", "",
          "Command: `bench/process.sh` (`--quick` for a smoke run)."]
    if errors:
        L += ["", "Errors:"] + errors
    with open(os.path.join(outdir, "process.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringcap", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--quick", action="store_true", help="1 rep, 1 s per run")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--dur", type=float)
    ap.add_argument("--rates", default="100000,max")
    cfg = ap.parse_args()
    reps = cfg.reps or (1 if cfg.quick else 3)
    dur = cfg.dur or (1.0 if cfg.quick else 5.0)
    rates = [0 if r == "max" else int(r) for r in cfg.rates.split(",")]
    os.makedirs(cfg.out, exist_ok=True)
    net = Net()
    stats_before = sh("sysctl", "-n", "kernel.bpf_stats_enabled").stdout.strip()
    iperf = None
    try:
        sh("sysctl", "-qw", "kernel.bpf_stats_enabled=1")
        iperf = cb.spawn(["ip", "netns", "exec", net.srv, "taskset", "-c", "0", "iperf3", "-s",
                          "-p", str(IPERF_PORT)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        raw = {"meta": {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "reps": reps,
                        "dur": dur, "rates": ["max" if r == 0 else r for r in rates],
                        "nproc": os.cpu_count(), "kernel": os.uname().release,
                        "ringcap": cfg.ringcap, "commit": cb.git_state()}, "runs": []}
        started = time.monotonic()
        for rep in range(reps):
            for traffic in TRAFFIC:
                for rate in rates:
                    for tool, args in TOOLS:
                        rec = one_run(cfg, net, traffic, rate, tool, args, dur)
                        rec["rep"] = rep
                        raw["runs"].append(rec)
                        msg = rec.get("error") or (
                            f"sent {rec['sent']:,} captured {rec['captured']:,} "
                            f"{rec['cpu_ns'] / max(rec['captured'], 1):,.0f} ns/pkt"
                            + (f", {rec['attributed']}/{rec['annotated']} attributed"
                               if "annotated" in rec else ""))
                        print(f"[{time.monotonic() - started:4.0f}s] {traffic} "
                              f"{cb.rate_label(rate or 'max')} {tool}: {msg}", flush=True)
        loads = [r["load"] for r in raw["runs"]]
        raw["meta"].update(load_min=min(loads), load_max=max(loads))
        with open(os.path.join(cfg.out, "process_raw.json"), "w") as f:
            json.dump(raw, f)
        write_report(raw, cfg.out)
        print(f"process.py: wrote {cfg.out}/process.md", flush=True)
    finally:
        cb.stop_all_live()
        sh("sysctl", "-qw", f"kernel.bpf_stats_enabled={stats_before or 0}", check=False)
        net.close()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
