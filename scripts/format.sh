#!/usr/bin/env bash
# Formats every C and C++ file of the repository with clang-format 14 and the .clang-format at
# its root; --check changes nothing and fails, naming the files, if any would change (a ctest
# entry runs it, so CI enforces the format). Tables that read better by hand sit between
# "// clang-format off" and "// clang-format on".
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format-14 >/dev/null || { echo "scripts/format.sh: clang-format-14 missing (scripts/setup.sh installs it)"; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.c' '*.h')
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format-14 --dry-run --Werror "$f" 2>/dev/null || bad+=("$f")
  done
  if ((${#bad[@]})); then
    echo "scripts/format.sh: not formatted (run scripts/format.sh): ${bad[*]}"
    exit 1
  fi
  echo "scripts/format.sh: ${#files[@]} files formatted"
else
  clang-format-14 -i "${files[@]}"
fi
