#!/usr/bin/env bash
# Soak test: ringcap under a steady flood for a long time, with everything that can happen to a
# long capture happening again and again, and every file and counter checked.
#
# In a private namespace with a veth pair, three `ringcap gen` flood one end at RATE frames/s in
# all (64, 512 and 1514 bytes, 8 flows each) while ringcap captures the other end with size
# rotation (-s 96 -C 4M: ~80 files a cycle at the default rate, every one of them checked).
# The run is cut into cycles of CYCLE seconds; in each cycle ringcap gets SIGUSR1 every few
# seconds (it must stay alive: the loss ledger prints its status line on SIGUSR1 where that is
# built; without it the signal must not kill the capture either), the sending end goes down and
# up again (the capture's carrier drops, the capture must go on), and the cycle ends with SIGINT.
# Every third cycle instead ends with the capturing interface itself going down (ringcap must
# drain its ring, exit 1 and say "the interface went down"). After each cycle:
#   - the exit status and the three summary lines;
#   - every file (rotated and last) is a complete pcap: headers, record lengths, no partial
#     record, no .part file left, no file over -C; kept until checked (no -W, so that the
#     records can be counted);
#   - the records in the files add up to "N packets captured", each frame's sequence number
#     (ringcap gen stamps one) appears once, in increasing order;
#   - "received by filter" >= captured, and what the kernel dropped is reported.
# Prints one line per cycle and a summary; exits 1 on the first broken promise.
#
#   bench/soak.sh [SECONDS] [CYCLE]        (root; default 600 s in 60 s cycles; smoke: 60 20)
#   RATE=100000 bench/soak.sh              (frames per second; default 50000)
#   SOAK_USR1=0 bench/soak.sh              (no SIGUSR1: for a ringcap without a handler for it)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
cycle=${2:-60}
rate=${RATE:-50000}
usr1=${SOAK_USR1:-1}
ringcap=$(realpath "${RINGCAP:-./build/ringcap}")
[[ $(id -u) == 0 ]] || { echo "bench/soak.sh: needs root (namespaces)"; exit 1; }

ns="rcsoak-$$"; a="rcsa$$"; b="rcsb$$"
work=$(mktemp -d /tmp/ringcap-soak.XXXXXX)
chmod 755 "$work"  # ringcap writes here as its -Z user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add "$a" type veth peer name "$b"
ip -n "$ns" link set "$a" up
ip -n "$ns" link set "$b" up
for i in "$a" "$b"; do ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
in_ns() { ip netns exec "$ns" "$@"; }

check_cycle() {  # dir status stderr-file expect-down
  python3 - "$@" <<'PY'
import glob, os, re, struct, sys
d, status, errfile, down = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
err = open(errfile).read()
def fail(why):
    print(f"soak: FAILED: {why}\n--- ringcap stderr ---\n{err}")
    sys.exit(1)
if status != (1 if down else 0):
    fail(f"exit status {status}")
if down and "went down" not in err:
    fail("no 'went down' message")
counts = {}
for key in ("captured", "received by filter", "dropped by kernel"):
    found = re.findall(rf"^(\d+) packets? {key}$", err, re.M)  # SIGUSR1 prints them too: the last
    if not found:
        fail(f"no '{key}' line")
    counts[key] = int(found[-1])
if glob.glob(os.path.join(d, ".*.part")):
    fail("a .part file was left")
files = sorted(glob.glob(os.path.join(d, "soak.pcap*")), key=os.path.getmtime)
records, last_seq = 0, {}
for path in files:
    buf = open(path, "rb").read()
    if len(buf) > 4 * 1024 * 1024:
        fail(f"{path} passes -C: {len(buf)} bytes")
    if len(buf) < 24 or struct.unpack_from("<I", buf)[0] != 0xA1B2C3D4:
        fail(f"{path}: not a pcap file")
    at = 24
    while at < len(buf):
        if at + 16 > len(buf):
            fail(f"{path}: partial record header at {at}")
        _, _, caplen, length = struct.unpack_from("<IIII", buf, at)
        if caplen > length or at + 16 + caplen > len(buf):
            fail(f"{path}: bad or partial record at {at}")
        data = buf[at + 16: at + 16 + caplen]
        if len(data) >= 42 + 8 and data[12:14] == b"\x08\x00" and data[23] == 17:
            gen = struct.unpack_from("!H", data, 34)[0] // 100  # each generator's ports
            seq = struct.unpack_from("!Q", data, 42)[0]
            if seq <= last_seq.get(gen, -1):
                fail(f"{path}: sequence {seq} of generator {gen} repeated or out of order")
            last_seq[gen] = seq
        records += 1
        at += 16 + caplen
if records != counts["captured"]:
    fail(f"files hold {records} records, ringcap says {counts['captured']} captured")
if counts["received by filter"] < counts["captured"]:
    fail("received by filter < captured")
print(f"{len(files)} files, {records} records, {counts['dropped by kernel']} dropped by kernel")
PY
}

