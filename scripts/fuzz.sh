#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each one for
# SECONDS (default 20) from a seed corpus made by tests/fuzz/make_seeds.py. Fails on a crash,
# a sanitizer report, a leak or a timeout; the input that did it is left in build-fuzz/.
#
#   scripts/fuzz.sh [SECONDS]      (the test command runs it briefly; longer runs: 600 or more)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ missing (scripts/setup.sh installs clang)"; exit 1; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRINGCAP_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(fuzz_pcap_reader fuzz_decode)
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}" >/dev/null
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus-$t
  mkdir -p "$corpus"
  seeds=tests/fuzz/make_seeds_${t#fuzz_}.py; [[ -f $seeds ]] || seeds=tests/fuzz/make_seeds.py
  /usr/bin/python3 "$seeds" "$corpus" >/dev/null
  echo "fuzz.sh: $t for ${seconds}s"
  (cd build-fuzz && "./tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
     -max_len=65536 -print_final_stats=1 "corpus-$t" 2>&1 | tail -12)
done
