#!/usr/bin/env bash
# Load test of the touchpoint::http server with wrk on loopback.
#
# Usage: bench/http/wrk_get.sh [build-dir]     (default build/release; needs TP_BUILD_BENCH=ON)
#   Env: PORT (8089) IO_THREADS (1) WORKERS (16) DURATION (5s) CONNECTIONS (64)
#        POST_SIZES ("102400 524288"; empty to skip the POST runs)
#        IDLE (0): keep this many idle keep-alive connections open during the runs (python3)
# Builds nothing and installs nothing: wrk comes from `scripts/setup.sh --bench`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build/release}
PORT=${PORT:-8089}
IO_THREADS=${IO_THREADS:-1}
WORKERS=${WORKERS:-16}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
POST_SIZES=${POST_SIZES-"102400 524288"}
IDLE=${IDLE:-0}
SERVER="$BUILD_DIR/bench/http/tp_http_echo_server"

if ! command -v wrk >/dev/null; then
  echo "wrk is not installed: run scripts/setup.sh --bench" >&2
  exit 2
fi
if [[ ! -x "$SERVER" ]]; then
  echo "$SERVER not found: cmake --preset release -B $BUILD_DIR && cmake --build $BUILD_DIR --target tp_http_echo_server" >&2
  exit 2
fi
# Refuse to measure something else that already listens on the port.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "port $PORT is already in use; set PORT=..." >&2
  exit 2
fi

LOG=$(mktemp)
"$SERVER" "$PORT" "$IO_THREADS" "$WORKERS" >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$LOG" && break
  kill -0 $SERVER_PID 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.05
done
grep -q "listening on" "$LOG" || { echo "server did not start" >&2; cat "$LOG" >&2; exit 1; }

# Server CPU seconds (user+system) so far; per-request CPU is a figure that other load on
# the machine does not distort as much as req/s.
TICKS=$(getconf CLK_TCK)
server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
run_wrk() {  # label, wrk args...
  local label=$1; shift
  local before out requests after
  before=$(server_cpu_ticks)
  out=$(wrk "$@")
  after=$(server_cpu_ticks)
  echo "$out"
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  if [[ -n "$requests" && "$requests" -gt 0 ]]; then
    awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" -v l="$label" \
      'BEGIN { printf "%s: server CPU %.1f us/request (%d requests)\n", l, t / hz * 1e6 / n, n }'
  fi
}

IDLE_PID=
if [[ "$IDLE" -gt 0 ]]; then
  # Each idle connection completes one request first, so the server has really accepted it.
  python3 - "$PORT" "$IDLE" <<'PY' &
import resource, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, max(n + 100, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for c in conns:
    c.sendall(b"GET /hello HTTP/1.1\r\nHost: idle\r\n\r\n")
for c in conns:
    data = b""
    while not data.endswith(b"}"):
        data += c.recv(4096)
print(f"== {n} idle keep-alive connections open", flush=True)
time.sleep(3600)
PY
  IDLE_PID=$!
  trap 'kill $IDLE_PID 2>/dev/null; kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null; rm -f "$LOG"' EXIT
  sleep 1
  for _ in $(seq 1 100); do
    [[ $(ls /proc/$SERVER_PID/fd | wc -l) -gt $IDLE ]] && break
    sleep 0.1
  done
fi

echo "== server: io_threads=$IO_THREADS workers=$WORKERS  idle=$IDLE ($(nproc) cores shared with wrk; load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "== GET /hello: wrk -t2 -c$CONNECTIONS -d$DURATION --latency"
run_wrk "GET /hello" -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/hello"
for size in $POST_SIZES; do
  echo "== POST /echo with $size-byte bodies: wrk -t2 -c16 -d$DURATION --latency -s bench/http/post.lua"
  BODY_BYTES=$size run_wrk "POST $size B" -t2 -c16 -d"$DURATION" --latency -s bench/http/post.lua \
    "http://127.0.0.1:$PORT/echo"
done