# Three generators (64, 512, 1514 bytes, 8 flows each); restart k uses source ports from
# 1000 (k + 1) + 100 i, so that the checker (ports / 100) keeps each one's sequence apart.
start_gens() {
  local i=0
  gens=()
  for size in 64 512 1514; do
    ip netns exec "$ns" "$ringcap" gen -i "$a" --size "$size" --rate $((rate / 3)) --flows 8 \
      --src-port $((1000 * (restart + 1) + 100 * i)) >/dev/null 2>&1 &
    gens+=("$!"); pids+=("$!")
    i=$((i + 1))
  done
}
stop_gens() {
  for g in "${gens[@]}"; do kill -INT "$g" 2>/dev/null || true; wait "$g" 2>/dev/null || true; done
}

start=$(date +%s)
n=0
total=0
while (( $(date +%s) - start < seconds )); do
  n=$((n + 1))
  dir="$work/cycle$n"
  mkdir -p "$dir"; chmod 755 "$dir"
  down=$(( n % 3 == 0 ? 1 : 0 ))
  in_ns ip link set "$a" up
  in_ns ip link set "$b" up
  ip netns exec "$ns" "$ringcap" -i "$b" -s 96 -w "$dir/soak.pcap" -C 4M 2>"$dir/err" &
  cap=$!; pids+=("$cap")
  for _ in $(seq 50); do grep -q "^listening on" "$dir/err" 2>/dev/null && break; sleep 0.1; done
  restart=0
  start_gens
  t0=$(date +%s)
  while (( $(date +%s) - t0 < cycle - 2 )); do
    sleep 2
    if (( usr1 )); then kill -USR1 "$cap" 2>/dev/null; fi
    sleep 0.1
    kill -0 "$cap" 2>/dev/null || { echo "soak: FAILED: ringcap died (cycle $n; SIGUSR1 sent: $usr1)"; cat "$dir/err"; exit 1; }
    if (( ($(date +%s) - t0) % 10 < 2 )); then  # the sending end down and up: carrier lost
      in_ns ip link set "$a" down; sleep 0.5; in_ns ip link set "$a" up
      # ringcap gen ends when its interface goes down ("the interface went down"): new ones, on
      # new source ports, so that each one's sequence numbers are checked on their own.
      stop_gens; restart=$((restart + 1)); start_gens
    fi
  done
  if (( down )); then
    in_ns ip link set "$b" down
  else
    kill -INT "$cap"
  fi
  status=0; wait "$cap" || status=$?
  stop_gens
  pids=()
  line=$(check_cycle "$dir" "$status" "$dir/err" "$down") || { echo "$line"; exit 1; }
  echo "soak: cycle $n ($( ((down)) && echo "interface down" || echo SIGINT)): $line"
  total=$((total + $(grep -oE '^[0-9]+ packets captured' "$dir/err" | tail -1 | cut -d' ' -f1)))
  rm -rf "$dir"
done
echo "soak: $n cycles in $(( $(date +%s) - start )) s, $total packets captured and checked: ok"
