#!/usr/bin/env bash
# Times N handed-off requests on a running testbed (`./baton testbed up --nodes 3 --server nginx`):
# warms the nodes up, captures the router's traffic while curl asks n1 for a file only n2 holds,
# one request at a time, and prints where the time went (tools/handoff-timeline.py). Root.
set -euo pipefail
n=${1:-60}
path=${2:-/data/1k.bin}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
client="ip netns exec baton-client"
dump="$(mktemp /tmp/baton-timeline.XXXXXX)"
$client wrk -t1 -c4 -d6s -H "Connection: close" "http://10.200.1.1$path" > /dev/null   # the nodes' JIT
ip netns exec baton-router timeout 120 tcpdump -i any -nn -tt -l tcp > "$dump" 2> /dev/null &
capture=$!
sleep 1
for _ in $(seq "$n"); do
  $client curl -s -o /dev/null -w "%{time_total}\n" "http://10.200.1.1$path"
  sleep 0.05
done | sort -n | awk '{t[NR] = $1} END {printf "curl total p50 %.3f ms (n1, handed off)\n", t[int(NR / 2) + 1] * 1000}'
sleep 0.5
kill "$capture"
wait "$capture" 2> /dev/null || true
for _ in $(seq "$n"); do
  $client curl -s -o /dev/null -w "%{time_total}\n" "http://10.200.1.2$path"
done | sort -n | awk '{t[NR] = $1} END {printf "curl total p50 %.3f ms (n2, local)\n", t[int(NR / 2) + 1] * 1000}'
python3 "$here/handoff-timeline.py" "$dump"
rm -f "$dump"
