#!/usr/bin/env bash
# Encryption at rest on vs off in the same run: `touchpoint ingest` of the same demo file into a
# new data directory with encryption (the default) and with `[privacy] encryption = false`,
# interleaved (off, on, off, on, …); wall and CPU per run, medians and their ratio.
# The master key and keyrings go to a temporary XDG_CONFIG_HOME, never the real ~/.config.
# Usage: bench/privacy/encrypt_ingest.sh [BIN=build/release/bin/touchpoint] [EVENTS=1000000] [RUNS=3]
# Needs /usr/bin/time and bc (scripts/setup.sh --bench).
set -euo pipefail
BIN=${1:-build/release/bin/touchpoint}; EVENTS=${2:-1000000}; RUNS=${3:-3}
WORK=$(mktemp -d /tmp/tp_enc.XXXXXX); trap 'rm -rf "$WORK"' EXIT
export XDG_CONFIG_HOME="$WORK/config"
"$BIN" demo generate --customers $((EVENTS/50)) --events "$EVENTS" --seed 1 --out "$WORK/demo.ndjson" 2>/dev/null
declare -A walls
for r in $(seq "$RUNS"); do
  for mode in off on; do
    rm -rf "$WORK/data"; mkdir -p "$WORK/data"
    [ "$mode" = off ] && printf '[privacy]\nencryption = false\n' > "$WORK/data/touchpoint.toml"
    s=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$WORK/cpu" "$BIN" ingest --data "$WORK/data" "$WORK/demo.ndjson" ${EXTRA_FLAGS:-} >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
    e=$(date +%s.%N)
    wall=$(echo "$e-$s" | bc -l); cpu=$(awk '{print $1+$2}' "$WORK/cpu")
    size=$(du -sm "$WORK/data" | cut -f1)
    walls[$mode]="${walls[$mode]:-} $wall"
    printf 'encryption %-3s run %d: %.2f s wall  %.0f ev/s  %.2f s CPU  data %s MB\n' "$mode" "$r" "$wall" \
      "$(echo "$EVENTS/$wall" | bc -l)" "$cpu" "$size"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
off=$(echo "${walls[off]}" | median); on=$(echo "${walls[on]}" | median)
printf 'median: off %.2f s (%.0f ev/s), on %.2f s (%.0f ev/s): on/off throughput %.3f\n' "$off" \
  "$(echo "$EVENTS/$off" | bc -l)" "$on" "$(echo "$EVENTS/$on" | bc -l)" "$(echo "$off/$on" | bc -l)"
