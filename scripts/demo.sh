#!/usr/bin/env bash
# The main job on a built-in default: two network namespaces joined by a veth pair, an HTTP
# server in one, ping and curl from the other; ringcap captures it into a pcap, and the file is
# shown by ringcap's summary, tcpdump and capinfos. Run as root. Leaves nothing behind but the
# pcap (RINGCAP_DEMO_OUT, default ./ringcap-demo.pcap).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

id=$$
ns_srv="rcdemo-srv-$id" ns_cli="rcdemo-cli-$id"
if_srv="rcds$id" if_cli="rcdc$id"
out="${RINGCAP_DEMO_OUT:-$PWD/ringcap-demo.pcap}"
cleanup() {
  [[ -n "${cap_pid:-}" ]] && kill "$cap_pid" 2>/dev/null || true
  [[ -n "${srv_pid:-}" ]] && kill "$srv_pid" 2>/dev/null || true
  ip netns del "$ns_srv" 2>/dev/null || true
  ip netns del "$ns_cli" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns_srv"
ip netns add "$ns_cli"
ip link add "$if_cli" netns "$ns_cli" type veth peer name "$if_srv" netns "$ns_srv"
ip -n "$ns_srv" addr add 10.213.0.1/24 dev "$if_srv"
ip -n "$ns_cli" addr add 10.213.0.2/24 dev "$if_cli"
ip -n "$ns_srv" link set "$if_srv" up
ip -n "$ns_cli" link set "$if_cli" up
ip -n "$ns_srv" link set lo up

www=$(mktemp -d)
echo "hello from the ringcap demo" > "$www/index.html"
ip netns exec "$ns_srv" python3 -m http.server 8080 --bind 10.213.0.1 --directory "$www" \
  >/dev/null 2>&1 &
srv_pid=$!

echo "== capturing on $if_cli (namespace $ns_cli) into $out"
ip netns exec "$ns_cli" ./build/ringcap -i "$if_cli" -w "$out" &
cap_pid=$!
sleep 0.5
for _ in $(seq 50); do  # wait for the server to listen (at most 5 s)
  ip netns exec "$ns_cli" curl -s -o /dev/null --max-time 1 http://10.213.0.1:8080/ && break
  sleep 0.1
done
ip netns exec "$ns_cli" ping -c 3 -i 0.2 10.213.0.1
ip netns exec "$ns_cli" curl -s --max-time 5 http://10.213.0.1:8080/index.html
sleep 0.2
kill -INT "$cap_pid"
wait "$cap_pid"
cap_pid=
rm -rf "$www"

echo
echo "== the file, as tcpdump reads it"
tcpdump -nn -r "$out" 2>/dev/null
echo
echo "== capinfos"
capinfos -c -E -l -t "$out"
