#!/usr/bin/python3
"""Sends raw Ethernet frames on one interface through an AF_PACKET SOCK_RAW socket.

Run it inside a network namespace: ip netns exec NS python3 send_frames.py IFACE [options].
Frames come on standard input, one per line as hex, and go out in that order. With --flood
SECONDS the frames are sent round and round until the time is up (ENOBUFS from a full backlog
is counted and skipped). With --then-down the interface is set down right after the last
frame (microseconds later, same process). Prints one line on stdout when done: "sent N dropped M".
"""
import argparse
import errno
import fcntl
import socket
import struct
import sys
import time

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def set_down(ifname: str) -> None:
    ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = struct.pack("16sH14x", ifname.encode(), 0)
    flags = struct.unpack("16sH14x", fcntl.ioctl(ctl, SIOCGIFFLAGS, ifr))[1]
    fcntl.ioctl(ctl, SIOCSIFFLAGS, struct.pack("16sH14x", ifname.encode(), flags & ~IFF_UP))
    ctl.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--gap", type=float, default=0.0, help="seconds between frames")
    ap.add_argument("--repeat", type=int, default=1, help="send the whole list this many times")
    ap.add_argument("--flood", type=float, default=0.0, help="send in a loop for this many seconds")
    ap.add_argument("--then-down", action="store_true", help="set the interface down at once")
    args = ap.parse_args()

    frames = [bytes.fromhex(line.strip()) for line in sys.stdin if line.strip()]
    if not frames:
        print("no frames on standard input", file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((args.iface, 0))
    sent = dropped = 0

    def send(frame: bytes) -> None:
        nonlocal sent, dropped
        try:
            s.send(frame)
            sent += 1
        except OSError as e:
            if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                raise
            dropped += 1

    if args.flood > 0:
        end = time.monotonic() + args.flood
        n = len(frames)
        i = 0
        while True:
            for _ in range(256):  # look at the clock only now and then
                send(frames[i])
                i = i + 1 if i + 1 < n else 0
            if time.monotonic() >= end:
                break
    else:
        for _ in range(args.repeat):
            for frame in frames:
                send(frame)
                if args.gap > 0:
                    time.sleep(args.gap)
    if args.then_down:
        set_down(args.iface)
    s.close()
    print(f"sent {sent} dropped {dropped}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
