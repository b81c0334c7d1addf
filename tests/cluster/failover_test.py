#!/usr/bin/env python3
"""Faults of several nodes on one PostgreSQL, with real processes on loopback (issue 13).

Scenarios (each on a fresh database of the test server that scripts/pgtest.sh started):

  kill      N nodes, C clients POSTing /v1/batch to all of them (retrying a failed batch on
            another node, as a client of a load balancer would), kill -9 of the writer every
            INTERVAL seconds, the killed node restarted; then: every event that got a 200 is
            stored exactly once, no event is stored twice, every profile equals the profile
            rebuilt from the stored events (ingested again into a fresh SQLite store), and no two
            nodes committed under one epoch (epochs never go down along the event log, each
            belongs to one election). Prints the failover times (kill to the first 200 of a
            request sent after the kill).
  sigstop   the writer frozen with SIGSTOP past its lease: a follower takes over; on SIGCONT
            the old writer finds itself fenced and steps down without committing.
  restart   the database restarted under load (pg_ctl restart -m fast): nodes answer 503
            meanwhile, come back, and lose nothing acknowledged.
  errors    wrong credentials, a missing database, a newer schema: clear errors, nonzero exit.

Usage: failover_test.py --bin build/dev/bin/touchpoint --pg-state build/dev/pgtest
           [--scenario kill,sigstop,restart,errors] [--kills 3] [--interval 8] [--nodes 3]
           [--clients 8]
ctest runs the short version (three kills); the long one (--kills 6 --interval 20: two
minutes) is labelled slow. Exit 0 when every check held, 1 otherwise, 77 (skip) without a
PostgreSQL test server.
"""
import argparse
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
failures = []


