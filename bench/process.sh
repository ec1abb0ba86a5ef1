#!/usr/bin/env bash
# --process benchmark: a capture's CPU per packet with and without --process, side by side, at
# 100k packets/s and at the most the sender manages, for traffic no local process owns (ringcap
# gen --flows 64) and traffic a real local process owns (iperf3 UDP, 64-byte datagrams). Makes
# its own network namespaces (removed on exit). See bench/process.py.
#
#   bench/process.sh            full run: 3 reps, 5 s per run (~2 min)
#   bench/process.sh --quick    smoke run: 1 rep, 1 s per run (~20 s)
#   (root; writes bench/results/process.md and process_raw.json; extra arguments go to
#   process.py: --reps N, --dur S, --rates 100000,max, --out DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "bench/process.sh: run as root (namespaces, BPF)"; exit 1; }
build=${BUILD:-./build}
ringcap=$(realpath "${RINGCAP:-$build/ringcap}")
[[ -x $ringcap ]] || { echo "bench/process.sh: no $ringcap (run scripts/setup.sh first)"; exit 1; }
for tool in iperf3 nsenter taskset timeout; do
  command -v $tool >/dev/null || { echo "bench/process.sh: $tool missing"; exit 1; }
done
work=$(mktemp -d /tmp/rcproc.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/process.py --ringcap "$ringcap" --work "$work" \
  --out "${OUT:-bench/results}" "$@"
