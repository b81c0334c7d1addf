#!/usr/bin/env python3
"""Followers reading from a real PostgreSQL streaming replica (issue 13, "Read replicas").

A primary and a hot standby of it (scripts/pgtest.sh start / standby: pg_basebackup -R), a
writer node on the primary and two followers with --store-read on the standby (one allowing
60 s of lag, one 2 s). Checks:

  - reads come from the replica: with the standby's replay paused, a write acknowledged by the
    writer stays invisible to the followers' ordinary reads (customer and counts), their
    connections to the standby are Touchpoint's read-only ones, and once replay resumes the
    write appears;
  - the lag is measured: /healthz read_replica.lag_seconds and /metrics
    touchpoint_read_replica_lag_seconds grow while replay is paused and fall back after;
  - fresh reads (X-Touchpoint-Consistency: fresh) see a write at once, paused replica or not;
  - a replica further behind than read_max_lag_seconds is left for the primary;
  - a replica that goes down: reads fall back to the primary (in_use false, reachable false) and
    keep answering with current data;
  - nothing is written to the replica: its server log holds no refused write (a hot standby
    refuses every write with "read-only transaction" or "during recovery").

Usage: read_replica_test.py --bin build/dev/bin/touchpoint --state build/dev/pgtest-replica
  (STATE/primary and STATE/standby as the ctest fixture `pg_replica` starts them). Exit 0 when
every check held, 1 otherwise, 77 (skip) without PostgreSQL.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
failures = []


def check(cond, what):
    print(f"  {'ok' if cond else 'FAILED'}: {what}", flush=True)
    if not cond:
        failures.append(what)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def read(path):
    with open(path) as f:
        return f.read().strip()


def psql(url, sql):
    r = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql {sql[:60]}: {r.stderr}")
    return r.stdout.strip()


class Node:
    def __init__(self, binary, work, url, index, secret, read_url=None, max_lag=None):
        self.port = free_port()
        self.data = os.path.join(work, f"node{index}")
        self.log = os.path.join(work, f"node{index}.log")
        os.makedirs(self.data, exist_ok=True)
        if max_lag is not None:
            with open(os.path.join(self.data, "touchpoint.toml"), "w") as f:
                f.write(f"[store]\nread_max_lag_seconds = {max_lag}\n")
        self.args = [binary, "--store", url, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}",
                     "--node-id", f"n{index}", "--cluster-secret-file", secret, "--no-text", "--log-level", "info",
                     "--jobs-schedule", "off"]
        if read_url:
            self.args += ["--store-read", read_url]
        self.proc = None

    def start(self):
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=log)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def request(self, method, path, key=None, body=None, headers=None):
        h = dict(headers or {})
        if key:
            h["Authorization"] = "Bearer " + key
        if body is not None:
            h["Content-Type"] = "application/json"
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request(method, path, body, h)
            r = c.getresponse()
            data = r.read().decode()
            c.close()
            return r.status, data
        except (OSError, http.client.HTTPException) as e:
            return None, str(e)

    def health(self):
        status, body = self.request("GET", "/healthz")
        return json.loads(body) if status == 200 else None

    def metric(self, name):
        status, body = self.request("GET", "/metrics")
        if status != 200:
            return None
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--state", required=True)
    args = p.parse_args()
    primary_state = os.path.join(args.state, "primary")
    standby_state = os.path.join(args.state, "standby")
    for s in (primary_state, standby_state):
        if not os.path.exists(os.path.join(s, "url")):
            why = read(os.path.join(s, "unavailable")) if os.path.exists(os.path.join(s, "unavailable")) else \
                f"not started (scripts/pgtest.sh start|standby {s})"
            print(f"SKIP: no PostgreSQL {os.path.basename(s)}: {why}")
            return SKIP
    binary = os.path.abspath(args.bin)
    primary_base = read(os.path.join(primary_state, "url")).rsplit("/", 1)[0]
    standby_base = read(os.path.join(standby_state, "url")).rsplit("/", 1)[0]
    standby_dir = read(os.path.join(standby_state, "dir"))
    work = tempfile.mkdtemp(prefix="tp_read_replica_")
    secret = os.path.join(work, "cluster.secret")
    with open(secret, "w") as f:
        f.write("replica-secret-%d\n" % random.getrandbits(64))
    os.chmod(secret, 0o600)
    nodes = []
    standby_log = os.path.join(standby_dir, "server.log")
    log_start = os.path.getsize(standby_log) if os.path.exists(standby_log) else 0  # this run's lines only
    try:
        db = "tp_read_replica"
        psql(primary_base + "/postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        psql(primary_base + "/postgres", f"CREATE DATABASE {db}")
        primary, standby = primary_base + "/" + db, standby_base + "/" + db
        check(wait_for(lambda: psql(standby_base + "/postgres",
                                    f"SELECT count(*) FROM pg_database WHERE datname = '{db}'") == "1", 30),
              "the standby replicates the primary (the new database appears there)")
        check(psql(standby, "SELECT pg_is_in_recovery()") == "t", "the standby is a hot standby (in recovery)")
        key = subprocess.run([binary, "--store", primary, "keys", "create", "--role", "admin", "--data",
                              os.path.join(work, "keys")], capture_output=True, text=True, check=True)
        key = key.stdout.strip().splitlines()[-1]

        writer = Node(binary, work, primary, 0, secret)
        writer.start()
        nodes.append(writer)
        if not wait_for(lambda: (writer.health() or {}).get("role") == "writer", 60):
            raise RuntimeError("the writer did not come up: " + open(writer.log).read()[-2000:])
        f1 = Node(binary, work, primary, 1, secret, read_url=standby, max_lag=60)
        f2 = Node(binary, work, primary, 2, secret, read_url=standby, max_lag=2)
        for f in (f1, f2):
            f.start()
            nodes.append(f)
        for f in (f1, f2):
            if not wait_for(lambda: (f.health() or {}).get("role") == "follower", 60):
                raise RuntimeError("a follower did not come up: " + open(f.log).read()[-2000:])

        def post(user):
            body = json.dumps({"batch": [
                {"type": "identify", "userId": user, "messageId": f"{user}-id", "timestamp": "2026-11-01T10:00:00Z",
                 "traits": {"email": f"{user}@example.com"}},
                {"type": "track", "userId": user, "event": "Order Completed", "messageId": f"{user}-o",
                 "timestamp": "2026-11-01T10:00:01Z", "properties": {"order_id": f"{user}-o", "total": 42}}]})
            return writer.request("POST", "/v1/batch", key, body)[0]

        def get(node, user, fresh=False):
            h = {"X-Touchpoint-Consistency": "fresh"} if fresh else None
            return node.request("GET", f"/v1/customers/user:{user}", key, headers=h)[0]

        def events(node, fresh=False):
            h = {"X-Touchpoint-Consistency": "fresh"} if fresh else None
            status, body = node.request("GET", "/v1/stats", key, headers=h)
            return json.loads(body)["events"] if status == 200 else None

        def replica(node):
            return (node.health() or {}).get("read_replica") or {}

        print("== reads from the replica")
        check(post("u1") == 200, "a batch through the writer is acknowledged")
        check(wait_for(lambda: get(f1, "u1") == 200, 15) is not None, "the follower sees it through the replica")
        check(wait_for(lambda: replica(f1).get("in_use") is True and replica(f1).get("lag_seconds", 99) < 5, 15),
              f"/healthz: the follower reads the replica, lag below 5 s ({replica(f1)})")
        check(f1.metric("touchpoint_read_replica_in_use") == 1.0, "/metrics: touchpoint_read_replica_in_use 1")
        check((f1.metric("touchpoint_read_replica_lag_seconds") or 99) < 5, "/metrics: the replica's lag is small")
        apps = psql(standby_base + "/postgres",
                    f"SELECT string_agg(DISTINCT application_name, ',') FROM pg_stat_activity WHERE datname = '{db}'")
        check("touchpoint reader" in apps, f"the followers are connected to the standby ({apps})")

        print("== replay paused: the followers' ordinary reads stay on the replica; fresh reads do not")
        before = events(f1)
        psql(standby_base + "/postgres", "SELECT pg_wal_replay_pause()")
        check(post("u2") == 200, "a batch through the writer is acknowledged")
        check(get(f1, "u2", fresh=True) == 200, "a fresh read on the follower sees it at once")
        check(events(f1, fresh=True) == before + 2, "fresh counts include it")
        stale = [get(f1, "u2") for _ in range(15) if time.sleep(0.1) is None]
        check(all(s == 404 for s in stale), f"ordinary reads come from the paused replica: not there yet ({set(stale)})")
        check(events(f1) == before, "ordinary counts come from the replica too")
        check(wait_for(lambda: replica(f1).get("lag_seconds", 0) >= 1.5, 15) is not None,
              f"the lag grows while replay is paused ({replica(f1)})")
        check((f1.metric("touchpoint_read_replica_lag_seconds") or 0) >= 1.5, "/metrics shows that lag")
        check(wait_for(lambda: replica(f2).get("in_use") is False, 20) is not None,
              f"a follower allowing 2 s of lag leaves the replica for the primary ({replica(f2)})")
        check(wait_for(lambda: get(f2, "u2") == 200, 10) is not None, "... and then sees the write")
        check(replica(f1).get("in_use") is True, "the follower allowing 60 s still reads the replica")
        psql(standby_base + "/postgres", "SELECT pg_wal_replay_resume()")
        check(wait_for(lambda: get(f1, "u2") == 200, 15) is not None, "replay resumed: the follower sees the write")
        check(wait_for(lambda: replica(f1).get("lag_seconds", 99) < 2, 15) is not None,
              f"the lag falls back ({replica(f1)})")
        check(wait_for(lambda: replica(f2).get("in_use") is True, 20) is not None,
              "the 2 s follower reads the replica again once it caught up")

        print("== nothing is written to the replica")
        with open(standby_log, errors="replace") as f:
            f.seek(log_start)
            refused = [line for line in f if "ERROR" in line and ("read-only" in line or "during recovery" in line)]
        check(not refused, f"the standby refused no write ({refused[:3]})")

        print("== the replica goes down: reads fall back to the primary")
        pg_ctl = None
        for v in ("17", "16", "15"):
            if os.path.exists(f"/usr/lib/postgresql/{v}/bin/pg_ctl"):
                pg_ctl = f"/usr/lib/postgresql/{v}/bin/pg_ctl"
                break
        stop = [pg_ctl or "pg_ctl", "-D", os.path.join(standby_dir, "data"), "-m", "immediate", "-w", "stop"]
        if os.getuid() == 0:
            stop = ["runuser", "-u", "postgres", "--"] + stop
        subprocess.run(stop, capture_output=True, check=True, cwd="/")
        check(wait_for(lambda: replica(f1).get("in_use") is False and replica(f1).get("reachable") is False, 20)
              is not None, f"/healthz: the replica is unreachable and not read ({replica(f1)})")
        check(f1.metric("touchpoint_read_replica_in_use") == 0.0, "/metrics: touchpoint_read_replica_in_use 0")
        check(post("u3") == 200, "writes go on")
        check(wait_for(lambda: get(f1, "u3") == 200, 15) is not None, "the follower reads the write from the primary")
        check(events(f1) == before + 4, "counts come from the primary")
        lag = replica(f1).get("lag_seconds", 0)
        check(wait_for(lambda: replica(f1).get("lag_seconds", 0) > lag + 0.5, 10) is not None,
              "the replica's lag keeps growing while it is down")
    finally:
        for n in nodes:
            n.stop()
        if failures:
            print(f"logs kept in {work}")
            for n in nodes:
                print(f"--- {n.log}\n" + open(n.log).read()[-3000:])
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed: {failures}")
        return 1
    print("all checks held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
