#!/usr/bin/env python3
"""Driver of the connection-log benchmark (bench/conn.sh runs it, as root).

Load: bench/conn_load opens and closes RATE TCP connections per second for SECONDS between two
network namespaces joined by a veth pair (client and server pinned to CPU 0), first carrying
100 bytes each, then BULK bytes each (1448-byte writes with TCP_NODELAY: about one segment each,
so 1000 connections/s x 100 segments = 100k packets/s). Each attributor runs pinned to CPU 1:
  - ringcap conn --json (BPF): its CPU from the start of the load to the end (utime + stime from
    /proc/PID/stat; its start-up before that is left out) plus the BPF programs' run time
    (kernel.bpf_stats_enabled=1, as ringcap's summary reports it, start-up included);
  - a /proc-scanning attributor: `ss -tanp` once a second in the client namespace (its CPU:
    the children's rusage).
Attributed: the fraction of the client's connections (by source port) that the tool names with
the client's pid. Writes OUT/conn.md and OUT/conn_raw.json.
"""
import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")
PORT = 5000
SRV, CLI = "10.77.0.2", "10.77.0.1"


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime


def veth_packets(ns, ifname):
    base = f"/sys/class/net/{ifname}/statistics/"
    out = sh("ip", "netns", "exec", ns, "cat", base + "tx_packets", base + "rx_packets").stdout
    return sum(int(x) for x in out.split())


class Net:
    def __init__(self):
        tag = os.getpid()
        self.cli, self.srv = f"rcconn-{tag}-c", f"rcconn-{tag}-s"
        self.cif, self.sif = f"rcc{tag}c"[:15], f"rcc{tag}s"[:15]
        for ns in (self.cli, self.srv):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", self.cif, "netns", self.cli, "type", "veth", "peer", "name",
           self.sif, "netns", self.srv)
        for ns, ifname, addr in ((self.cli, self.cif, CLI), (self.srv, self.sif, SRV)):
            sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        # Many short connections from one address: reuse TIME_WAIT ports, widen the range.
        sh("ip", "netns", "exec", self.cli, "sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=1",
           "net.ipv4.ip_local_port_range=10000 65000")

    def close(self):
        for ns in (self.cli, self.srv):
            sh("ip", "netns", "del", ns, check=False)


