#!/bin/bash
# DashboardIT: new connections to every entry, most for a path another node holds: n1 hands
# /data/1k.bin to n2 (the busiest path: 4 in 11), n2 hands /api/data.json to n3, n3 hands /index.html
# and /docs/guide.html to n1; a few are served where they land. Runs until the stop file appears or
# the time limit passes; one line per response: status and serving node.
stop=$1; limit=$2; n1=$3; n2=$4; n3=$5
urls=("http://$n1/data/1k.bin" "http://$n1/data/1k.bin" "http://$n1/data/1k.bin" "http://$n1/data/1k.bin"
      "http://$n1/index.html"
      "http://$n2/api/data.json" "http://$n2/api/data.json" "http://$n2/empty.txt"
      "http://$n3/index.html" "http://$n3/docs/guide.html" "http://$n3/api/data.json")
args=()
for u in "${urls[@]}"; do args+=(-o /dev/null "$u"); done
end=$((SECONDS + limit))
while [ ! -e "$stop" ] && [ $SECONDS -lt $end ]; do
  curl -s --max-time 10 -H 'Connection: close' -w '%{http_code} %header{x-baton-node}\n' "${args[@]}"
done
