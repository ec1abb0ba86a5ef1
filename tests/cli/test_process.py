"""ringcap --process (and --pid, --comm) on captures, end to end: real processes with known pids
make TCP (curl against python3 -m http.server), UDP (dig against dnsmasq) and short-lived
(a C client that connects, sends a byte and exits) connections out of the capture's namespace, an
accepting server in it takes a connection from the other side, and raw frames are injected that
no process owns. Every packet of the --process pcapng (read with tshark, frame.comment) names the
right pid and command, or says the process is unknown; printed lines carry the pid/comm column
and are otherwise tcpdump's lines; --json has the ECS process fields; --pid and --comm keep
exactly the packets of those processes; workers (merged and per-worker files) annotate alike.
Then the procfs fallback on a long-lived connection, and bad input.

ringcap runs in the capture namespace through `nsenter --net` (the host's mounts stay visible:
`ip netns exec` mounts a sysfs of its own, without the cgroup v2 mount the BPF hooks need).

Needs root; skips (status 77) without it."""
import json
import os
import re
import signal
import subprocess
import time
import unittest

import conn_fixture as cf
import netns_fixture as nf

TOOLS = ("curl", "dig", "dnsmasq", "cc", "ss", "tshark", "nsenter", "capsh")
SRV = nf.NetPair.SND_IP  # servers on the far side
CAP = nf.NetPair.CAP_IP  # the capture's side
HTTP, DNS, HOLD, SHORT, UDP_SHORT, NOBODY = 80, 53, 9000, 9001, 9003, 7777
UDP_CLIENTS = 30
ZONE = "ringcap.test"
RING = ["-B", "4096"]  # KiB: many captures run at once


def ringcap_in(ns, args):
    """argv running ringcap in network namespace `ns`, keeping the host's mounts."""
    return ["nsenter", f"--net=/run/netns/{ns}", nf.RINGCAP] + [str(a) for a in args]


class Capture:
    """A ringcap capture in the capture namespace: started and waited for until it listens;
    stop() ends it with SIGINT and returns (status, stdout text, stderr)."""

    def __init__(self, net, *args, stdout=False):
        self.argv = ringcap_in(net.cap_ns, ["-i", net.cap_if] + RING + list(args))
        self.proc = nf.Proc(self.argv, stdout=subprocess.PIPE if stdout else subprocess.DEVNULL)
        if not self.proc.wait_for_stderr(r"^listening on ", 30):
            self.proc.kill()
            raise AssertionError(f"{self.argv} did not start; stderr:\n" + self.proc.stderr())

    def stop(self, timeout=20.0):
        self.proc.send_signal(signal.SIGINT)
        status, out, err = self.proc.finish(timeout=timeout)
        return status, out.decode(errors="replace"), err


def tshark_fields(path, *fields):
    """One tuple per packet: the fields tshark gives (frame.comment, ports, ...)."""
    argv = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    for f in fields:
        argv += ["-e", f]
    r = nf.run(argv, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"tshark -r {path}: {r.stderr}")
    warnings = [line for line in r.stderr.splitlines() if "Running as user" not in line and line]
    if warnings:
        raise AssertionError(f"tshark -r {path} complained: {warnings}")
    return [tuple(line.split("|")) for line in r.stdout.splitlines()]


def owner_of(comment):
    """(pid, comm) from a packet comment, or None for "process=unknown"."""
    if comment == "process=unknown":
        return None
    m = re.fullmatch(r"pid=(\d+) tid=(\d+) comm=(\S+) uid=(\d+)( container=\S+)?", comment)
    if not m:
        raise AssertionError(f"not an owner comment: {comment!r}")
    return int(m.group(1)), m.group(3)


def ports(row):
    """The packet's (source port, destination port), TCP or UDP; (None, None) for neither."""
    tsrc, tdst, usrc, udst = row
    if tsrc:
        return int(tsrc), int(tdst)
    if usrc:
        return int(usrc), int(udst)
    return None, None


PORT_FIELDS = ("tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport")


