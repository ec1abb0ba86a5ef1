"""ringcap conn end to end, with BPF attribution: real processes with known pids make TCP (curl
and a held client, IPv4 and IPv6), UDP (connected and unconnected, IPv4 and IPv6) and DNS (dig
against dnsmasq) connections between two network namespaces, with an accepting server and a
listener, one client in a (made-up) docker container's cgroup, and connections opened before
ringcap starts; every one must appear in `ringcap conn --json` with the right pid, command,
addresses, namespace and Community ID. Then 200 short-lived processes, each connecting and exiting
within milliseconds: at least 99% named right, none named wrong.

Needs root; skips (status 77) without it."""
import os
import signal
import subprocess
import sys
import time
import unittest

import conn_fixture as cf
import netns_fixture as nf

TOOLS = ("curl", "dig", "dnsmasq", "cc", "ss")
V4, V6 = nf.NetPair.SND_IP, nf.NetPair.SND_IP6
CLIENT_V4 = nf.NetPair.CAP_IP
HTTP, HOLD, UDP_ECHO, DNS, LISTEN = 80, 9000, 9001, 53, 8080
ZONE = "ringcap.test"


@nf.skip_unless_ready(*TOOLS)
class BpfScenario(cf.ScenarioCase):
    """One scenario, recorded once by one ringcap conn run; each test checks one part of it."""

    @classmethod
    def setUpClass(cls):
        cf.ScenarioCase.make_scenario(cls)
        cls._start_servers()
        cls._open_before_start()
        cls.container = "c0ffee" + "0123456789abcdef" * 3 + "0123456789"
        cls.conn = cf.ConnRun(cls.tmp.name)
        # Filtered runs alongside: by command, by container id prefix; and the text lines.
        cls.by_comm = cf.ConnRun(cls.tmp.name, "--comm", "dig", "--comm", "dnsmasq")
        cls.by_container = cf.ConnRun(cls.tmp.name, "--container", cls.container[:12])
        cls.text = cf.ConnRun(cls.tmp.name, "--no-existing", json_lines=False)
        try:
            cls._run_clients()
            time.sleep(0.5)  # the last ends (FIN exchanges on veth) come in well within this
        finally:
            cls.records = cls.conn.stop()
            for run in (cls.by_comm, cls.by_container, cls.text):
                run.stop()
        cls.cap_netns = cf.netns_inode(cls.net.cap_ns)
        cls.snd_netns = cf.netns_inode(cls.net.snd_ns)

    @classmethod
    def _server(cls, name, argv, proto, port):
        p = nf.Proc(cls.net.snd(argv))
        cls.pids[name] = p.pid
        if not cf.wait_ss(cls.net.snd_ns, ["-ln", "-t" if proto == "tcp" else "-u"],
                          f"sport = :{port}"):
            raise AssertionError(f"{name} did not start: {p.stderr()}")
        return p

    @classmethod
    def _start_servers(cls):
        www = os.path.join(cls.tmp.name, "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("x" * 1000)
        cls._server("http", [nf.PYTHON, "-m", "http.server", "--bind", "::", "--directory", www,
                             str(HTTP)], "tcp", HTTP)
        cls._server("holder", cf.tcp_holder_server("0.0.0.0", HOLD), "tcp", HOLD)
        cls._server("udp_echo", cf.udp_echo_server("::", UDP_ECHO), "udp", UDP_ECHO)
        cls._server("dnsmasq", [
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--user=root", "--pid-file", "--bind-interfaces", "--port", str(DNS),
            f"--listen-address={V4}", f"--local=/{ZONE}/", f"--host-record=www.{ZONE},{V4}"],
            "udp", DNS)

    @classmethod
    def _open_before_start(cls):
        """A TCP connection and a bound UDP socket that exist before ringcap starts."""
        held = nf.Proc(cls.net.cap(cf.tcp_hold_client(V4, HOLD, 60)))
        cls.pids["held_before"] = held.pid
        if not cf.wait_ss(cls.net.cap_ns, ["-tn", "state", "established"], f"dport = :{HOLD}"):
            raise AssertionError("the held connection did not come up: " + held.stderr())
        bound = nf.Proc(cls.net.cap(cf.py(
            "import socket, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 9002))\n"
            "time.sleep(60)\n")))
        cls.pids["bound_before"] = bound.pid
        if not cf.wait_ss(cls.net.cap_ns, ["-lun"], "sport = :9002"):
            raise AssertionError("the bound UDP socket did not come up")

    @classmethod
    def _run_clients(cls):
        cap = cls.net.cap
        cls.pids["curl4"] = cf.run_ok(cap(["curl", "-sS", "-m", "10", "-o", "/dev/null",
                                           f"http://{V4}:{HTTP}/"]))
        cls.pids["curl6"] = cf.run_ok(cap(["curl", "-sS", "-m", "10", "-o", "/dev/null",
                                           f"http://[{V6}]:{HTTP}/"]))
        cls.pids["udp_conn4"] = cf.run_ok(cap(cf.udp_client(V4, UDP_ECHO, connected=True)))
        cls.pids["udp_unconn4"] = cf.run_ok(cap(cf.udp_client(V4, UDP_ECHO, connected=False)))
        cls.pids["udp_unconn6"] = cf.run_ok(cap(cf.udp_client(V6, UDP_ECHO, connected=False)))
        cls.pids["udp_conn6"] = cf.run_ok(cap(cf.udp_client(V6, UDP_ECHO, connected=True)))
        cls.pids["dig"] = cf.run_ok(cap(["dig", "+time=2", "+tries=1", "-p", str(DNS), f"@{V4}",
                                         f"www.{ZONE}", "A"]))
        cls.pids["listener"] = cf.run_ok(cap(cf.tcp_listener(LISTEN, 0.3)))
        # A client in a docker container's cgroup (made here: the name is what counts).
        cgroup = os.path.join(cf.cgroup2_mount(), f"ringcap-test-{os.getpid()}",
                              f"docker-{cls.container}.scope")
        os.makedirs(cgroup)
        try:
            cls.pids["curl_container"] = cls._run_in_cgroup(cgroup, cap(
                ["sh", "-c", f"kill -STOP $$; exec curl -sS -m 10 -o /dev/null http://{V4}:{HTTP}/"]))
        finally:
            os.rmdir(cgroup)
            os.rmdir(os.path.dirname(cgroup))

    @classmethod
    def _run_in_cgroup(cls, cgroup, argv):
        """Runs argv (which stops itself first) after moving it into `cgroup` from here (`ip
        netns exec` mounts a sysfs of its own, without the cgroup2 mount)."""
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            stopped = nf.wait_until(lambda: cf.process_state(p.pid) == "T", timeout=10)
            if not stopped:
                raise AssertionError("the client did not stop itself")
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(p.pid))
            os.kill(p.pid, signal.SIGCONT)
            out, err = p.communicate(timeout=20)
        finally:
            p.kill()
        if p.returncode != 0:
            raise AssertionError(f"{argv} failed: {err}")
        return p.pid

    # -- helpers --

    def assert_no_other_owner(self, pid, port):
        """Records of the client's source port name no other process."""
        for r in self.records:
            if r.get("source", {}).get("port") == port and r["ringcap"]["netns"] == \
                    self.cap_netns and cf.pid_of(r) != pid:
                self.fail(f"source port {port} of pid {pid} attributed to {cf.pid_of(r)}: {r}")

    # -- the tests --

    def test_ringcap_ended_cleanly_with_a_summary(self):
        self.assertEqual(self.conn.status, 0, self.conn.stderr)
        self.assertRegex(self.conn.stderr, r"records written, \d+ read; lost in the ring buffer: 0")

    def test_tcp_ipv4_client_and_accepting_server(self):
        pid = self.pids["curl4"]
        a = self.one(act="connection_attempted", pid=pid, dport=HTTP)
        self.assertEqual(a["process"]["name"], "curl")
        self.assertEqual(a["process"]["executable"], "/usr/bin/curl")
        self.assertIn(f"http://{V4}:{HTTP}/", a["process"]["args"])
        self.assertEqual(a["process"]["thread"]["id"], pid)
        self.assertEqual(a["source"]["ip"], CLIENT_V4)
        self.assertEqual(a["destination"]["ip"], V4)
        self.assertEqual(a["network"]["type"], "ipv4")
        self.assertEqual(a["network"]["direction"], "outbound")
        self.assertEqual(a["ringcap"]["netns"], self.cap_netns)
        sport = a["source"]["port"]
        self.assertEqual(a["network"]["community_id"],
                         cf.community_id(6, CLIENT_V4, V4, sport, HTTP))
        # The server's side: accepted by http.server (its pid, in its namespace), same flow.
        s = self.one(act="connection_accepted", pid=self.pids["http"], sport=sport)
        self.assertEqual(s["ringcap"]["netns"], self.snd_netns)
        self.assertEqual(s["network"]["direction"], "inbound")
        self.assertEqual(s["network"]["community_id"], a["network"]["community_id"])
        # Both ends close, with what went each way (the page is 1000 bytes plus headers).
        c = self.one(act="connection_closed", pid=pid, sport=sport)
        self.assertGreater(c["destination"]["bytes"], 1000)
        self.assertGreater(c["source"]["bytes"], 50)
        self.assertGreater(c["event"]["duration"], 0)
        sc = self.one(act="connection_closed", pid=self.pids["http"], sport=sport)
        self.assertEqual(sc["destination"]["bytes"], c["destination"]["bytes"])
        self.assertEqual(sc["source"]["bytes"], c["source"]["bytes"])
        self.assert_no_other_owner(pid, sport)

    def test_tcp_ipv6(self):
        pid = self.pids["curl6"]
        a = self.one(act="connection_attempted", pid=pid, dport=HTTP)
        self.assertEqual(a["network"]["type"], "ipv6")
        self.assertEqual(a["destination"]["ip"], V6)
        self.assertEqual(a["source"]["ip"], nf.NetPair.CAP_IP6)
        self.one(act="connection_accepted", pid=self.pids["http"], sport=a["source"]["port"])
        self.one(act="connection_closed", pid=pid, sport=a["source"]["port"])

    def test_udp_connected(self):
        for key, ip, typ in (("udp_conn4", V4, "ipv4"), ("udp_conn6", V6, "ipv6")):
            with self.subTest(key):
                pid = self.pids[key]
                f = self.one(act="udp_flow", pid=pid, dport=UDP_ECHO, transport="udp")
                self.assertEqual(f["process"]["name"], "python3")
                self.assertEqual(f["destination"]["ip"], ip)
                self.assertEqual(f["network"]["type"], typ)
                self.assertEqual(f["network"]["direction"], "outbound")
                c = self.one(act="connection_closed", pid=pid, transport="udp")
                self.assertEqual((c["source"]["bytes"], c["source"]["packets"]), (4, 1))
                self.assertEqual((c["destination"]["bytes"], c["destination"]["packets"]), (4, 1))
                # The echo server saw it come in: an inbound flow from the client's port.
                self.one(act="udp_flow", pid=self.pids["udp_echo"], sport=f["source"]["port"])

    def test_udp_unconnected(self):
        for key, ip in (("udp_unconn4", V4), ("udp_unconn6", V6)):
            with self.subTest(key):
                pid = self.pids[key]
                f = self.one(act="udp_flow", pid=pid, dport=UDP_ECHO)
                self.assertEqual(f["destination"]["ip"], ip)
                self.assertEqual(f["network"]["direction"], "outbound")
                self.assertNotEqual(f["source"]["port"], 0)
                # The reply came from the peer already reported: no second flow.
                self.assertEqual(len(cf.find(self.records, act="udp_flow", pid=pid)), 1)
                self.one(act="connection_closed", pid=pid, transport="udp")

    def test_dns_through_dnsmasq(self):
        q = self.one(act="udp_flow", pid=self.pids["dig"], dport=DNS)
        self.assertEqual(q["process"]["name"], "dig")
        # dig binds its socket to port 0 (the kernel picks): a client, not a listener.
        self.assertEqual(cf.find(self.records, act="listening", pid=self.pids["dig"]), [])
        srv = self.one(act="udp_flow", pid=self.pids["dnsmasq"], sport=q["source"]["port"])
        self.assertEqual(srv["process"]["name"], "dnsmasq")
        self.assertEqual(srv["network"]["direction"], "inbound")
        self.assertEqual(srv["destination"]["port"], DNS)

    def test_listening(self):
        pid = self.pids["listener"]
        lst = self.one(act="listening", pid=pid, dport=LISTEN, transport="tcp")
        self.assertNotIn("source", lst)
        self.assertEqual(lst["destination"]["ip"], "0.0.0.0")
        c = self.one(act="connection_closed", pid=pid, dport=LISTEN)
        self.assertEqual(c["ringcap"]["outcome"], "listener closed")

    def test_opened_before_ringcap_started(self):
        pid = self.pids["held_before"]
        e = self.one(act="existing", pid=pid, dport=HOLD)
        self.assertEqual(e["process"]["name"], "python3")
        self.assertEqual(e["ringcap"]["tcp_state"], "ESTABLISHED")
        self.assertEqual(e["ringcap"]["netns"], self.cap_netns)
        # The server's end of it, in the other namespace, and its listener.
        self.one(act="existing", pid=self.pids["holder"], sport=e["source"]["port"])
        self.one(act="existing", pid=self.pids["holder"], dport=HOLD)
        self.one(act="existing", pid=self.pids["bound_before"], dport=9002, transport="udp")
        self.one(act="existing", pid=self.pids["http"], dport=HTTP)

    def test_container_id_from_the_cgroup(self):
        a = self.one(act="connection_attempted", pid=self.pids["curl_container"], dport=HTTP)
        self.assertEqual(a["container"]["id"], self.container)
        other = self.one(act="connection_attempted", pid=self.pids["curl4"])
        self.assertNotIn("container", other)

    def test_filters(self):
        self.assertTrue(self.by_comm.records)
        self.assertEqual({r["process"]["name"] for r in self.by_comm.records}, {"dig", "dnsmasq"})
        self.assertTrue(self.by_container.records)
        self.assertEqual({cf.pid_of(r) for r in self.by_container.records},
                         {self.pids["curl_container"]})

    def test_text_lines(self):
        a = self.one(act="connection_attempted", pid=self.pids["curl4"], dport=HTTP)
        want = (f" connection_attempted tcp {CLIENT_V4}:{a['source']['port']} > {V4}:{HTTP} "
                f"pid={self.pids['curl4']} tid={self.pids['curl4']} comm=curl uid=0 "
                f"netns={self.cap_netns}")
        self.assertTrue(any(line.endswith(want) for line in self.text.records),
                        want + "\n" + "\n".join(self.text.records[:20]))
        closed = [line for line in self.text.records if " connection_closed " in line
                  and f"pid={self.pids['curl4']} " in line]
        self.assertEqual(len(closed), 1, self.text.records)
        self.assertRegex(closed[0], r" duration=0\.\d{6}s src_bytes=\d+ src_packets=\d+ "
                                    r"dst_bytes=\d+ dst_packets=\d+ state=\w+ outcome=closed$")

    def test_count_ends_the_run(self):
        r = nf.run([nf.RINGCAP, "conn", "-c", "2", "--json"], timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 2)  # the servers' listeners exist already
        self.assertIn("2 records written", r.stderr)

    def test_every_record_is_ecs_shaped(self):
        for r in self.records:
            for key in ("@timestamp", "event", "process", "user", "destination", "network",
                        "ringcap"):
                self.assertIn(key, r)
            self.assertRegex(r["@timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
            self.assertIn("pid", r["process"])
            self.assertIsInstance(r["user"]["id"], str)


@nf.skip_unless_ready(*TOOLS)
class ShortLived(unittest.TestCase):
    """200 processes, each connecting and exiting within milliseconds (a C client whose command
    name is unique to the run): >= 99% attributed to the right pid and command, none wrong."""

    COUNT = 200

    def test_short_lived_processes(self):
        tmp, net = cf.scratch_pair(self)
        name = f"rcshort{os.getpid() % 100000}"
        client = cf.build_client(tmp.name, name)
        server = nf.Proc(net.snd(cf.tcp_holder_server("0.0.0.0", HOLD)))
        self.assertTrue(cf.wait_ss(net.snd_ns, ["-ltn"], f"sport = :{HOLD}"), server.stderr())
        # The launcher runs in the client namespace, starts each client and waits for it.
        launcher = cf.py(
            "import subprocess, sys, time\n"
            "pids, slow = [], 0\n"
            f"for i in range({self.COUNT}):\n"
            "    t = time.monotonic()\n"
            f"    p = subprocess.Popen([{client!r}, {V4!r}, '{HOLD}'])\n"
            "    p.wait(); pids.append(p.pid)\n"
            "    slow += (time.monotonic() - t) > 0.010 or p.returncode != 0\n"
            "print(' '.join(map(str, pids))); print(slow)\n")
        conn = cf.ConnRun(tmp.name)
        try:
            r = nf.run(net.cap(launcher), timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            time.sleep(0.5)
        finally:
            records = conn.stop()
        out = r.stdout.split("\n")
        pids = set(map(int, out[0].split()))
        self.assertEqual(len(pids), self.COUNT)
        print(f"short-lived: {out[1]} of {self.COUNT} clients took over 10 ms", file=sys.stderr)
        # Every attempt to the server from the clients' namespace: by one of the clients, by
        # its pid and command.
        netns = cf.netns_inode(net.cap_ns)
        attempted = [x for x in cf.find(records, act="connection_attempted", dport=HOLD)
                     if x["ringcap"]["netns"] == netns]
        named_right = {cf.pid_of(x) for x in attempted if x["process"]["name"] == name} & pids
        wrong = [x for x in attempted
                 if cf.pid_of(x) not in pids or x["process"]["name"] != name]
        self.assertGreaterEqual(len(named_right), 0.99 * self.COUNT,
                                f"{len(named_right)} of {self.COUNT} attributed")
        self.assertEqual(wrong, [])
        for x in attempted:
            self.assertEqual(x["process"]["executable"], client)
            self.assertEqual(x["process"]["thread"]["id"], cf.pid_of(x))
        # The end of each: closed with the one byte sent.
        closed = {cf.pid_of(x) for x in cf.find(records, act="connection_closed", name=name)
                  if x["source"]["bytes"] == 1}
        self.assertGreaterEqual(len(closed & pids), 0.99 * self.COUNT)


if __name__ == "__main__":
    nf.main()
