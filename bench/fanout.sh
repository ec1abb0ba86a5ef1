#!/usr/bin/env bash
# Fanout scaling: where one capture thread is the bottleneck (a CPU-bound sink), how much more do
# two workers take? And what does --merge cost against a file per worker?
#   bench/fanout.sh                 # full run (~6 min): bench/results/fanout.md
#   bench/fanout.sh --quick         # 1 s per point, fewer rates (a smoke run)
# One network namespace holding a veth pair (names unique to the run, removed on exit);
# `ringcap gen --flows 64` sends into one end pinned to CPU 0, ringcap captures the other.
# Environment: BUILD (default ./build) holds the ringcap binary; RINGCAP overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "bench/fanout.sh: run as root (namespaces, AF_PACKET)"; exit 1; }
build=${BUILD:-./build}
ringcap=$(realpath "${RINGCAP:-$build/ringcap}")
[[ -x $ringcap ]] || { echo "bench/fanout.sh: no $ringcap (run scripts/setup.sh first)"; exit 1; }

ns="rcfan-$$"; a="rcfana$$"; b="rcfanb$$"
work=$(mktemp -d /tmp/rcfan.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  umount "$work/tmpfs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/tmpfs"
mount -t tmpfs -o size=4g,mode=0700 tmpfs "$work/tmpfs"
ip netns add "$ns"
ip -n "$ns" link add "$a" type veth peer name "$b"
ip -n "$ns" link set "$a" up
ip -n "$ns" link set "$b" up
for i in "$a" "$b"; do ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done

mkdir -p bench/results
/usr/bin/python3 bench/fanout.py --ns "$ns" --tx "$a" --rx "$b" --ringcap "$ringcap" \
  --tmpfs "$work/tmpfs" --out bench/results "$@" &
driver=$!
trap 'kill -TERM $driver 2>/dev/null; wait $driver; exit 130' INT TERM
wait $driver
