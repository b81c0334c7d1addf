#!/usr/bin/env bash
# End-to-end ingest throughput: `touchpoint ingest` of an N-event demo file into a fresh data
# directory (parse, normalise, resolve identities, text analysis, persist, update profiles,
# durable at the end). Prints events/s for each run and the median.
# Usage: bench/ingest/ingest_e2e.sh [EVENTS=1000000] [RUNS=3]   (needs `cmake --build --preset release`)
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${1:-1000000}
RUNS=${2:-3}
T=build/release/bin/touchpoint
WORK=$(mktemp -d /tmp/tp_ingest_bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CUSTOMERS=$((EVENTS / 50))
$T demo generate --customers "$CUSTOMERS" --events "$EVENTS" --seed 1 --out "$WORK/demo.ndjson" 2>/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "file: $EVENTS events, $(du -h "$WORK/demo.ndjson" | cut -f1)"
rates=()
for r in $(seq "$RUNS"); do
  rm -rf "$WORK/data"
  start=$(date +%s.%N)
  summary=$($T ingest --data "$WORK/data" "$WORK/demo.ndjson" ${EXTRA_FLAGS:-} | tail -1)
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
  rate=$(echo "$EVENTS / $secs" | bc -l)
  rates+=("$rate")
  printf 'run %d: %.2f s wall, %.0f events/s  %s\n' "$r" "$secs" "$rate" "$summary"
done
median=$(printf '%s\n' "${rates[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'median: %.0f events/s\n' "$median"
