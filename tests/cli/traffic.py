"""A recording of real traffic between two network namespaces, for tests that read files
(Python 3 standard library only; builds on netns_fixture).

record(dir) makes a NetPair with IPv6 on, starts servers in the server namespace (snd_ns, address
10.213.0.2 / fd00:213::2), runs clients in the client namespace (cap_ns, 10.213.0.1 /
fd00:213::1) and records everything on the client's end of the veth with `tcpdump -w` (pcap,
microseconds, Ethernet, snapshot length 262144). It takes about five seconds and leaves a file
of about 3 MB (~1500 packets). In order, the recording holds:

- whatever the kernels say by themselves once IPv6 is on: router solicitations, MLD reports,
  neighbour discovery (ICMPv6, multicast);
- ARP: the request and reply before the first IPv4 packet, and a raw ARP request for an address
  nobody has (broadcast);
- `ping` and `ping -6`, 3 echo requests and replies each;
- `curl` fetching / and a 100 kB file from `python3 -m http.server` on port 80, over IPv4 and
  IPv6 (TCP; on the client's end large segments appear whole, up to 64 kB, because veth does
  TSO/GRO);
- `dig` against `dnsmasq` on port 53: A, AAAA, MX, TXT and a name that does not exist (NXDOMAIN)
  over UDP/IPv4, AAAA over UDP/IPv6, and A over TCP (`+tcp`);
- `iperf3` TCP and then UDP (1000-byte datagrams), 1 s each at 10 Mbit/s, with their TCP control
  connections on port 5201;
- a 3000-byte UDP datagram over IPv4 and over IPv6 to a closed port: fragments on the wire (IPv4
  offset/MF, IPv6 fragment header, next header 44), then the ICMP port-unreachable for the
  reassembled datagram;
- a small UDP datagram to a closed port over IPv4 and IPv6: ICMP / ICMPv6 port unreachable;
- raw frames from send_frames.py (this kernel has no 8021q module, so tags are only made by
  hand): IPv4/UDP in 802.1Q tags (VLAN 42 to ports 7000 and 7001, VLAN 7), QinQ (802.1ad outer
  tag VLAN 100 around 802.1Q VLAN 42; and 802.1Q in 802.1Q, 200 around 42), untagged UDP to an
  IPv4 multicast MAC, and a broadcast UDP frame.

The exact packets differ from run to run (addresses are fixed, MACs, ports and timestamps are
not); tests compare tools on the same file, and census() tells what one recording holds.

In a test module:

    class MyTests(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.rec = traffic.Recording.make()   # one recording shared by the module's tests
            cls.addClassCleanup(cls.rec.close)

RINGCAP_TRAFFIC_PCAP=FILE makes Recording.make() use FILE instead of recording one (to iterate
on a test quickly; the two MACs are then guessed as the two most frequent sources).
"""
import os
import signal
import struct
import tempfile
import time
import unittest
from collections import Counter

import netns_fixture as nf

TOOLS = ("tcpdump", "curl", "dig", "dnsmasq", "iperf3", "ping", "ss")

HTTP_PORT = 80
DNS_PORT = 53
IPERF_PORT = 5201
CLOSED_PORT = 9999
FRAG_PORT = 9998
ZONE = "ringcap.test"
BIG_FILE_SIZE = 100_000


def missing_requirement():
    return nf.missing_requirement(*TOOLS)


class TrafficError(RuntimeError):
    pass


def _check(result, what):
    if result.returncode != 0:
        raise TrafficError(f"{what} failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()}")
    return result


def _udp_sender(family, addr, port, size):
    """argv of a one-line Python client sending one `size`-byte UDP datagram."""
    code = (f"import socket; s = socket.socket(socket.{family}, socket.SOCK_DGRAM); "
            f"s.sendto(bytes(range(256)) * {size // 256} + bytes({size % 256}), "
            f"({addr!r}, {port}))")
    return [nf.PYTHON, "-c", code]


def _tagged_udp(dst, src, size, tags, dport=7000, fill=0):
    """An IPv4/UDP frame of `size` bytes behind the VLAN tags [(tpid, vid, pcp), ...] (outer
    first)."""
    head = nf.mac_bytes(dst) + nf.mac_bytes(src)
    for tpid, vid, pcp in tags:
        head += struct.pack("!HH", tpid, (pcp << 13) | vid)
    n = size - len(head) - 2 - 20 - 8
    payload = bytes((fill + i) & 0xFF for i in range(n))
    ip = nf.ipv4_udp(nf.NetPair.SND_IP, nf.NetPair.CAP_IP, 40000, dport, payload)
    return head + struct.pack("!H", 0x0800) + ip


