"""The capture benchmark's tools and fixed settings, shared by the driver (capture.py) and the
report (capture_report.py)."""
import re

# Experiment A. {IF} = capturing interface, {FILE} = a pcap file on the tmpfs.
# drain: seconds to wait after the generator stops before SIGINT (tcpdump's V3 blocks retire
# after its 1000 ms capture timeout; everything else within 10 ms).
THROUGHPUT_TOOLS = [
    # ringcap's delivery bound follows its output (README "Latency"): 100 ms for a file or
    # /dev/null (the reader wakes ~10 times a second at low rates), 1 ms for pipes and printing.
    ("ringcap -w /dev/null", ["{RINGCAP}", "-i", "{IF}", "-w", "/dev/null"], 0.3),
    ("ringcap -w FILE", ["{RINGCAP}", "-i", "{IF}", "-w", "{FILE}"], 0.3),
    ("ringcap --immediate-mode -w /dev/null",
     ["{RINGCAP}", "-i", "{IF}", "--immediate-mode", "-w", "/dev/null"], 0.3),
    ("tcpdump -w /dev/null", ["tcpdump", "-i", "{IF}", "-n", "-Z", "root", "-w", "/dev/null"], 1.2),
    ("tcpdump -w FILE", ["tcpdump", "-i", "{IF}", "-n", "-Z", "root", "-w", "{FILE}"], 1.2),
    ("tcpdump -B 65536 -w FILE",
     ["tcpdump", "-i", "{IF}", "-n", "-Z", "root", "-B", "65536", "-w", "{FILE}"], 1.2),
    ("tcpdump --immediate-mode -w /dev/null",
     ["tcpdump", "-i", "{IF}", "-n", "-Z", "root", "--immediate-mode", "-w", "/dev/null"], 0.3),
    ("netsniff-ng --out /dev/null -s",
     ["netsniff-ng", "--in", "{IF}", "--out", "/dev/null", "-s", "-A", "-Q"], 0.3),
    # The minimal readers: the floor of user-space cost, at the kernel's block timeout (8 ms on
    # veth), at ringcap's prompt bound (1 ms) and at its batched bound (100 ms).
    ("min V3 reader", ["{BIN}/min_reader_v3", "-i", "{IF}"], 0.3),
    ("min V3 reader, 1 ms timeout", ["{BIN}/min_reader_v3", "-i", "{IF}", "-t", "1"], 0.3),
    ("min V3 reader, 100 ms timeout", ["{BIN}/min_reader_v3", "-i", "{IF}", "-t", "100"], 0.3),
    ("min V2 reader", ["{BIN}/min_reader_v2", "-i", "{IF}"], 0.3),
    # The same work as ringcap -w: pcap records through a 1 MiB buffer, same bound.
    ("min V3 reader -w /dev/null, 100 ms timeout",
     ["{BIN}/min_reader_v3", "-i", "{IF}", "-t", "100", "-w", "/dev/null"], 0.3),
    ("min V3 reader -w FILE, 100 ms timeout",
     ["{BIN}/min_reader_v3", "-i", "{IF}", "-t", "100", "-w", "{FILE}"], 0.3),
]

# Run only when --only names them (earlier experiments: results/capture_writev.md and
# capture_immediate.md).
OPTIONAL_TOOLS = [
    # V2 frames as small as the minimal V2 reader's (the default frames hold 64 KiB GRO packets).
    ("ringcap --immediate-mode -s 1600 -w /dev/null",
     ["{RINGCAP}", "-i", "{IF}", "--immediate-mode", "-s", "1600", "-w", "/dev/null"], 0.3),
    ("min V3 reader -w FILE, writev from the ring",
     ["{BIN}/min_reader_v3", "-i", "{IF}", "-t", "100", "-Z", "-w", "{FILE}"], 0.3),
    # The loss ledger's cost (issue 13; with "ringcap -w FILE" beside them): --stats (sampled at
    # the end and on SIGUSR1: nothing per packet) and the kfree_skb BPF program (--stats=drops).
    # The program runs in the softirq of whichever CPU frees a packet (on veth: the generator's,
    # CPU 0), so its cost shows in CPU 0's softirq time, not in the capture process's CPU.
    ("ringcap -w FILE --stats", ["{RINGCAP}", "-i", "{IF}", "-w", "{FILE}", "--stats"], 0.3),
    ("ringcap -w FILE --stats=drops",
     ["{RINGCAP}", "-i", "{IF}", "-w", "{FILE}", "--stats=drops"], 0.3),
]

