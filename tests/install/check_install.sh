#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds the examples against it twice: as a
# CMake package (find_package(ringcap)) and with pkg-config. Each program must then run and
# print its usage (it needs an interface to do more). Removes the prefix on exit.
set -euo pipefail
build=$(realpath "$1")
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/ringcap-install.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/ringcap/ringcap.hpp"
test -f "$work/prefix/lib/pkgconfig/ringcap.pc"
test -x "$work/prefix/bin/ringcap"

# The man page (from --help: every option it lists is on the page) and bash completion.
page="$work/prefix/share/man/man1/ringcap.1"
test -f "$page"
text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
for opt in -i -w -r -c -F -V -Z --print --number --immediate-mode --version; do
  grep -q -- "$opt" <<<"$text" || { echo "ringcap.1 does not mention $opt"; exit 1; }
done
grep -q "PRIVILEGES" <<<"$text" || { echo "ringcap.1 lacks its PRIVILEGES section"; exit 1; }
completion="$work/prefix/share/bash-completion/completions/ringcap"
test -f "$completion"
words=$(PATH="$work/prefix/bin:$PATH" bash -c '
  source /usr/share/bash-completion/bash_completion
  source "$1"
  COMP_WORDS=(ringcap --imm); COMP_CWORD=1; COMP_LINE="ringcap --imm"; COMP_POINT=${#COMP_LINE}
  _ringcap; echo "${COMPREPLY[*]}"
  COMP_WORDS=(ringcap -Q ""); COMP_CWORD=2; COMP_LINE="ringcap -Q "; COMP_POINT=${#COMP_LINE}
  _ringcap; echo "${COMPREPLY[*]}"' _ "$completion")
[[ $words == $'--immediate-mode\nin out inout' ]] ||
  { echo "bash completion gave: $words"; exit 1; }

# CMake package.
cmake -S "$src/examples" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" -j2 >/dev/null
for exe in minimal_capture epoll_capture; do
  out=$(LD_LIBRARY_PATH="$work/prefix/lib" "$work/cmake/$exe" 2>&1 || true)
  grep -q "usage" <<<"$out" || { echo "$exe (find_package) printed: $out"; exit 1; }
  # It links the installed shared library, not something from the build tree.
  # (ldd's output in a variable first: grep -q leaving early would fail the pipe, pipefail)
  libs=$(LD_LIBRARY_PATH="$work/prefix/lib" ldd "$work/cmake/$exe")
  grep -q "$work/prefix/lib/libringcap.so" <<<"$libs" ||
    { echo "$exe does not use the installed libringcap.so: $libs"; exit 1; }
done

# pkg-config.
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
g++ -O1 -o "$work/minimal_pc" "$src/examples/minimal/main.cpp" $(pkg-config --cflags --libs ringcap)
out=$(LD_LIBRARY_PATH="$work/prefix/lib" "$work/minimal_pc" 2>&1 || true)
grep -q "usage" <<<"$out" || { echo "minimal (pkg-config) printed: $out"; exit 1; }
echo "installed package: find_package and pkg-config builds run"
