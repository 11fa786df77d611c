#!/usr/bin/env bash
# Issue 12's overhead criterion: the `round` benchmark at spot-check probability 0 and 0.05 in one script, in ABBA order
# (0, 0.05, 0.05, 0) so a load that drifts during the run weighs on both arms alike; prints the load average around each.
# Usage: scripts/spot-check-overhead.sh [--reps 3] [--pairs 2]   (run from the repository root after a Release build of
# benchmarks/Hivemind.Coordinator.Benchmarks). Output: one `round` table per run; compare the Tick medians of the same rows.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3
pairs=2
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    *) echo "unknown option '$1'; use --reps N and --pairs 1|2" >&2; exit 2 ;;
  esac
done
case "$pairs" in 1) order=(0 0.05) ;; 2) order=(0 0.05 0.05 0) ;; *) echo "--pairs must be 1 (0, 0.05) or 2 (0, 0.05, 0.05, 0), not '$pairs'" >&2; exit 2 ;; esac
dll=benchmarks/Hivemind.Coordinator.Benchmarks/bin/Release/net10.0/Hivemind.Coordinator.Benchmarks.dll
[ -f "$dll" ] || { echo "$dll is missing: dotnet build benchmarks/Hivemind.Coordinator.Benchmarks -c Release" >&2; exit 2; }
for p in "${order[@]}"; do
  echo "=== round --spot-check-probability $p --reps $reps; load before: $(cat /proc/loadavg)"
  dotnet "$dll" round --spot-check-probability "$p" --reps "$reps"
  echo "=== load after: $(cat /proc/loadavg)"
done