class Recording:
    """A recorded file and what made it. path: the pcap; cap_mac/snd_mac: the client's and the
    server's MAC (the recording is taken on the client's end, cap_if)."""

    def __init__(self, path, cap_mac, snd_mac, tmpdir=None):
        self.path = path
        self.cap_mac = cap_mac
        self.snd_mac = snd_mac
        self._tmp = tmpdir

    @classmethod
    def make(cls):
        """Records into a fresh temporary directory (removed by close())."""
        given = os.environ.get("RINGCAP_TRAFFIC_PCAP")
        if given:
            f = nf.read_pcap(given)
            macs = Counter(r.data[6:12] for r in f.records if len(r.data) >= 14)
            top = [":".join(f"{b:02x}" for b in m) for m, _ in macs.most_common(2)]
            return cls(given, *top)
        tmp = tempfile.TemporaryDirectory(prefix="ringcap-traffic-")
        try:
            path = os.path.join(tmp.name, "traffic.pcap")
            cap_mac, snd_mac = record(path, tmp.name)
        except BaseException:
            tmp.cleanup()
            raise
        return cls(path, cap_mac, snd_mac, tmp)

    def close(self):
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class RecordingCase(unittest.TestCase):
    """Test classes that share one recording, made once per class: rec (the Recording), pcap
    (its records, parsed) and tmp (a scratch directory), all removed after the class."""

    @classmethod
    def setUpClass(cls):
        cls.rec = Recording.make()
        cls.addClassCleanup(cls.rec.close)
        cls.pcap = nf.read_pcap(cls.rec.path)
        cls.tmp = tempfile.TemporaryDirectory(prefix="ringcap-test-")
        cls.addClassCleanup(cls.tmp.cleanup)


def record(path, workdir):
    """Records the traffic described in the module docstring into `path`; returns (client MAC,
    server MAC). Every process is bounded in time; the namespaces are removed before it
    returns."""
    net = nf.NetPair(ipv6=True)
    procs = []
    try:
        net.add_addresses()
        tcpdump = nf.Proc(net.cap(["tcpdump", "-i", net.cap_if, "-w", path, "-U",
                                   "--immediate-mode", "-n", "-Z", "root"]))
        procs.append(tcpdump)
        if not tcpdump.wait_for_stderr(r"listening on ", 10):
            raise TrafficError("tcpdump did not start: " + tcpdump.stderr())
        procs += _start_servers(net, workdir)
        _run_clients(net, workdir)
        _send_raw_frames(net)
        time.sleep(0.5)  # the last replies and any retransmission arrive; then stop recording
        tcpdump.send_signal(signal.SIGINT)
        status, _, err = tcpdump.finish(timeout=15)
        if status != 0:
            raise TrafficError(f"tcpdump -w ended with {status}: {err}")
        return net.cap_mac, net.snd_mac
    finally:
        for p in procs:
            p.kill()
        net.close()


def _wait_listening(net, proto, port, what, proc):
    flag = "-Hltn" if proto == "tcp" else "-Hlun"
    ok = nf.wait_until(lambda: nf.run(net.snd(["ss", flag, f"sport = :{port}"])).stdout.strip()
                       != "", timeout=10)
    if not ok:
        raise TrafficError(f"{what} did not start listening on {proto} port {port}: "
                           + proc.stderr())


