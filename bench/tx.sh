#!/usr/bin/env bash
# Transmit benchmark: ringcap gen and ringcap replay --topspeed against trafgen (netsniff-ng) and
# tcpreplay --topspeed, side by side in one run. Each tool sends the same number of frames of
# the same size into one end of a veth pair inside a private namespace; the rate is what arrived
# at the other end (its rx_packets) divided by the tool's wall time. The tools run interleaved
# (A B C D, A B C D, ...), each pinned to CPU 0 (trafgen pins its worker to CPU 0 whatever taskset says), REPS times; medians are reported.
# On veth the receive side runs in softirq on the sending CPU, so this is the whole path.
#
#   bench/tx.sh [REPS] [COUNT_64] [COUNT_1514]      (root; writes bench/results/tx.md)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
count_small=${2:-2000000}
count_big=${3:-500000}
ringcap=${RINGCAP:-./build/ringcap}
for tool in trafgen tcpreplay python3; do
  command -v $tool >/dev/null || { echo "bench/tx.sh: $tool missing (scripts/setup.sh --bench installs it)"; exit 1; }
done

ns="rctx-$$"; a="rctxa$$"; b="rctxb$$"
work=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add "$a" type veth peer name "$b"
ip -n "$ns" link set "$a" up
ip -n "$ns" link set "$b" up
for i in "$a" "$b"; do ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done

rx() { ip netns exec "$ns" cat "/sys/class/net/$b/statistics/rx_packets"; }
now() { date +%s.%N; }

# The same frame for every tool: what ringcap gen builds (UDP/IPv4, seq 0), as a pcap of COUNT
# copies for the replayers, and as a trafgen config.
make_inputs() {  # size count
  local size=$1 count=$2
  python3 - "$size" "$count" "$work" <<'PY'
import struct, sys
size, count, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
eth = bytes.fromhex("020000000002" "020000000001" "0800")
ip_len = size - 14
ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0x4000, 64, 17, 0,
                           bytes([198,18,0,1]), bytes([198,18,0,2])))
s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
ip[10:12] = struct.pack("!H", ~s & 0xffff)
udp = struct.pack("!HHHH", 10000, 9, size - 34, 0)
payload = bytes(16) + bytes(i & 0xff for i in range(50, size))[: size - 58]
frame = eth + bytes(ip) + udp + payload
assert len(frame) == size
rec = struct.pack("<IIII", 0, 0, size, size) + frame
header = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
with open(f"{work}/f{size}.pcap", "wb") as f:  # count records: the file's data is copied cold
    f.write(header + rec * count)
with open(f"{work}/c{size}.pcap", "wb") as f:  # 1000 records, looped: the data stays in the caches
    f.write(header + rec * 1000)
with open(f"{work}/f{size}.cfg", "w") as f:
    f.write("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n")
PY
}

run_one() {  # tool size count -> prints pps
  local tool=$1 size=$2 count=$3 before after t0 t1
  before=$(rx); t0=$(now)
  case $tool in
    ringcap-gen) ip netns exec "$ns" taskset -c 0 "$ringcap" gen -i "$a" --size "$size" --count "$count" 2>/dev/null ;;
    ringcap-replay) ip netns exec "$ns" taskset -c 0 "$ringcap" replay -i "$a" --topspeed "$work/f$size.pcap" 2>/dev/null ;;
    ringcap-replay-cached) ip netns exec "$ns" taskset -c 0 "$ringcap" replay -i "$a" --topspeed --loop $((count / 1000)) "$work/c$size.pcap" 2>/dev/null ;;
    ringcap-gen-zero-copy) ip netns exec "$ns" taskset -c 0 "$ringcap" gen -i "$a" --size "$size" --count "$count" --zero-copy 2>/dev/null ;;
    ringcap-replay-zero-copy) ip netns exec "$ns" taskset -c 0 "$ringcap" replay -i "$a" --topspeed --zero-copy "$work/f$size.pcap" 2>/dev/null ;;
    trafgen) ip netns exec "$ns" taskset -c 0 trafgen -o "$a" -c "$work/f$size.cfg" -n "$count" --cpus 1 --qdisc-path >/dev/null 2>&1 ;;
    tcpreplay) ip netns exec "$ns" taskset -c 0 tcpreplay -q --topspeed -i "$a" "$work/f$size.pcap" >/dev/null 2>&1 ;;
  esac
  t1=$(now); after=$(rx)
  python3 -c "print(round(($after - $before) / ($t1 - $t0)))"
}

tools=(ringcap-gen ringcap-replay ringcap-replay-cached ringcap-gen-zero-copy ringcap-replay-zero-copy trafgen tcpreplay)
out=bench/results/tx.md
mkdir -p bench/results
: > "$work/runs"  # size tool rep pps
for size in 64 1514; do
  count=$count_small; [[ $size == 1514 ]] && count=$count_big
  make_inputs "$size" "$count"
  for ((r = 0; r < reps; r++)); do
    for tool in "${tools[@]}"; do echo "$size $tool $r $(run_one "$tool" "$size" "$count")" >> "$work/runs"; done
  done
done
python3 - "$work/runs" "$reps" "$count_small" "$count_big" > "$out" <<'PY'
import statistics as st, subprocess, sys
runs_file, reps, small, big = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
pps = {}
for line in open(runs_file):
    size, tool, rep, v = line.split()
    pps.setdefault((int(size), tool), {})[int(rep)] = int(v)
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
print(f"# Transmit: packets per second arriving at the veth peer ({reps} interleaved repetitions)\n")
print(f"Machine: {subprocess.getoutput('nproc')} CPUs, {subprocess.getoutput('uname -r')}, {cpu}.")
print(f"Command: `bench/tx.sh {reps} {small} {big}`; every tool on CPU 0 (trafgen forks its worker "
      "onto CPU 0 itself). A repetition runs every tool once, back to back; the ratio columns are "
      "the median (and range) of the per-repetition ratios, so that the VM's slow swings, which "
      "move all tools of one repetition alike, cancel out. `ringcap-replay-cached` replays a "
      "1000-frame file looped to the same count, so its data stays in the CPU caches: the "
      "difference to `ringcap-replay` is the cost of copying the file's data out of memory. "
      "The `-zero-copy` rows run with `--zero-copy`: the kernel's default TX-ring path, in which "
      "packets point into the ring's pages, as trafgen's do (tcpreplay makes one send() call "
      "per packet, which the kernel copies); by default ringcap has the kernel copy each frame "
      "out of the ring instead (include/ringcap/tx.hpp).\n")
print("| frame | tool | pps (median) | runs | vs trafgen | vs tcpreplay |")
print("|---:|---|---:|---|---:|---:|")
def ratio(size, tool, ref):
    r = [pps[(size, tool)][i] / pps[(size, ref)][i] for i in range(reps)]
    return f"{st.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})"
for size in sorted({s for s, _ in pps}):
    for tool in [t for s, t in pps if s == size]:
        v = pps[(size, tool)]
        runs = " ".join(str(v[i]) for i in range(reps))
        print(f"| {size} | {tool} | {int(st.median(v.values())):,} | {runs} | "
              f"{ratio(size, tool, 'trafgen')} | {ratio(size, tool, 'tcpreplay')} |")
PY
cat "$out"
