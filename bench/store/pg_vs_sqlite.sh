#!/usr/bin/env bash
# File ingest of the demo into SQLite and into PostgreSQL, interleaved in one run (the machine is
# shared and noisy: compare the ratio), plus the bulk-append rate of each adapter alone
# (tp_store_bench: one 50,000-event transaction of compressed chunks into each).
# PostgreSQL runs durable (fsync, synchronous_commit and full_page_writes on, as deployed) on
# this machine, started by scripts/pgtest.sh with PGTEST_DURABLE=1; SQLite with synchronous=full.
# Usage: [TP_BUILD_DIR=build/release] bench/store/pg_vs_sqlite.sh [EVENTS=1000000] [RUNS=3]
#   (needs: cmake --preset release -DTP_BUILD_BENCH=ON && cmake --build --preset release;
#   TP_BUILD_DIR: another build's bin/touchpoint and bench/store/tp_store_bench, e.g. an older one)
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${1:-1000000}
RUNS=${2:-3}
BUILD=${TP_BUILD_DIR:-build/release}
T=$BUILD/bin/touchpoint
B=$BUILD/bench/store/tp_store_bench
WORK=$(mktemp -d /tmp/tp_pg_bench.XXXXXX)
PGSTATE="$WORK/pg"
cleanup() { scripts/pgtest.sh stop "$PGSTATE" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
PGTEST_DURABLE=1 scripts/pgtest.sh start "$PGSTATE"
ADMIN=$(cat "$PGSTATE/url")
BASE=${ADMIN%/postgres}
psql() { command psql -qAt "$ADMIN" "$@"; }

$T demo generate --customers $((EVENTS / 50)) --events "$EVENTS" --seed 1 --out "$WORK/demo.ndjson" 2>/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); PostgreSQL $(psql -c 'show server_version')"
echo "file: $EVENTS events, $(du -h "$WORK/demo.ndjson" | cut -f1); binary: $T"

# CPU seconds the server has used so far: the postmaster with its reaped children, and the live
# ones (checkpointer, WAL writer, the session's backend).
PGPID=$(head -1 "$(cat "$PGSTATE/dir")/data/postmaster.pid")
TICK=$(getconf CLK_TCK)
server_cpu() {
  local t=0 f p
  for p in $PGPID $(pgrep -P "$PGPID"); do
    { read -r -a f <"/proc/$p/stat"; } 2>/dev/null || continue  # (a child may have exited)
    t=$((t + f[13] + f[14]))
    [[ $p == "$PGPID" ]] && t=$((t + f[15] + f[16]))
  done
  echo "$t / $TICK" | bc -l
}
# Touchpoint's own CPU (user + system) of the last run.
tp_cpu() { awk '{print $1 + $2}' "$WORK/time"; }

sqlite=(); pg=()
for r in $(seq "$RUNS"); do
  rm -rf "$WORK/data"
  start=$(date +%s.%N)
  s1=$(/usr/bin/time -f '%U %S' -o "$WORK/time" $T ingest --data "$WORK/data" "$WORK/demo.ndjson" ${EXTRA_FLAGS:-} | tail -1)
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l); sqlite+=("$(echo "$EVENTS / $secs" | bc -l)")
  printf 'run %d sqlite:   %6.2f s  %8.0f events/s  (touchpoint CPU %.1f s)  %s\n' "$r" "$secs" "${sqlite[-1]}" \
    "$(tp_cpu)" "$s1"

  psql -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
  rm -rf "$WORK/pgdata"
  cpu0=$(server_cpu)
  start=$(date +%s.%N)
  s2=$(/usr/bin/time -f '%U %S' -o "$WORK/time" $T --store "$BASE/bench" ingest --data "$WORK/pgdata" "$WORK/demo.ndjson" ${EXTRA_FLAGS:-} | tail -1)
  end=$(date +%s.%N)
  cpu1=$(server_cpu)
  secs=$(echo "$end - $start" | bc -l); pg+=("$(echo "$EVENTS / $secs" | bc -l)")
  printf 'run %d postgres: %6.2f s  %8.0f events/s  (touchpoint CPU %.1f s, server CPU %.1f s)  %s\n' "$r" "$secs" \
    "${pg[-1]}" "$(tp_cpu)" "$(echo "$cpu1 - $cpu0" | bc -l)" "$s2"
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(med "${sqlite[@]}"); mp=$(med "${pg[@]}")
printf 'median: sqlite %.0f events/s, postgres %.0f events/s, ratio %.2f\n' "$ms" "$mp" "$(echo "$mp / $ms" | bc -l)"
echo "database size after ingest: $(psql -c "SELECT pg_size_pretty(pg_database_size('bench'))")"

if [[ -x "$B" ]]; then
  psql -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
  TP_BENCH_PG_URL="$BASE/bench" "$B" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_min_time=2 2>/dev/null | grep -E "median|Benchmark"
fi