def _start_servers(net, workdir):
    www = os.path.join(workdir, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<html><body>ringcap traffic fixture</body></html>\n")
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(bytes(i * 7 & 0xFF for i in range(BIG_FILE_SIZE)))
    # "::" makes http.server dual-stack (IPV6_V6ONLY off): one server for both families.
    http = nf.Proc(net.snd([nf.PYTHON, "-m", "http.server", "--bind", "::", "--directory", www,
                            str(HTTP_PORT)]))
    dns = nf.Proc(net.snd([
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
        "--user=root", "--pid-file", "--bind-interfaces", "--port", str(DNS_PORT),
        f"--listen-address={nf.NetPair.SND_IP}", f"--listen-address={nf.NetPair.SND_IP6}",
        f"--local=/{ZONE}/",  # unknown names in the zone: NXDOMAIN, never forwarded
        f"--host-record=www.{ZONE},{nf.NetPair.SND_IP},{nf.NetPair.SND_IP6}",
        f"--mx-host={ZONE},mail.{ZONE},10",
        f"--txt-record={ZONE},v=ringcap fixture"]))
    iperf = nf.Proc(net.snd(["iperf3", "-s", "-B", nf.NetPair.SND_IP, "-p", str(IPERF_PORT)]))
    procs = [http, dns, iperf]
    try:
        _wait_listening(net, "tcp", HTTP_PORT, "http.server", http)
        _wait_listening(net, "udp", DNS_PORT, "dnsmasq", dns)
        _wait_listening(net, "tcp", IPERF_PORT, "iperf3 -s", iperf)
    except BaseException:
        for p in procs:
            p.kill()
        raise
    return procs


def _run_clients(net, workdir):
    v4, v6 = nf.NetPair.SND_IP, nf.NetPair.SND_IP6
    cli = net.cap

    _check(nf.run(cli(["ping", "-c", "3", "-i", "0.2", "-W", "2", v4]), timeout=20), "ping")
    _check(nf.run(cli(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", v6]), timeout=20),
           "ping -6")

    got = os.path.join(workdir, "got")
    for url in (f"http://{v4}:{HTTP_PORT}/", f"http://{v4}:{HTTP_PORT}/blob",
                f"http://[{v6}]:{HTTP_PORT}/", f"http://[{v6}]:{HTTP_PORT}/blob"):
        _check(nf.run(cli(["curl", "-sS", "--max-time", "10", "-o", got, url]), timeout=20),
               f"curl {url}")

    dig = ["dig", "+time=2", "+tries=1", "-p", str(DNS_PORT)]
    queries = [([f"@{v4}", f"www.{ZONE}", "A"], "NOERROR"),
               ([f"@{v4}", f"www.{ZONE}", "AAAA"], "NOERROR"),
               ([f"@{v4}", ZONE, "MX"], "NOERROR"),
               ([f"@{v4}", ZONE, "TXT"], "NOERROR"),
               ([f"@{v4}", f"nope.{ZONE}", "A"], "NXDOMAIN"),
               ([f"@{v6}", f"www.{ZONE}", "AAAA"], "NOERROR"),
               (["+tcp", f"@{v4}", f"www.{ZONE}", "A"], "NOERROR")]
    for args, rcode in queries:
        r = _check(nf.run(cli(dig + args), timeout=15), f"dig {' '.join(args)}")
        if f"status: {rcode}" not in r.stdout:
            raise TrafficError(f"dig {' '.join(args)}: expected {rcode}:\n{r.stdout}")

    iperf = ["iperf3", "-c", v4, "-p", str(IPERF_PORT), "-t", "1", "-b", "10M",
             "--connect-timeout", "3000"]
    _check(nf.run(cli(iperf), timeout=20), "iperf3 TCP")
    _check(nf.run(cli(iperf + ["-u", "-l", "1000"]), timeout=20), "iperf3 UDP")

    for family, addr in (("AF_INET", v4), ("AF_INET6", v6)):
        _check(nf.run(cli(_udp_sender(family, addr, FRAG_PORT, 3000))), "fragmented UDP")
        _check(nf.run(cli(_udp_sender(family, addr, CLOSED_PORT, 32))), "UDP to a closed port")
    time.sleep(0.2)  # the unreachables come back within a millisecond; leave them time anyway


def _send_raw_frames(net):
    """Frames no program here makes: VLAN tags, QinQ, a multicast and a broadcast frame, an ARP
    request nobody answers. Sent from the server's end, so they arrive on the recorded end."""
    src, dst = net.snd_mac, net.cap_mac
    frames = [
        _tagged_udp(dst, src, 200, [(0x8100, 42, 5)]),
        _tagged_udp(dst, src, 1200, [(0x8100, 42, 0)], fill=1),
        _tagged_udp(dst, src, 300, [(0x8100, 42, 1)], dport=7001, fill=2),
        _tagged_udp(dst, src, 120, [(0x8100, 7, 3)], fill=3),
        _tagged_udp(dst, src, 140, [(0x88A8, 100, 2), (0x8100, 42, 0)], fill=4),
        _tagged_udp(dst, src, 1400, [(0x88A8, 100, 0), (0x8100, 42, 0)], fill=5),
        _tagged_udp(dst, src, 160, [(0x8100, 200, 0), (0x8100, 42, 6)], fill=6),
        nf.udp_frame(nf.MULTICAST, src, 90, fill=7),
        nf.udp_frame(nf.BROADCAST, src, 70, dport=7002, fill=8),
        nf.arp_request(src, nf.NetPair.SND_IP, "10.213.0.99"),
    ]
    net.send(frames, gap=0.002)


# --------------------------------------------------------------------------------------------
# What a recording holds


def census(records):
    """Counts of records by kind (a record can count under several kinds): what the recording
    holds, to check it and to describe it. Parses the link, VLAN, IPv4/IPv6 and transport
    headers itself (no libpcap), following IPv6 hop-by-hop and fragment headers (the latter only
    to their next header)."""
    c = Counter()
    for r in records:
        d = r.data
        c["all"] += 1
        if d[0:6] == b"\xff" * 6:
            c["ether broadcast"] += 1
        elif d[0] & 1:
            c["ether multicast"] += 1
        pos, etype, tags = 12, None, 0
        while pos + 2 <= len(d):
            etype = int.from_bytes(d[pos:pos + 2], "big")
            if etype in (0x8100, 0x88A8) and pos + 6 <= len(d):
                tags += 1
                pos += 4
                continue
            break
        pos += 2
        if tags == 1:
            c["802.1Q"] += 1
        elif tags >= 2:
            c["QinQ"] += 1
        if r.length > 1514:
            c["longer than 1514 (TSO/GRO)"] += 1
        if etype == 0x0806:
            c["arp"] += 1
        elif etype == 0x0800:
            c["ipv4"] += 1
            ihl = (d[pos] & 0xF) * 4
            proto, frag = d[pos + 9], int.from_bytes(d[pos + 6:pos + 8], "big")
            if frag & 0x3FFF:
                c["ipv4 fragment"] += 1
            l4 = pos + ihl if not frag & 0x1FFF else None
            _count_l4(c, proto, d, l4, "icmp")
        elif etype == 0x86DD:
            c["ipv6"] += 1
            nxt, l4 = d[pos + 6], pos + 40
            if nxt == 0:  # hop-by-hop options (MLD reports carry router alert)
                c["ipv6 hop-by-hop"] += 1
                nxt, l4 = d[l4], l4 + (d[l4 + 1] + 1) * 8
            if nxt == 44:
                c["ipv6 fragment"] += 1
                offset = int.from_bytes(d[l4 + 2:l4 + 4], "big") >> 3
                nxt, l4 = d[l4], (l4 + 8 if offset == 0 else None)
            _count_l4(c, nxt, d, l4, "icmp6")
        elif etype is not None:
            c[f"ethertype 0x{etype:04x}"] += 1
    return c


def _count_l4(c, proto, d, l4, icmp_name):
    name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}.get(proto, f"ip proto {proto}")
    c[name] += 1
    if l4 is None or l4 + 4 > len(d):
        return
    if name in ("tcp", "udp"):
        sport, dport = int.from_bytes(d[l4:l4 + 2], "big"), int.from_bytes(d[l4 + 2:l4 + 4], "big")
        for port, what in ((DNS_PORT, "dns"), (HTTP_PORT, "http"), (IPERF_PORT, "iperf3")):
            if port in (sport, dport):
                c[f"{what} ({name})"] += 1
        if name == "tcp" and d[l4 + 13] & 0x12 == 0x02:
            c["tcp syn"] += 1
    elif name == icmp_name:
        kinds = {"icmp": {0: "echo reply", 8: "echo request", 3: "unreachable"},
                 "icmp6": {128: "echo request", 129: "echo reply", 1: "unreachable",
                           133: "router solicitation", 135: "neighbour solicitation",
                           136: "neighbour advertisement", 143: "MLDv2 report"}}[name]
        c[f"{name} {kinds.get(d[l4], f'type {d[l4]}')}"] += 1


def describe(path):
    """census() of a file, as text: one 'kind: count' per line."""
    counts = census(nf.read_pcap(path).records)
    width = max(map(len, counts))
    return "\n".join(f"{k:<{width}}  {v}" for k, v in sorted(counts.items()))


if __name__ == "__main__":
    # python3 tests/cli/traffic.py [OUT.pcap]: records (as root) and prints the census.
    import sys
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "traffic.pcap")
    with tempfile.TemporaryDirectory(prefix="ringcap-traffic-") as tmp:
        record(out, tmp)
    print(out)
    print(describe(out))
