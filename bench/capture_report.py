"""The capture benchmark's report: bench/results/capture.md and the plots, from the runs
bench/capture.py made (or saved in capture_raw.json). The tools and their names are in
capture_tools.py.
"""
import os
import statistics

from capture_plots import plot
from capture_tools import (LATENCY_RATE, LATENCY_TOOLS, OPTIONAL_TOOLS, STARTUP_RATE,
                           STARTUP_TOOLS, SWEEP_TOOLS, THROUGHPUT_TOOLS, fill, rate_label)


# ---------------------------------------------------------------- numbers

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(sorted_xs, q):
    return sorted_xs[min(len(sorted_xs) - 1, int(q * (len(sorted_xs) - 1) + 0.5))]


def fmt_int(v):
    return "—" if v is None else f"{v:,.0f}"


def fmt_us(ns):
    if ns is None:
        return "—"
    us = ns / 1000
    if us >= 10000:
        return f"{us / 1000:,.0f} ms"
    if us >= 999.5:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} µs"


def fmt_pct(v):
    if v is None:
        return "—"
    return f"{v:.1f}%" if v >= 0.95 else f"{v:.2f}%"


def summarize_throughput(runs):
    """(size, rate, tool) -> medians over the reps."""
    groups = {}
    for r in runs:
        groups.setdefault((r["size"], str(r["rate"]), r["tool"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if "error" not in r]
        s = {"reps": len(rs), "errors": [r["error"] for r in rs if "error" in r]}
        if ok:
            for f in ("offered", "arrived", "captured", "drops"):
                s[f] = median([r.get(f) for r in ok])
            s["missing"] = median([r["offered"] - r["captured"] for r in ok])
            s["loss"] = median([(r["offered"] - r["captured"]) / r["offered"] if r["offered"] else 0
                                for r in ok])
            per = [r["cpu_ns"] / r["captured"] for r in ok if r["captured"]]
            s["ns_per_pkt"] = median(per)
            s["ns_per_pkt_all"] = per
            # CPU % of one core while the traffic flows: CPU ns in the window / generator's wall.
            s["cpu_pct"] = median([100 * r["cpu_ns"] / (r["offered_secs"] * 1e9)
                                   for r in ok if r["offered_secs"]])
            s["total_cpu_ms"] = median([r["total_cpu_ns"] / 1e6 for r in ok])
            s["pps"] = median([r["captured"] / r["offered_secs"] for r in ok if r["offered_secs"]])
            s["offered_pps"] = median([r["offered"] / r["offered_secs"] for r in ok
                                       if r["offered_secs"]])
            s["bytes_per_s"] = s["pps"] * key[0] if s["pps"] is not None else None
            s["foreign_cpu1_ms"] = median([max(0.0, r["cpu1_busy_ms"] - r["cpu_ns"] / 1e6)
                                           for r in ok])
            s["cpu0_ns_per_pkt"] = median([r["cpu0_softirq_ms"] * 1e6 / r["offered"] for r in ok
                                           if r.get("cpu0_softirq_ms") is not None
                                           and r["offered"]])
        out[key] = s
    return out


def summarize_latency(runs):
    groups = {}
    for r in runs:
        groups.setdefault(r["tool"], []).append(r)
    out = {}
    for tool, rs in groups.items():
        samples = sorted(x for r in rs for x in r.get("samples", []))
        s = {"kind": rs[0]["kind"], "reps": len(rs), "sent": sum(r.get("sent", 0) for r in rs),
             "n": len(samples), "errors": [r["error"] for r in rs if "error" in r],
             "p99_reps": [pct(sorted(r["samples"]), 0.99) for r in rs if r.get("samples")],
             "_samples": samples}
        if samples:
            s.update(p50=pct(samples, 0.5), p90=pct(samples, 0.9), p99=pct(samples, 0.99),
                     max=samples[-1])
        out[tool] = s
    return out


def summarize_startup(runs):
    groups = {}
    for r in runs:
        groups.setdefault(r["tool"], []).append(r)
    out = {}
    for tool, rs in groups.items():
        ok = [r for r in rs if "error" not in r]
        s = {"reps": len(rs), "errors": [r["error"] for r in rs if "error" in r]}
        if ok:
            for f in ("cpu_ms", "wall_ms", "ready_ms"):
                s[f] = median([r.get(f) for r in ok])
            s["cpu_all"] = [r["cpu_ms"] for r in ok]
            s["rss_mib"] = median([r["maxrss_kib"] / 1024 for r in ok])
            s["ring_mib"] = median([r["ring_bytes"] / 2**20 for r in ok])
            s["beyond_ring_mib"] = median([(r["maxrss_kib"] * 1024 - r["ring_bytes"]) / 2**20
                                           for r in ok])
        out[tool] = s
    return out


# ---------------------------------------------------------------- the report, by section

def header(L, raw):
    meta = raw["meta"]
    L.append("# Capture benchmark: CPU per packet, loss, throughput, latency and start-up")
    L.append("")
    L.append(f"Run {meta['date']}, {'quick mode' if meta['quick'] else 'full run'}: "
             f"{meta['reps']} interleaved rep(s) per cell, {meta['dur']} s of traffic per run, "
             f"medians.")
    L.append("")
    L.append(f"Machine: {meta['nproc']} CPUs ({meta['cpu']}), kernel {meta['kernel']}, "
             f"{meta['mem_gib']:.0f} GiB RAM; tcpdump {meta['tcpdump']}, {meta['libpcap']}, "
             f"netsniff-ng {meta['netsniff']}.")
    took = (f", {meta['elapsed_s'] // 60} min {meta['elapsed_s'] % 60} s"
            if "elapsed_s" in meta else "")
    L.append(f"ringcap: `{meta.get('ringcap', '?')}`, checkout "
             f"{meta.get('ringcap_commit', '?')}{took}.")
    loads = [r["load"] for r in raw["throughput"] + raw["latency"] + raw.get("startup", [])]
    foreign = [max(0.0, r["cpu1_busy_ms"] - r["cpu_ns"] / 1e6) / (r["offered_secs"] * 1000)
               for r in raw["throughput"] if "error" not in r and r.get("offered_secs")]
    noise = (f"Noise: 1-minute load average {min(loads):.2f}–{max(loads):.2f} during the run "
             f"(other sessions' builds and tests share this VM)" if loads else "Noise: no runs")
    if foreign:
        noise += (f"; CPU 1 time not spent in the capture process during a throughput run: "
                  f"median {100 * median(foreign):.0f}% of the run, max "
                  f"{100 * max(foreign):.0f}% (softirq/timers, and other people's processes)")
    L.append(noise + ".")
    L.append("")
    L.append("Set-up: one network namespace holding a veth pair; `ringcap gen` sends UDP/IPv4 "
             "frames into one end pinned to CPU 0, the tool captures on the other end pinned to "
             "CPU 1. On veth the receive softirq, including the copy into the AF_PACKET ring, runs "
             "on the *sending* CPU (0), so the capture CPU below is only what the tool itself "
             "spends: reading the ring, writing, waking up.")
    L.append("")
    L.append("ringcap chooses how long a packet may wait in its ring from its output: 100 ms "
             "when it writes a file or /dev/null (a V3 block is handed over when full or after "
             "that long, so at low rates the reader wakes ~10 times a second), 1 ms when it "
             "prints or writes to a pipe. The minimal V3 reader runs at both bounds, and at the "
             "kernel's default (8 ms on veth).")


def commands(L, meta, tools):
    L.append("")
    L.append("## Commands")
    L.append("")
    L.append("```")
    L.append(f"bench/capture.sh{' --quick' if meta['quick'] else ''}      # as root, from the "
             f"repository")
    L.append("# generator, CPU 0, bounded in time (SIGINT after DUR s; --rate omitted for 'max'):")
    L.append("ip netns exec NS taskset -c 0 timeout -s INT DUR ringcap gen -i TX --size SIZE "
             "[--rate PPS]")
    L.append("# each tool, CPU 1, stopped with SIGINT after the generator and a drain time:")
    for name, argv, drain in THROUGHPUT_TOOLS + OPTIONAL_TOOLS:
        if name not in tools:
            continue
        a = " ".join(fill(argv, RINGCAP="ringcap", BIN="bench", IF="RX", FILE="/tmpfs/out.pcap"))
        L.append(f"ip netns exec NS taskset -c 1 {a}    # drain {drain} s")
    L.append(f"# latency (gen --rate {LATENCY_RATE} --size 64):")
    for name, kind, argv, drain in LATENCY_TOOLS:
        a = " ".join(fill(argv, RINGCAP="ringcap", BIN="bench", IF="RX", LAT="lat.txt"))
        if kind == "pipe":
            a += " | taskset -c 1 bench/pcap_latency -L lat.txt"
        if kind == "text":
            a += " | taskset -c 1 bench/pcap_latency -t -L lat.txt"
        L.append(f"ip netns exec NS taskset -c 1 {a}")
    L.append(f"# start-up (gen --rate {STARTUP_RATE} meanwhile; the tool joins NS with setns(), "
             f"on CPU 1):")
    for name, argv in STARTUP_TOOLS:
        L.append(" ".join(fill(argv, RINGCAP="ringcap", BIN="bench", IF="RX")))
    L.append("```")


def throughput_tables(L, tp, tools, sizes, rates):
    L.append("")
    L.append("## A. CPU per captured packet, loss, throughput")
    L.append("")
    L.append("offered = generator's sent count; arrived = veth rx_packets; captured = the tool's "
             "own count; drops = kernel ring drops reported by the tool; missing = offered − "
             "captured; CPU ns/pkt = capture process user+sys during the traffic window / captured "
             "(median, and the reps' range); CPU % = that CPU time over the generator's wall time "
             "(% of one core while the traffic flows); total CPU = user+sys over the whole process "
             "life, set-up and exit included; pps and MB/s = captured / generator's wall time.")
    for size in sizes:
        L.append("")
        L.append(f"### {size}-byte frames")
        L.append("")
        L.append("| rate | tool | offered | arrived | captured | drops | missing | loss | "
                 "CPU ns/pkt (range) | CPU % | total CPU ms | pps | MB/s |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for rate in rates:
            for tool in tools:
                s = tp.get((size, rate, tool))
                if not s:
                    continue
                if "offered" not in s:
                    L.append(f"| {rate_label(rate)} | {tool} | failed: "
                             f"{'; '.join(s['errors'])[:80]} ||||||||||")
                    continue
                rng = s["ns_per_pkt_all"]
                rng_s = f" ({min(rng):,.0f}–{max(rng):,.0f})" if len(rng) > 1 else ""
                L.append(f"| {rate_label(rate)} ({fmt_int(s['offered_pps'])}/s) | {tool} | "
                         f"{fmt_int(s['offered'])} | {fmt_int(s['arrived'])} | "
                         f"{fmt_int(s['captured'])} | {fmt_int(s['drops'])} | "
                         f"{fmt_int(s['missing'])} | {100 * s['loss']:.2f}% | "
                         f"{fmt_int(s['ns_per_pkt'])}{rng_s} | {fmt_pct(s['cpu_pct'])} | "
                         f"{s['total_cpu_ms']:,.1f} | {fmt_int(s['pps'])} | "
                         f"{s['bytes_per_s'] / 1e6:,.1f} |")


RATIO_PAIRS = [
    ("ringcap -w /dev/null", "min V3 reader, 100 ms timeout"),
    ("ringcap -w /dev/null", "min V3 reader -w /dev/null, 100 ms timeout"),
    ("ringcap -w FILE", "min V3 reader -w FILE, 100 ms timeout"),
    ("ringcap -w /dev/null", "tcpdump -w /dev/null"),
    ("ringcap -w FILE", "tcpdump -w FILE"),
    ("ringcap -w FILE", "tcpdump -B 65536 -w FILE"),
    ("ringcap -w /dev/null", "min V3 reader"),
    ("ringcap -w /dev/null", "min V3 reader, 1 ms timeout"),
    ("min V3 reader, 100 ms timeout", "min V3 reader, 1 ms timeout"),
    ("ringcap --immediate-mode -w /dev/null", "min V2 reader"),
    ("ringcap --immediate-mode -w /dev/null", "tcpdump --immediate-mode -w /dev/null"),
    ("ringcap -w /dev/null", "netsniff-ng --out /dev/null -s"),
]


def ratios(L, tp, sizes, rates):
    L.append("")
    L.append("### Ratios of CPU ns/packet (same run, medians)")
    L.append("")
    L.append("| ratio | " + " | ".join(f"{s} B {rate_label(r)}" for s in sizes for r in rates)
             + " |")
    L.append("|---|" + "---:|" * (len(sizes) * len(rates)))
    for a, b in RATIO_PAIRS:
        cells = []
        for s in sizes:
            for r in rates:
                x, y = tp.get((s, r, a), {}), tp.get((s, r, b), {})
                cells.append(f"{x['ns_per_pkt'] / y['ns_per_pkt']:.2f}x"
                             if x.get("ns_per_pkt") and y.get("ns_per_pkt") else "—")
        L.append(f"| {a} / {b} | " + " | ".join(cells) + " |")


def sweep(L, tp, sizes, rates):
    L.append("")
    L.append("### Rate sweep: CPU per packet and CPU % of one core")
    L.append("")
    L.append("Each cell: CPU ns per captured packet · CPU % of one core while the traffic flows "
             "(medians; `max` = the generator's full rate, offered pps in the column heading).")
    for size in sizes:
        tools = [t for t in SWEEP_TOOLS if any((size, r, t) in tp for r in rates)]
        if not tools:
            continue
        L.append("")
        heads = []
        for r in rates:
            offered = [tp.get((size, r, t), {}).get("offered_pps") for t in tools]
            o = median(offered)
            heads.append(rate_label(r) + (f" (~{o / 1e6:.2f} Mpps)" if r == "max" and o else ""))
        L.append(f"| {size} B | " + " | ".join(heads) + " |")
        L.append("|---|" + "---:|" * len(rates))
        for t in tools:
            cells = []
            for r in rates:
                s = tp.get((size, r, t), {})
                cells.append(f"{fmt_int(s['ns_per_pkt'])} ns · {fmt_pct(s['cpu_pct'])}"
                             if s.get("ns_per_pkt") else "—")
            L.append(f"| {t} | " + " | ".join(cells) + " |")


def latency_section(L, lt, meta):
    L.append("")
    L.append(f"## B. Latency at ~500 pps ({LATENCY_RATE} pps, 64-byte frames)")
    L.append("")
    L.append(f"The rate is {LATENCY_RATE}, not 500, pps: 2 ms exactly keeps every send at one "
             f"phase of the kernel's periodic V3 block-retire timer, so a run would sample a single "
             f"point of the delay distribution (an early smoke run showed staircase CDFs); at "
             f"{LATENCY_RATE} pps the phase drifts by 53 µs per packet.")
    L.append("")
    L.append(f"Per packet: CLOCK_REALTIME when user code got it − the send time `ringcap gen` "
             f"wrote into the payload just before handing the frame to the kernel; "
             f"{meta['lat_reps']} interleaved rep(s) of {meta['lat_dur']} s, percentiles over all "
             f"samples pooled (p99 per rep in the last column). \"direct\": the tool timestamps in "
             f"its own loop (latency_probe: when next_batch() returned; min readers: per V2 frame, "
             f"per V3 block); \"pipe\": the tool writes pcap to a pipe and bench/pcap_latency "
             f"timestamps each record when its read() returns; \"text\": the tool prints lines "
             f"(`-tt --nano`) into a pipe and pcap_latency -t takes arrival − the line's capture "
             f"time (the kernel's, taken on the sending CPU a few µs after the send).")
    L.append("")
    L.append("| tool | path | samples / sent | p50 | p90 | p99 | max | p99 per rep |")
    L.append("|---|---|---:|---:|---:|---:|---:|---|")
    for name, kind, _, _ in LATENCY_TOOLS:
        s = lt.get(name)
        if not s:
            continue
        if "p50" not in s:
            L.append(f"| {name} | {kind} | failed: {'; '.join(s['errors'])[:80]} ||||||")
            continue
        L.append(f"| {name} | {kind} | {s['n']:,} / {s['sent']:,} | {fmt_us(s['p50'])} | "
                 f"{fmt_us(s['p90'])} | {fmt_us(s['p99'])} | {fmt_us(s['max'])} | "
                 f"{', '.join(fmt_us(x) for x in s['p99_reps'])} |")
    d, p = lt.get("min V2 reader", {}), lt.get("min V2 reader -U -w - (pipe)", {})
    if d.get("p50") is not None and p.get("p50") is not None:
        L.append("")
        L.append(f"What the pipe adds (same minimal V2 reader, direct vs. writing pcap through the "
                 f"pipe): p50 {fmt_us(p['p50'] - d['p50'])}, p99 {fmt_us(p['p99'] - d['p99'])}.")


def startup_section(L, st, meta):
    if not st:
        return
    L.append("")
    L.append("## C. Start-up and memory: `-c 1`")
    L.append("")
    L.append(f"Each tool started {meta.get('startup_reps', '?')} times (interleaved) while the "
             f"generator sends {STARTUP_RATE} pps, so the one packet is there as soon as the ring "
             f"is; the child joins the namespace with setns() (no `ip netns exec`, whose CPU and "
             f"memory would count) and runs on CPU 1. CPU = user+sys of the whole life (wait4), "
             f"ready = fork to the \"listening on\" line, exit = fork to reap (tcpdump hands its "
             f"block over after its 1000 ms timeout; ringcap's -c 1 ring is sized for one packet), "
             f"peak RSS = VmHWM of the tool (read every millisecond while it runs; ru_maxrss would count the forked Python), ring = the ring's bytes (ringcap's banner; libpcap's default "
             f"2 MiB for tcpdump), beyond the ring = peak RSS − ring.")
    L.append("")
    L.append("| command | CPU ms (runs) | ready ms | exit ms | peak RSS MiB | ring MiB | "
             "beyond the ring MiB |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for name, _ in STARTUP_TOOLS:
        s = st.get(name)
        if not s:
            continue
        if "cpu_ms" not in s:
            L.append(f"| `{name}` | failed: {'; '.join(s['errors'])[:80]} ||||||")
            continue
        runs = ", ".join(f"{x:.1f}" for x in sorted(s["cpu_all"]))
        ready = f"{s['ready_ms']:.0f}" if s.get("ready_ms") is not None else "—"
        L.append(f"| `{name}` | {s['cpu_ms']:.1f} ({runs}) | {ready} | {s['wall_ms']:.0f} | "
                 f"{s['rss_mib']:.1f} | {s['ring_mib']:.2f} | {s['beyond_ring_mib']:.1f} |")


def cell(tp, size, rate, tool, f="ns_per_pkt"):
    return tp.get((size, rate, tool), {}).get(f)


def targets_issue14(L, tp, lt, st, sizes, rates):
    """Issue 14's targets: cheap at every rate, start-up and memory."""
    L.append("")
    L.append("### Issue 14: cheap at every rate; start-up and memory")
    L.append("")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    top = rates[-1] if rates else None
    for size in sizes:
        for ours, theirs in (("ringcap -w FILE", "tcpdump -w FILE"),
                             ("ringcap -w /dev/null", "tcpdump -w /dev/null")):
            per = [(r, cell(tp, size, r, ours), cell(tp, size, r, theirs)) for r in rates]
            per = [(r, x, y) for r, x, y in per if x and y]
            if not per:
                continue
            worst = max(x / y for _, x, y in per)
            L.append(f"| `{ours}` CPU/pkt ≤ `{theirs}` at every rate ({size} B) | "
                     + ", ".join(f"{rate_label(r)}: {x:,.0f}/{y:,.0f} = {x / y:.2f}x"
                                 for r, x, y in per)
                     + f" | {'yes' if worst <= 1.0 else 'no'} |")
            if per[-1][0] == top and top == "max":
                x, y = per[-1][1], per[-1][2]
                L.append(f"| `{ours}` ≤ 0.5x `{theirs}` at max ({size} B) | {x / y:.2f}x | "
                         f"{'yes' if x / y <= 0.5 else 'no'} |")
        for ours, floor in (("ringcap -w /dev/null", "min V3 reader, 100 ms timeout"),
                            ("ringcap -w /dev/null", "min V3 reader -w /dev/null, 100 ms timeout"),
                            ("ringcap -w FILE", "min V3 reader -w FILE, 100 ms timeout")):
            per = [(r, cell(tp, size, r, ours), cell(tp, size, r, floor)) for r in rates]
            per = [(r, x, y) for r, x, y in per if x and y]
            if per:
                worst = max(x / y for _, x, y in per)
                L.append(f"| `{ours}` ≤ 1.2x `{floor}` (same bound) ({size} B) | "
                         + ", ".join(f"{rate_label(r)}: {x / y:.2f}x" for r, x, y in per)
                         + f" | {'yes' if worst <= 1.2 else 'no'} |")
        for ours, theirs in (("ringcap -w FILE", "tcpdump -w FILE"),
                             ("ringcap -w /dev/null", "tcpdump -w /dev/null")):
            pairs = [(r, cell(tp, size, r, ours, "loss"), cell(tp, size, r, theirs, "loss"))
                     for r in rates]
            pairs = [(r, a, b) for r, a, b in pairs if a is not None and b is not None]
            if pairs:
                bad = [(r, a) for r, a, b in pairs if b == 0 and a > 0]
                L.append(f"| `{ours}` zero loss wherever `{theirs}` has none ({size} B) | "
                         + ", ".join(f"{rate_label(r)}: {100 * a:.2f}% vs {100 * b:.2f}%"
                                     for r, a, b in pairs)
                         + f" | {'yes' if not bad else 'no'} |")
    for name in ("ringcap -w - (pipe)", "ringcap -U -w - (pipe)",
                 "ringcap printing -tt --nano (pipe)", "ringcap default (latency_probe)"):
        p99 = lt.get(name, {}).get("p99")
        if p99 is not None:
            L.append(f"| {name}: p99 ≤ 2 ms at ~500 pps | {fmt_us(p99)} | "
                     f"{'yes' if p99 <= 2e6 else 'no'} |")
    for ours, theirs in (("ringcap -i IF -c 1", "tcpdump -i IF -c 1"),
                         ("ringcap -i IF -c 1 -w /dev/null", "tcpdump -i IF -c 1 -w /dev/null")):
        a, b = st.get(ours, {}), st.get(theirs, {})
        if a.get("cpu_ms") is not None and b.get("cpu_ms") is not None:
            limit = 2 * b["cpu_ms"] + 10
            L.append(f"| `{ours}` start-up CPU ≤ 2x `{theirs}` + 10 ms | {a['cpu_ms']:.1f} ms vs "
                     f"{b['cpu_ms']:.1f} ms (limit {limit:.1f}) | "
                     f"{'yes' if a['cpu_ms'] <= limit else 'no'} |")
        if a.get("beyond_ring_mib") is not None:
            L.append(f"| `{ours}`: memory beyond the ring ≤ 16 MB | {a['beyond_ring_mib']:.1f} MiB "
                     f"(peak RSS {a['rss_mib']:.1f} MiB, ring {a['ring_mib']:.2f} MiB) | "
                     f"{'yes' if a['beyond_ring_mib'] * 2**20 <= 16e6 else 'no'} |")


def targets_issue4(L, tp, lt, sizes, rates):
    """The benchmark issue's (4) targets, still measured."""
    L.append("")
    L.append("### Issue 4: the benchmark's first targets")
    L.append("")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    top = rates[-1] if rates else None
    for size in sizes:
        for label, a, b, limit in [
                ("(same work) -w FILE CPU ≤ 1.2× min V3 reader -w FILE", "ringcap -w FILE",
                 "min V3 reader -w FILE, 100 ms timeout", 1.2),
                ("default mode -w FILE CPU ≤ 0.5× tcpdump -w FILE", "ringcap -w FILE",
                 "tcpdump -w FILE", 0.5),
                ("--immediate-mode CPU ≤ 0.5× min V2 reader",
                 "ringcap --immediate-mode -w /dev/null", "min V2 reader", 0.5)]:
            per_rate = [(r, cell(tp, size, r, a), cell(tp, size, r, b)) for r in rates]
            per_rate = [(r, x, y) for r, x, y in per_rate if x and y]
            if not per_rate or per_rate[-1][0] != top:
                continue
            x, y = per_rate[-1][1], per_rate[-1][2]
            L.append(f"| {label} ({size} B) | at {rate_label(top)}: {x:,.0f} / {y:,.0f} ns = "
                     f"**{x / y:.2f}x**; "
                     + ", ".join(f"{rate_label(r)}: {xx / yy:.2f}x" for r, xx, yy in per_rate[:-1])
                     + f" | {'yes' if x / y <= limit else 'no'} (at {rate_label(top)}) |")
        for tool in ("ringcap -w FILE", "ringcap --immediate-mode -w /dev/null"):
            losses = [(r, cell(tp, size, r, tool, "loss")) for r in rates]
            losses = [(r, v) for r, v in losses if v is not None]
            if losses:
                worst = max(v for _, v in losses)
                L.append(f"| {tool}: zero loss at every rate ({size} B) | worst "
                         f"{100 * worst:.2f}% ("
                         + ", ".join(f"{rate_label(r)}: {100 * v:.2f}%" for r, v in losses)
                         + f") | {'yes' if worst == 0 else 'no'} |")

    def p99(name):
        return lt.get(name, {}).get("p99")
    immediate = p99("ringcap --immediate-mode -U -w - (pipe)")
    tcpdump_immediate = p99("tcpdump --immediate-mode -U -w - (pipe)")
    checks = [("--immediate-mode p99 ≤ tcpdump --immediate-mode p99 (same pipe)", immediate,
               tcpdump_immediate, 1.0),
              ("--immediate-mode p99 ≤ 1.5× min V2 reader p99",
               p99("ringcap immediate (latency_probe)"), p99("min V2 reader"), 1.5),
              ("busy-poll p99 ≤ 0.25× tcpdump --immediate-mode p99",
               p99("ringcap busy-poll (latency_probe)"), tcpdump_immediate, 0.25)]
    for label, x, y, k in checks:
        if x is not None and y is not None:
            L.append(f"| {label} | {fmt_us(x)} vs {fmt_us(y)} = {x / y:.2f}x | "
                     f"{'yes' if x <= k * y else 'no'} |")


def ledger_cost_table(L, tp, sizes, rates):
    """The loss ledger's cost (issue 13): ringcap -w FILE without and with --stats and with the
    kfree_skb program (--stats=drops), side by side: the capture process's CPU per packet, and
    CPU 0's softirq time per offered packet (veth's receive path, where the BPF program runs;
    jiffies, so coarse)."""
    tools = ["ringcap -w FILE", "ringcap -w FILE --stats", "ringcap -w FILE --stats=drops"]
    rows = []
    for size in sizes:
        for rate in rates:
            cells = [tp.get((size, rate, t), {}) for t in tools]
            if not all(c.get("ns_per_pkt") for c in cells[1:]):
                continue
            rows.append(f"| {size} B | {rate_label(rate)} | " + " | ".join(
                f"{c['ns_per_pkt']:,.0f} / {c['cpu0_ns_per_pkt']:,.0f}"
                if c.get("ns_per_pkt") and c.get("cpu0_ns_per_pkt") is not None else "–"
                for c in cells) + " |")
    if not rows:
        return
    L.append("")
    L.append("## The loss ledger's cost")
    L.append("")
    L.append("Capture-process ns per packet / CPU 0 softirq ns per offered packet (veth's receive "
             "path, where the kfree_skb program runs), medians:")
    L.append("")
    L.append("| size | rate | " + " | ".join(f"`{t}`" for t in tools) + " |")
    L.append("|---|---|---|---|---|")
    L.extend(rows)


def write_report(raw, outdir):
    tp = summarize_throughput(raw["throughput"])
    lt = summarize_latency(raw["latency"])
    st = summarize_startup(raw.get("startup", []))
    meta = raw["meta"]
    tools = [t[0] for t in THROUGHPUT_TOOLS + OPTIONAL_TOOLS if any(k[2] == t[0] for k in tp)]
    sizes = sorted({k[0] for k in tp})
    rates = sorted({k[1] for k in tp}, key=lambda r: float("inf") if r == "max" else int(r))
    L = []
    header(L, raw)
    commands(L, meta, tools)
    throughput_tables(L, tp, tools, sizes, rates)
    ratios(L, tp, sizes, rates)
    sweep(L, tp, sizes, rates)
    latency_section(L, lt, meta)
    startup_section(L, st, meta)
    L.append("")
    L.append("## The issues' targets, as measured in this run")
    targets_issue14(L, tp, lt, st, sizes, rates)
    targets_issue4(L, tp, lt, sizes, rates)
    ledger_cost_table(L, tp, sizes, rates)
    L.append("")
    L.append("## Plots")
    L.append("")
    L.append("- `capture_cpu_rate.png`: CPU % of one core against the offered rate, per tool and "
             "frame size (log-log)")
    L.append("- `capture_cpu.png`: CPU ns per captured packet, per tool, frame size and offered "
             "rate (log scale)")
    L.append("- `capture_loss.png`: loss (offered − captured) vs offered rate, per tool and frame "
             "size")
    L.append(f"- `capture_latency_cdf.png`: latency CDFs at {LATENCY_RATE} pps")
    L.append("")
    L.append("Raw per-run numbers: `capture_raw.json`.")
    L.append("")
    with open(os.path.join(outdir, "capture.md"), "w") as f:
        f.write("\n".join(L))
    plot(tp, lt, tools, sizes, rates, outdir)
