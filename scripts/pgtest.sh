#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests (../shared/STACK.md's recipe): initdb into a
# temporary directory, listening on 127.0.0.1 only, on a free port.
#
#   scripts/pgtest.sh start STATE_DIR   starts it; writes STATE_DIR/url (an admin URL) or, when
#                                       PostgreSQL is not installed, STATE_DIR/unavailable (why)
#   scripts/pgtest.sh stop STATE_DIR    stops it and removes its files
#   scripts/pgtest.sh standby STATE_DIR PRIMARY_STATE_DIR
#                                       starts a hot standby of the server started in
#                                       PRIMARY_STATE_DIR (pg_basebackup -R: a streaming replica,
#                                       read-only) on another free port; writes STATE_DIR/url as
#                                       above, or STATE_DIR/unavailable (why); `stop` stops it
#
# With `standby`, STATE_DIR/primary_url is the primary's URL (the read-replica tests use both).
# ctest runs these as the fixture of every test binary with PostgreSQL cases (tests/CMakeLists.txt);
# the tests read STATE_DIR/url (or TP_TEST_PG_URL) and create one database per test case.
# fsync is off: these databases are thrown away, and the tests check behaviour, not disks
# (PGTEST_DURABLE=1 keeps PostgreSQL's durable defaults, for the benchmarks).
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [[ -z "$cmd" || -z "$state" ]]; then
  echo "usage: $0 start|stop STATE_DIR | standby STATE_DIR PRIMARY_STATE_DIR" >&2
  exit 2
fi
mkdir -p "$state"
state=$(cd "$state" && pwd)

pgbin() {
  for v in 17 16 15; do
    if [[ -x /usr/lib/postgresql/$v/bin/initdb ]]; then echo /usr/lib/postgresql/$v/bin; return; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return
  return 1
}

as_owner() {
  # initdb refuses to run as root: run the server as the postgres user then.
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  if [[ -f "$state/dir" ]]; then
    local dir
    dir=$(cat "$state/dir")
    local bin
    bin=$(pgbin || true)
    if [[ -n "$bin" && -d "$dir/data" ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
  fi
  rm -f "$state/url" "$state/dir" "$state/unavailable" "$state/port" "$state/primary_url"
}

case "$cmd" in
  stop)
    stop
    ;;
  start)
    stop
    if ! bin=$(pgbin); then
      echo "PostgreSQL server binaries not found (install the 'postgresql' package: scripts/setup.sh)" >"$state/unavailable"
      echo "pgtest: $(cat "$state/unavailable"); PostgreSQL tests will skip" >&2
      exit 0
    fi
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
      echo "no 'postgres' user to run the server as (install the 'postgresql' package)" >"$state/unavailable"
      echo "pgtest: $(cat "$state/unavailable"); PostgreSQL tests will skip" >&2
      exit 0
    fi
    dir=$(mktemp -d /tmp/tp-pgtest.XXXXXX)
    echo "$dir" >"$state/dir"
    chmod 755 "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$dir"; fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
      echo "initdb failed: $(tail -3 "$dir/initdb.log" | tr '\n' ' ')" >"$state/unavailable"
      echo "pgtest: $(cat "$state/unavailable")" >&2
      exit 1
    }
    # PGTEST_DURABLE=1 (the benchmarks): PostgreSQL's defaults, fsync and synchronous commit on.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [[ "${PGTEST_DURABLE:-0}" == 1 ]]; then durability="-c shared_buffers=512MB -c max_wal_size=4GB"; fi
    # Everyone is trusted on loopback except one role that must give a password, for the tests
    # of wrong credentials (pg_hba.conf: first match wins).
    { echo "host all tp_password_user 127.0.0.1/32 scram-sha-256"; cat "$dir/data/pg_hba.conf"; } >"$dir/hba.tmp"
    as_owner cp "$dir/hba.tmp" "$dir/data/pg_hba.conf"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability -c max_connections=300" \
      start >/dev/null || {
      echo "the server did not start: $(tail -3 "$dir/server.log" | tr '\n' ' ')" >"$state/unavailable"
      echo "pgtest: $(cat "$state/unavailable")" >&2
      exit 1
    }
    echo "$port" >"$state/port"
    echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$state/url"
    echo "pgtest: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
    ;;
  standby)
    stop
    primary=${3:-}
    if [[ -z "$primary" ]]; then
      echo "usage: $0 standby STATE_DIR PRIMARY_STATE_DIR" >&2
      exit 2
    fi
    unavailable() {
      echo "$1" >"$state/unavailable"
      echo "pgtest: $1; read-replica tests will skip" >&2
      exit 0
    }
    if [[ ! -f "$primary/url" || ! -f "$primary/port" || ! -f "$primary/dir" ]]; then
      unavailable "no primary server in $primary ($(cat "$primary/unavailable" 2>/dev/null || echo 'not started'))"
    fi
    bin=$(pgbin) || unavailable "PostgreSQL server binaries not found"
    pport=$(cat "$primary/port")
    pdir=$(cat "$primary/dir")
    dir=$(mktemp -d /tmp/tp-pgtest-standby.XXXXXX)
    echo "$dir" >"$state/dir"
    chmod 755 "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$dir"; fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    # A base backup of the running primary, streaming the WAL it needs (-X stream); -R writes
    # standby.signal and primary_conninfo, so the copy starts as a hot standby that follows it.
    as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$dir/data" -R -X stream \
      --checkpoint=fast --no-sync >"$dir/basebackup.log" 2>&1 || {
      echo "pg_basebackup failed: $(tail -3 "$dir/basebackup.log" | tr '\n' ' ')" >"$state/unavailable"
      echo "pgtest: $(cat "$state/unavailable")" >&2
      exit 1
    }
    # The primary's settings came from its command line, not its files: give them again (a
    # standby needs max_connections >= the primary's). hot_standby_feedback: the primary keeps the
    # rows a standby's snapshot still reads, so followers' reads are not cancelled by replay.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [[ "${PGTEST_DURABLE:-0}" == 1 ]]; then durability="-c shared_buffers=512MB -c max_wal_size=4GB"; fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability -c max_connections=300 -c hot_standby=on -c hot_standby_feedback=on" \
      start >/dev/null || {
      echo "the standby did not start: $(tail -3 "$dir/server.log" | tr '\n' ' ')" >"$state/unavailable"
      echo "pgtest: $(cat "$state/unavailable")" >&2
      exit 1
    }
    echo "$port" >"$state/port"
    cp "$primary/url" "$state/primary_url"
    echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$state/url"
    echo "pgtest: hot standby of 127.0.0.1:$pport on 127.0.0.1:$port (data in $dir)"
    ;;
  *)
    echo "usage: $0 start|stop STATE_DIR | standby STATE_DIR PRIMARY_STATE_DIR" >&2
    exit 2
    ;;
esac
