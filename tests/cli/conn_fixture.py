"""Shared pieces of the `ringcap conn` tests (Python 3 standard library only): a ringcap conn run
whose JSON records are read back, small servers and clients as Python one-liners, the C client
built once per run, a Community ID of our own to check ringcap's against, and record queries.
"""
import base64
import hashlib
import ipaddress
import itertools
import json
import os
import signal
import subprocess
import tempfile
import unittest

import netns_fixture as nf

READY = r"^ringcap conn: recording connections"
HERE = os.path.dirname(os.path.abspath(__file__))
_runs = itertools.count()


def netns_inode(ns):
    """The inode ringcap reports for a named network namespace."""
    return os.stat(f"/run/netns/{ns}").st_ino


def community_id(proto, saddr, daddr, sport, dport, seed=0):
    """Community ID v1, written from the spec's text (independent of ringcap's C++)."""
    a, b = ipaddress.ip_address(saddr).packed, ipaddress.ip_address(daddr).packed
    if (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = seed.to_bytes(2, "big") + a + b + bytes([proto, 0])
    data += sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


class ConnRun:
    """`ringcap conn --json -w FILE ARGS...`, in the root namespace unless `ns` is given; started
    and waited for until it records. stop() ends it with SIGINT and reads the records (the text
    lines with json_lines=False)."""

    def __init__(self, tmpdir, *args, ns=None, ready_timeout=20.0, json_lines=True):
        self.path = os.path.join(tmpdir, f"conn-{next(_runs)}.json")
        self.json_lines = json_lines
        argv = [nf.RINGCAP, "conn"] + (["--json"] if json_lines else []) + ["-w", self.path]
        argv += [str(a) for a in args]
        self.proc = nf.Proc(nf.in_ns(ns, argv) if ns else argv)
        self.records = []
        self.status = None
        self.stderr = ""
        if not self.proc.wait_for_stderr(READY, ready_timeout):
            self.proc.kill()
            raise AssertionError("ringcap conn did not start recording; stderr:\n"
                                 + self.proc.stderr())

    def stop(self, timeout=15.0):
        self.proc.send_signal(signal.SIGINT)
        self.status, _, self.stderr = self.proc.finish(timeout=timeout)
        with open(self.path) as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
        self.records = [json.loads(line) for line in lines] if self.json_lines else lines
        return self.records


def action(r):
    return r["event"]["action"]


def pid_of(r):
    return r["process"]["pid"]


def find(records, act=None, pid=None, name=None, dport=None, transport=None, sport=None):
    """Records matching every given field (dport/sport: destination/source port)."""
    out = []
    for r in records:
        if act is not None and action(r) != act:
            continue
        if pid is not None and pid_of(r) != pid:
            continue
        if name is not None and r["process"]["name"] != name:
            continue
        if dport is not None and r.get("destination", {}).get("port") != dport:
            continue
        if sport is not None and r.get("source", {}).get("port") != sport:
            continue
        if transport is not None and r["network"]["transport"] != transport:
            continue
        out.append(r)
    return out


def describe(records, limit=40):
    """A few records, one line each, for failure messages."""
    lines = []
    for r in records[:limit]:
        src, dst = r.get("source", {}), r.get("destination", {})
        lines.append(f"{action(r)} {r['network']['transport']} {src.get('ip')}:{src.get('port')}"
                     f" > {dst.get('ip')}:{dst.get('port')} pid={pid_of(r)}"
                     f" name={r['process']['name']}")
    return "\n".join(lines) + (f"\n... {len(records) - limit} more" if len(records) > limit else "")


def build_client(workdir, name):
    """Compiles conn_client.c into workdir/name (name is then the process's command name)."""
    path = os.path.join(workdir, name)
    r = nf.run(["cc", "-O2", "-o", path, os.path.join(HERE, "conn_client.c")], timeout=60)
    if r.returncode != 0:
        raise RuntimeError("cc conn_client.c: " + r.stderr)
    return path


def py(code):
    """argv running a Python one-liner (standard library)."""
    return [nf.PYTHON, "-c", code]


# A TCP server that accepts connections and holds each until the peer closes (many at once).
def tcp_holder_server(addr, port):
    return py(
        "import socket, threading\n"
        f"s = socket.socket(socket.AF_INET6 if ':' in {addr!r} else socket.AF_INET)\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(({addr!r}, {port})); s.listen(256)\n"
        "def hold(c):\n"
        "    while c.recv(65536): pass\n"
        "    c.close()\n"
        "while True:\n"
        "    c, _ = s.accept()\n"
        "    threading.Thread(target=hold, args=(c,), daemon=True).start()\n")


# A UDP server that answers every datagram with the same bytes.
def udp_echo_server(addr, port):
    return py(
        "import socket\n"
        f"s = socket.socket(socket.AF_INET6 if ':' in {addr!r} else socket.AF_INET, "
        "socket.SOCK_DGRAM)\n"
        f"s.bind(({addr!r}, {port}))\n"
        "while True:\n"
        "    d, a = s.recvfrom(65536)\n"
        "    s.sendto(d, a)\n")


def tcp_hold_client(addr, port, seconds, payload=b"hello"):
    """Connects, sends `payload`, prints "connected", holds the connection `seconds`."""
    return py(
        "import socket, sys, time\n"
        f"c = socket.create_connection(({addr!r}, {port}), timeout=5)\n"
        f"c.sendall({payload!r}); print('connected', flush=True)\n"
        f"time.sleep({seconds}); c.close()\n")


def udp_client(addr, port, connected, hold=0.0):
    """Sends "ping" to addr:port (connect()+send(), or sendto()), waits for the echo, holds."""
    fam = "socket.AF_INET6" if ":" in addr else "socket.AF_INET"
    send = (f"s.connect(({addr!r}, {port})); s.send(b'ping')" if connected
            else f"s.sendto(b'ping', ({addr!r}, {port}))")
    return py(
        "import socket, time\n"
        f"s = socket.socket({fam}, socket.SOCK_DGRAM); s.settimeout(5)\n"
        f"{send}\n"
        "s.recvfrom(100)\n"
        f"time.sleep({hold}); s.close()\n")


def tcp_listener(port, seconds):
    """Listens on 0.0.0.0:port for `seconds`, then closes."""
    return py(
        "import socket, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('0.0.0.0', {port})); s.listen(); time.sleep({seconds}); s.close()\n")


def run_ok(argv, timeout=20):
    """Runs argv to completion; returns its pid. Raises when it fails."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    if p.returncode != 0:
        raise RuntimeError(f"{argv} failed ({p.returncode}): {err.strip() or out.strip()}")
    return p.pid


def wait_ss(net_ns, flags, filt, timeout=10.0):
    """Waits until `ss FLAGS FILTER` in namespace net_ns lists a socket."""
    return nf.wait_until(lambda: nf.run(nf.in_ns(net_ns, ["ss", "-H"] + flags + [filt]))
                         .stdout.strip() != "", timeout=timeout)


def cgroup2_mount():
    """Where cgroup v2 is mounted (from /proc/self/mountinfo), or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.startswith("cgroup2 "):
                return left.split()[4]
    return None


def process_state(pid):
    """The state letter of /proc/PID/stat (R, S, T, Z ...), or "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def scratch():
    return tempfile.TemporaryDirectory(prefix="ringcap-conn-")


def scratch_pair(case):
    """For one test: a scratch directory and a NetPair with IPv4 addresses, both removed (and
    every process started killed) when the test ends. Returns (tmp, net)."""
    tmp = scratch()
    case.addCleanup(tmp.cleanup)
    net = nf.NetPair()
    case.addCleanup(net.close)
    case.addCleanup(nf._kill_all_procs)
    net.add_addresses()
    return tmp, net


class ScenarioCase(unittest.TestCase):
    """Test classes that record one scenario in setUpClass (self.records) and check parts of it:
    make_scenario() gives the class a scratch directory (tmp), a NetPair with IPv4 and IPv6
    addresses (net) and a pid table (pids), all cleaned up after the class."""

    @staticmethod
    def make_scenario(cls):
        cls.tmp = scratch()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.net = nf.NetPair(ipv6=True)
        cls.addClassCleanup(cls.net.close)
        cls.addClassCleanup(nf._kill_all_procs)
        cls.net.add_addresses()
        cls.pids = {}

    def one(self, **kw):
        """The first record matching `find(**kw)`; fails, listing the records, without one."""
        got = find(self.records, **kw)
        self.assertTrue(got, f"no record with {kw}; records:\n" + describe(self.records))
        return got[0]
