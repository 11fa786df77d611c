#!/usr/bin/env bash
# Speed-up of the simulator's in-memory store (CoordinatorOptions.Durable = false) over the durable SQLite store, as a ratio in one script:
# the same 25-volunteer, 10-round faithful run (simulations/scenarios/hard/store-{durable,memory}.json), alternated A B A B ...,
# CPU (user + sys) and wall time of each process from /usr/bin/time. Both runs must write the same runs.csv (checked).
# Usage: scripts/store-speedup.sh BUILD_DIR [PAIRS] (BUILD_DIR: a copy of simulations/bin/Release/net10.0). Run it under the benchmark lock:
#   flock /tmp/hivemind-bench.lock chrt -f 50 scripts/store-speedup.sh /tmp/copy-of-build 2
set -euo pipefail
build=$1
pairs=${2:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average before: $(cat /proc/loadavg)"
for i in $(seq 1 "$pairs"); do
  for mode in durable memory; do
    /usr/bin/time -f "%e %U %S" -o "$work/$mode-$i.time" \
      dotnet "$build/Hivemind.Simulations.dll" run "$here/simulations/scenarios/hard/store-$mode.json" --out "$work/$mode-$i" > /dev/null
    read -r wall user sys < "$work/$mode-$i.time"
    echo "$mode pair $i: wall $wall s, cpu $(echo "$user + $sys" | bc) s"
  done
  # Same losses and counts, byte for byte.
  if ! cmp -s "$work/durable-$i/runs.csv" "$work/memory-$i/runs.csv"; then
    echo "runs.csv differs between the durable and the in-memory store" >&2
    exit 1
  fi
done
echo "load average after: $(cat /proc/loadavg)"
awk '{w[FILENAME ~ /durable/] += $1; c[FILENAME ~ /durable/] += $2 + $3} END {
  printf "durable / in-memory: wall %.2fx, cpu %.2fx (sums over pairs)\n", w[1] / w[0], c[1] / c[0] }' "$work"/*.time
