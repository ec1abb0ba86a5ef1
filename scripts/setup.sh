#!/usr/bin/env bash
# Installs what ringcap needs on Debian 12 (as root) and builds it into build/.
# Safe to run again: apt skips what is there, cmake rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  g++ cmake make pkg-config libpcap-dev libcli11-dev libfmt-dev libgtest-dev googletest
  # the machinery the tests and the demo drive, and the tools we cross-check against
  iproute2 iputils-ping curl python3 tcpdump tshark wireshark-common util-linux libcap2-bin procps
  # the servers and clients of the real-traffic recording (tests/cli/traffic.py)
  dnsmasq-base bind9-dnsutils iperf3
  # the tools the benchmarks compare against
  netsniff-ng tcpreplay
  # the benchmark plots (bench/capture.sh)
  python3-matplotlib
  # the fuzz targets (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes; clang
  # also compiles the BPF programs of process attribution (src/procmap/bpf)
  clang libclang-rt-14-dev
  # process attribution: libbpf (skeletons, CO-RE), bpftool (vmlinux.h, skeletons), nettle (SHA-1
  # for Community ID)
  libbpf-dev bpftool nettle-dev
  # the format check (scripts/format.sh --check, a test)
  clang-format-14
  # the man page (ringcap.1, made from --help at build time) and the completion test
  help2man bash-completion
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; the answer does not matter here.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
