"""Shared pieces of the ringcap CLI end-to-end tests (Python 3 standard library only).

- NetPair: two network namespaces made for this run, joined by a veth pair (names carry the pid,
  so parallel runs never collide), IPv6 off unless asked for, removed in close() and at exit
  even on failure.
- Proc: a long-running process (ringcap, tcpdump) whose stderr is collected by a thread, so the
  test can wait for "listening on" and stop it with a signal, every wait bounded by a timeout.
- Frame builders (Ethernet, 802.1Q, IPv4/UDP) and send_frames.py to put them on the wire.
- A strict pcap reader, and helpers around capinfos and tshark.
"""
import atexit
import itertools
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import threading
import time
import unittest
from collections import namedtuple

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
SENDER = os.path.join(HERE, "send_frames.py")
RINGCAP = os.environ.get("RINGCAP", "")

CMD_TIMEOUT = 30  # seconds, for any one short command


# --------------------------------------------------------------------------------------------
# Can these tests run here?


def missing_requirement(*tools):
    """Why the tests cannot run (a string), or None when they can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, AF_PACKET)"
    if not RINGCAP or not os.access(RINGCAP, os.X_OK):
        return "RINGCAP does not name the ringcap binary (run through ctest)"
    for tool in ("ip",) + tools:
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def skip_unless_ready(*tools):
    reason = missing_requirement(*tools)
    return unittest.skipIf(reason is not None, reason or "")


# --------------------------------------------------------------------------------------------
# Processes


def run(argv, timeout=CMD_TIMEOUT, check=False, **kw):
    """subprocess.run with a timeout, text output, both streams captured."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(argv, timeout=timeout, check=check, **kw)


def in_ns(ns, argv):
    """argv run inside network namespace ns. ip netns exec execs (no fork): signals sent to the
    Popen's pid reach the program itself."""
    return ["ip", "netns", "exec", ns] + list(argv)


_procs = []