class RingcapConn:
    name = "ringcap conn (BPF)"

    def __init__(self, args, net, out):
        self.out = out
        self.p = subprocess.Popen(["taskset", "-c", "1", args.ringcap, "conn", "--json",
                                   "--no-existing", "-w", out], stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        while line and "recording connections" not in line:
            line = self.p.stderr.readline()
        if "bpf attribution" not in line:
            raise RuntimeError("ringcap conn did not start with BPF: " + line)
        self.cpu0 = cpu_seconds(self.p.pid)  # loading, the /proc scan and the iterators: before

    def stop(self):
        cpu = cpu_seconds(self.p.pid) - self.cpu0
        self.p.send_signal(signal.SIGINT)
        err = self.p.communicate(timeout=30)[1]
        m = re.search(r"BPF programs: (\d+) runs, ([0-9.]+) ms", err)
        lost = re.search(r"lost in the ring buffer: (\d+)", err)
        return {"cpu_s": cpu, "bpf_s": float(m.group(2)) / 1e3 if m else 0.0,
                "bpf_runs": int(m.group(1)) if m else 0, "lost": int(lost.group(1)) if lost else -1}

    def attributed(self, ports, pid):
        seen = collections.Counter()
        with open(self.out) as f:
            for line in f:
                r = json.loads(line)
                if r["event"]["action"] == "connection_attempted" and r["process"]["pid"] == pid:
                    seen[r["source"]["port"]] += 1
        return matched(seen, ports)


def matched(seen, ports):
    """Connections named: per client port, records seen up to the connections made from it."""
    return sum(min(n, seen[port]) for port, n in ports.items())


POLLER = r"""
import resource, signal, subprocess, sys, time
out = open(sys.argv[1], "w"); stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
while not stop:
    t = time.monotonic()
    out.write(subprocess.run(["ss", "-tanp"], capture_output=True, text=True).stdout)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
c, s = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
print(c.ru_utime + c.ru_stime, s.ru_utime + s.ru_stime)
"""


class SsPoller:
    name = "ss -tanp every 1 s"

    def __init__(self, args, net, out):
        self.out = out
        self.p = subprocess.Popen(["ip", "netns", "exec", net.cli, "taskset", "-c", "1",
                                   sys.executable, "-c", POLLER, out],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        children, own = map(float, self.p.communicate(timeout=30)[0].split())
        return {"cpu_s": children, "poller_python_s": own, "bpf_s": 0.0}

    def attributed(self, ports, pid):
        seen = collections.Counter()  # a connection lives milliseconds: in one poll at most
        rx = re.compile(r":(\d+)\s+\S+:%d\s+users:\(\(\"conn_load\",pid=%d," % (PORT, pid))
        with open(self.out) as f:
            for line in f:
                m = rx.search(line)
                if m:
                    seen[int(m.group(1))] += 1
        return matched(seen, ports)


def run_one(args, net, tool_cls, nbytes, tag):
    out = os.path.join(args.work, f"conn-{tag}.out")  # scratch files: not results
    ports_file = os.path.join(args.work, f"ports-{tag}.txt")
    tool = tool_cls(args, net, out)
    packets0, t0 = veth_packets(net.cli, net.cif), time.monotonic()
    load = subprocess.Popen(["ip", "netns", "exec", net.cli, "taskset", "-c", "0", args.load,
                             "client", SRV, str(PORT), str(args.rate), str(args.seconds),
                             str(nbytes), str(args.threads), ports_file],
                            stdout=subprocess.PIPE, text=True)
    made = load.communicate(timeout=args.seconds + 120)[0].strip()
    wall = time.monotonic() - t0
    packets = veth_packets(net.cli, net.cif) - packets0
    time.sleep(1.5)  # the last ends come in; the poller takes one more look
    cost = tool.stop()
    with open(ports_file) as f:  # one line per connection: ports come round again
        ports = collections.Counter(int(x) for x in f.read().split())
    got = tool.attributed(ports, load.pid)
    row = {"tool": tool.name, "bytes_per_conn": nbytes, "load": made, "wall_s": wall,
           "connections": sum(ports.values()), "pps": packets / wall, "attributed": got, **cost}
    row["cpu_pct"] = 100 * (cost["cpu_s"] + cost["bpf_s"]) / wall
    os.remove(out)
    return row


def report(rows, args):
    lines = ["# Connection log: CPU while clients open and close TCP connections", "",
             f"`bench/conn.sh` ({args.rate} connections/s for {args.seconds} s, {args.threads} "
             "client threads; load on CPU 0, attributor on CPU 1; 2-vCPU VM)", "",
             "| attributor | bytes/conn | connections | packets/s (veth, both ways) | "
             "CPU % of one core (process + BPF) | of which BPF | attributed |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['tool']} | {r['bytes_per_conn']} | {r['connections']} | {r['pps']:.0f} | "
            f"{r['cpu_pct']:.2f} | {100 * r['bpf_s'] / r['wall_s']:.2f} | "
            f"{100 * r['attributed'] / max(r['connections'], 1):.1f}% |")
    lines += ["", "The /proc scanner's CPU is that of the ss processes alone (not the Python loop "
              "that starts them)."]
    with open(os.path.join(args.out, "conn.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "conn_raw.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringcap", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--bulk", type=int, default=100 * 1448)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    args.work = tempfile.mkdtemp(prefix="ringcap-conn.")
    stats_before = sh("sysctl", "-n", "kernel.bpf_stats_enabled").stdout.strip()
    net = Net()
    server = subprocess.Popen(["ip", "netns", "exec", net.srv, "taskset", "-c", "0", args.load,
                               "server", SRV, str(PORT), "4"], start_new_session=True)
    rows = []
    try:
        sh("sysctl", "-q", "-w", "kernel.bpf_stats_enabled=1")
        time.sleep(0.5)
        for tool in (RingcapConn, SsPoller):
            for nbytes in (100, args.bulk):
                rows.append(run_one(args, net, tool, nbytes, f"{len(rows)}"))
                print(rows[-1], file=sys.stderr)
    finally:
        sh("sysctl", "-q", "-w", f"kernel.bpf_stats_enabled={stats_before}")
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        net.close()
        shutil.rmtree(args.work, ignore_errors=True)
    report(rows, args)


if __name__ == "__main__":
    main()
