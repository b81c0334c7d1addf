#!/usr/bin/env bash
# Before/after on a shared machine: `touchpoint ingest` of the same demo file by two binaries,
# interleaved (A, B, A, B, …), wall and CPU time per run. Compare medians as a ratio.
# Usage: bench/ingest/compare_ingest.sh BIN_A BIN_B [EVENTS=1000000] [RUNS=3]
#   e.g. git worktree add /tmp/before <rev> && (cd /tmp/before && cmake --preset release &&
#        cmake --build --preset release --target touchpoint); then BIN_A=/tmp/before/build/release/bin/touchpoint
# Needs /usr/bin/time and bc (scripts/setup.sh --bench).
set -euo pipefail
A=$1; B=$2; EVENTS=${3:-1000000}; RUNS=${4:-3}
WORK=$(mktemp -d /tmp/tp_cmp.XXXXXX); trap 'rm -rf "$WORK"' EXIT
$A demo generate --customers $((EVENTS/50)) --events "$EVENTS" --seed 1 --out "$WORK/demo.ndjson" 2>/dev/null
for r in $(seq "$RUNS"); do
  for bin in "$A" "$B"; do
    rm -rf "$WORK/data"
    s=$(date +%s.%N); /usr/bin/time -f "%U %S" -o "$WORK/cpu" $bin ingest --data "$WORK/data" "$WORK/demo.ndjson" ${EXTRA_FLAGS:-} >/dev/null; e=$(date +%s.%N)
    cpu=$(awk '{print $1+$2}' "$WORK/cpu")
    printf '%s run %d: %.2f s wall  %.0f ev/s  %.2f s CPU\n' "$bin" "$r" "$(echo "$e-$s"|bc -l)" "$(echo "$EVENTS/($e-$s)"|bc -l)" "$cpu"
  done
done