class Proc:
    """A background process: stderr lines are collected as they come; stdout goes to a file
    object, or is collected as bytes when stdout=subprocess.PIPE."""

    def __init__(self, argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=None):
        self.argv = list(argv)
        self.p = subprocess.Popen(self.argv, stdout=stdout, stderr=subprocess.PIPE, stdin=stdin,
                                  env=env)
        self._cond = threading.Condition()
        self._err = []
        self._out = bytearray()
        self._threads = [threading.Thread(target=self._read_err, daemon=True)]
        if stdout == subprocess.PIPE:
            self._threads.append(threading.Thread(target=self._read_out, daemon=True))
        for t in self._threads:
            t.start()
        _procs.append(self)

    def _read_err(self):
        for raw in iter(self.p.stderr.readline, b""):
            with self._cond:
                self._err.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_out(self):
        while True:
            chunk = self.p.stdout.read1(1 << 16)
            if not chunk:
                break
            with self._cond:
                self._out += chunk

    @property
    def pid(self):
        return self.p.pid

    def stderr_lines(self):
        with self._cond:
            return list(self._err)

    def stderr(self):
        return "\n".join(self.stderr_lines())

    def wait_for_stderr(self, pattern, timeout=10.0):
        """Waits until a stderr line matches the regex; False on timeout or if the process ended
        without printing it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if any(rx.search(line) for line in self._err):
                    return True
                if self.p.poll() is not None and not self._threads[0].is_alive():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))

    def send_signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def finish(self, timeout=15.0):
        """Waits for the exit (killing the process if it overstays); returns (status, stdout
        bytes, stderr text). Raises AssertionError when the process had to be killed."""
        killed = False
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=10)
            killed = True
        for t in self._threads:
            t.join(timeout=10)
        for stream in (self.p.stdout, self.p.stderr):
            if stream is not None:
                stream.close()
        if killed:
            raise AssertionError(f"{self.argv} did not exit within {timeout}s; stderr:\n"
                                 + self.stderr())
        with self._cond:
            return self.p.returncode, bytes(self._out), "\n".join(self._err)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def _kill_all_procs():
    for p in list(_procs):
        p.kill()


# --------------------------------------------------------------------------------------------
# Namespaces and veth


_seq = itertools.count()
_pairs = []


def _ip(*args, check=True):
    r = run(["ip"] + list(args))
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def remove_stale_namespaces():
    """Namespaces left by an earlier run that was killed (SIGKILL skips every cleanup): those
    named after a process that no longer exists, or after this one (a reused pid) before it
    made any."""
    r = run(["ip", "netns", "list"])
    for line in r.stdout.splitlines():
        m = re.match(r"^(ringcap-cli-(\d+)-\d+-(?:cap|snd))\b", line)
        if m and (int(m.group(2)) == os.getpid() or not os.path.exists(f"/proc/{m.group(2)}")):
            _ip("netns", "del", m.group(1), check=False)


class NetPair:
    """Namespaces cap_ns and snd_ns joined by veth cap_if <-> snd_if. Nothing but what a test
    sends crosses it: IPv6 is off (no ND/MLD), there are no addresses until add_addresses().
    ipv6=True leaves IPv6 on instead (link-local addresses, router solicitations, MLD reports
    appear on the wire by themselves), and add_addresses() then adds CAP_IP6/SND_IP6 too."""

    CAP_IP = "10.213.0.1"
    SND_IP = "10.213.0.2"
    CAP_IP6 = "fd00:213::1"
    SND_IP6 = "fd00:213::2"

    def __init__(self, ipv6=False):
        n = next(_seq)
        pid = os.getpid()
        if n == 0:
            remove_stale_namespaces()
        self.cap_ns = f"ringcap-cli-{pid}-{n}-cap"
        self.snd_ns = f"ringcap-cli-{pid}-{n}-snd"
        self.cap_if = f"rcc{pid}c{n}"[:15]
        self.snd_if = f"rcc{pid}s{n}"[:15]
        self.ipv6 = ipv6
        self._closed = False
        _pairs.append(self)
        try:
            v6off = "0" if ipv6 else "1"
            for ns in (self.cap_ns, self.snd_ns):
                _ip("netns", "add", ns)
                self._sysctl(ns, f"net.ipv6.conf.all.disable_ipv6={v6off}",
                             f"net.ipv6.conf.default.disable_ipv6={v6off}")
            _ip("link", "add", self.cap_if, "netns", self.cap_ns, "type", "veth",
                "peer", "name", self.snd_if, "netns", self.snd_ns)
            for ns, ifname in ((self.cap_ns, self.cap_if), (self.snd_ns, self.snd_if)):
                self._sysctl(ns, f"net.ipv6.conf.{ifname}.disable_ipv6={v6off}")
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "link", "set", ifname, "up")
            self.cap_mac = self.link_info(self.cap_ns, self.cap_if)["address"]
            self.snd_mac = self.link_info(self.snd_ns, self.snd_if)["address"]
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _sysctl(ns, *settings):
        # -e: a kernel without IPv6 has no such keys, and then nothing needs turning off.
        r = run(in_ns(ns, ["sysctl", "-q", "-e", "-w"] + list(settings)))
        if r.returncode != 0:
            raise RuntimeError(f"sysctl {settings} in {ns}: {r.stderr.strip()}")

    @staticmethod
    def link_info(ns, ifname):
        r = _ip("-j", "-n", ns, "link", "show", "dev", ifname)
        return json.loads(r.stdout)[0]

    def add_addresses(self):
        _ip("-n", self.cap_ns, "addr", "add", self.CAP_IP + "/24", "dev", self.cap_if)
        _ip("-n", self.snd_ns, "addr", "add", self.SND_IP + "/24", "dev", self.snd_if)
        if self.ipv6:
            # nodad: usable at once, no second of duplicate address detection first.
            _ip("-n", self.cap_ns, "addr", "add", self.CAP_IP6 + "/64", "dev", self.cap_if, "nodad")
            _ip("-n", self.snd_ns, "addr", "add", self.SND_IP6 + "/64", "dev", self.snd_if, "nodad")

    def set_cap_up(self, up):
        _ip("-n", self.cap_ns, "link", "set", self.cap_if, "up" if up else "down")

    def close(self):
        if self._closed:
            return
        self._closed = True
        for ns in (self.cap_ns, self.snd_ns):
            _ip("netns", "del", ns, check=False)  # takes its end of the veth with it

    # -- running things in the namespaces --

    def cap(self, argv):
        return in_ns(self.cap_ns, argv)

    def snd(self, argv):
        return in_ns(self.snd_ns, argv)

    def ringcap(self, *args):
        """argv of ringcap run in the capture namespace."""
        return self.cap([RINGCAP] + [str(a) for a in args])

    def send(self, frames, gap=0.0, repeat=1, side="snd", then_down=False, timeout=CMD_TIMEOUT):
        """Sends frames (bytes) in order out of snd_if (side="snd", so they arrive on cap_if)
        or out of cap_if (side="cap"); then_down sets that interface down right after the last
        one. Returns how many were sent."""
        ns, ifname = (self.snd_ns, self.snd_if) if side == "snd" else (self.cap_ns, self.cap_if)
        argv = [PYTHON, SENDER, ifname, "--gap", str(gap), "--repeat", str(repeat)]
        if then_down:
            argv.append("--then-down")
        r = run(in_ns(ns, argv), input="".join(f.hex() + "\n" for f in frames), timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"send_frames.py failed: {r.stderr.strip()}")
        m = re.search(r"sent (\d+) dropped (\d+)", r.stdout)
        if not m or int(m.group(2)) != 0:
            raise RuntimeError(f"send_frames.py: {r.stdout.strip()}")
        return int(m.group(1))

    def flood(self, frames, seconds):
        """Starts sending frames round and round out of snd_if for `seconds`; returns the
        Popen (its stdout says "sent N dropped M"); the caller waits with communicate()."""
        p = subprocess.Popen(self.snd([PYTHON, SENDER, self.snd_if, "--flood", str(seconds)]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        p.stdin.write("".join(f.hex() + "\n" for f in frames))
        p.stdin.close()
        p.stdin = None  # so that communicate() does not touch it again
        return p


def _cleanup_everything():
    _kill_all_procs()
    for pair in list(_pairs):
        pair.close()


atexit.register(_cleanup_everything)


# SIGTERM (ctest's timeout) would skip atexit: turn it into a normal exit.
def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _on_sigterm)


class NetTestCase(unittest.TestCase):
    """Each test gets a fresh NetPair in self.net, removed after the test whatever happened."""

    def setUp(self):
        try:
            self.net = NetPair()
        except RuntimeError as e:
            if "Operation not permitted" in str(e):  # root in a container without CAP_SYS_ADMIN
                self.skipTest(f"cannot make network namespaces: {e}")
            raise
        self.addCleanup(self.net.close)
        self.addCleanup(_kill_all_procs)

    def start_ringcap(self, *args, stdout=subprocess.DEVNULL, env=None, timeout=10.0):
        """Starts ringcap in the capture namespace and waits until it is listening."""
        p = Proc(self.net.ringcap(*args), stdout=stdout, env=env)
        if not p.wait_for_stderr(r"^listening on ", timeout):
            p.kill()
            self.fail(f"ringcap {' '.join(map(str, args))} did not start listening; stderr:\n"
                      + p.stderr())
        return p

    def start_tcpdump(self, *args, timeout=10.0):
        p = Proc(self.net.cap(["tcpdump"] + [str(a) for a in args]))
        if not p.wait_for_stderr(r"listening on ", timeout):
            p.kill()
            self.fail(f"tcpdump {' '.join(map(str, args))} did not start; stderr:\n" + p.stderr())
        return p

    def assert_summary(self, stderr, captured=None):
        """The three tcpdump summary lines; returns (captured, received, dropped)."""
        got = {}
        for key in ("captured", "received by filter", "dropped by kernel"):
            m = re.search(rf"^(\d+) packets? {key}$", stderr, re.M)
            self.assertIsNotNone(m, f"no '... {key}' line in stderr:\n{stderr}")
            got[key] = int(m.group(1))
        if captured is not None:
            self.assertEqual(got["captured"], captured, stderr)
        return got["captured"], got["received by filter"], got["dropped by kernel"]


# --------------------------------------------------------------------------------------------
# Frames


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


BROADCAST = "ff:ff:ff:ff:ff:ff"
OTHER_HOST = "02:00:5e:10:20:30"  # a unicast MAC nobody has: PACKET_OTHERHOST on arrival
MULTICAST = "01:00:5e:01:02:03"


def ipv4_checksum(header):
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0x4000, 64, 17, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    hdr = hdr[:10] + struct.pack("!H", ipv4_checksum(hdr)) + hdr[12:]
    return hdr + udp


def ether(dst, src, ethertype, payload, vlan=None, tpid=0x8100):
    """An Ethernet frame; vlan=(vid, pcp) puts an 802.1Q (or tpid) tag in front of ethertype."""
    head = mac_bytes(dst) + mac_bytes(src)
    if vlan is not None:
        vid, pcp = vlan
        head += struct.pack("!HH", tpid, (pcp << 13) | vid)
    return head + struct.pack("!H", ethertype) + payload


def udp_frame(dst, src, size, dport=7000, sport=40000, vlan=None, tpid=0x8100, fill=0):
    """An IPv4/UDP frame of exactly `size` bytes (tag included), the payload a counting pattern."""
    overhead = 14 + (4 if vlan else 0) + 20 + 8
    n = size - overhead
    if n < 0:
        raise ValueError(f"frame size {size} is below {overhead}")
    payload = bytes((fill + i) & 0xFF for i in range(n))
    ip = ipv4_udp("10.213.0.2", "10.213.0.77", sport, dport, payload)
    return ether(dst, src, 0x0800, ip, vlan=vlan, tpid=tpid)


def raw_frame(dst, src, ethertype, size, vlan=None):
    """A frame of `size` bytes with some EtherType and a filler payload."""
    overhead = 14 + (4 if vlan else 0)
    return ether(dst, src, ethertype, bytes(i & 0xFF for i in range(size - overhead)), vlan=vlan)


def arp_request(src_mac, src_ip, target_ip):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac_bytes(src_mac),
                       bytes(map(int, src_ip.split("."))), b"\0" * 6,
                       bytes(map(int, target_ip.split("."))))
    return ether(BROADCAST, src_mac, 0x0806, body + b"\0" * 18)


# --------------------------------------------------------------------------------------------
# pcap files

PcapRecord = namedtuple("PcapRecord", "ts_sec ts_frac caplen length data")
PcapFile = namedtuple("PcapFile", "nano endian version_major version_minor snaplen linktype "
                      "records")

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL2 = 276


class PcapError(ValueError):
    pass


def parse_pcap(buf, strict=True):
    """Parses a whole pcap file. strict: every byte must belong to a whole record, every record
    must be sane (caplen <= snaplen, caplen <= length, fraction below one second). Otherwise a
    partial last record is ignored (for files still being written)."""
    if len(buf) < 24:
        raise PcapError(f"{len(buf)} bytes: shorter than the 24-byte file header")
    magics = {0xA1B2C3D4: False, 0xA1B23C4D: True}
    for endian in ("<", ">"):
        (magic,) = struct.unpack(endian + "I", buf[:4])
        if magic in magics:
            nano = magics[magic]
            break
    else:
        raise PcapError(f"bad magic {buf[:4].hex()}")
    major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(endian + "HHiIII", buf[4:24])
    records = []
    pos = 24
    limit = 10**9 if nano else 10**6
    while pos < len(buf):
        if pos + 16 > len(buf):
            if strict:
                raise PcapError(f"record {len(records)}: header cut at byte {pos}")
            break
        ts_sec, ts_frac, caplen, length = struct.unpack(endian + "IIII", buf[pos:pos + 16])
        if pos + 16 + caplen > len(buf):
            if strict:
                raise PcapError(f"record {len(records)}: {caplen} data bytes cut at byte {pos}")
            break
        if strict:
            if caplen > snaplen:
                raise PcapError(f"record {len(records)}: caplen {caplen} > snaplen {snaplen}")
            if caplen > length:
                raise PcapError(f"record {len(records)}: caplen {caplen} > length {length}")
            if ts_frac >= limit:
                raise PcapError(f"record {len(records)}: fraction {ts_frac} >= {limit}")
        records.append(PcapRecord(ts_sec, ts_frac, caplen, length,
                                  bytes(buf[pos + 16:pos + 16 + caplen])))
        pos += 16 + caplen
    return PcapFile(nano, endian, major, minor, snaplen, linktype, records)


def pcap_bytes(records, endian="<", nano=False, snaplen=262144, linktype=1):
    """A pcap file: records are (sec, frac, data, wire_len)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = bytearray(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    for sec, frac, data, wire_len in records:
        out += struct.pack(endian + "IIII", sec, frac, len(data), wire_len) + data
    return bytes(out)


def read_pcap(path, strict=True):
    with open(path, "rb") as f:
        return parse_pcap(f.read(), strict)


def count_records(path):
    """Whole records in a file being written (0 if it is not there or has no header yet)."""
    try:
        return len(read_pcap(path, strict=False).records)
    except (OSError, PcapError):
        return 0


def wait_until(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


# --------------------------------------------------------------------------------------------
# Wireshark's readers

_ROOT_WARNING = re.compile(r'^Running as user "root" and group "root"\. This could be dangerous\.$')


def _noise_free(stderr):
    return "\n".join(l for l in stderr.splitlines() if l.strip() and not _ROOT_WARNING.match(l))


def capinfos(path):
    """Runs capinfos; returns (status, {field: value}, stderr without the root warning)."""
    r = run(["capinfos", "-M", path], timeout=120)
    fields = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^([A-Za-z][^:]*?):\s+(.*)$", line)
        if m and m.group(1) not in fields:
            fields[m.group(1)] = m.group(2).strip()
    return r.returncode, fields, _noise_free(r.stderr)


def tshark_read(path):
    """tshark -r: returns (status, one summary line per packet, stderr without the root
    warning)."""
    r = run(["tshark", "-n", "-r", path], timeout=120)
    return r.returncode, [l for l in r.stdout.splitlines() if l.strip()], _noise_free(r.stderr)


# --------------------------------------------------------------------------------------------
# Entry point of every test module

SKIPPED_STATUS = 77  # CTest's SKIP_RETURN_CODE for these tests


def main():
    """unittest.main, but exits with SKIPPED_STATUS when every test was skipped (not root, no
    ringcap, a tool missing), so CTest reports the module as skipped instead of passed."""
    prog = unittest.main(module="__main__", verbosity=2, exit=False)
    result = prog.result
    if not result.wasSuccessful():
        raise SystemExit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        raise SystemExit(SKIPPED_STATUS)
    raise SystemExit(0)
