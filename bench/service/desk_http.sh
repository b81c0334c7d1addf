#!/usr/bin/env bash
# The service desk end to end over HTTP (issue 15, "Performance"): with AGENTS agents and TICKETS
# open tickets, POST /v1/tickets (routing, SLA and history included) — target ≥ 2,000 tickets/s
# sustained, p99 ≤ 20 ms — and GET /v1/tickets?breaching=true — target p99 ≤ 10 ms — against the
# release `touchpoint serve`, driven by wrk over loopback.
#
# Usage: bench/service/desk_http.sh [build-dir]        (default build/release)
#   needs: $BUILD/bin/touchpoint and $BUILD/bench/service/tp_desk_prepare
#          (cmake --preset release && cmake --build build/release --target touchpoint tp_desk_prepare)
#   Env: AGENTS (500) TICKETS (100000) CUSTOMERS (20000) BREACHING_SHARE (0.05) DURATION (30s)
#        POST_CONNECTIONS (8) GET_CONNECTIONS (16) IO_THREADS (2) WORKERS (16) SLA_WAIT (900, seconds
#        to wait for the SLA timer's start-up catch-up) KEEP=1 keeps the data directory
#        TP, PREPARE: the two binaries, when not those of the build directory
#   Small run to check the script: AGENTS=50 TICKETS=2000 CUSTOMERS=2000 DURATION=3s bench/service/desk_http.sh
# Installs nothing: wrk comes from `scripts/setup.sh --bench`.
#
# Steps: customers ingested (identify calls, no text analysis); agents and open tickets made
# through the desk by tp_desk_prepare (a share created 30 hours ago, so the SLA timer breaches
# their first response when the server starts); the server started and given time to catch up
# (its SLA timer computes every open ticket's due times at start); then the two wrk runs, one
# after the other. The figures are printed at the end as one line each.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build/release}
AGENTS=${AGENTS:-500}
TICKETS=${TICKETS:-100000}
CUSTOMERS=${CUSTOMERS:-20000}
BREACHING_SHARE=${BREACHING_SHARE:-0.05}
DURATION=${DURATION:-30s}
POST_CONNECTIONS=${POST_CONNECTIONS:-8}
GET_CONNECTIONS=${GET_CONNECTIONS:-16}
IO_THREADS=${IO_THREADS:-2}
WORKERS=${WORKERS:-16}
SLA_WAIT=${SLA_WAIT:-900}
TP=${TP:-$BUILD_DIR/bin/touchpoint}
PREPARE=${PREPARE:-$BUILD_DIR/bench/service/tp_desk_prepare}

command -v wrk >/dev/null || { echo "wrk is not installed: run scripts/setup.sh --bench" >&2; exit 2; }
[[ -x "$TP" ]] || { echo "$TP not found: cmake --build $BUILD_DIR --target touchpoint" >&2; exit 2; }
[[ -x "$PREPARE" ]] || { echo "$PREPARE not found: cmake --build $BUILD_DIR --target tp_desk_prepare" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tp_desk_http.XXXXXX)
DATA="$WORK/data"
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

# 1. Customers: user:c-0 … c-(CUSTOMERS-1), each with an e-mail and a phone.
echo "== $CUSTOMERS customers"
python3 - "$CUSTOMERS" > "$WORK/customers.ndjson" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"type": "identify", "userId": f"c-{i}", "messageId": f"id-{i}",
                      "traits": {"email": f"person{i}@example.com", "phone": f"+861380{i:07d}"},
                      "timestamp": "2026-10-01T08:00:00Z"}))
PY
rc=0; "$TP" ingest --data "$DATA" --no-text --synchronous normal "$WORK/customers.ndjson" >/dev/null || rc=$?
[[ $rc == 0 ]] || { echo "ingest failed (exit $rc)" >&2; exit 1; }

# 2. Agents and open tickets through the desk.
echo "== $AGENTS agents, $TICKETS open tickets through the desk ($BREACHING_SHARE of them past their first-response target)"
"$PREPARE" "$DATA" "$AGENTS" "$TICKETS" "$CUSTOMERS" "$BREACHING_SHARE" | tee "$WORK/prepare.txt"
KEY=$("$TP" keys create --role admin --data "$DATA" 2>/dev/null | tail -1)
[[ "$KEY" == tp_* ]] || { echo "no admin key" >&2; exit 1; }

# 3. The server on a free port; then its SLA timer's start-up catch-up (every open ticket's due
# times; the breaches of the back-dated share fire).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TP" serve --data "$DATA" --listen "127.0.0.1:$PORT" --io-threads "$IO_THREADS" --worker-threads "$WORKERS" \
  --no-text --log-level warn >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 1200); do
  grep -q "listening on" "$WORK/serve.out" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" "$WORK/serve.out" || { echo "server did not start" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT"
expected=$(python3 -c "print(int($TICKETS * $BREACHING_SHARE))")
echo "== waiting for the SLA timer to breach the back-dated tickets ($expected expected, at most ${SLA_WAIT}s)"
started=$(date +%s)
breached=0
while :; do
  breached=$(curl -s -H "Authorization: Bearer $KEY" "$BASE/metrics" | awk '/^touchpoint_sla_breaches_total/ {print int($2)}' | head -1)
  breached=${breached:-0}
  (( breached >= expected )) && break
  (( $(date +%s) - started > SLA_WAIT )) && { echo "   only $breached breaches after ${SLA_WAIT}s; measuring anyway"; break; }
  sleep 2
done
echo "   $breached breaches fired in $(( $(date +%s) - started ))s"
sleep 2

# 4. POST /v1/tickets.
echo "== POST /v1/tickets: wrk -t2 -c$POST_CONNECTIONS -d$DURATION --latency -s bench/service/ticket_create.lua"
KEY=$KEY CUSTOMERS=$CUSTOMERS wrk -t2 -c"$POST_CONNECTIONS" -d"$DURATION" --latency -s bench/service/ticket_create.lua "$BASE" \
  | tee "$WORK/post.txt"

# 5. GET /v1/tickets?breaching=true (the first page: 50 tickets).
echo "== GET /v1/tickets?breaching=true: wrk -t2 -c$GET_CONNECTIONS -d$DURATION --latency"
wrk -t2 -c"$GET_CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $KEY" "$BASE/v1/tickets?breaching=true" \
  | tee "$WORK/get.txt"
listed=$(curl -s -H "Authorization: Bearer $KEY" "$BASE/v1/tickets?breaching=true" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tickets"]))')

# 6. Graceful stop, then the figures.
kill -TERM "$SERVER_PID"
rc=0; wait "$SERVER_PID" || rc=$?
SERVER_PID=
figures() {  # FILE → "N req/s, p50 X, p99 Y, errors E"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
       /Non-2xx/ {bad=$NF} /Socket errors/ {sock=$0}
       END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s%s\n", rps, p50, p99, (bad == "" ? 0 : bad), (sock == "" ? "" : "; " sock)}' "$1"
}
echo "== serve exited with $rc ($(nproc) cores shared by the server and wrk)"
echo "RESULT agents=$AGENTS open_tickets=$TICKETS POST /v1/tickets: $(figures "$WORK/post.txt")  (target ≥ 2000/s, p99 ≤ 20ms)"
echo "RESULT agents=$AGENTS open_tickets=$TICKETS GET /v1/tickets?breaching=true ($listed listed): $(figures "$WORK/get.txt")  (target p99 ≤ 10ms)"
