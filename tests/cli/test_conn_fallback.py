"""ringcap conn without BPF, and on bad input: the procfs fallback (--attribution=procfs, and the
automatic one when BPF cannot load: capabilities dropped, an unprivileged user, no cgroup v2)
names the processes of long-lived connections; bad options and an unknown --pid end with one
clear line and status 1; processes that are gone before their records are read are still named.

Needs root; skips (status 77) without it."""
import os
import signal
import subprocess
import time
import unittest

import conn_fixture as cf
import netns_fixture as nf

TOOLS = ("ss", "capsh", "setpriv", "unshare", "cc")
V4, V6 = nf.NetPair.SND_IP, nf.NetPair.SND_IP6
HOLD, UDP_ECHO, LISTEN, SERVE = 9000, 9001, 8080, 9100
HELD = 2.0  # seconds each long-lived connection stays open (the fallback polls every 250 ms)


@nf.skip_unless_ready(*TOOLS)
class ProcfsFallback(cf.ScenarioCase):
    """The long-lived cases with --attribution=procfs, which sees ringcap's own namespace only:
    ringcap runs in the clients' namespace."""

    @classmethod
    def setUpClass(cls):
        cf.ScenarioCase.make_scenario(cls)
        net, cap = cls.net, cls.net.cap
        for name, argv, flags, port in (
                ("holder", cf.tcp_holder_server("::", HOLD), ["-ltn"], HOLD),
                ("udp_echo", cf.udp_echo_server("::", UDP_ECHO), ["-lun"], UDP_ECHO)):
            p = nf.Proc(net.snd(argv))
            cls.pids[name] = p.pid
            assert cf.wait_ss(net.snd_ns, flags, f"sport = :{port}"), p.stderr()
        # A server in ringcap's namespace, for an accepted connection; and a connection held
        # open from before the start.
        srv = nf.Proc(cap(cf.tcp_holder_server("0.0.0.0", SERVE)))
        cls.pids["server"] = srv.pid
        assert cf.wait_ss(net.cap_ns, ["-ltn"], f"sport = :{SERVE}"), srv.stderr()
        before = nf.Proc(cap(cf.tcp_hold_client(V4, HOLD, 60)))
        cls.pids["before"] = before.pid
        assert cf.wait_ss(net.cap_ns, ["-tn", "state", "established"], f"dport = :{HOLD}")

        cls.conn = cf.ConnRun(cls.tmp.name, "--attribution=procfs", ns=net.cap_ns)
        try:
            clients = {
                "tcp4": cap(cf.tcp_hold_client(V4, HOLD, HELD)),
                "tcp6": cap(cf.tcp_hold_client(V6, HOLD, HELD)),
                "udp": cap(cf.udp_client(V4, UDP_ECHO, connected=True, hold=HELD)),
                "listener": cap(cf.tcp_listener(LISTEN, HELD)),
                "accepted": net.snd(cf.tcp_hold_client(nf.NetPair.CAP_IP, SERVE, HELD)),
            }
            procs = {k: subprocess.Popen(v, stdout=subprocess.DEVNULL) for k, v in clients.items()}
            for k, p in procs.items():
                cls.pids[k] = p.pid
                if p.wait(timeout=30) != 0:
                    raise AssertionError(f"client {k} failed")
            time.sleep(0.8)  # the next polls see them gone
        finally:
            cls.records = cls.conn.stop()

    def test_it_said_which_attribution(self):
        self.assertEqual(self.conn.status, 0, self.conn.stderr)
        self.assertIn("recording connections (procfs attribution)", self.conn.stderr)

    def test_tcp_outbound_ipv4_and_ipv6(self):
        for key, ip in (("tcp4", V4), ("tcp6", V6)):
            with self.subTest(key):
                a = self.one(act="connection_attempted", pid=self.pids[key], dport=HOLD)
                self.assertEqual(a["process"]["name"], "python3")
                self.assertEqual(a["destination"]["ip"], ip)
                c = self.one(act="connection_closed", pid=self.pids[key], dport=HOLD)
                self.assertEqual(c["source"]["bytes"], 5)  # "hello"

    def test_udp_connected(self):
        f = self.one(act="udp_flow", pid=self.pids["udp"], dport=UDP_ECHO)
        self.assertEqual(f["destination"]["ip"], V4)

    def test_listening_and_accepted(self):
        self.one(act="listening", pid=self.pids["listener"], dport=LISTEN)
        a = self.one(act="connection_accepted", pid=self.pids["server"], dport=SERVE)
        self.assertEqual(a["source"]["ip"], V4)
        self.assertEqual(a["network"]["direction"], "inbound")

    def test_open_before_start(self):
        e = self.one(act="existing", pid=self.pids["before"], dport=HOLD)
        self.assertEqual(e["ringcap"]["tcp_state"], "ESTABLISHED")
        self.one(act="existing", pid=self.pids["server"], dport=SERVE)


