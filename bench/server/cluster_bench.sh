#!/usr/bin/env bash
# Two `touchpoint serve` nodes on one durable PostgreSQL (scripts/pgtest.sh, PGTEST_DURABLE=1)
# with CUSTOMERS persons ingested first, measured with wrk on loopback:
#   1. POST /v1/batch (100 events a request, 8 connections) through the writer, then through the
#      follower (which forwards to the writer): the ratio is the follower's cost;
#   2. GET /v1/customers/{id} with 64 connections on the follower (reads from the database)
#      and on the writer (its memory), latency percentiles;
#   3. failover: FAILOVERS times, kill -9 of the writer, then the time to the first 200 of
#      POST /v1/track sent to the other node (the new writer answering), killed node restarted.
# Before 1., the resident memory (RSS) of both nodes once the follower's warm copy has loaded the
# CUSTOMERS customers (the follower's is mostly that copy; the writer's, its engine).
# Usage: bench/server/cluster_bench.sh [build-dir=build/release]
#   Env: CUSTOMERS (100000) DURATION (10s) FAILOVERS (10) POST (1; 0 skips 1.)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build/release}
CUSTOMERS=${CUSTOMERS:-100000}
DURATION=${DURATION:-10s}
FAILOVERS=${FAILOVERS:-10}
POST=${POST:-1}
TP="$BUILD_DIR/bin/touchpoint"
command -v wrk >/dev/null || { echo "wrk is not installed: run scripts/setup.sh --bench" >&2; exit 2; }
[[ -x "$TP" ]] || { echo "$TP not found" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tp_cluster_bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pgtest.sh stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PGTEST_DURABLE=1 scripts/pgtest.sh start "$WORK/pg"
ADMIN=$(cat "$WORK/pg/url")
psql -qAt "$ADMIN" -c "CREATE DATABASE bench"
URL=${ADMIN%/postgres}/bench
printf 'bench-secret-%s\n' "$RANDOM$RANDOM" >"$WORK/secret"; chmod 600 "$WORK/secret"

echo "== ingesting $CUSTOMERS customers into PostgreSQL"
python3 - "$CUSTOMERS" > "$WORK/events.ndjson" <<'PY'
import json, random, sys
n = int(sys.argv[1]); rnd = random.Random(7)
for i in range(n):
    print(json.dumps({"type": "identify", "userId": f"c-{i}", "messageId": f"id-{i}",
                      "traits": {"email": f"person{i}@example.com", "phone": f"+861380{i:07d}"},
                      "timestamp": "2026-10-01T08:00:00Z"}))
    for k in range(4):
        print(json.dumps({"type": "track", "userId": f"c-{i}", "event": rnd.choice(["Order Completed", "Product Viewed"]),
                          "messageId": f"tr-{i}-{k}", "properties": {"order_id": f"o-{i}-{k}", "total": rnd.randint(10, 500)},
                          "timestamp": f"2026-10-{rnd.randint(2, 28):02d}T{rnd.randint(0, 23):02d}:00:00Z"}))
PY
"$TP" --store "$URL" ingest --no-text --data "$WORK/ingest" "$WORK/events.ndjson" | tail -1
KEY=$("$TP" --store "$URL" keys create --role admin --data "$WORK/keys" | tail -1)

PORTS=()
start_node() {  # index
  local i=$1
  "$TP" --store "$URL" serve --data "$WORK/n$i" --listen "127.0.0.1:${PORTS[$i]}" --advertise "127.0.0.1:${PORTS[$i]}" \
    --node-id "n$i" --cluster-secret-file "$WORK/secret" --no-text --log-level warn --jobs-schedule off \
    >/dev/null 2>>"$WORK/n$i.log" &
  PIDS[$i]=$!
}
role_of() { curl -s "http://127.0.0.1:${PORTS[$1]}/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("role",""))' 2>/dev/null || true; }
for i in 0 1; do PORTS[$i]=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'); done
start_node 0
for _ in $(seq 600); do [[ "$(role_of 0)" == writer ]] && break; sleep 0.1; done
start_node 1
for _ in $(seq 600); do [[ "$(role_of 1)" == follower ]] && break; sleep 0.1; done
echo "== node 0: $(role_of 0), node 1: $(role_of 1); $(nproc) cores shared by wrk, both nodes and PostgreSQL"

rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# The follower's warm copy loads in the background: wait until its memory stops growing.
prev=0
for _ in $(seq 240); do
  sleep 0.5
  cur=$(rss_mb "${PIDS[1]}")
  [[ $prev -gt 0 && $((cur - prev)) -le $((prev / 200)) ]] && break
  prev=$cur
done
echo "RSS with $CUSTOMERS customers loaded: follower $(rss_mb "${PIDS[1]}") MB, writer $(rss_mb "${PIDS[0]}") MB"

post() {  # port label
  local out
  out=$(KEY=$KEY RUN="$2$RANDOM" wrk -t2 -c8 -d"$DURATION" -s bench/server/batch.lua "http://127.0.0.1:$1/v1/batch" 2>&1)
  local rps
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  printf '%s POST /v1/batch: %.0f requests/s = %.0f events/s  (non-2xx: %s)\n' "$2" "$rps" "$(echo "$rps * 100" | bc -l)" \
    "$(awk '/Non-2xx/ {print $4}' <<<"$out" | tr -d '\n')"
  echo "$rps" >"$WORK/rps_$2"
}
if [[ "$POST" == 1 ]]; then
  post "${PORTS[0]}" writer
  post "${PORTS[1]}" follower
  printf 'follower / writer POST throughput: %.2f\n' "$(echo "$(cat "$WORK/rps_follower") / $(cat "$WORK/rps_writer")" | bc -l)"
fi

get() {  # port label
  local out
  out=$(KEY=$KEY CUSTOMERS=$CUSTOMERS wrk -t2 -c64 -d"$DURATION" --latency -s bench/server/customer.lua "http://127.0.0.1:$1" 2>&1)
  printf '%s GET /v1/customers/{id}, 64 connections: %s requests/s, p50 %s, p99 %s\n' "$2" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")"
}
get "${PORTS[1]}" follower
get "${PORTS[0]}" writer

echo "RSS after the reads: follower $(rss_mb "${PIDS[1]}") MB, writer $(rss_mb "${PIDS[0]}") MB"
[[ "$FAILOVERS" -gt 0 ]] || exit 0
echo "== failover with $CUSTOMERS customers: kill -9 of the writer, time to the first 200 from the new writer"
times=()
for r in $(seq "$FAILOVERS"); do
  w=0; [[ "$(role_of 0)" == writer ]] || w=1
  o=$((1 - w))
  t0=$(date +%s.%N)
  kill -9 "${PIDS[$w]}"; wait "${PIDS[$w]}" 2>/dev/null || true
  for _ in $(seq 1200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d "{\"userId\":\"f-$r\",\"event\":\"Failover\",\"messageId\":\"fo-$r-$RANDOM\"}" "http://127.0.0.1:${PORTS[$o]}/v1/track" || true)
    [[ "$code" == 200 ]] && break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc -l); times+=("$secs")
  printf 'run %d: %.2f s (node %d took over)\n' "$r" "$secs" "$o"
  start_node "$w"
  for _ in $(seq 600); do [[ "$(role_of "$w")" == follower ]] && break; sleep 0.1; done
done
printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "failover: median %.2f s, max %.2f s over %d runs\n", a[int((NR+1)/2)], a[NR], NR}'