# The tools of the rate sweep table and the CPU % plot, in this order.
SWEEP_TOOLS = ["ringcap -w /dev/null", "tcpdump -w /dev/null", "min V3 reader, 100 ms timeout",
               "min V3 reader -w /dev/null, 100 ms timeout", "ringcap -w FILE", "tcpdump -w FILE",
               "min V3 reader -w FILE, 100 ms timeout", "min V3 reader, 1 ms timeout",
               "netsniff-ng --out /dev/null -s", "ringcap --immediate-mode -w /dev/null",
               "tcpdump --immediate-mode -w /dev/null"]

# Experiment B. kind "direct": the tool measures itself and writes samples to {LAT}; kind
# "pipe": the tool writes pcap to stdout, pcap_latency (same CPU) timestamps each record as it
# arrives and writes {LAT}.
LATENCY_TOOLS = [
    ("ringcap default (latency_probe)", "direct", ["{BIN}/latency_probe", "{IF}", "default", "-L", "{LAT}"], 0.3),
    ("ringcap immediate (latency_probe)", "direct", ["{BIN}/latency_probe", "{IF}", "immediate", "-L", "{LAT}"], 0.3),
    ("ringcap busy-poll (latency_probe)", "direct", ["{BIN}/latency_probe", "{IF}", "busy-poll", "-L", "{LAT}"], 0.3),
    ("min V3 reader, kernel block timeout", "direct", ["{BIN}/min_reader_v3", "-i", "{IF}", "-L", "{LAT}"], 0.3),
    ("min V3 reader, 1 ms block timeout", "direct", ["{BIN}/min_reader_v3", "-i", "{IF}", "-t", "1", "-L", "{LAT}"], 0.3),
    ("min V2 reader", "direct", ["{BIN}/min_reader_v2", "-i", "{IF}", "-L", "{LAT}"], 0.3),
    ("min V2 reader -U -w - (pipe)", "pipe", ["{BIN}/min_reader_v2", "-i", "{IF}", "-U", "-w", "-"], 0.3),
    # ringcap chooses its bound from the output: a pipe gets 1 ms, with or without -U.
    ("ringcap -w - (pipe)", "pipe", ["{RINGCAP}", "-i", "{IF}", "-w", "-"], 0.3),
    ("ringcap -U -w - (pipe)", "pipe", ["{RINGCAP}", "-i", "{IF}", "-U", "-w", "-"], 0.3),
    ("ringcap printing -tt --nano (pipe)", "text", ["{RINGCAP}", "-i", "{IF}", "-tt", "--nano"], 0.3),
    ("ringcap --immediate-mode -U -w - (pipe)", "pipe", ["{RINGCAP}", "-i", "{IF}", "--immediate-mode", "-U", "-w", "-"], 0.3),
    ("tcpdump -U -w - (pipe)", "pipe", ["tcpdump", "-i", "{IF}", "-n", "-U", "-w", "-"], 1.2),
    ("tcpdump --immediate-mode -U -w - (pipe)", "pipe", ["tcpdump", "-i", "{IF}", "-n", "--immediate-mode", "-U", "-w", "-"], 0.3),
]

# Experiment C (start-up): `-c 1` runs while the generator sends 1000 pps, so the one packet is
# there as soon as the ring is. ring: the ring's bytes (ringcap says it in its banner; libpcap's
# default buffer is 2 MiB).
STARTUP_TOOLS = [
    ("ringcap -i IF -c 1", ["{RINGCAP}", "-i", "{IF}", "-c", "1"]),
    ("tcpdump -i IF -c 1", ["tcpdump", "-i", "{IF}", "-n", "-c", "1"]),
    ("ringcap -i IF -c 1 -w /dev/null", ["{RINGCAP}", "-i", "{IF}", "-c", "1", "-w", "/dev/null"]),
    ("tcpdump -i IF -c 1 -w /dev/null", ["tcpdump", "-i", "{IF}", "-n", "-Z", "root", "-c", "1", "-w", "/dev/null"]),
]
STARTUP_RATE = 1000
TCPDUMP_RING = 2 << 20

# ~500 pps, but not a whole number of ms apart: at exactly 500 pps (2 ms, on CLOCK_MONOTONIC) the
# send times keep one phase against the kernel's periodic V3 block-retire timer (1 ms, 8 ms), so
# a run measures one point of the delay distribution; at 487 pps they drift 53 us per packet
# across a 1 ms period and cover it every ~19 packets.
LATENCY_RATE = 487

READY = re.compile(r"listening on|Running!")


def fill(argv, **kw):
    out = []
    for a in argv:
        for k, v in kw.items():
            a = a.replace("{" + k + "}", str(v))
        out.append(a)
    return out




def rate_label(rate):
    return "max" if str(rate) == "max" else f"{int(rate) // 1000}k"
