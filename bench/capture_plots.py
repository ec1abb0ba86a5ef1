"""The capture benchmark's plots (matplotlib, PNG), from the summaries capture_report.py makes."""
import os
import sys

from capture_tools import LATENCY_RATE, LATENCY_TOOLS, SWEEP_TOOLS, rate_label


def plot(tp, lt, tools, sizes, rates, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("capture.py: no matplotlib (apt-get install python3-matplotlib): no plots",
              file=sys.stderr)
        return
    colors = list(plt.get_cmap("tab10").colors) + ["black", "#8c564b80", "#e377c280", "#17becf80"]
    if sizes and rates:
        plot_cpu_rate(plt, colors, tp, sizes, rates, outdir)
        plot_throughput(plt, colors, tp, tools, sizes, rates, outdir)
    if any(s.get("n") for s in lt.values()):
        plot_latency(plt, colors, lt, outdir)


def plot_cpu_rate(plt, colors, tp, sizes, rates, outdir):
    # CPU % of one core against the offered rate: one panel per frame size, a line per tool.
    fig, axes = plt.subplots(1, len(sizes), figsize=(7.5 * len(sizes), 5.5), squeeze=False)
    markers = "os^vD<>pP*Xh"
    for ax, size in zip(axes[0], sizes):
        for i, tool in enumerate(SWEEP_TOOLS):
            pts = sorted((tp[(size, r, tool)]["offered_pps"], tp[(size, r, tool)]["cpu_pct"])
                         for r in rates if tp.get((size, r, tool), {}).get("cpu_pct"))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts],
                        marker=markers[i % len(markers)], label=tool,
                        color=colors[i % len(colors)],
                        linewidth=2.4 if tool.startswith("ringcap") else 1.2,
                        linestyle="-" if "min" not in tool else ":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered packets/s (generator's achieved rate)")
        ax.set_ylabel("capture CPU, % of one core")
        ax.set_title(f"{size}-byte frames: CPU of the capture process vs rate (lower is better)")
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "capture_cpu_rate.png"), dpi=110)
    plt.close(fig)


def plot_throughput(plt, colors, tp, tools, sizes, rates, outdir):
    # CPU ns/packet: one panel per frame size, groups = tools, bars = rates.
    fig, axes = plt.subplots(len(sizes), 1, figsize=(13, 4.5 * len(sizes)), squeeze=False)
    for ax, size in zip(axes[:, 0], sizes):
        width = 0.8 / len(rates)
        for j, rate in enumerate(rates):
            xs, ys = [], []
            for i, tool in enumerate(tools):
                v = tp.get((size, rate, tool), {}).get("ns_per_pkt")
                if v:
                    xs.append(i + (j - (len(rates) - 1) / 2) * width)
                    ys.append(v)
            ax.bar(xs, ys, width, label=f"{rate_label(rate)} pps offered",
                   color=colors[j % len(colors)])
        ax.set_yscale("log")
        ax.set_xticks(range(len(tools)))
        ax.set_xticklabels(tools, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("capture CPU ns / packet")
        ax.set_title(f"{size}-byte frames: CPU of the capture process per captured packet "
                     f"(lower is better)")
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "capture_cpu.png"), dpi=110)
    plt.close(fig)
    # Loss vs offered rate.
    fig, axes = plt.subplots(1, len(sizes), figsize=(7 * len(sizes), 5), squeeze=False)
    markers = "os^vD<>pP*Xh"
    for ax, size in zip(axes[0], sizes):
        for i, tool in enumerate(tools):
            pts = [(tp[(size, r, tool)]["offered_pps"], 100 * tp[(size, r, tool)]["loss"])
                   for r in rates if tp.get((size, r, tool), {}).get("offered_pps")]
            if pts:
                pts.sort()
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=markers[i % len(markers)],
                        label=tool, color=colors[i % len(colors)])
        ax.set_xscale("log")
        ax.set_xlabel("offered packets/s (generator's achieved rate)")
        ax.set_ylabel("loss % (offered − captured)")
        ax.set_title(f"{size}-byte frames: loss vs offered rate")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "capture_loss.png"), dpi=110)
    plt.close(fig)


def plot_latency(plt, colors, lt, outdir):
    fig, ax = plt.subplots(figsize=(11, 6))
    for i, (name, kind, _, _) in enumerate(LATENCY_TOOLS):
        s = lt.get(name)
        if not s or not s.get("n"):
            continue
        xs = s["_samples"]
        n = len(xs)
        ax.plot([x / 1000 for x in xs], [(k + 1) / n for k in range(n)], label=name,
                color=colors[i % len(colors)], linestyle="-" if kind == "direct" else "--",
                linewidth=2.4 if name.startswith("ringcap") else 1.3)
    ax.set_xscale("log")
    ax.set_xlabel("arrival in user code − send time (µs, log)")
    ax.set_ylabel("fraction of packets")
    ax.set_title(f"Latency CDF at {LATENCY_RATE} pps, 64-byte frames (dashed: through a pipe)")
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "capture_latency_cdf.png"), dpi=110)
    plt.close(fig)