def check(cond, what):
    if cond:
        print(f"  ok: {what}", flush=True)
    else:
        print(f"  FAILED: {what}", flush=True)
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Env:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.state = args.pg_state
        with open(os.path.join(self.state, "url")) as f:
            self.admin = f.read().strip()
        self.base = self.admin.rsplit("/", 1)[0]
        self.work = tempfile.mkdtemp(prefix="tp_cluster_")
        self.secret = os.path.join(self.work, "cluster.secret")
        with open(self.secret, "w") as f:
            f.write("s3cret-%d\n" % random.getrandbits(64))
        os.chmod(self.secret, 0o600)

    def psql(self, db, sql, stdin=None):
        url = self.base + "/" + db
        r = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql], input=stdin,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql[:60]}: {r.stderr}")
        return r.stdout.strip()

    def new_database(self, name):
        self.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.base + "/" + name

    def tp(self, *args, check_rc=True):
        r = subprocess.run([self.bin, *args], capture_output=True, text=True)
        if check_rc and r.returncode != 0:
            raise RuntimeError(f"touchpoint {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        return r


class Node:
    def __init__(self, env, url, index):
        self.env = env
        self.url = url
        self.index = index
        self.port = free_port()
        self.data = os.path.join(env.work, f"node{index}")
        self.log = os.path.join(env.work, f"node{index}.log")
        self.proc = None

    def start(self):
        args = [self.env.bin, "--store", self.url, "serve", "--data", self.data,
                "--listen", f"127.0.0.1:{self.port}", "--advertise", f"127.0.0.1:{self.port}",
                "--node-id", f"n{self.index}", "--cluster-secret-file", self.env.secret,
                "--no-text", "--log-level", "warn", "--worker-threads", "16", "--jobs-schedule", "off"]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)

    def health(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/healthz")
            r = c.getresponse()
            body = r.read()
            c.close()
            return json.loads(body) if r.status == 200 else None
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(pred, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def writer_of(nodes):
    for n in nodes:
        h = n.health()
        if h and h.get("role") == "writer":
            return n, h
    return None


class Load:
    """C clients sending /v1/batch to every node; remembers which message ids got a 200."""

    def __init__(self, nodes, key, clients, users=3000):
        self.nodes = nodes
        self.auth = "Basic " + base64.b64encode((key + ":").encode()).decode()
        self.clients = clients
        self.users = users
        self.acked = []
        self.sent_batches = 0
        self.statuses = {}
        self.mu = threading.Lock()
        self.go = True
        self.kill_time = None
        self.failover = []
        self.threads = []

    def batch(self, t, n):
        items = []
        rnd = random.Random(t * 1_000_003 + n)
        for i in range(20):
            u = rnd.randrange(self.users)
            mid = f"c{t}-{n}-{i}"
            ts = "2026-11-%02dT%02d:%02d:00Z" % (1 + (n % 28), i % 24, u % 60)
            kind = rnd.random()
            if kind < 0.15:
                items.append({"type": "identify", "userId": f"u{u}", "messageId": mid, "timestamp": ts,
                              "traits": {"email": f"p{u % (self.users // 2)}@example.com"}})
            elif kind < 0.25:
                items.append({"type": "track", "userId": f"u{u}", "event": "Order Completed", "messageId": mid,
                              "timestamp": ts, "properties": {"order_id": mid, "total": 10 + u % 90,
                                                              "currency": "CNY"}})
            else:
                items.append({"type": "track", "userId": f"u{u}", "event": "Product Viewed", "messageId": mid,
                              "timestamp": ts, "properties": {"product_id": f"P{u % 50}"}})
        return [it["messageId"] for it in items], json.dumps({"batch": items})

    def client(self, t):
        conns = {}
        n = 0
        while self.go:
            ids, body = self.batch(t, n)
            n += 1
            # A failed batch is retried (same message ids) on the next node: exactly once is the
            # store's de-duplication's job, across failovers too.
            for attempt in range(60):
                if not self.go:
                    break
                node = self.nodes[(t + n + attempt) % len(self.nodes)]
                started = time.time()
                status = None
                try:
                    c = conns.get(node.index)
                    if c is None:
                        c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=15)
                        conns[node.index] = c
                    c.request("POST", "/v1/batch", body, {"Authorization": self.auth,
                                                          "Content-Type": "application/json"})
                    r = c.getresponse()
                    r.read()
                    status = r.status
                except (OSError, http.client.HTTPException):
                    conns.pop(node.index, None)
                with self.mu:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    if status == 200:
                        self.acked.extend(ids)
                        self.sent_batches += 1
                        if self.kill_time is not None and started > self.kill_time:
                            self.failover.append(time.time() - self.kill_time)
                            self.kill_time = None
                if status == 200:
                    break
                time.sleep(0.2)

    def start(self):
        for t in range(self.clients):
            th = threading.Thread(target=self.client, args=(t,), daemon=True)
            th.start()
            self.threads.append(th)

    def stop(self):
        self.go = False
        for th in self.threads:
            th.join(timeout=60)


def make_key(env, url, role):
    r = env.tp("--store", url, "keys", "create", "--role", role, "--data", os.path.join(env.work, "keys"))
    return r.stdout.strip().splitlines()[-1]


def start_cluster(env, url, count):
    nodes = [Node(env, url, i) for i in range(count)]
    for n in nodes:
        n.start()
    ok = wait_for(lambda: all(n.health() for n in nodes) and writer_of(nodes), 60)
    if not ok:
        for n in nodes:
            print(open(n.log).read()[-2000:], file=sys.stderr)
        raise RuntimeError("the cluster did not come up")
    return nodes


def stored_events(env, db):
    """The stored event log, oldest first, as `touchpoint store events` reads it (the events are
    compressed chunks in the database: SQL alone cannot read them)."""
    r = env.tp("--store", env.base + "/" + db, "store", "events", "--data", env.work)
    return [json.loads(line) for line in r.stdout.splitlines() if line]


def check_store(env, db, acked, label):
    """Every acknowledged event stored exactly once; nothing stored twice; epochs in order.

    Each event_chunks row is one commit's run of events (seq first_seq .. first_seq + n - 1) and
    carries the epoch of the writer that committed it."""
    events = stored_events(env, db)
    ids = [e["message_id"] for e in events]
    stored = set(ids)
    check(len(stored) == len(ids), f"{label}: no message id is stored twice ({len(ids) - len(stored)} duplicates)")
    missing = sum(1 for m in set(acked) if m not in stored)
    check(missing == 0, f"{label}: all {len(acked)} acknowledged events are stored (missing: {missing})")
    in_chunks = env.psql(db, "SELECT coalesce(sum(n), 0) FROM event_chunks")
    gaps = env.psql(db, "SELECT count(*) FROM (SELECT first_seq, lag(first_seq + n) OVER (ORDER BY first_seq) AS "
                        "expected FROM event_chunks) t WHERE first_seq <> coalesce(expected, 1)")
    check(in_chunks == str(len(events)) and gaps == "0" and [e["seq"] for e in events] == list(range(1, len(events) + 1)),
          f"{label}: the log reads back whole: seq 1..{len(events)} without gaps ({in_chunks} events in chunks)")
    backwards = env.psql(db, "SELECT count(*) FROM (SELECT epoch, lag(epoch) OVER (ORDER BY first_seq) AS prev "
                             "FROM event_chunks) t WHERE epoch < prev")
    check(backwards == "0", f"{label}: epochs never go down along the event log (one writer per epoch)")
    orphan = env.psql(db, "SELECT count(DISTINCT epoch) FROM event_chunks e WHERE NOT EXISTS "
                          "(SELECT 1 FROM tp_elections x WHERE x.epoch = e.epoch)")
    check(orphan == "0", f"{label}: every commit's epoch was won in an election")
    epochs = env.psql(db, "SELECT count(DISTINCT epoch) FROM event_chunks")
    print(f"  events: {len(events)} in {env.psql(db, 'SELECT count(*) FROM event_chunks')} chunks, "
          f"epochs that committed: {epochs}, elections: {env.psql(db, 'SELECT count(*) FROM tp_elections')}")


def check_follower_reads(env, url, nodes, load, sample=40):
    """Followers answer customer reads (from their warm copy) as the writer does (from memory)."""
    key = make_key(env, url, "admin")
    auth = {"Authorization": "Bearer " + key}
    time.sleep(1.5)  # the copies follow the change sequence; let the last commits arrive

    def get(node, path):
        c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
        c.request("GET", path, headers=auth)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, (json.loads(body) if r.status == 200 else None)

    writer = writer_of(nodes)[0]
    followers = [n for n in nodes if n is not writer and (n.health() or {}).get("role") == "follower"]
    rnd = random.Random(11)
    same = 0
    total = 0
    for u in rnd.sample(range(load.users), sample):
        ws, wj = get(writer, f"/v1/customers/user:u{u}")
        for f in followers:
            fs, fj = get(f, f"/v1/customers/user:u{u}")
            total += 1
            if ws == fs and (wj is None or (wj["features"] == fj["features"] and wj["traits"] == fj["traits"]
                                            and wj["id"] == fj["id"])):
                same += 1
            elif total - same <= 3:
                print(f"    user:u{u}: writer {ws} {wj and wj['features']}\n      follower {fs} {fj and fj['features']}")
    check(total > 0 and same == total, f"followers answer customer reads as the writer does ({same}/{total})")


def check_profiles(env, url, db, users, sample=60):
    """Profiles served from the database equal those rebuilt from the stored events."""
    events = os.path.join(env.work, f"{db}.ndjson")
    with open(events, "w") as f:
        for e in stored_events(env, db):
            f.write(e["body"] + "\n")
    rebuilt = os.path.join(env.work, f"{db}-rebuilt")
    env.tp("ingest", "--no-text", "--data", rebuilt, events)
    rnd = random.Random(7)
    differ = 0
    compared = 0
    for u in rnd.sample(range(users), sample):
        a = env.tp("--store", url, "customer", "show", "--data", env.work, f"user:u{u}", check_rc=False)
        b = env.tp("customer", "show", "--data", rebuilt, f"user:u{u}", check_rc=False)
        if a.returncode != 0 or b.returncode != 0:
            if a.returncode != b.returncode:
                differ += 1
            continue
        ja, jb = json.loads(a.stdout), json.loads(b.stdout)
        compared += 1
        for part in ("features", "traits", "tags"):
            if ja.get(part) != jb.get(part):
                differ += 1
                print(f"    user:u{u} {part} differs:\n      served  {ja.get(part)}\n      rebuilt {jb.get(part)}")
                break
        else:
            ida = sorted((i["kind"], i["value"]) for i in ja["identifiers"])
            idb = sorted((i["kind"], i["value"]) for i in jb["identifiers"])
            if ida != idb:
                differ += 1
    check(compared > sample // 2 and differ == 0,
          f"profiles equal their rebuild from the stored events ({compared} customers compared)")


def scenario_kill(env, args):
    print(f"kill: {args.nodes} nodes, {args.clients} clients, kill -9 of the writer every {args.interval} s, "
          f"{args.kills} times", flush=True)
    url = env.new_database("tp_fault_kill")
    key = make_key(env, url, "ingest")
    nodes = start_cluster(env, url, args.nodes)
    load = Load(nodes, key, args.clients)
    load.start()
    for k in range(args.kills):
        time.sleep(args.interval)
        found = writer_of(nodes)
        if not found:
            check(False, f"kill {k + 1}: a writer exists before the kill")
            continue
        victim, h = found
        with load.mu:
            load.kill_time = time.time()
        victim.kill9()
        print(f"  kill {k + 1}: node n{victim.index} (epoch {h['epoch']}) killed", flush=True)
        time.sleep(1.0)
        victim.start()  # comes back: must join as a follower
    time.sleep(args.interval)
    load.stop()
    print(f"  batches acknowledged: {load.sent_batches}; responses: {load.statuses}")
    print(f"  failover times (s): {[round(x, 2) for x in load.failover]}")
    if load.failover:
        print(f"  failover median {statistics.median(load.failover):.2f} s, max {max(load.failover):.2f} s")
    check(len(load.failover) == args.kills, "every kill was followed by a 200 from the new writer")
    check(all(x <= 10.0 for x in load.failover), "each failover took at most 10 s")
    roles = [n.health() for n in nodes]
    check(sum(1 for r in roles if r and r.get("role") == "writer") == 1,
          "after the kills: exactly one writer, the restarted nodes are followers")
    check_follower_reads(env, url, nodes, load)
    for n in nodes:
        n.stop()
    check_store(env, "tp_fault_kill", load.acked, "kill")
    check_profiles(env, url, "tp_fault_kill", load.users)


def scenario_sigstop(env, args):
    print("sigstop: a writer frozen past its lease", flush=True)
    url = env.new_database("tp_fault_stop")
    key = make_key(env, url, "ingest")
    nodes = start_cluster(env, url, 2)
    load = Load(nodes, key, 4)
    load.start()
    time.sleep(3)
    victim, h = writer_of(nodes)
    old_epoch = h["epoch"]
    victim.signal(signal.SIGSTOP)
    frozen_at = time.time()
    other = [n for n in nodes if n is not victim][0]
    took_over = wait_for(lambda: (other.health() or {}).get("role") == "writer", 30)
    check(bool(took_over), f"a follower took over within {time.time() - frozen_at:.1f} s of the freeze")
    time.sleep(2)
    victim.signal(signal.SIGCONT)
    stepped_down = wait_for(lambda: (victim.health() or {}).get("role") == "follower", 30)
    check(bool(stepped_down), "the old writer, woken up, stepped down to follower")
    time.sleep(2)
    load.stop()
    late = env.psql("tp_fault_stop", f"SELECT count(*) FROM event_chunks WHERE epoch = {old_epoch} AND first_seq > "
                                     f"(SELECT coalesce(min(first_seq), 9223372036854775807) FROM event_chunks "
                                     f"WHERE epoch > {old_epoch})")
    check(late == "0", "the frozen writer committed nothing after the new epoch began")
    for n in nodes:
        n.stop()
    check_store(env, "tp_fault_stop", load.acked, "sigstop")


def scenario_restart(env, args):
    print("restart: the database restarted under load", flush=True)
    url = env.new_database("tp_fault_restart")
    key = make_key(env, url, "ingest")
    nodes = start_cluster(env, url, 2)
    load = Load(nodes, key, 4)
    load.start()
    time.sleep(3)
    with open(os.path.join(env.state, "dir")) as f:
        pgdir = f.read().strip()
    pgbin = next(f"/usr/lib/postgresql/{v}/bin" for v in (17, 16, 15)
                 if os.path.exists(f"/usr/lib/postgresql/{v}/bin/pg_ctl"))
    # -l: the restarted server must not inherit a pipe of ours (run() would wait for it forever).
    cmd = [f"{pgbin}/pg_ctl", "-D", f"{pgdir}/data", "-l", f"{pgdir}/server.log", "-m", "fast", "-w", "restart"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    before = dict(load.statuses)
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    check(r.returncode == 0, "pg_ctl restart -m fast")
    back = wait_for(lambda: writer_of(nodes), 60)
    check(bool(back), "a writer is elected again after the restart")
    acked_before = load.sent_batches
    wait_for(lambda: load.sent_batches > acked_before + 5, 30)
    check(load.sent_batches > acked_before, "writes are acknowledged again after the restart")
    during = {k: v - before.get(k, 0) for k, v in load.statuses.items()}
    print(f"  responses around the restart: {during}")
    load.stop()
    for n in nodes:
        n.stop()
    check_store(env, "tp_fault_restart", load.acked, "restart")


def scenario_errors(env, args):
    print("errors: credentials, missing database, schema versions", flush=True)
    env.psql("postgres", "DO $$ BEGIN CREATE ROLE tp_password_user LOGIN PASSWORD 'right-horse'; "
                         "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    url = env.new_database("tp_fault_errors")
    env.psql("tp_fault_errors", "GRANT ALL ON SCHEMA public TO tp_password_user")
    as_user = url.replace("postgres@", "tp_password_user@")
    wrong = os.path.join(env.work, "wrong.pw")
    with open(wrong, "w") as f:
        f.write("wrong-battery\n")
    os.chmod(wrong, 0o600)
    r = env.tp("--store", as_user, "--store-password-file", wrong, "serve", "--data", env.work,
               "--listen", "127.0.0.1:0", check_rc=False)
    check(r.returncode != 0 and "password authentication failed" in r.stderr and "wrong-battery" not in r.stderr,
          f"wrong password: exit {r.returncode}, '{r.stderr.strip()[:120]}'")
    missing = env.base + "/tp_no_such_db"
    r = env.tp("--store", missing, "stats", check_rc=False)
    check(r.returncode != 0 and "does not exist" in r.stderr, f"missing database: exit {r.returncode}")
    env.tp("--store", url, "ingest", "--no-text", "--data", env.work, "/dev/null")
    env.psql("tp_fault_errors", "UPDATE schema_version SET version = 99")
    r = env.tp("--store", url, "serve", "--data", env.work, "--listen", "127.0.0.1:0", check_rc=False)
    check(r.returncode != 0 and "newer than this binary" in r.stderr, f"newer schema: exit {r.returncode}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--pg-state", required=True)
    p.add_argument("--scenario", default="errors,sigstop,restart,kill")
    p.add_argument("--kills", type=int, default=3)
    p.add_argument("--interval", type=float, default=8)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args()
    # Encryption at rest creates the master key at ~/.config/touchpoint on a new store: the nodes
    # and commands started here keep theirs in a directory of this run, never the real home.
    if "XDG_CONFIG_HOME" not in os.environ:
        os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="tp_cluster_config_")
    if not os.path.exists(os.path.join(args.pg_state, "url")):
        why = ""
        try:
            with open(os.path.join(args.pg_state, "unavailable")) as f:
                why = f.read().strip()
        except OSError:
            why = "no test server (scripts/pgtest.sh start " + args.pg_state + ")"
        print(f"SKIP: PostgreSQL is not available: {why}")
        return SKIP
    env = Env(args)
    try:
        for s in args.scenario.split(","):
            {"kill": scenario_kill, "sigstop": scenario_sigstop, "restart": scenario_restart,
             "errors": scenario_errors}[s](env, args)
    finally:
        if failures:
            print(f"logs kept in {env.work}")
        else:
            shutil.rmtree(env.work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed: {failures}")
        return 1
    print("all checks held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
