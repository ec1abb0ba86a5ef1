#!/usr/bin/python3
"""Writes a seed corpus for the reader fuzzer into DIR: small pcap files (both byte orders,
micro and nano, truncated) and pcapng files (both byte orders, several sections and interfaces,
enhanced, simple and obsolete packet blocks, statistics and unknown blocks, damaged variants).

    make_seeds.py DIR
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import netns_fixture as nf  # noqa: E402


def frames():
    return [nf.udp_frame("02:00:00:00:00:0b", "02:00:00:00:00:0a", n, fill=n % 7)
            for n in (60, 98, 300, 1514)] + [nf.arp_request("02:00:00:00:00:0a", "10.0.0.1",
                                                            "10.0.0.2")]


def records():
    return [(1_700_000_000 + i, 1000 * i, f, len(f)) for i, f in enumerate(frames())]


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def block(e, btype, body):
    body = pad(body)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def option(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + pad(value)


def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1)
                 + option(e, 4, b"seed") + option(e, 0, b""))


def idb(e, link, snaplen, tsresol=None, name=b"", tsoffset=0):
    opts = (option(e, 2, name) if name else b"") + (
        option(e, 9, bytes([tsresol])) if tsresol is not None else b"") + (
        option(e, 14, struct.pack(e + "q", tsoffset)) if tsoffset else b"")
    return block(e, 1, struct.pack(e + "HHI", link, 0, snaplen) + opts + option(e, 0, b""))


def epb(e, iface, ts, data, flags=None):
    opts = option(e, 2, struct.pack(e + "I", flags)) + option(e, 0, b"") if flags else b""
    return block(e, 6, struct.pack(e + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                   len(data)) + pad(data) + opts)


def spb(e, data):
    return block(e, 3, struct.pack(e + "I", len(data)) + data)


def pb(e, iface, ts, data):
    return block(e, 2, struct.pack(e + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                   len(data)) + data)


def isb(e):
    return block(e, 5, struct.pack(e + "III", 0, 0, 0) + option(e, 4, struct.pack(e + "Q", 5))
                 + option(e, 0, b""))


def pcapng(e):
    f = frames()
    return (shb(e) + idb(e, 1, 262144, 9, b"eth0") + epb(e, 0, 10**18, f[0], 1)
            + block(e, 0x40000BAD, b"xxxx") + idb(e, 276, 0, 0x94, b"any", -5)
            + epb(e, 1, 2**40, f[1], 2) + spb(e, f[2]) + pb(e, 1, 7, f[3]) + isb(e)
            + shb(e) + idb(e, 101, 100, 3) + epb(e, 0, 12345, f[4][14:]))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "le_micro.pcap": nf.pcap_bytes(records()),
        "be_nano.pcap": nf.pcap_bytes(records(), endian=">", nano=True),
        "raw_ip.pcap": nf.pcap_bytes([(1, 2, f[14:], len(f) - 14) for f in frames()],
                                     linktype=101),
        "le.pcapng": pcapng("<"),
        "be.pcapng": pcapng(">"),
    }
    for name, content in list(seeds.items()):
        seeds["cut_" + name] = content[: len(content) * 2 // 3]
    seeds["garbage_after.pcapng"] = pcapng("<") + b"not a block at all, just text\n"
    for name, content in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()
