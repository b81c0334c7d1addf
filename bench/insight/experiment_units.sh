#!/usr/bin/env bash
# End-to-end: `touchpoint experiment analyze --units` over N per-unit rows (variant,value,pre),
# the issue's target being 10 M units in ≤ 2 s. Prints wall and CPU seconds per run.
# Usage: bench/insight/experiment_units.sh BIN [UNITS=10000000] [RUNS=3]
set -euo pipefail
BIN=$1; UNITS=${2:-10000000}; RUNS=${3:-3}
WORK=$(mktemp -d /tmp/tp_exp.XXXXXX); trap 'rm -rf "$WORK"' EXIT
awk -v n="$UNITS" 'BEGIN { srand(1); print "variant,value,pre";
  for (i = 0; i < n; i++) { pre = 100 * rand(); v = 0.8 * pre + 20 * rand() + (i % 2 ? 0.3 : 0);
    printf "%s,%.4f,%.4f\n", (i % 2 ? "treatment" : "control"), v, pre } }' > "$WORK/units.csv"
ls -l "$WORK/units.csv" | awk '{ printf "input: %.0f MB\n", $5 / 1e6 }'
for r in $(seq "$RUNS"); do
  s=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/cpu" "$BIN" experiment analyze --units "$WORK/units.csv" > "$WORK/out"
  e=$(date +%s.%N)
  printf 'run %d: %.2f s wall, %.2f s CPU\n' "$r" "$(echo "$e - $s" | bc -l)" "$(awk '{print $1 + $2}' "$WORK/cpu")"
done
tail -1 "$WORK/out"