@nf.skip_unless_ready(*TOOLS)
class ProcessScenario(cf.ScenarioCase):
    """One scenario, captured at once by several ringcap runs (a pcapng, printed lines with and
    without --process, JSON, filters, workers); each test checks one of them."""

    @classmethod
    def setUpClass(cls):
        cf.ScenarioCase.make_scenario(cls)
        net = cls.net
        cls._start_servers()
        cls.short_name = f"rcpshort{os.getpid() % 100000}"
        cls.short_client = cf.build_client(cls.tmp.name, cls.short_name)
        path = lambda name: os.path.join(cls.tmp.name, name)
        cls.files = {k: path(v) for k, v in (
            ("full", "full.pcapng"), ("pid", "pid.pcapng"), ("dig", "dig.pcap"),
            ("c3", "c3.pcapng"), ("merged", "merged.pcapng"), ("per", "per.pcapng"))}
        caps = {
            "full": Capture(net, "--process", "-w", cls.files["full"]),
            "lines": Capture(net, "-k", "-l", stdout=True),
            "plain": Capture(net, "-l", stdout=True),
            "json": Capture(net, "--process", "--json", "-l", stdout=True),
            "pid": Capture(net, "--pid", cls.pids["holder"], "--process", "-w", cls.files["pid"]),
            "dig": Capture(net, "--comm", "dig", "-w", cls.files["dig"]),
            "c3": Capture(net, "--comm", "curl", "-c", "3", "--process", "-w", cls.files["c3"]),
            "merged": Capture(net, "--workers", "2", "--merge", "--process", "-w",
                              cls.files["merged"]),
            "per": Capture(net, "--workers", "2", "--process", "-w", cls.files["per"]),
        }
        cls.results = {}
        try:
            cls._run_clients()
            time.sleep(0.7)  # the last FIN/ACKs, and the V3 blocks' timeouts
        finally:
            for name, cap in caps.items():
                cls.results[name] = cap.stop()

    @classmethod
    def _start_servers(cls):
        net = cls.net
        www = os.path.join(cls.tmp.name, "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("x" * 3000)
        servers = (
            ("http", net.snd([nf.PYTHON, "-m", "http.server", "--bind", SRV, "--directory", www,
                              str(HTTP)]), net.snd_ns, "-lnt", HTTP),
            ("dnsmasq", net.snd(["dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                                 "--no-resolv", "--no-hosts", "--user=root", "--pid-file",
                                 "--bind-interfaces", "--port", str(DNS),
                                 f"--listen-address={SRV}", f"--local=/{ZONE}/",
                                 f"--host-record=www.{ZONE},{SRV}"]), net.snd_ns, "-lnu", DNS),
            ("short_server", net.snd(cf.tcp_holder_server("0.0.0.0", SHORT)), net.snd_ns, "-lnt",
             SHORT),
            ("udp_sink", net.snd(cf.py(
                "import socket\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                f"s.bind(('0.0.0.0', {UDP_SHORT}))\n"
                "while True: s.recv(100)\n")), net.snd_ns, "-lnu", UDP_SHORT),
            # The accepting server is in the capture's namespace: its packets are its own.
            ("holder", net.cap(cf.tcp_holder_server("0.0.0.0", HOLD)), net.cap_ns, "-lnt",
             HOLD),
        )
        for name, argv, ns, flags, port in servers:
            p = nf.Proc(argv)
            cls.pids[name] = p.pid
            if not cf.wait_ss(ns, [flags], f"sport = :{port}"):
                raise AssertionError(f"{name} did not start: {p.stderr()}")

    @classmethod
    def _run_clients(cls):
        net = cls.net
        cls.pids["curl"] = cf.run_ok(net.cap(["curl", "-sS", "-m", "10", "-o", "/dev/null",
                                              f"http://{SRV}:{HTTP}/"]))
        cls.pids["dig"] = cf.run_ok(net.cap(["dig", "+time=2", "+tries=1", "-p", str(DNS),
                                             f"@{SRV}", f"www.{ZONE}", "A"]))
        cls.pids["peer"] = cf.run_ok(net.snd(cf.tcp_hold_client(CAP, HOLD, 0.3)))
        cls.pids["short"] = cf.run_ok(net.cap([cls.short_client, SRV, str(SHORT)]))
        # Connected UDP: connect(), one datagram at once, exit.
        cls.udp_pids = [cf.run_ok(net.cap([cls.short_client, SRV, str(UDP_SHORT), "udp"]))
                        for _ in range(UDP_CLIENTS)]
        frame = nf.udp_frame(net.cap_mac, net.snd_mac, 100, dport=NOBODY, sport=40000)
        net.send([frame] * 3)

    # -- helpers --

    def flows(self, path):
        """(packet rows of tshark: comment, ports...) of a pcapng."""
        return tshark_fields(path, "frame.comment", *PORT_FIELDS)

    def owners_by_port(self, rows, port):
        """The owners named on every packet to or from `port`."""
        return [owner_of(r[0]) for r in rows if port in ports(r[1:])]

    def assert_all_owned_by(self, rows, port, pid, comm):
        got = self.owners_by_port(rows, port)
        self.assertTrue(got, f"no packets of port {port}")
        self.assertEqual(set(got), {(pid, comm)}, f"port {port}")
        return len(got)

    # -- the tests --

    def test_every_capture_ended_cleanly(self):
        for name, (status, _, err) in self.results.items():
            with self.subTest(name):
                self.assertEqual(status, 0, err)
                self.assertIn("ringcap: attributing packets to processes (bpf attribution)"
                              if name != "plain" else "listening on", err)
                if name != "plain":
                    self.assertRegex(err, r"ringcap: processes \(bpf\): \d+ packets? of \d+ "
                                          r"attributed; flows looked up: \d+")

    def test_pcapng_names_each_packets_process(self):
        rows = self.flows(self.files["full"])
        self.assertGreater(len(rows), 20)
        self.assert_all_owned_by(rows, HTTP, self.pids["curl"], "curl")
        self.assert_all_owned_by(rows, DNS, self.pids["dig"], "dig")
        self.assert_all_owned_by(rows, HOLD, self.pids["holder"], "python3")
        # A client that lived a few milliseconds: every packet of its connection, the last ones
        # after it exited, still names it.
        n = self.assert_all_owned_by(rows, SHORT, self.pids["short"], self.short_name)
        self.assertGreaterEqual(n, 4)  # SYN, SYN-ACK, ACK, data at least
        # Frames no local process sent or receives: unknown, not anybody's.
        self.assertEqual(set(self.owners_by_port(rows, NOBODY)), {None})
        self.assertEqual(len(self.owners_by_port(rows, NOBODY)), 3)
        for r in rows:  # every packet says something
            self.assertTrue(r[0], r)

    def test_connected_udp_first_datagrams_are_named(self):
        """A connected UDP socket's first datagram: its owner is known at connect()'s return
        (the udp_flow record comes only after that datagram left)."""
        got = self.owners_by_port(self.flows(self.files["full"]), UDP_SHORT)
        self.assertEqual(len(got), UDP_CLIENTS)
        self.assertEqual(set(got), {(pid, self.short_name) for pid in self.udp_pids})

    def test_pcapng_has_the_process_id_option(self):
        """epb_processid_threadid (code 8) follows each owned packet's flags: read from the
        file's bytes (tshark 4.0 neither shows nor minds it)."""
        with open(self.files["full"], "rb") as f:
            data = f.read()
        pos, found, owned = 0, 0, 0
        while pos + 12 <= len(data):
            btype, blen = int.from_bytes(data[pos:pos + 4], "little"), \
                int.from_bytes(data[pos + 4:pos + 8], "little")
            if btype == 6:
                caplen = int.from_bytes(data[pos + 20:pos + 24], "little")
                opt = pos + 28 + (caplen + 3) // 4 * 4
                pid = None
                while opt < pos + blen - 4:
                    code = int.from_bytes(data[opt:opt + 2], "little")
                    olen = int.from_bytes(data[opt + 2:opt + 4], "little")
                    if code == 0:
                        break
                    if code == 8:
                        self.assertEqual(olen, 8)
                        pid = int.from_bytes(data[opt + 4:opt + 8], "little")
                    if code == 1 and data[opt + 4:opt + 4 + olen] != b"process=unknown":
                        owned += 1
                    opt += 4 + (olen + 3) // 4 * 4
                found += pid is not None
                if pid is not None:
                    self.assertIn(pid, list(self.pids.values()) + self.udp_pids)
            pos += blen
        self.assertGreater(found, 0)
        self.assertEqual(found, owned)

    def test_printed_lines_have_the_column_and_are_tcpdumps_otherwise(self):
        _, lines, _ = self.results["lines"]
        _, plain, _ = self.results["plain"]
        # IPv6's own chatter (router solicitations, MLD) comes whenever it likes, also between
        # the two captures' starts: the test's traffic is IPv4.
        lines = [line for line in lines.splitlines() if " IP6 " not in line]
        plain = [line for line in plain.splitlines() if " IP6 " not in line]
        self.assertEqual(len(lines), len(plain))
        column = re.compile(r"^(\d\d:\d\d:\d\d\.\d{6}) (\d+/\S+|\?) (.*)$")
        curl = f"{self.pids['curl']}/curl"
        seen_curl = seen_unknown = 0
        for got, want in zip(lines, plain):
            m = column.match(got)
            self.assertIsNotNone(m, got)
            # The rest is byte for byte (the stamps of one outgoing packet may differ by a
            # microsecond or two between two sockets).
            self.assertRegex(want, r"^\d\d:\d\d:\d\d\.\d{6} ")
            self.assertEqual(m.group(3), want[16:])
            if f".{HTTP}:" in got or f".{HTTP} >" in got:
                self.assertEqual(m.group(2), curl, got)
                seen_curl += 1
            if f".{NOBODY}:" in got:
                self.assertEqual(m.group(2), "?", got)
                seen_unknown += 1
        self.assertGreater(seen_curl, 5)
        self.assertEqual(seen_unknown, 3)

    def test_json_has_the_ecs_process_fields(self):
        _, out, _ = self.results["json"]
        objects = [json.loads(line) for line in out.splitlines()]
        http = [o for o in objects if HTTP in (o.get("src_port"), o.get("dst_port"))]
        self.assertGreater(len(http), 5)
        for o in http:
            self.assertEqual(o["process.pid"], self.pids["curl"])
            self.assertEqual(o["process.name"], "curl")
            self.assertEqual(o["process.thread.id"], self.pids["curl"])
            self.assertEqual(o["user.id"], "0")
        nobody = [o for o in objects if o.get("dst_port") == NOBODY]
        self.assertEqual(len(nobody), 3)
        for o in nobody:
            self.assertNotIn("process.pid", o)

    def test_pid_keeps_exactly_that_processs_packets(self):
        full = self.flows(self.files["full"])
        rows = self.flows(self.files["pid"])
        want = self.owners_by_port(full, HOLD)
        self.assertEqual(len(rows), len(want))
        self.assertEqual({owner_of(r[0]) for r in rows}, {(self.pids["holder"], "python3")})
        self.assertRegex(self.results["pid"][2], rf"; {len(want)} shown \(--pid/--comm\)")

    def test_comm_filters_into_a_pcap_file(self):
        """--comm alone needs no pcapng: the packets are filtered, not annotated."""
        with open(self.files["dig"], "rb") as f:
            cap = nf.parse_pcap(f.read())
        full = self.flows(self.files["full"])
        self.assertEqual(len(cap.records), len(self.owners_by_port(full, DNS)))
        rows = tshark_fields(self.files["dig"], *PORT_FIELDS)
        self.assertTrue(all(DNS in ports(r) for r in rows), rows)

    def test_count_counts_the_packets_shown(self):
        status, _, err = self.results["c3"]
        self.assertEqual(status, 0, err)
        rows = self.flows(self.files["c3"])
        self.assertEqual(len(rows), 3)
        self.assertEqual({owner_of(r[0]) for r in rows}, {(self.pids["curl"], "curl")})

    def test_workers_merged_and_per_worker_files(self):
        merged = self.flows(self.files["merged"])
        self.assert_all_owned_by(merged, HTTP, self.pids["curl"], "curl")
        self.assert_all_owned_by(merged, HOLD, self.pids["holder"], "python3")
        per = []
        for w in (0, 1):
            per += self.flows(self.files["per"].replace(".pcapng", f"-{w}.pcapng"))
        for port in (HTTP, DNS, HOLD, SHORT, NOBODY):  # (IPv6's own chatter comes and goes)
            self.assertEqual(len(self.owners_by_port(per, port)),
                             len(self.owners_by_port(merged, port)), f"port {port}")
        self.assert_all_owned_by(per, HTTP, self.pids["curl"], "curl")
        self.assert_all_owned_by(per, DNS, self.pids["dig"], "dig")
        self.assertEqual(set(self.owners_by_port(per, NOBODY)), {None})


@nf.skip_unless_ready(*TOOLS)
class ProcfsFallback(unittest.TestCase):
    """--attribution=procfs on a long-lived connection: once the fallback's poll has seen the
    socket (every 250 ms), its packets name the client; none names anybody else."""

    def test_long_lived_connection(self):
        tmp, net = cf.scratch_pair(self)
        srv = nf.Proc(net.snd(cf.tcp_holder_server("0.0.0.0", HOLD)))
        self.assertTrue(cf.wait_ss(net.snd_ns, ["-ltn"], f"sport = :{HOLD}"), srv.stderr())
        path = os.path.join(tmp.name, "procfs.pcapng")
        cap = Capture(net, "--attribution=procfs", "--process", "-w", path)
        client = subprocess.Popen(net.cap(cf.py(
            "import socket, time\n"
            f"c = socket.create_connection(({SRV!r}, {HOLD}), timeout=5)\n"
            "for i in range(25):\n"
            "    c.sendall(b'x'); time.sleep(0.1)\n"
            "c.close()\n")))
        self.assertEqual(client.wait(timeout=30), 0)
        time.sleep(0.5)
        status, _, err = cap.stop()
        self.assertEqual(status, 0, err)
        self.assertIn("attributing packets to processes (procfs attribution)", err)
        rows = tshark_fields(path, "frame.comment", "frame.time_relative", *PORT_FIELDS)
        mine = [r for r in rows if HOLD in ports(r[2:])]
        self.assertGreater(len(mine), 40)
        owners = [owner_of(r[0]) for r in mine]
        self.assertEqual(set(owners) - {None}, {(client.pid, "python3")})
        # After the first half second every packet is named.
        start = float(mine[0][1])
        late = [owner_of(r[0]) for r in mine if float(r[1]) - start > 0.6]
        self.assertGreater(len(late), 20)
        self.assertEqual(set(late), {(client.pid, "python3")})


@nf.skip_unless_ready(*TOOLS)
class BadInput(nf.NetTestCase):
    """One clear line and status 1; without BPF privileges the fallback, with its note."""

    def run_ringcap(self, *args):
        return nf.run(ringcap_in(self.net.cap_ns, list(args)), timeout=60)

    def assert_one_line_error(self, r, pattern):
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, pattern)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_process_into_pcap_is_refused(self):
        r = self.run_ringcap("-i", self.net.cap_if, "--process", "-w", "/tmp/never.pcap")
        self.assert_one_line_error(r, r"--process: a pcap file has no room for each packet's "
                                      r"process: write pcapng \(-w NAME\.pcapng or --pcapng\)")
        self.assertFalse(os.path.exists("/tmp/never.pcap"))

    def test_unknown_pid(self):
        r = self.run_ringcap("-i", self.net.cap_if, "--pid", "999999999")
        self.assert_one_line_error(r, r"^ringcap: --pid 999999999: no such process\n")

    def test_not_with_a_file(self):
        r = self.run_ringcap("-r", "/dev/null", "-k")
        self.assert_one_line_error(r, r"they work on live captures, not with -r")

    def test_no_bpf_privilege_falls_back(self):
        # Into the namespace first (setns needs CAP_SYS_ADMIN), then without the privileges.
        args = ["-i", self.net.cap_if, "-k", "-c", "1"] + RING
        p = nf.Proc(["nsenter", f"--net=/run/netns/{self.net.cap_ns}", "capsh",
                     "--drop=cap_bpf,cap_sys_admin,cap_perfmon", "--", "-c",
                     f"exec {nf.RINGCAP} " + " ".join(args)])
        self.assertTrue(p.wait_for_stderr(r"^listening on ", 30), p.stderr())
        self.net.send([nf.udp_frame(self.net.cap_mac, self.net.snd_mac, 100, dport=NOBODY)])
        status, _, err = p.finish(timeout=20)
        self.assertEqual(status, 0, err)
        self.assertRegex(err, r"ringcap: note: BPF attribution is not available \(.*\): "
                              r"falling back to procfs")
        self.assertIn("attributing packets to processes (procfs attribution)", err)
        self.assertRegex(err, r"ringcap: processes \(procfs\): 0 packets of 1 attributed")


if __name__ == "__main__":
    nf.main()
