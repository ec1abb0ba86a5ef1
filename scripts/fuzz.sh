#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each one for
# SECONDS (default 20) from a seed corpus its seed script writes (tests/fuzz/CMakeLists.txt:
# ringcap_fuzzer(... SEEDS script)). Fails on a crash, a sanitizer report, a leak, an input
# slower than 10 s or over the memory limit; the input that did it is left in build-fuzz/.
#
#   scripts/fuzz.sh [SECONDS]      (the test command runs it briefly; longer runs: 600 or more)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ missing (scripts/setup.sh installs clang)"; exit 1; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRINGCAP_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzzers >/dev/null
list=build-fuzz/tests/fuzz/fuzzers.txt
[[ -s $list ]] || { echo "fuzz.sh: no fuzzers listed in $list"; exit 1; }
status=0
while read -r name binary seeds; do
  corpus=build-fuzz/corpus-$name
  mkdir -p "$corpus"
  if [[ $seeds != - ]]; then
    /usr/bin/python3 "$seeds" "$corpus" >/dev/null
  fi
  echo "fuzz.sh: $name for ${seconds}s ($(ls "$corpus" | wc -l) inputs in $corpus)"
  # -rss_limit_mb: the readers' own limits (a 16 MiB block at most) are far below it.
  if ! (cd build-fuzz && "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -max_len=65536 -print_final_stats=1 "corpus-$name" >"fuzz-$name.log" 2>&1); then
    tail -40 "build-fuzz/fuzz-$name.log"
    echo "fuzz.sh: $name FAILED (log: build-fuzz/fuzz-$name.log)"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "build-fuzz/fuzz-$name.log" || true
  fi
done <"$list"
exit $status
