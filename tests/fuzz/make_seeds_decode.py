#!/usr/bin/python3
"""Seed corpus for the decoder fuzzer: each file is one options byte and one frame, taken from
the pcap seeds (tests/fuzz/make_seeds.py) and from hand-made frames of the protocols decoded
(TCP with options, DNS query and answer, ICMP, ICMPv6, IPv6 with extension headers, QinQ).

    make_seeds_decode.py DIR
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import netns_fixture as nf  # noqa: E402

A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def ipv4(proto, payload, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02", frag=0x4000):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, frag, 64, proto, 0, src, dst)
    return h + payload


def ipv6(next_header, payload):
    return struct.pack("!IHBB16s16s", 0x60012345, len(payload), next_header, 64,
                       b"\xfd" + b"\0" * 14 + b"\1", b"\xfd" + b"\0" * 14 + b"\2") + payload


def dns_query():
    return (struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 1) + b"\3www\7example\4test\0"
            + struct.pack("!HH", 1, 1))


def dns_answer():
    q = b"\3www\7example\4test\0" + struct.pack("!HH", 1, 1)
    return (struct.pack("!HHHHHH", 0x1234, 0x8580, 1, 2, 0, 0) + q
            + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\x0a\0\0\x05"
            + b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 2) + b"\xc0\x0c")


def frames():
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 2000, 0xA0, 0x12, 64240, 0, 0) + bytes(
        [2, 4, 5, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])
    udp_dns = struct.pack("!HHHH", 5353, 53, 8 + len(dns_query()), 0) + dns_query()
    udp_ans = struct.pack("!HHHH", 53, 5353, 8 + len(dns_answer()), 0) + dns_answer()
    icmp = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + bytes(56)
    icmp6 = struct.pack("!BBHI", 135, 0, 0, 0) + b"\xfd" + bytes(14) + b"\2"
    hbh_frag = bytes([44, 0, 1, 4, 0, 0, 0, 0]) + struct.pack("!BBHI", 17, 0, 0, 99) + \
        struct.pack("!HHHH", 1, 2, 30, 0) + bytes(22)
    eth = lambda t, p: nf.ether(B, A, t, p)  # noqa: E731
    return [eth(0x0800, ipv4(6, tcp + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
            eth(0x0800, ipv4(17, udp_dns)), eth(0x0800, ipv4(17, udp_ans)),
            eth(0x0800, ipv4(1, icmp)), eth(0x0800, ipv4(17, bytes(40), frag=0x2010)),
            eth(0x86DD, ipv6(58, icmp6)), eth(0x86DD, ipv6(0, hbh_frag)),
            nf.arp_request(A, "10.0.0.1", "10.0.0.2"),
            nf.udp_frame(B, A, 200, vlan=(42, 3)), nf.udp_frame(B, A, 120, vlan=(7, 1), tpid=0x88A8),
            nf.raw_frame(B, A, 0x88B5, 64)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for i, f in enumerate(frames()):
        for pick in (0x00, 0x41, 0x83, 0x16, 0x2c):  # Ethernet; SLL2 and raw IP get the same bytes
            with open(os.path.join(out, f"frame{i}_{pick:02x}"), "wb") as fh:
                fh.write(bytes([pick]) + f)
            n += 1
        sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, bytes(8)) + f[14:]
        with open(os.path.join(out, f"sll2_{i}"), "wb") as fh:
            fh.write(bytes([0x01]) + sll2)
        with open(os.path.join(out, f"raw_{i}"), "wb") as fh:
            fh.write(bytes([0x02]) + f[14:])
        n += 2
    print(f"{n} seeds in {out}")


if __name__ == "__main__":
    main()
