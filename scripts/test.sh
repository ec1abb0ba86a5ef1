#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, live netns integration, CLI cross-checks).
# Run as root: the live tests create their own network namespaces and veth pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir build --output-on-failure --timeout 300 "$@"
