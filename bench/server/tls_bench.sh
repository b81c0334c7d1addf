#!/usr/bin/env bash
# Keep-alive GET /v1/customers/{id} at 64 connections, plain HTTP and HTTPS in the same run:
# the same data directory served twice by `touchpoint serve` (plain, then --tls-cert/--tls-key
# with a throwaway self-signed EC P-256 certificate), measured with wrk (which speaks TLS
# through OpenSSL; it negotiates TLS 1.3 with the server's defaults). Prints both latency
# tables and a summary line with both p99s.
#
# Usage: bench/server/tls_bench.sh [build-dir]        (default build/release)
#   Env: CUSTOMERS (20000) DURATION (10s) GET_CONNECTIONS (64) IO_THREADS (2) WORKERS (16)
#        ROUNDS (1: plain then tls; 2: plain, tls, plain, tls)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build/release}
CUSTOMERS=${CUSTOMERS:-20000}
DURATION=${DURATION:-10s}
GET_CONNECTIONS=${GET_CONNECTIONS:-64}
IO_THREADS=${IO_THREADS:-2}
WORKERS=${WORKERS:-16}
ROUNDS=${ROUNDS:-1}
TP="$BUILD_DIR/bin/touchpoint"

command -v wrk >/dev/null || { echo "wrk is not installed: run scripts/setup.sh --bench" >&2; exit 2; }
command -v openssl >/dev/null || { echo "the openssl command is needed for the throwaway certificate" >&2; exit 2; }
[[ -x "$TP" ]] || { echo "$TP not found: cmake --build $BUILD_DIR --target touchpoint" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tp_tls_bench.XXXXXX)
DATA="$WORK/data"
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== generating $CUSTOMERS customers"
python3 - "$CUSTOMERS" > "$WORK/events.ndjson" <<'PY'
import json, sys
n = int(sys.argv[1])
for i in range(n):
    print(json.dumps({"type": "identify", "userId": f"c-{i}", "messageId": f"id-{i}",
                      "traits": {"email": f"person{i}@example.com", "phone": f"+861380{i:07d}"},
                      "timestamp": "2026-10-01T08:00:00Z"}))
    print(json.dumps({"type": "track", "userId": f"c-{i}", "event": "Order Completed", "messageId": f"tr-{i}",
                      "properties": {"order_id": f"o-{i}", "total": 10 + i % 500, "currency": "CNY"},
                      "timestamp": "2026-10-02T08:00:00Z"}))
PY
"$TP" ingest --data "$DATA" --no-text --synchronous normal "$WORK/events.ndjson" >/dev/null
KEY=$("$TP" keys create --role admin --data "$DATA" 2>/dev/null | tail -1)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
chmod 600 "$WORK/key.pem"

# Runs one server and wrk against it; $1 = plain|tls. Prints the p99 on the last line.
run() {
  local mode=$1 port scheme args=()
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  scheme=http
  if [[ $mode == tls ]]; then scheme=https; args=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"); fi
  "$TP" serve --data "$DATA" --listen "127.0.0.1:$port" --io-threads "$IO_THREADS" --worker-threads "$WORKERS" \
    --no-text --log-level warn --jobs-schedule off "${args[@]}" >"$WORK/serve.out" 2>"$WORK/serve.log" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    grep -q "listening on" "$WORK/serve.out" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "== $mode: $(cat "$WORK/serve.out"); wrk -t2 -c$GET_CONNECTIONS -d$DURATION --latency" >&2
  KEY=$KEY CUSTOMERS=$CUSTOMERS wrk -t2 -c"$GET_CONNECTIONS" -d"$DURATION" --latency -s bench/server/customer.lua \
    "$scheme://127.0.0.1:$port" | tee "$WORK/$mode.txt" >&2
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
  awk '$1 == "99%" {print $2}' "$WORK/$mode.txt"
}

for r in $(seq 1 "$ROUNDS"); do
  plain=$(run plain)
  tls=$(run tls)
  echo "== round $r: GET /v1/customers p99 at $GET_CONNECTIONS connections: plain HTTP $plain, HTTPS $tls"
done
