#!/usr/bin/env bash
# Read benchmark: ringcap -r vs tcpdump -r on a >= 1 GiB pcap on tmpfs (to /dev/null, with and
# without filters), and ringcap -r -w FILE vs cat (the copy limit). Interleaved runs, medians.
# See bench/README.md.
#
#   bench/read.sh                          1100 MiB file, 3 reps (a few minutes)
#   bench/read.sh --size-mib 16 --reps 1   smoke run (seconds)
#   (writes bench/results/read.md and read_raw.json; --out DIR elsewhere)
#
# Environment: BUILD (default ./build) holds the ringcap binary; RINGCAP overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-./build}
ringcap=$(realpath "${RINGCAP:-$build/ringcap}")
[[ -x $ringcap ]] || { echo "bench/read.sh: no $ringcap (run scripts/setup.sh first)"; exit 1; }
for tool in tcpdump gcc cat; do
  command -v $tool >/dev/null || { echo "bench/read.sh: $tool missing (scripts/setup.sh installs it)"; exit 1; }
done

# The big files live on /dev/shm (tmpfs: the disk is not what is measured) in a directory of
# this run, removed on exit whatever happens.
work=$(mktemp -d /dev/shm/ringcap-read.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

gcc -O2 -std=gnu11 -Wall -o "$work/make_pcap" bench/make_pcap.c
/usr/bin/python3 bench/read.py --ringcap "$ringcap" --make-pcap "$work/make_pcap" \
  --work "$work" "$@"
