#!/usr/bin/env bash
# Connection-log benchmark: the CPU of `ringcap conn` (process + its BPF programs) while local
# clients open and close 1,000 TCP connections per second for 30 s, with 100 bytes and then with
# ~145 kB (100k packets/s) on each, side by side with a /proc-scanning attributor (`ss -tanp`
# once a second): CPU and the fraction of connections each names with the right process. Makes
# its own network namespaces (removed on exit). See bench/conn.py.
#
#   bench/conn.sh                      full run (~2.5 min)
#   bench/conn.sh --seconds 5          shorter
#   (root; writes bench/results/conn.md and conn_raw.json; extra arguments go to conn.py)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "bench/conn.sh: run as root (namespaces, BPF)"; exit 1; }
build=${BUILD:-./build}
ringcap=$(realpath "${RINGCAP:-$build/ringcap}")
[[ -x $ringcap ]] || { echo "bench/conn.sh: no $ringcap (run scripts/setup.sh first)"; exit 1; }
for tool in ss taskset gcc; do
  command -v $tool >/dev/null || { echo "bench/conn.sh: $tool missing"; exit 1; }
done
work=$(mktemp -d /tmp/rcconn.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -std=gnu11 -Wall -pthread -o "$work/conn_load" bench/conn_load.c
/usr/bin/python3 bench/conn.py --ringcap "$ringcap" --load "$work/conn_load" \
  --out "${OUT:-bench/results}" "$@"
