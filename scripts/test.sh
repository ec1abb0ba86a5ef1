#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, live netns integration, CLI cross-checks).
# Run as root: the live tests create their own network namespaces and veth pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir build --output-on-failure --timeout 300 "$@"

# The unit and integration tests once more, built with AddressSanitizer and UndefinedBehavior-
# Sanitizer (build-asan/; any report fails the test). RINGCAP_SANITIZE_TESTS=0 skips this.
if [[ ${RINGCAP_SANITIZE_TESTS:-1} != 0 ]]; then
  cmake -S . -B build-asan -DRINGCAP_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-asan -j"$(nproc)" --target unit_and_integration
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L "unit|integration" --output-on-failure --timeout 300
fi
