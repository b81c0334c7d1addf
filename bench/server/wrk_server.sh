#!/usr/bin/env bash
# Load test of `touchpoint serve` with wrk on loopback: POST /v1/batch (100 events a batch,
# 8 connections) and GET /v1/customers/{id} (64 connections, latency percentiles).
#
# Usage: bench/server/wrk_server.sh [build-dir]        (default build/release)
#   needs: $BUILD/bin/touchpoint (cmake --preset release -B BUILD && cmake --build BUILD --target touchpoint);
#          keys come from `touchpoint keys create`, else from bench/server's tp_server_bench_key
#   Env: CUSTOMERS (20000) DURATION (10s) POST_CONNECTIONS (8) GET_CONNECTIONS (64)
#        IO_THREADS (2) WORKERS (16) SYNCHRONOUS (full) KEEP=1 keeps the data directory
# Installs nothing: wrk comes from `scripts/setup.sh --bench`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build/release}
CUSTOMERS=${CUSTOMERS:-20000}
DURATION=${DURATION:-10s}
POST_CONNECTIONS=${POST_CONNECTIONS:-8}
GET_CONNECTIONS=${GET_CONNECTIONS:-64}
IO_THREADS=${IO_THREADS:-2}
WORKERS=${WORKERS:-16}
SYNCHRONOUS=${SYNCHRONOUS:-full}
TP="$BUILD_DIR/bin/touchpoint"
KEYGEN="$BUILD_DIR/bench/server/tp_server_bench_key"

command -v wrk >/dev/null || { echo "wrk is not installed: run scripts/setup.sh --bench" >&2; exit 2; }
[[ -x "$TP" ]] || { echo "$TP not found: cmake --build $BUILD_DIR --target touchpoint" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tp_wrk_server.XXXXXX)
DATA="$WORK/data"
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

# 1. Data: CUSTOMERS persons (identify with e-mail and phone, 4 track events each).
echo "== generating $CUSTOMERS customers"
python3 - "$CUSTOMERS" > "$WORK/events.ndjson" <<'PY'
import json, random, sys
n = int(sys.argv[1]); rnd = random.Random(7)
for i in range(n):
    print(json.dumps({"type": "identify", "userId": f"c-{i}", "messageId": f"id-{i}",
                      "traits": {"email": f"person{i}@example.com", "phone": f"+861380{i:07d}", "plan": rnd.choice(["free", "pro"])},
                      "timestamp": "2026-10-01T08:00:00Z"}))
    for k in range(4):
        print(json.dumps({"type": "track", "userId": f"c-{i}", "event": rnd.choice(["Order Completed", "Product Viewed"]),
                          "messageId": f"tr-{i}-{k}", "properties": {"order_id": f"o-{i}-{k}", "product_id": f"p-{rnd.randint(1, 300)}", "total": rnd.randint(10, 500), "currency": "CNY"},
                          "timestamp": f"2026-10-{rnd.randint(2, 28):02d}T{rnd.randint(0, 23):02d}:00:00Z"}))
PY
rc=0; "$TP" ingest --data "$DATA" --no-text --synchronous normal "$WORK/events.ndjson" >/dev/null || rc=$?
[[ $rc == 0 ]] || { echo "ingest failed (exit $rc)" >&2; exit 1; }
KEY=$("$TP" keys create --role admin --data "$DATA" 2>/dev/null | tail -1) || KEY=
[[ "$KEY" == tp_* ]] || KEY=$("$KEYGEN" "$DATA" admin | tail -1)

# 2. Server on a free port.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TP" serve --data "$DATA" --listen "127.0.0.1:$PORT" --io-threads "$IO_THREADS" --worker-threads "$WORKERS" \
  --synchronous "$SYNCHRONOUS" --no-text --log-level warn >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  grep -q "listening on" "$WORK/serve.out" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.05
done
grep -q "listening on" "$WORK/serve.out" || { echo "server did not start" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT"
before=$(curl -s -H "Authorization: Bearer $KEY" "$BASE/v1/stats")
echo "== server: io_threads=$IO_THREADS workers=$WORKERS synchronous=$SYNCHRONOUS ($(nproc) cores shared with wrk); stats $before"

# 3. POST /v1/batch.
echo "== POST /v1/batch, 100 events a batch: wrk -t2 -c$POST_CONNECTIONS -d$DURATION --latency -s bench/server/batch.lua"
KEY=$KEY RUN="r$$" wrk -t2 -c"$POST_CONNECTIONS" -d"$DURATION" --latency -s bench/server/batch.lua "$BASE" | tee "$WORK/post.txt"
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/post.txt")
after=$(curl -s -H "Authorization: Bearer $KEY" "$BASE/v1/stats")
echo "== events/s (requests/s x 100): $(python3 -c "print(round(float('$rps') * 100))"); stats $after"

# 4. GET /v1/customers/{id}.
echo "== GET /v1/customers/user:c-N: wrk -t2 -c$GET_CONNECTIONS -d$DURATION --latency -s bench/server/customer.lua"
KEY=$KEY CUSTOMERS=$CUSTOMERS wrk -t2 -c"$GET_CONNECTIONS" -d"$DURATION" --latency -s bench/server/customer.lua "$BASE"

# 5. Graceful stop.
kill -TERM "$SERVER_PID"
rc=0; wait "$SERVER_PID" || rc=$?
SERVER_PID=
echo "== serve exited with $rc"
