#!/usr/bin/env bash
# Capture benchmark: ringcap side by side with tcpdump, netsniff-ng and minimal TPACKET_V3/V2
# readers (bench/min_reader_v*.c) - CPU per captured packet, loss and throughput at offered rates
# from 10k pps to the generator's maximum, for 64- and 1514-byte frames; and latency at 500 pps.
# `ringcap gen` sends into one end of a veth pair in a private namespace, pinned to CPU 0; each
# tool captures on the other end, pinned to CPU 1. Tools run interleaved (A B C ..., repeated),
# medians reported. Every run is bounded in time. See bench/README.md.
#
#   bench/capture.sh            full run: 3 reps, 4 rates, 2 sizes, latency (< 15 min)
#   bench/capture.sh --quick    smoke run: 64-byte frames, 1 rep, 2 rates, 1 s per run (~1 min)
#   (root; writes bench/results/capture.md, capture_*.png, capture_raw.json)
#
# Extra arguments go to bench/capture.py (--reps N, --dur S, --rates 10000,max, --sizes 64,
# --only NAME, ...). Environment: BUILD (default ./build) holds the ringcap binary and
# libringcap.a; RINGCAP overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "bench/capture.sh: run as root (namespaces, AF_PACKET)"; exit 1; }
build=${BUILD:-./build}
ringcap=$(realpath "${RINGCAP:-$build/ringcap}")
[[ -x $ringcap ]] || { echo "bench/capture.sh: no $ringcap (run scripts/setup.sh first)"; exit 1; }
for tool in tcpdump netsniff-ng taskset timeout gcc g++ pkg-config; do
  command -v $tool >/dev/null || { echo "bench/capture.sh: $tool missing (scripts/setup.sh installs it)"; exit 1; }
done
py=/usr/bin/python3  # Debian's, where python3-matplotlib lives (not a pyenv/venv python)
if ! $py -c 'import matplotlib' 2>/dev/null; then
  echo "bench/capture.sh: installing python3-matplotlib for the plots"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null
fi

ns="rccap-$$"; a="rccapa$$"; b="rccapb$$"
work=$(mktemp -d /tmp/rccap.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  umount "$work/tmpfs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # until the driver runs

# The helpers, built from bench/ with plain compiler lines (the same programs bench/CMakeLists.txt
# builds), latency_probe against the libringcap.a next to the ringcap binary.
mkdir -p "$work/bin"
for prog in min_reader_v3 min_reader_v2 pcap_latency; do
  gcc -O2 -std=gnu11 -Wall -o "$work/bin/$prog" "bench/$prog.c"
done
lib=$(dirname "$ringcap")/libringcap.a
[[ -f $lib ]] || lib=$build/libringcap.a
if [[ -x $build/bench/latency_probe && ! bench/latency_probe.cpp -nt $build/bench/latency_probe ]]; then
  cp "$build/bench/latency_probe" "$work/bin/"
else
  g++ -O2 -std=c++20 -Wall -Iinclude -o "$work/bin/latency_probe" bench/latency_probe.cpp "$lib" \
    $(pkg-config --libs libpcap)
fi

# A private tmpfs for the -w FILE runs (files are deleted after each run).
mkdir -p "$work/tmpfs"
mount -t tmpfs -o size=6g,mode=0700 tmpfs "$work/tmpfs"

ip netns add "$ns"
ip -n "$ns" link add "$a" type veth peer name "$b"
ip -n "$ns" link set "$a" up
ip -n "$ns" link set "$b" up
for i in "$a" "$b"; do ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done

mkdir -p bench/results
# In the background so that INT/TERM reach the trap at once; the driver stops the processes it
# started (SIGINT, then SIGKILL) before it exits, then the EXIT trap removes the namespace.
$py bench/capture.py --ns "$ns" --tx "$a" --rx "$b" --ringcap "$ringcap" --bin "$work/bin" \
  --work "$work" --tmpfs "$work/tmpfs" --out bench/results "$@" &
driver=$!
trap 'kill -TERM $driver 2>/dev/null; wait $driver; exit 130' INT TERM
wait $driver