@nf.skip_unless_ready(*TOOLS)
class BadInput(unittest.TestCase):
    """One clear line and status 1 on bad input; the fallback, with a note, when BPF cannot be
    had; nothing lost when the processes are gone before ringcap reads their records."""

    def setUp(self):
        self.tmp = cf.scratch()
        self.addCleanup(self.tmp.cleanup)
        self.addCleanup(nf._kill_all_procs)

    def conn(self, *args, prefix=(), timeout=30):
        return nf.run(list(prefix) + [nf.RINGCAP, "conn"] + [str(a) for a in args],
                      timeout=timeout)

    def assert_one_line_error(self, r, pattern):
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, pattern)
        self.assertEqual(r.stdout, "")

    def test_unknown_pid(self):
        r = self.conn("--pid", "999999999")
        self.assert_one_line_error(r, r"^ringcap conn: --pid 999999999: no such process\n$")

    def test_bad_option_and_value(self):
        self.assert_one_line_error(self.conn("--bogus"), r"^ringcap conn: .*bogus")
        self.assert_one_line_error(self.conn("--attribution", "magic"), r"^ringcap conn: ")
        self.assert_one_line_error(self.conn("-c", "0"), r"^ringcap conn: ")

    def test_no_bpf_capabilities_falls_back(self):
        drop = ["capsh", "--drop=cap_bpf,cap_sys_admin,cap_perfmon", "--"]
        out = os.path.join(self.tmp.name, "out.json")
        r = nf.run(drop + ["-c", f"exec {nf.RINGCAP} conn --duration 0.5 --json -w {out}"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"ringcap conn: BPF attribution is not available \(.*\): "
                                   r"falling back to procfs")
        self.assertIn("recording connections (procfs attribution)", r.stderr)
        # Asked for BPF explicitly: an error naming the privilege, no fallback.
        r = nf.run(drop + ["-c", f"exec {nf.RINGCAP} conn --attribution=bpf --duration 0.5"])
        self.assert_one_line_error(r, r"^ringcap conn: .*\(BPF attribution needs root \(or "
                                      r"CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN\)")

    def test_unprivileged_user_falls_back(self):
        r = self.conn("--duration", "0.5", prefix=["setpriv", "--reuid=65534", "--regid=65534",
                                                   "--clear-groups", "--inh-caps=-all"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("falling back to procfs", r.stderr)
        self.assertRegex(r.stderr, r"records written, \d+ read")

    def test_no_cgroup2(self):
        cg = cf.cgroup2_mount()
        self.assertIsNotNone(cg)
        # A mount namespace without cgroup2 (as `ip netns exec` makes): ringcap mounts it
        # privately for a moment and attributes with BPF.
        unmounted = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                     f'umount -l {cg} && exec "$0" conn "$@"', nf.RINGCAP]
        r = nf.run(unmounted + ["--attribution=bpf", "--duration", "0.5"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("mounted it privately", r.stderr)
        self.assertIn("(bpf attribution)", r.stderr)
        # And where it cannot mount it either (a read-only /run): a clear error, or the fallback.
        unreachable = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                       f'umount -l {cg} && mount -t tmpfs -o ro none /run && '
                       'exec "$0" conn "$@"', nf.RINGCAP]
        r = nf.run(unreachable + ["--attribution=bpf", "--duration", "0.5"])
        self.assert_one_line_error(r, r"^ringcap conn: cgroup v2 is not mounted")
        r = nf.run(unreachable + ["--duration", "0.5"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"not available \(cgroup v2 is not mounted.*falling back")

    def test_processes_gone_before_their_records_are_read(self):
        """ringcap is stopped (SIGSTOP) while 20 processes connect and exit; when it goes on,
        their processes no longer exist, and their records still name them."""
        net = nf.NetPair()
        self.addCleanup(net.close)
        net.add_addresses()
        name = f"rcgone{os.getpid() % 100000}"
        client = cf.build_client(self.tmp.name, name)
        srv = nf.Proc(net.snd(cf.tcp_holder_server("0.0.0.0", HOLD)))
        self.assertTrue(cf.wait_ss(net.snd_ns, ["-ltn"], f"sport = :{HOLD}"), srv.stderr())
        conn = cf.ConnRun(self.tmp.name, "--comm", name)
        try:
            conn.proc.send_signal(signal.SIGSTOP)
            pids = [cf.run_ok(net.cap([client, V4, str(HOLD)])) for _ in range(20)]
            conn.proc.send_signal(signal.SIGCONT)
            time.sleep(1.0)
        finally:
            conn.proc.send_signal(signal.SIGCONT)
            records = conn.stop()
        self.assertEqual(conn.status, 0, conn.stderr)
        got = {cf.pid_of(r) for r in cf.find(records, act="connection_attempted", name=name)}
        self.assertEqual(got, set(pids))
        for r in cf.find(records, name=name):
            self.assertEqual(r["process"]["executable"], client)


if __name__ == "__main__":
    nf.main()
