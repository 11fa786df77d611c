#!/usr/bin/env bash
# Issue 12's overhead criterion ("at p = 0.05 the coordinator's round time grows by at most 10 % in the `round` benchmark"):
# the `round` benchmark at spot-check probability 0 (A) and 0.05 (B), interleaved as N pairs in alternating order
# (AB, BA, AB, ...) so a load that drifts weighs on both arms alike. Per pair and per row of the benchmark's table it takes
# Tick(B) / Tick(A) (medians of the row's closed rounds); it prints every ratio, then per row and over all rows the median
# ratio with a 95 % interval (the order statistics of the pair ratios that bracket the median, a distribution-free interval;
# with fewer than 6 ratios the interval is the full range). The load average is printed before and after every run.
# Usage: scripts/spot-check-overhead.sh [--pairs 5] [--reps 3] [--chrt]   (from the repository root after a Release build of
# benchmarks/Hivemind.Coordinator.Benchmarks). --chrt runs each benchmark under `chrt -f 50` (SCHED_FIFO; needs root or
# CAP_SYS_NICE). The benchmark's folder is copied to a temporary one first: a build in the worktree rewrites hard-linked DLLs
# a running benchmark has mapped (SIGBUS).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3
pairs=5
chrt=()
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    --chrt) chrt=(chrt -f 50); shift ;;
    *) echo "unknown option '$1'; use --pairs N (>= 1), --reps N and --chrt" >&2; exit 2 ;;
  esac
done
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || { echo "--pairs must be a whole number >= 1, not '$pairs'" >&2; exit 2; }
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "--reps must be a whole number >= 1, not '$reps'" >&2; exit 2; }
bin=benchmarks/Hivemind.Coordinator.Benchmarks/bin/Release/net10.0
[ -f "$bin/Hivemind.Coordinator.Benchmarks.dll" ] || { echo "$bin/Hivemind.Coordinator.Benchmarks.dll is missing: dotnet build benchmarks/Hivemind.Coordinator.Benchmarks -c Release" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/spot-check-overhead.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$bin" "$work/bin"
dll="$work/bin/Hivemind.Coordinator.Benchmarks.dll"

# Tick medians of one run's table, one "rule|eval ms" line per row.
ticks() { awk -F'|' '/^\| (mean|trimmed)/ { gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $5); print $2 "/eval" $3 " " $5 }' "$1"; }

run() {  # run <pair> <arm> <p>
  local out="$work/pair$1-$2.txt"
  echo "=== pair $1, arm $2: round --spot-check-probability $3 --reps $reps; load before: $(cat /proc/loadavg); $(date -u +%H:%M:%S)"
  "${chrt[@]}" dotnet "$dll" round --spot-check-probability "$3" --reps "$reps" --dir "$work/data-$1-$2" > "$out"
  cat "$out"
  echo "=== load after: $(cat /proc/loadavg); $(date -u +%H:%M:%S)"
  ticks "$out" > "$work/ticks-$1-$2.txt"
}

for ((i = 1; i <= pairs; i++)); do
  if ((i % 2 == 1)); then run "$i" A 0; run "$i" B 0.05; else run "$i" B 0.05; run "$i" A 0; fi
  # Both runs print the same rows in the same order.
  paste -d' ' "$work/ticks-$i-A.txt" "$work/ticks-$i-B.txt" | awk -v pair="$i" '{ printf "%s %d %.4f\n", $1, pair, $4 / $2 }' >> "$work/ratios.txt"
done

echo
echo "## Tick at p = 0.05 over Tick at p = 0, per pair ($pairs pairs, $reps closed rounds per row and run)"
echo
python3 - "$work/ratios.txt" <<'EOF'
import sys, math
rows = {}
for line in open(sys.argv[1]):
    row, pair, ratio = line.split()
    rows.setdefault(row, []).append(float(ratio))

def median(xs):
    xs = sorted(xs); n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

def interval(xs):
    # Distribution-free 95% interval of the median: order statistics k and n-k+1 with the binomial(n, 1/2) bound.
    xs = sorted(xs); n = len(xs)
    best = (0, n - 1)
    for k in range(n // 2):
        tail = sum(math.comb(n, j) for j in range(k + 1)) / 2 ** n
        if 2 * tail <= 0.05: best = (k, n - 1 - k)
    return xs[best[0]], xs[best[1]]

print("| row | ratios | median | 95 % interval of the median |")
print("|---|---|---:|---|")
every = []
for row, xs in rows.items():
    every += xs
    lo, hi = interval(xs)
    print(f"| {row} | {', '.join(f'{x:.3f}' for x in xs)} | {median(xs):.3f} | [{lo:.3f}, {hi:.3f}] |")
lo, hi = interval(every)
print(f"| all rows | {len(every)} ratios | {median(every):.3f} | [{lo:.3f}, {hi:.3f}] |")
print()
print(f"criterion: median Tick ratio <= 1.10 -> {'met' if median(every) <= 1.10 else 'NOT met'}"
      f"{'' if hi <= 1.10 else ' (the interval reaches above 1.10: not established at this load)'}")
EOF
