#!/usr/bin/env bash
# Before/after on a shared machine: bench/server/wrk_server.sh against two build directories,
# interleaved, ROUNDS (2) rounds; one line per run with POST /v1/batch events/s and the GET
# /v1/customers p99. Usage: ROUNDS=3 bench/server/compare_server.sh BUILD_A BUILD_B
set -uo pipefail
cd "$(dirname "$0")/../.."
for r in $(seq "${ROUNDS:-2}"); do
  for b in "$@"; do
    out=$(bench/server/wrk_server.sh "$b" 2>&1)
    post=$(echo "$out" | sed -n 's/.*x 100): \([0-9]*\).*/\1/p')
    p99=$(echo "$out" | awk '/GET \/v1\/customers/ {g=1} g && /99%/ {print $2; exit}')
    getrps=$(echo "$out" | awk '/GET \/v1\/customers/ {g=1} g && /Requests\/sec/ {print $2; exit}')
    echo "$b round $r: POST $post events/s; GET p99 $p99 at $getrps req/s"
  done
done
