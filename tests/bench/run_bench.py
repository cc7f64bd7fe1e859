#!/usr/bin/env python3
"""Benchmark of shared-linkd against two baselines in the same run (python3 stdlib, wrk, nginx).

    tests/bench/run_bench.py            # full run: builds Release into build-bench/, about 15 minutes
    tests/bench/run_bench.py --smoke    # a few seconds on a tiny database (CTest: bench.smoke)

What it does, in order:
  1. Builds shared-linkd, sharectl and tests/bench/baseline_server (Release) unless
     binaries are given.
  2. Seeds installations fast: `sharectl init`, then the catalogue and the share
     links written straight into SQLite as schema/main/*.sql defines them (one
     transaction; tokens are derived from a per-run salt, only their SHA-256
     digests are stored, and no file ever holds a raw token).
  3. For every scenario and connection count, back to back: shared-linkd (rate
     limits at production defaults, 127.0.0.1 as the trusted proxy, audit on),
     the httplib baseline (a fixed copy of the real answer, same server tuning),
     and nginx serving that answer as a static file; all driven by wrk with
     bench.lua, which spreads requests over many tokens and many client
     addresses (X-Forwarded-For) so every simulated client stays under its buckets.
  4. Scale (1,000 vs 1,000,000 shares), durability (track resolve with the batched audit log and
     with audit.synchronous, back to back), memory (RSS before and after a flood from
     1,000,000 distinct addresses) and correctness after load (audit records ==
     requests served; no max_views link served past its limit).
  5. Prints the tables and the verdict on the speed targets (TARGETS below).

Exit status: 0 when every correctness check holds (targets are reported, not
enforced), 1 when one fails, 2 on a usage error, 77 when wrk is missing (CTest
counts that as skipped).
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LUA_SCRIPT = os.path.join(HERE, "bench.lua")
SKIP = 77

# Token kinds: the first hex digit after "shr_" (bench.lua builds the same tokens).
KIND_TRACK, KIND_COLLECTION, KIND_MAX_VIEWS, KIND_EXACT, KIND_UNKNOWN = 0, 1, 2, 3, 15
COLLECTION_TRACKS = 100
MEDIA_FILE_BYTES = 4096
MAX_VIEWS = 5          # per link of the wrk correctness phase
EXACT_MAX_VIEWS = 7    # per link of the exact (python client) phase
ONE_MB = 1024 * 1024
SOAK_CONNECTIONS = 32
SOAK_SAMPLE_SECONDS = 10
# The soak's RSS is "flat" when its samples over the last half stay within this many MB of their
# smallest, or this fraction of it when that is larger.
SOAK_RSS_BOUND_MB = 4.0
SOAK_RSS_BOUND_FRACTION = 0.05

# Distinct address ranges (indexes into 10.0.0.0/7) per phase, so phases never share buckets.
ADDR_WARMUP = 4_000_000
ADDR_MEASURE = 0
ADDR_FLOOD = 8_000_000
ADDR_CORRECTNESS = 12_000_000

TARGETS = {
    "track_vs_httplib": 0.7,
    "track_vs_nginx": 0.4,
    "track_p99_ms": 10.0,
    "collection_vs_httplib": 0.3,
    "page_vs_resolve": 0.6,
    "scale_ratio": 0.9,
    "audit_log_ratio": 0.8,
    "audit_query_seconds": 0.5,
    "rss_mb": 64.0,
}


def log(message):
    print("[bench] " + message, file=sys.stderr, flush=True)


def token(kind, index, salt):
    return "shr_%x%07x%s" % (kind, index, salt)


def share_id(kind, index):
    return "mslink_%x%011x" % (kind, index)


def track_id(index):
    return "mtrack_%012x" % index


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_number(pid, name, key):
    """The number after "key:" in /proc/PID/name (status, io), or 0."""
    with open("/proc/%d/%s" % (pid, name)) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def written_bytes(pid):
    """Bytes the process has caused to be written to storage so far."""
    return proc_number(pid, "io", "write_bytes")


def thread_count(pid):
    return proc_number(pid, "status", "Threads")


def largest_mappings(pid, count=6):
    """The mappings of a process with the most resident memory: [(KiB resident, size KiB, name)]."""
    regions, current = [], None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                fields = line.split()
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    current = [0, (end - start) // 1024, fields[5] if len(fields) > 5 else "[anon]"]
                    regions.append(current)
                elif fields and fields[0] == "Rss:" and current is not None:
                    current[0] = int(fields[1])
    except OSError:
        return []
    return sorted((tuple(r) for r in regions), reverse=True)[:count]


def rss_kib(pid):
    return proc_number(pid, "status", "VmRSS")


def http_get(port, path, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# Binaries

class Binaries:
    def __init__(self, shared_linkd, sharectl, baseline_server, wrk, nginx):
        self.shared_linkd = shared_linkd
        self.sharectl = sharectl
        self.baseline_server = baseline_server
        self.wrk = wrk
        self.nginx = nginx


def build(build_dir):
    log("building Release into %s" % build_dir)
    subprocess.run(["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                    "-DSHARELINK_BUILD_TESTS=ON"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", "shared-linkd", "sharectl",
                    "baseline_server"], check=True, stdout=subprocess.DEVNULL)
    return (os.path.join(build_dir, "daemon", "shared-linkd"), os.path.join(build_dir, "cli", "sharectl"),
            os.path.join(build_dir, "tests", "baseline_server"))


# ---------------------------------------------------------------------------
# Installations

class Installation:
    """A directory with both databases, the key file and media, seeded for the benchmark."""

    def __init__(self, root, name, binaries, salt, track_shares, collection_shares, max_views_links,
                 exact_links):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.binaries = binaries
        self.salt = salt
        self.track_shares = track_shares
        self.collection_shares = collection_shares
        self.max_views_links = max_views_links
        self.exact_links = exact_links
        self.db = os.path.join(self.dir, "shared-link.db")
        self.audit_db = os.path.join(self.dir, "shared-link-audit.db")
        self.pristine_audit = os.path.join(self.dir, "audit-pristine.db")
        self.configs = 0
        self.synchronous = False  # audit.synchronous of the next daemon (the durability scenario)
        self.write_config(threads=16)
        subprocess.run([binaries.sharectl, "--config", self.config_path, "init"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        self.seed()
        self.seconds_to_seed = time.monotonic() - started
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.audit_db + suffix):
                os.remove(self.audit_db + suffix)
        shutil.copyfile(self.audit_db, self.pristine_audit)

    def write_config(self, threads):
        self.configs += 1
        self.config_path = os.path.join(self.dir, "shared-linkd-%d.toml" % self.configs)
        with open(self.config_path, "w") as f:
            f.write('[server]\nlisten = "127.0.0.1:0"\nthreads = %d\n\n' % threads)
            f.write('[database]\npath = "shared-link.db"\naudit_path = "shared-link-audit.db"\n\n')
            f.write('[playback]\nkey_file = "signing.keys"\nmedia_root = "media"\n\n')
            # Production defaults for every limit; only the proxy is trusted.
            f.write('[rate_limit]\ntrusted_proxies = ["127.0.0.1/32"]\n')
            if self.synchronous:
                f.write('\n[audit]\nsynchronous = true\n')
        return self.config_path

    def reset_audit(self):
        """A fresh, empty audit database, so that every run inserts into the same size of index."""
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.audit_db + suffix):
                os.remove(self.audit_db + suffix)
        shutil.copyfile(self.pristine_audit, self.audit_db)

    def seed(self):
        now = int(time.time())
        media = os.path.join(self.dir, "media", "bench")
        os.makedirs(media, exist_ok=True)
        audio = bytes(range(256)) * (MEDIA_FILE_BYTES // 256)
        for i in range(COLLECTION_TRACKS):
            with open(os.path.join(media, "t%03d.mp3" % i), "wb") as f:
                f.write(audio)

        db = sqlite3.connect(self.db, isolation_level=None)
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO tracks (id, title, engine, mode, measured_duration_seconds, instrumental, licence_class, "
            "licence_version, no_commercial, mime_type, audio_path, removed_at, created_at) "
            "VALUES (?, ?, 'studio', 'creation', ?, ?, ?, '2026-01', ?, 'audio/mpeg', ?, NULL, ?)",
            ((track_id(i), "Bench track \"%d\" \u2014 late night" % i, 120.4 + i, i % 2,
              ("personal_only", "commercial_cleared", "unclear")[i % 3], i % 5 == 0, "bench/t%03d.mp3" % i, now)
             for i in range(COLLECTION_TRACKS)))
        collection = "mcoll_%012x" % 1
        db.execute("INSERT INTO collections (id, name, description, removed_at, created_at) VALUES (?, ?, ?, NULL, ?)",
                   (collection, "Bench collection", "One hundred tracks", now))
        db.executemany("INSERT INTO collection_tracks (collection_id, position, track_id) VALUES (?, ?, ?)",
                       ((collection, i, track_id(i)) for i in range(COLLECTION_TRACKS)))

        def shares():
            month = now + 30 * 86400
            for i in range(self.track_shares):
                yield (KIND_TRACK, i, "track", track_id(i % COLLECTION_TRACKS), "public" if i % 3 == 0 else "link_only",
                       month if i % 2 else None, None)
            for i in range(self.collection_shares):
                yield (KIND_COLLECTION, i, "collection", collection, "link_only", None, None)
            for i in range(self.max_views_links):
                yield (KIND_MAX_VIEWS, i, "track", track_id(i % COLLECTION_TRACKS), "link_only", None, MAX_VIEWS)
            for i in range(self.exact_links):
                yield (KIND_EXACT, i, "track", track_id(i % COLLECTION_TRACKS), "link_only", None, EXACT_MAX_VIEWS)

        db.executemany(
            "INSERT INTO shares (id, token_digest, target_type, target_id, visibility, created_at, expires_at, "
            "max_views, view_count, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'bench')",
            ((share_id(kind, i), hashlib.sha256(token(kind, i, self.salt).encode()).hexdigest(), target_type,
              target, visibility, now, expires, max_views)
             for kind, i, target_type, target, visibility, expires, max_views in shares()))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()

    def seed_audit_log(self, records, days=30):
        """records audit records spread evenly over the last days, written straight into the
        audit database in one transaction, with its indexes dropped and rebuilt after (a sort
        instead of millions of index inserts). Mostly resolves of this installation's track
        links from many addresses, some unknown tokens, pages, media and admin events."""
        now_ms = int(time.time() * 1000)
        span_ms = days * 86400 * 1000
        db = sqlite3.connect(self.audit_db, isolation_level=None)
        # No journal while seeding (nothing to recover: a failed seed fails the run), WAL again after.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -524288")
        indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records' "
                             "AND sql IS NOT NULL").fetchall()
        db.execute("BEGIN IMMEDIATE")
        for name, _ in indexes:
            db.execute('DROP INDEX "%s"' % name)
        # Row i: time now - span + i * span / records; event and outcome by i's residues; the
        # client address from a multiplicative hash of i (spread over 10.0.0.0/8).
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
            "INSERT INTO audit_records (ts, event, outcome, status, client_ip, ip_truncated, share_id, token_fp, "
            "request_id, user_agent, actor, action, detail) "
            "SELECT ?2 - ?3 + (i * ?3) / ?1, "
            "CASE WHEN i % 50 = 0 THEN 'media' WHEN i % 50 = 1 THEN 'page' WHEN i % 5000 = 2 THEN 'admin' "
            "ELSE 'resolve' END, "
            "CASE WHEN i % 5000 = 2 THEN 'ok' WHEN i % 10 = 3 THEN 'not_found' WHEN i % 97 = 4 THEN 'rate_limited' "
            "ELSE 'ok' END, "
            "CASE WHEN i % 5000 = 2 THEN NULL WHEN i % 10 = 3 THEN 404 WHEN i % 97 = 4 THEN 429 ELSE 200 END, "
            "CASE WHEN i % 5000 = 2 THEN NULL ELSE "
            "'10.' || ((i * 2654435761 / 65536) % 256) || '.' || ((i * 2654435761 / 256) % 256) || '.' || "
            "((i * 2654435761) % 256) END, "
            "0, "
            "CASE WHEN i % 5000 = 2 OR i % 10 = 3 THEN NULL ELSE printf('mslink_0%011x', (i * 7919) % ?4) END, "
            "CASE WHEN i % 5000 = 2 THEN NULL ELSE printf('%012x', (i * 104729) % 281474976710655) END, "
            "printf('%032x', i), 'Mozilla/5.0 (bench)', "
            "CASE WHEN i % 5000 = 2 THEN 'bench' END, CASE WHEN i % 5000 = 2 THEN 'share.create' END, NULL "
            "FROM n", (records, now_ms, span_ms, max(1, self.track_shares)))
        for _, sql in indexes:
            db.execute(sql)
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode = WAL")
        db.close()

    def sharectl_seconds(self, *args):
        """Wall-clock seconds of one sharectl command on this installation (output discarded)."""
        return self.sharectl_times(*args)[0]

    def sharectl_times(self, *args):
        """(wall-clock seconds, CPU seconds: user + system) of one sharectl command. On a loaded
        machine the wall clock mostly measures the wait for a core; the CPU time does not."""
        started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([self.binaries.sharectl, "--config", self.config_path] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (time.monotonic() - started,
                (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))

    def view_counts(self, prefix):
        """{share id: view count} of the links whose id starts with prefix, with their batched views."""
        return dict(self.query("SELECT s.id, s.view_count + COALESCE(v.views, 0) FROM shares s LEFT JOIN share_views v "
                               "ON v.share_id = s.id WHERE s.id LIKE ?", (prefix + "%",)))

    def query(self, sql, args=(), audit=False):
        db = sqlite3.connect(self.audit_db if audit else self.db, timeout=30)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


class PgInstallation:
    """The same installation copied into a PostgreSQL database (sharectl db copy), served by the postgresql backend.

    The cluster is the benchmark's own (tests/support/pg_cluster.py: initdb on
    127.0.0.1, fsync off as in the tests; commits stay synchronous).
    """

    def __init__(self, source, cluster):
        self.dir = source.dir
        self.binaries = source.binaries
        self.salt = source.salt
        self.track_shares = source.track_shares
        self.collection_shares = source.collection_shares
        self.max_views_links = source.max_views_links
        self.exact_links = source.exact_links
        self.cluster = cluster
        self.database = "bench_" + secrets.token_hex(4)
        self.url = cluster.create_database(self.database)
        self.configs = 100  # config and log names apart from the SQLite installation's
        started = time.monotonic()
        subprocess.run([self.binaries.sharectl, "--config", source.config_path, "db", "copy", "--to", self.url],
                       check=True, stdout=subprocess.DEVNULL)
        cluster.psql("VACUUM ANALYZE", dbname=self.database)
        self.seconds_to_seed = time.monotonic() - started
        self.write_config(threads=16)

    def write_config(self, threads):
        self.configs += 1
        self.config_path = os.path.join(self.dir, "shared-linkd-%d.toml" % self.configs)
        with open(self.config_path, "w") as f:
            f.write('[server]\nlisten = "127.0.0.1:0"\nthreads = %d\n\n' % threads)
            f.write('[database]\nbackend = "postgresql"\nurl = "%s"\n\n' % self.url)
            f.write('[playback]\nkey_file = "signing.keys"\nmedia_root = "media"\n\n')
            f.write('[rate_limit]\ntrusted_proxies = ["127.0.0.1/32"]\n')
        return self.config_path

    def reset_audit(self):
        """An empty audit log, as the SQLite installation's reset gives it."""
        self.cluster.psql("TRUNCATE audit_records", dbname=self.database)


# ---------------------------------------------------------------------------
# Servers

class Daemon:
    def __init__(self, binaries, installation, threads, log_dir, fresh_audit=True):
        if fresh_audit:
            installation.reset_audit()
        config = installation.write_config(threads)
        self.log_path = os.path.join(log_dir, "shared-linkd-%d.log" % installation.configs)
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([binaries.shared_linkd, "--config", config], stdout=subprocess.DEVNULL,
                                     stderr=self.log_file)
        self.port = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.port is None and self.proc.poll() is None:
            with open(self.log_path) as f:
                m = re.search(r"msg=listening .*addr=\S+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError("shared-linkd did not start; see " + self.log_path)

    @property
    def pid(self):
        return self.proc.pid

    def metrics(self):
        """Request counts: {(route, outcome): n}."""
        return self.scrape()[0]

    def settled_metrics(self, interval=0.2, timeout=10.0):
        """metrics() once the counts stop moving: two reads interval apart agree (at most
        timeout seconds). When wrk's time is up, the requests still in flight (up to one per
        connection) are still being served and counted; a read taken at once misses them."""
        def served():
            # The scrapes themselves count under route "metrics": left out of the comparison.
            counts = self.metrics()
            return counts, {k: n for k, n in counts.items() if k[0] != "metrics"}

        previous = served()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(interval)
            current = served()
            if current[1] == previous[1]:
                return current[0]
            previous = current
        return previous[0]

    def audit_queue_depth(self):
        status, body = http_get(self.port, "/metrics")
        m = re.search(r"^sharelink_audit_queue_depth (\S+)$", body.decode(), re.M)
        return float(m.group(1)) if m else 0.0

    def scrape(self):
        """Request counts as metrics() gives them, and the daemon's own
        request-duration histograms: {route: {le: cumulative count}}."""
        status, body = http_get(self.port, "/metrics")
        counts, buckets = {}, {}
        for line in body.decode().splitlines():
            m = re.match(r'sharelink_requests_total\{route="(\w+)",outcome="(\w+)"\} (\d+)', line)
            if m:
                counts[(m.group(1), m.group(2))] = int(m.group(3))
                continue
            m = re.match(r'sharelink_request_duration_seconds_bucket\{route="(\w+)",le="([^"]+)"\} (\d+)', line)
            if m:
                buckets.setdefault(m.group(1), {})[m.group(2)] = int(m.group(3))
        return counts, buckets

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log_file.close()
        return rc


class Baseline:
    def __init__(self, binaries, threads, body_file, content_type, status):
        self.proc = subprocess.Popen([binaries.baseline_server, "--port", "0", "--threads", str(threads), "--body",
                                      body_file, "--content-type", content_type, "--status", str(status)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening (\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError("baseline_server did not start")
        self.port = int(m.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class Nginx:
    """nginx serving one file for every path, worker_processes = the cores of this machine."""

    def __init__(self, binaries, root, body_file, content_type):
        self.dir = tempfile.mkdtemp(prefix="nginx-", dir=root)
        www = os.path.join(self.dir, "www")
        os.makedirs(www)
        shutil.copyfile(body_file, os.path.join(www, "body"))
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        temp = os.path.join(self.dir, "temp")
        os.makedirs(temp)
        with open(conf, "w") as f:
            f.write(
                ("user root;\n" if os.geteuid() == 0 else "") +
                "worker_processes %d;\n" % os.cpu_count() +
                "daemon off;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n" % (self.dir, self.dir) +
                "events { worker_connections 4096; }\n"
                "http {\n"
                "  access_log off;\n"
                "  client_body_temp_path %s/body; proxy_temp_path %s/proxy; fastcgi_temp_path %s/fastcgi;\n"
                % (temp, temp, temp) +
                "  uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n" % (temp, temp) +
                # The same keep-alive policy as shared-linkd.
                "  keepalive_requests 1000; keepalive_timeout 5s; tcp_nodelay on;\n"
                "  server {\n"
                "    listen 127.0.0.1:%d backlog=4096;\n" % self.port +
                "    root %s;\n" % www +
                "    default_type \"%s\";\n" % content_type +
                "    location / { try_files /body =404; }\n"
                "  }\n"
                "}\n")
        self.proc = subprocess.Popen([binaries.nginx, "-p", self.dir, "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        if not wait_for_port(self.port, self.proc):
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError("nginx did not start: " + err)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


# ---------------------------------------------------------------------------
# wrk

def run_wrk(binaries, port, connections, duration, lua_args, until=None):
    """Runs wrk and returns bench.lua's summary plus req/s. With until, wrk is
    stopped (SIGINT: it still reports) as soon as until() returns true."""
    threads = max(1, min(2, connections))
    cmd = [binaries.wrk, "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--timeout", "10s",
           "-s", LUA_SCRIPT, "http://127.0.0.1:%d" % port, "--", lua_args[0], str(threads)] + \
          [str(a) for a in lua_args[1:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if until is not None:
        while proc.poll() is None and not until():
            time.sleep(0.25)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=duration + 120)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    m = re.search(r"^BENCH_JSON (.*)$", stdout, re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError("wrk failed (%d): %s %s" % (proc.returncode, stdout, stderr))
    result = json.loads(m.group(1))
    seconds = result["duration_us"] / 1e6
    result["rps"] = result["requests"] / seconds if seconds > 0 else 0.0
    result["socket_errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return result


def resolve_total(metrics):
    return sum(n for (route, _), n in metrics.items() if route == "resolve")


class Bench:
    def __init__(self, args, binaries, workdir):
        self.args = args
        self.bin = binaries
        self.workdir = workdir
        self.salt = secrets.token_hex(12)
        self.results = {"scenarios": [], "scale": None, "memory": None, "correctness": [], "notes": []}
        self.failures = []
        self.bodies = {}

    # --- plumbing --------------------------------------------------------
    def daemon_threads(self, connections):
        """server.threads for a measurement at this many connections."""
        return self.args.daemon_threads if self.args.daemon_threads > 0 else connections + 16

    def scenario_lua(self, scenario, inst, addr_base, urls_file=None):
        if scenario == "track":
            return ["list", "track", self.salt, 0, inst.track_shares, self.args.pool, addr_base]
        if scenario == "collection":
            return ["list", "collection", self.salt, 0, inst.collection_shares, self.args.pool, addr_base]
        if scenario == "page":
            return ["list", "page", self.salt, 0, inst.track_shares, self.args.pool, addr_base]
        if scenario == "unknown":
            return ["list", "unknown", self.salt, 0, 1, self.args.pool, addr_base]
        if scenario == "media":
            return ["list", "urls", self.salt, 0, 1, self.args.pool, addr_base, urls_file]
        raise ValueError(scenario)

    def measure_daemon(self, inst, scenario, connections, duration, label, fresh_audit=True):
        daemon = Daemon(self.bin, inst, self.daemon_threads(connections), self.workdir, fresh_audit)
        try:
            urls_file = self.mint_media_urls(daemon, inst) if scenario == "media" else None
            if self.args.warmup > 0:
                run_wrk(self.bin, daemon.port, connections, self.args.warmup,
                        self.scenario_lua(scenario, inst, ADDR_WARMUP, urls_file))
            route = {"media": "media", "page": "page"}.get(scenario, "resolve")
            before, buckets = daemon.scrape()
            buckets_before = buckets.get(route, {})
            perf = self.start_perf(daemon.pid, label)
            cpu_before, written_before = cpu_seconds(daemon.pid), written_bytes(daemon.pid)
            result = run_wrk(self.bin, daemon.port, connections, duration,
                             self.scenario_lua(scenario, inst, ADDR_MEASURE, urls_file))
            cpu_after, written_after = cpu_seconds(daemon.pid), written_bytes(daemon.pid)
            self.stop_perf(perf)
            after, buckets = daemon.scrape()
            buckets_after = buckets.get(route, {})
            result["cpu_us_per_request"] = (cpu_after - cpu_before) * 1e6 / max(1, result["requests"])
            # What the daemon wrote to its databases (and WAL files) per request: steadier than
            # throughput on a shared machine, and the figure behind the scale scenario.
            result["written_kb_per_request"] = (written_after - written_before) / 1024 / max(1, result["requests"])
            # The daemon's own view of slow requests (handler time, no client or
            # network queueing): a cross-check of wrk's percentiles.
            handled = buckets_after.get("+Inf", 0) - buckets_before.get("+Inf", 0)
            fast = buckets_after.get("0.1", 0) - buckets_before.get("0.1", 0)
            result["daemon_over_100ms"] = (handled - fast) / handled if handled else 0.0
            outcomes = {}
            for (r, outcome), n in after.items():
                if r == route and n - before.get((r, outcome), 0) > 0:
                    outcomes[outcome] = n - before.get((r, outcome), 0)
            result["outcomes"] = outcomes
            result["rss_mb"] = rss_kib(daemon.pid) / 1024
        finally:
            daemon.stop()
        return result

    def start_perf(self, pid, label):
        if not self.args.perf:
            return None
        os.makedirs(self.args.perf, exist_ok=True)
        out = os.path.join(self.args.perf, re.sub(r"[^\w.-]", "_", label) + ".data")
        return subprocess.Popen(["perf", "record", "-g", "-F", "999", "-p", str(pid), "-o", out],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def stop_perf(proc):
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)

    def mint_media_urls(self, daemon, inst):
        """Playback URLs minted by this daemon (valid for playback.ttl_seconds), one per collection track."""
        status, body = http_get(daemon.port, "/v1/music/shared/" + token(KIND_COLLECTION, 0, inst.salt),
                                {"X-Forwarded-For": "10.255.255.1"})
        if status != 200:
            raise RuntimeError("collection resolve answered %d" % status)
        urls = []
        for t in json.loads(body)["tracks"]:
            urls.append(re.sub(r"^https?://[^/]+", "", t["playback_url"]))
        path = os.path.join(self.workdir, "media-urls-%d.txt" % inst.configs)
        with open(path, "w") as f:
            f.write("\n".join(urls) + "\n")
        return path

    def measure_baselines(self, scenario, connections, duration):
        body_file, content_type, status = self.bodies[scenario]
        out = {}
        servers = [("httplib", lambda: Baseline(self.bin, connections + 16, body_file, content_type, status))]
        if self.bin.nginx:
            servers.append(("nginx", lambda: Nginx(self.bin, self.workdir, body_file, content_type)))
        urls_file = self.bodies.get("media_urls")
        for name, start in servers:
            server = start()
            try:
                lua = self.scenario_lua(scenario, self.main, ADDR_MEASURE, urls_file)
                if self.args.warmup > 0:
                    run_wrk(self.bin, server.port, connections, self.args.warmup, lua)
                out[name] = run_wrk(self.bin, server.port, connections, duration, lua)
            finally:
                server.stop()
        return out

    # --- setup -----------------------------------------------------------
    def seed(self):
        a = self.args
        log("seeding %d track shares" % a.shares_small)
        self.main = Installation(self.workdir, "main", self.bin, self.salt, a.shares_small, a.collection_shares,
                                 a.max_views_links, a.exact_links)
        log("  seeded in %.1f s" % self.main.seconds_to_seed)
        self.pg_main = None
        if a.backend == "postgresql":
            sys.path.insert(0, os.path.join(REPO, "tests", "support"))
            from pg_cluster import PgCluster
            self.pg_cluster = PgCluster(settings={"max_connections": 300, "shared_buffers": "'128MB'"})
            log("copying the installation into PostgreSQL")
            self.pg_main = PgInstallation(self.main, self.pg_cluster)
            log("  copied in %.1f s" % self.pg_main.seconds_to_seed)
        self.big = None
        if "scale" in a.scenarios or "memory" in a.scenarios:
            log("seeding %d track shares" % a.shares_large)
            self.big = Installation(self.workdir, "big", self.bin, self.salt, a.shares_large, a.collection_shares,
                                    0, 0)
            log("  seeded in %.1f s (one transaction)" % self.big.seconds_to_seed)
            self.results["seed_seconds_large"] = self.big.seconds_to_seed

    def capture_bodies(self):
        """Real answers of the daemon: the fixed bodies the baselines serve."""
        daemon = Daemon(self.bin, self.main, 16, self.workdir)
        try:
            def capture(name, tok):
                status, body = http_get(daemon.port, "/v1/music/shared/" + tok, {"X-Forwarded-For": "10.255.255.2"})
                path = os.path.join(self.workdir, "body-%s.json" % name)
                with open(path, "wb") as f:
                    f.write(body)
                self.bodies[name] = (path, "application/json; charset=utf-8", status)
                return status, len(body)
            track = capture("track", token(KIND_TRACK, 1, self.salt))
            collection = capture("collection", token(KIND_COLLECTION, 0, self.salt))
            unknown = capture("unknown", token(KIND_UNKNOWN, 0, self.salt))
            status, body = http_get(daemon.port, "/s/" + token(KIND_TRACK, 1, self.salt),
                                    {"X-Forwarded-For": "10.255.255.2", "User-Agent": "Mozilla/5.0 (bench)"})
            path = os.path.join(self.workdir, "body-page.html")
            with open(path, "wb") as f:
                f.write(body)
            self.bodies["page"] = (path, "text/html; charset=utf-8", status)
            if status != 200:
                raise RuntimeError("unexpected answer of the share page while capturing bodies: %d" % status)
            if track[0] != 200 or collection[0] != 200 or unknown[0] != 404:
                raise RuntimeError("unexpected answers while capturing bodies: %s %s %s" % (track, collection, unknown))
            self.bodies["media"] = (os.path.join(self.main.dir, "media", "bench", "t000.mp3"), "audio/mpeg", 200)
            self.bodies["media_urls"] = self.mint_media_urls(daemon, self.main)
            self.results["bodies"] = {"track": track[1], "collection": collection[1], "unknown": unknown[1],
                                      "page": len(body), "media": MEDIA_FILE_BYTES}
            log("bodies: track %d B, collection %d B, 404 %d B, page %d B, media %d B" %
                (track[1], collection[1], unknown[1], len(body), MEDIA_FILE_BYTES))
        finally:
            daemon.stop()

    # --- scenarios -------------------------------------------------------
    def run_throughput(self):
        names = {"track": "track resolve", "collection": "100-track collection", "unknown": "unknown token (404)",
                 "page": "share page /s/{token}", "media": "media GET 4 KiB"}
        for scenario in ("track", "collection", "unknown", "page", "media"):
            if scenario not in self.args.scenarios:
                continue
            for connections in self.args.connections:
                label = "%s-c%d" % (scenario, connections)
                log("%s: shared-linkd" % label)
                row = {"scenario": scenario, "name": names[scenario], "connections": connections,
                       "daemon": self.measure_daemon(self.main, scenario, connections, self.args.duration, label)}
                if self.pg_main is not None and scenario in ("track", "collection"):
                    log("%s: shared-linkd on PostgreSQL" % label)
                    row["daemon_postgresql"] = self.measure_daemon(self.pg_main, scenario, connections,
                                                                   self.args.duration, label + "-pg")
                # The smoke run checks the baselines' plumbing on one JSON body and the static file.
                if not self.args.no_baselines and not (self.args.smoke and scenario in ("collection", "unknown", "page")):
                    log("%s: baselines" % label)
                    row.update(self.measure_baselines(scenario, connections, self.args.duration))
                self.check_clean(row)
                self.results["scenarios"].append(row)

    def check_clean(self, row):
        """The load must not be refused by the limiter or fail on sockets, or the figures mean nothing."""
        d = row["daemon"]
        limited = d["outcomes"].get("rate_limited", 0)
        if limited > 0.001 * max(1, d["requests"]):
            self.results["notes"].append("%s c=%d: %d of %d requests rate limited (address pool too small)" %
                                         (row["scenario"], row["connections"], limited, d["requests"]))
        for name in ("daemon", "httplib", "nginx"):
            if name in row and row[name]["socket_errors"]:
                self.results["notes"].append("%s c=%d %s: %d socket errors" % (row["scenario"], row["connections"],
                                                                               name, row[name]["socket_errors"]))

    def run_scale(self):
        if "scale" not in self.args.scenarios:
            return
        c = self.args.connections[0]
        # Rounds of one measurement on each installation, back to back: the ratio of each round, and
        # the round with the median ratio reported (one pair swings by 0.1-0.2 on a shared machine).
        rounds = []
        for n in range(self.args.scale_rounds):
            log("scale: %d vs %d shares, c=%d, round %d of %d" % (
                self.main.track_shares, self.big.track_shares, c, n + 1, self.args.scale_rounds))
            small = self.measure_daemon(self.main, "track", c, self.args.duration, "scale-small-%d" % (n + 1))
            large = self.measure_daemon(self.big, "track", c, self.args.duration, "scale-large-%d" % (n + 1))
            rounds.append((large["rps"] / small["rps"] if small["rps"] else 0.0, small, large))
        ratio, small, large = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
        self.results["scale"] = {"connections": c, "small_shares": self.main.track_shares,
                                 "large_shares": self.big.track_shares, "small": small, "large": large,
                                 "ratio": ratio, "ratios": [r[0] for r in rounds]}

    def run_durability(self):
        """Track resolve with the batched audit log (default) and with audit.synchronous, back to back."""
        if "durability" not in self.args.scenarios:
            return
        c = 4 if self.args.smoke else 32
        log("durability: track resolve c=%d, audit.synchronous false then true" % c)
        batched = self.measure_daemon(self.main, "track", c, self.args.duration, "durability-batched")
        self.main.synchronous = True
        try:
            synchronous = self.measure_daemon(self.main, "track", c, self.args.duration, "durability-synchronous")
        finally:
            self.main.synchronous = False
        self.results["durability"] = {"connections": c, "batched": batched, "synchronous": synchronous,
                                      "ratio": synchronous["rps"] / batched["rps"] if batched["rps"] else 0.0}

    def run_audit_log(self):
        """Track resolve with a long audit log already written vs. an empty one, and the
        operator's queries on that log."""
        if "auditlog" not in self.args.scenarios:
            return
        inst, c = self.main, self.args.connections[0]
        log("audit log: track resolve with an empty log, c=%d" % c)
        empty = self.measure_daemon(inst, "track", c, self.args.duration, "auditlog-empty")
        inst.reset_audit()
        seeded, reused = self.seed_or_reuse_audit_log(inst)
        size_mb = os.path.getsize(inst.audit_db) / ONE_MB
        try:
            # An audit log kept from an older build is brought to this build's schema the way an
            # operator would (sharectl init), and the migration is timed: it runs on the whole log.
            migrated = inst.sharectl_seconds("init")
            log("  sharectl init on that log: %.1f s" % migrated)
            size_mb = os.path.getsize(inst.audit_db) / ONE_MB
            queries = []
            for label, args in (("audit --share ID --limit 20", ["audit", "--share", share_id(KIND_TRACK, 1),
                                                                 "--limit", "20"]),
                                ("audit --ip 10.3.0.0/16 --since 7d", ["audit", "--ip", "10.3.0.0/16", "--since",
                                                                       "7d"]),
                                ("audit stats --since 1d", ["audit", "stats", "--since", "1d"])):
                # Three runs each (the first reads the log from the OS cache, as an operator's would).
                times = [inst.sharectl_times(*args) for _ in range(3)]
                runs = [wall for wall, _ in times]
                queries.append({"command": "sharectl " + label, "runs": runs, "seconds": max(runs),
                                "cpu_runs": [cpu for _, cpu in times]})
            log("audit log: track resolve with %d records, c=%d" % (self.args.audit_records, c))
            full = self.measure_daemon(inst, "track", c, self.args.duration, "auditlog-full", fresh_audit=False)
        finally:
            inst.reset_audit()
        self.results["audit_log"] = {"records": self.args.audit_records, "seed_seconds": seeded, "size_mb": size_mb,
                                     "reused": reused, "init_seconds": migrated, "connections": c, "empty": empty, "full": full, "queries": queries,
                                     "ratio": full["rps"] / empty["rps"] if empty["rps"] else 0.0}

    def seed_or_reuse_audit_log(self, inst):
        """Seeds the long audit log into inst, or copies the one kept by an earlier run
        (--audit-log-cache FILE, with FILE.json naming its record count and seeding time).
        Returns (seconds spent seeding, the cache's description or None)."""
        cache = self.args.audit_log_cache
        meta_path = cache + ".json" if cache else None
        if cache and os.path.exists(cache) and os.path.exists(meta_path):
            with open(meta_path) as f:
                meta = json.load(f)
            if meta.get("records") == self.args.audit_records:
                log("audit log: copying %d records seeded at %s from %s" % (meta["records"], meta["seeded_at"], cache))
                for suffix in ("-wal", "-shm"):
                    if os.path.exists(inst.audit_db + suffix):
                        os.remove(inst.audit_db + suffix)
                shutil.copyfile(cache, inst.audit_db)
                return meta.get("seed_seconds", 0.0), meta
            log("audit log: %s holds %s records, not %d: seeding again" % (cache, meta.get("records"),
                                                                          self.args.audit_records))
        log("audit log: seeding %d records" % self.args.audit_records)
        started = time.monotonic()
        inst.seed_audit_log(self.args.audit_records)
        seeded = time.monotonic() - started
        log("  seeded in %.1f s (%.0f MB)" % (seeded, os.path.getsize(inst.audit_db) / ONE_MB))
        if cache:
            # The seed leaves no -wal or -shm file: the database file alone is the log.
            shutil.copyfile(inst.audit_db, cache + ".partial")
            os.replace(cache + ".partial", cache)
            with open(meta_path, "w") as f:
                json.dump({"records": self.args.audit_records, "seed_seconds": seeded,
                           "seeded_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, f)
            log("  kept in %s for later runs" % cache)
        return seeded, None

    def run_memory(self):
        if "memory" not in self.args.scenarios:
            return
        c = max(self.args.connections)
        inst = self.big
        log("memory: flood from %d distinct addresses, c=%d" % (self.args.flood, c))
        daemon = Daemon(self.bin, inst, self.daemon_threads(c), self.workdir)
        try:
            # Every worker thread has served a request before "before" is read.
            run_wrk(self.bin, daemon.port, c, 1, ["list", "track", self.salt, 0, inst.track_shares, self.args.pool,
                                                  ADDR_WARMUP])
            before = rss_kib(daemon.pid)
            warm = daemon.metrics()
            served_before = resolve_total(warm)
            limited_before = warm.get(("resolve", "rate_limited"), 0)
            started = time.monotonic()
            # Each wrk thread stops sending after its share of the addresses; wrk
            # itself runs until told, once the daemon has answered them all.
            progress = {"served": 0, "changed": time.monotonic()}

            def flood_done():
                served = resolve_total(daemon.metrics()) - served_before
                if served != progress["served"]:
                    progress.update(served=served, changed=time.monotonic())
                return served >= self.args.flood or time.monotonic() - progress["changed"] > 10

            result = run_wrk(self.bin, daemon.port, c, 3600,
                             ["flood", self.salt, inst.track_shares, self.args.flood, ADDR_FLOOD], until=flood_done)
            elapsed = time.monotonic() - started
            # "After the flood": once the daemon has caught up, i.e. its audit queue has
            # drained (at most 10 s); the flood's last records are still being written
            # when wrk stops.
            deadline = time.monotonic() + 10
            while daemon.audit_queue_depth() > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            after = rss_kib(daemon.pid)
            threads_after = thread_count(daemon.pid)
            regions = largest_mappings(daemon.pid)
            metrics = daemon.metrics()
        finally:
            daemon.stop()
        # Every flood request comes from an address of its own.
        distinct = resolve_total(metrics) - served_before
        result["served"] = distinct
        self.results["memory"] = {"connections": c, "addresses": distinct, "seconds": elapsed,
                                  "rss_before_mb": before / 1024, "rss_after_mb": after / 1024,
                                  "threads": threads_after, "largest_mappings": regions,
                                  "rate_limited": metrics.get(("resolve", "rate_limited"), 0) - limited_before}
        if distinct < self.args.flood:
            self.failures.append("memory flood sent %d requests, fewer than %d addresses" % (distinct, self.args.flood))

    def run_soak(self):
        """32 connections for --soak-minutes on track resolve (1 request in 20 a collection, 1 in
        20 a share page), the daemon's RSS and thread count sampled every SOAK_SAMPLE_SECONDS."""
        if "soak" not in self.args.scenarios:
            return
        inst, c = self.main, SOAK_CONNECTIONS
        seconds = max(1, int(self.args.soak_minutes * 60))
        log("soak: %d connections for %d s" % (c, seconds))
        daemon = Daemon(self.bin, inst, self.daemon_threads(c), self.workdir)
        samples = []
        try:
            def sample():
                samples.append({"t": time.monotonic() - started, "rss_mb": rss_kib(daemon.pid) / 1024,
                                "threads": thread_count(daemon.pid), "served": sum(daemon.metrics().values())})

            started = time.monotonic()
            sample()
            next_sample = [started + SOAK_SAMPLE_SECONDS]

            def sample_due():
                if time.monotonic() >= next_sample[0]:
                    sample()
                    next_sample[0] += SOAK_SAMPLE_SECONDS
                return False

            # The address pool is sized so that no simulated client nears its bucket at this rate.
            result = run_wrk(self.bin, daemon.port, c, seconds,
                             ["list", "soak", self.salt, 0, inst.track_shares, self.args.pool, ADDR_MEASURE,
                              inst.collection_shares], until=sample_due)
            sample()
            metrics = daemon.settled_metrics()
        finally:
            rc = daemon.stop()
        self.results["soak"] = soak_summary(samples, seconds, c)
        self.results["soak"].update(requests=result["requests"], socket_errors=result["socket_errors"],
                                    p99_us=result["p99_us"], daemon_exit=rc,
                                    rate_limited=sum(n for (_, o), n in metrics.items() if o == "rate_limited"))
        if rc != 0:
            self.failures.append("soak: daemon exit %s" % rc)

    def run_correctness(self):
        if "correctness" not in self.args.scenarios:
            return
        self.exact_phase()
        self.wrk_phase()

    def exact_phase(self):
        """A closed-loop python client: every request's answer is known, so the counts must match exactly."""
        inst = self.main
        links = inst.exact_links
        threads, rounds = 16, 3
        daemon = Daemon(self.bin, inst, self.daemon_threads(threads), self.workdir)
        counts = {}
        lock = threading.Lock()
        errors = []

        def client(t):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
                for r in range(rounds):
                    # One address per (thread, round): at most `links` requests, under the burst.
                    xff = "10.250.%d.%d" % (t, r)
                    for i in range(links):
                        i = (i + t) % links
                        conn.request("GET", "/v1/music/shared/" + token(KIND_EXACT, i, self.salt),
                                     headers={"X-Forwarded-For": xff})
                        resp = conn.getresponse()
                        resp.read()
                        with lock:
                            counts[(i, resp.status)] = counts.get((i, resp.status), 0) + 1
                conn.close()
            except Exception as e:  # reported below
                errors.append(repr(e))

        workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        rc = daemon.stop()
        sent = sum(counts.values())
        audit = inst.query("SELECT COUNT(*) FROM audit_records WHERE event = 'resolve'", audit=True)[0][0]
        ok_by_share = dict(inst.query("SELECT share_id, COUNT(*) FROM audit_records WHERE event = 'resolve' AND "
                                      "outcome = 'ok' GROUP BY share_id", audit=True))
        views = inst.view_counts(share_id(KIND_EXACT, 0)[:8])
        checks = []

        def check(name, ok, detail):
            checks.append({"check": name, "ok": bool(ok), "detail": detail})
            if not ok:
                self.failures.append("%s: %s" % (name, detail))

        check("exact: no client errors", not errors and rc == 0, "errors %s, daemon exit %s" % (errors[:3], rc))
        check("exact: audit resolve records == responses received", audit == sent, "%d records, %d responses" % (audit, sent))
        served = [counts.get((i, 200), 0) for i in range(links)]
        check("exact: each max_views=%d link served exactly %d times" % (EXACT_MAX_VIEWS, EXACT_MAX_VIEWS),
              all(n == EXACT_MAX_VIEWS for n in served), "200s per link: %s" % sorted(set(served)))
        others = {s for (i, s) in counts if s not in (200, 410)}
        check("exact: every other answer is 410 SHARE_LIMIT_REACHED", not others, "other statuses: %s" % sorted(others))
        check("exact: view_count == audit ok records == 200s, per link",
              all(views.get(share_id(KIND_EXACT, i)) == ok_by_share.get(share_id(KIND_EXACT, i)) == served[i]
                  for i in range(links)), "%d links" % links)
        self.results["correctness"] += checks

    def wrk_phase(self):
        """wrk at the highest connection count over ordinary links and max_views links together."""
        inst = self.main
        c = max(self.args.connections)
        views_before = sum(inst.view_counts(share_id(KIND_TRACK, 0)[:8]).values())
        daemon = Daemon(self.bin, inst, self.daemon_threads(c), self.workdir)
        try:
            result = run_wrk(self.bin, daemon.port, c, self.args.duration,
                             ["list", "mixed", self.salt, 0, inst.track_shares, self.args.pool, ADDR_CORRECTNESS,
                              inst.max_views_links])
            metrics = daemon.settled_metrics()
        finally:
            rc = daemon.stop()
        served = resolve_total(metrics)
        audit = inst.query("SELECT COUNT(*) FROM audit_records WHERE event = 'resolve'", audit=True)[0][0]
        audit_ok = dict(inst.query("SELECT substr(share_id, 1, 8), COUNT(*) FROM audit_records WHERE event = 'resolve' "
                                   "AND outcome = 'ok' GROUP BY 1", audit=True))
        prefix_track, prefix_views = share_id(KIND_TRACK, 0)[:8], share_id(KIND_MAX_VIEWS, 0)[:8]
        views_after = sum(inst.view_counts(prefix_track).values())
        over = inst.query("SELECT COUNT(*) FROM shares s LEFT JOIN share_views v ON v.share_id = s.id "
                          "WHERE s.max_views IS NOT NULL AND s.view_count + COALESCE(v.views, 0) > s.max_views")[0][0]
        ok_per_link = inst.query("SELECT share_id, COUNT(*) FROM audit_records WHERE event = 'resolve' AND "
                                 "outcome = 'ok' AND share_id LIKE ? GROUP BY share_id", (prefix_views + "%",),
                                 audit=True)
        views_per_link = inst.view_counts(prefix_views)
        checks = []

        def check(name, ok, detail):
            checks.append({"check": name, "ok": bool(ok), "detail": detail})
            if not ok:
                self.failures.append("%s: %s" % (name, detail))

        check("load: daemon stopped cleanly", rc == 0, "exit %s" % rc)
        check("load: audit resolve records == requests served (daemon's count)", audit == served,
              "%d records, %d served" % (audit, served))
        # wrk does not read the answers still in flight when its time is up.
        check("load: wrk's completed requests <= audit records <= completed + connections",
              result["requests"] <= audit <= result["requests"] + c,
              "wrk %d, audit %d, connections %d" % (result["requests"], audit, c))
        check("load: view counts of ordinary links rose by the audit ok records",
              views_after - views_before == audit_ok.get(prefix_track, 0),
              "view_count +%d, ok records %d" % (views_after - views_before, audit_ok.get(prefix_track, 0)))
        check("load: no max_views link served more than its limit",
              over == 0 and all(n <= MAX_VIEWS for _, n in ok_per_link),
              "%d links over in the database; most ok records for one link: %d (limit %d)" %
              (over, max([n for _, n in ok_per_link] or [0]), MAX_VIEWS))
        check("load: max_views view_count == audit ok records, per link",
              all(views_per_link.get(s) == n for s, n in ok_per_link) and
              sum(views_per_link.values()) == sum(n for _, n in ok_per_link),
              "%d links served, %d views" % (len(ok_per_link), sum(views_per_link.values())))
        self.results["correctness"] += checks
        self.results["correctness_load"] = {"connections": c, "wrk_requests": result["requests"], "audit": audit,
                                            "served": served}

    # --- report ----------------------------------------------------------
    def report(self):
        out = []
        out.append("| scenario | conns | shared-linkd req/s | p50 ms | p99 ms | CPU us/req | httplib req/s | p99 ms | "
                   "nginx req/s | p99 ms | vs httplib | vs nginx |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

        def rps_p99(m):
            return (fmt_rps(m["rps"]), "%.2f" % (m["p99_us"] / 1000)) if m else ("-", "-")

        for row in self.results["scenarios"]:
            d = row["daemon"]
            h, n = row.get("httplib"), row.get("nginx")
            out.append("| %s | %d | %s | %.2f | %.2f | %.0f | %s | %s | %s | %s | %s | %s |" % (
                (row["name"], row["connections"], fmt_rps(d["rps"]), d["p50_us"] / 1000, d["p99_us"] / 1000,
                 d["cpu_us_per_request"]) +
                rps_p99(h) + rps_p99(n) +
                ("%.2f" % (d["rps"] / h["rps"]) if h else "-", "%.2f" % (d["rps"] / n["rps"]) if n else "-")))
        lines = ["\n".join(out)] if self.results["scenarios"] else []
        pg_rows = [row for row in self.results["scenarios"] if "daemon_postgresql" in row]
        if pg_rows:
            pg = ["| scenario | conns | SQLite req/s | p99 ms | PostgreSQL req/s | p99 ms | CPU us/req | PostgreSQL / SQLite |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for row in pg_rows:
                d, q = row["daemon"], row["daemon_postgresql"]
                pg.append("| %s | %d | %s | %.2f | %s | %.2f | %.0f | %.2f |" % (
                    row["name"], row["connections"], fmt_rps(d["rps"]), d["p99_us"] / 1000, fmt_rps(q["rps"]),
                    q["p99_us"] / 1000, q["cpu_us_per_request"], q["rps"] / d["rps"] if d["rps"] else 0))
            lines.append("Backends (the same data, the same run):\n" + "\n".join(pg))
        s = self.results["scale"]
        if s:
            lines.append("Scale (track resolve, c=%d): %s shares %s req/s (p99 %.2f ms), %s shares %s req/s "
                         "(p99 %.2f ms): ratio %.2f" % (
                             s["connections"], fmt_count(s["small_shares"]), fmt_rps(s["small"]["rps"]),
                             s["small"]["p99_us"] / 1000, fmt_count(s["large_shares"]), fmt_rps(s["large"]["rps"]),
                             s["large"]["p99_us"] / 1000, s["ratio"]))
            lines.append("  requests the daemon's own histogram shows over 100 ms: %.3f%% (%s shares), %.3f%% (%s)" % (
                100 * s["small"]["daemon_over_100ms"], fmt_count(s["small_shares"]),
                100 * s["large"]["daemon_over_100ms"], fmt_count(s["large_shares"])))
            lines.append("  ratio of each round: %s (the median round above); written per request: %.2f KB (%s "
                         "shares), %.2f KB (%s)" % (
                             ", ".join("%.2f" % r for r in s["ratios"]), s["small"]["written_kb_per_request"],
                             fmt_count(s["small_shares"]), s["large"]["written_kb_per_request"],
                             fmt_count(s["large_shares"])))
        d = self.results.get("durability")
        if d:
            lines.append("Durability (track resolve, c=%d): batched audit %s req/s (p99 %.2f ms), audit.synchronous "
                         "%s req/s (p99 %.2f ms): ratio %.2f" % (
                             d["connections"], fmt_rps(d["batched"]["rps"]), d["batched"]["p99_us"] / 1000,
                             fmt_rps(d["synchronous"]["rps"]), d["synchronous"]["p99_us"] / 1000, d["ratio"]))
        a = self.results.get("audit_log")
        if a:
            lines.append("Audit log (track resolve, c=%d): empty log %s req/s (p99 %.2f ms), %s records %s req/s "
                         "(p99 %.2f ms): ratio %.2f; %s, %.0f MB; sharectl init on it %.1f s\n%s" % (
                             a["connections"], fmt_rps(a["empty"]["rps"]), a["empty"]["p99_us"] / 1000,
                             fmt_count(a["records"]), fmt_rps(a["full"]["rps"]), a["full"]["p99_us"] / 1000,
                             a["ratio"],
                             ("seeded at %s (copied from --audit-log-cache)" % a["reused"]["seeded_at"]
                              if a["reused"] else "seeded in %.0f s" % a["seed_seconds"]),
                             a["size_mb"], a["init_seconds"],
                             "\n".join("  %s: %s s (CPU %s s)" % (
                                 q["command"], ", ".join("%.3f" % t for t in q["runs"]),
                                 ", ".join("%.3f" % t for t in q["cpu_runs"])) for q in a["queries"])))
        k = self.results.get("soak")
        if k:
            table = ["| minute | req/s | RSS MB | threads |", "|---:|---:|---:|---:|"]
            table += ["| %d | %s | %.1f | %d |" % (r["minute"], fmt_rps(r["rps"]), r["rss_mb"], r["threads"])
                      for r in k["minutes"]]
            lines.append(
                "Soak (c=%d, %d s, track resolve with collections and share pages; RSS and threads every %d s; "
                "%s requests, p99 %.2f ms, %d socket errors, %d rate limited):\n%s\n"
                "  verdict: %s (RSS over the last half varied by %.1f MB, bound %.1f MB; threads: at most %d in "
                "the first half, %d in the last)" % (
                    k["connections"], k["seconds"], SOAK_SAMPLE_SECONDS, fmt_count(k["requests"]),
                    k["p99_us"] / 1000, k["socket_errors"], k["rate_limited"], "\n".join(table),
                    "flat" if k["flat"] else "NOT flat", k["rss_spread_mb"], k["rss_bound_mb"],
                    k["threads_first_half"], k["threads_second_half"]))
        m = self.results["memory"]
        if m:
            lines.append("Memory: RSS %.1f MB before, %.1f MB after a flood from %s distinct addresses "
                         "(c=%d, %.0f s, %d rate limited)" % (m["rss_before_mb"], m["rss_after_mb"],
                                                              fmt_count(m["addresses"]), m["connections"],
                                                              m["seconds"], m["rate_limited"]))
            lines.append("  %d threads after the flood; largest resident mappings: %s" % (
                m["threads"], ", ".join("%.1f MB of %.1f MB %s" % (rss / 1024, size / 1024, name)
                                        for rss, size, name in m["largest_mappings"])))
        if self.results["correctness"]:
            lines.append("Correctness after load:\n" + "\n".join(
                "  [%s] %s (%s)" % ("ok" if c["ok"] else "FAIL", c["check"], c["detail"])
                for c in self.results["correctness"]))
        verdicts = self.verdicts()
        if verdicts:
            lines.append("Targets:\n" + "\n".join("  [%s] %s" % ("met" if ok else "MISSED", text)
                                                  for ok, text in verdicts))
        if self.results["notes"]:
            lines.append("Notes:\n" + "\n".join("  " + n for n in self.results["notes"]))
        return "\n\n".join(lines)

    def verdicts(self):
        out = []
        by = {(r["scenario"], r["connections"]): r for r in self.results["scenarios"]}
        track = by.get(("track", 32))
        if track and "httplib" in track:
            ratio = track["daemon"]["rps"] / track["httplib"]["rps"]
            out.append((ratio >= TARGETS["track_vs_httplib"],
                        "track resolve c=32 %.2f x httplib (target >= %.1f)" % (ratio, TARGETS["track_vs_httplib"])))
        if track and "nginx" in track:
            ratio = track["daemon"]["rps"] / track["nginx"]["rps"]
            out.append((ratio >= TARGETS["track_vs_nginx"],
                        "track resolve c=32 %.2f x nginx (target >= %.1f)" % (ratio, TARGETS["track_vs_nginx"])))
        if track:
            p99 = track["daemon"]["p99_us"] / 1000
            out.append((p99 <= TARGETS["track_p99_ms"],
                        "track resolve c=32 p99 %.2f ms (target <= %.0f ms)" % (p99, TARGETS["track_p99_ms"])))
        for c in self.args.connections:
            coll = by.get(("collection", c))
            if coll and "httplib" in coll:
                ratio = coll["daemon"]["rps"] / coll["httplib"]["rps"]
                out.append((ratio >= TARGETS["collection_vs_httplib"],
                            "collection c=%d %.2f x httplib (target >= %.1f)" % (c, ratio,
                                                                                TARGETS["collection_vs_httplib"])))
        for c in self.args.connections:
            page, resolve = by.get(("page", c)), by.get(("track", c))
            if page and resolve:
                ratio = page["daemon"]["rps"] / resolve["daemon"]["rps"]
                out.append((ratio >= TARGETS["page_vs_resolve"],
                            "share page c=%d %.2f x the API resolve of the same links (target >= %.1f)" % (
                                c, ratio, TARGETS["page_vs_resolve"])))
        s = self.results["scale"]
        if s and s["large_shares"] >= 1_000_000:
            out.append((s["ratio"] >= TARGETS["scale_ratio"],
                        "1M shares %.2f x 1k shares (target >= %.1f)" % (s["ratio"], TARGETS["scale_ratio"])))
        a = self.results.get("audit_log")
        if a and a["records"] >= 20_000_000:
            out.append((a["ratio"] >= TARGETS["audit_log_ratio"],
                        "resolve with %s audit records %.2f x with an empty log (target >= %.1f)" % (
                            fmt_count(a["records"]), a["ratio"], TARGETS["audit_log_ratio"])))
            for q in a["queries"]:
                out.append((q["seconds"] < TARGETS["audit_query_seconds"],
                            "%s %.3f s on that log, slowest of 3 (target < %.1f s)" % (q["command"], q["seconds"],
                                                                         TARGETS["audit_query_seconds"])))
        k = self.results.get("soak")
        if k and k["seconds"] >= 600:
            out.append((k["flat"], "RSS and threads flat over a %d-minute soak at %d connections" % (
                k["seconds"] // 60, k["connections"])))
        m = self.results["memory"]
        if m and m["addresses"] >= 1_000_000:
            out.append((m["rss_after_mb"] <= TARGETS["rss_mb"],
                        "RSS after the flood %.1f MB (target <= %.0f MB)" % (m["rss_after_mb"], TARGETS["rss_mb"])))
        return out


def soak_summary(samples, seconds, connections):
    """The soak's curve per minute (req/s from the daemon's own counts; RSS and threads at the
    minute's last sample) and its verdict: flat when the RSS samples of the last half stay within
    SOAK_RSS_BOUND of their smallest and the thread count of the last half never exceeds the
    first half's highest."""
    rows, minute = [], 1
    previous = samples[0]
    while previous["t"] < seconds - 1:
        inside = [x for x in samples if previous["t"] < x["t"] <= minute * 60 + 1]
        if not inside:
            break
        last = inside[-1]
        rows.append({"minute": minute, "rps": (last["served"] - previous["served"]) / (last["t"] - previous["t"]),
                     "rss_mb": last["rss_mb"], "threads": last["threads"]})
        previous, minute = last, minute + 1
    half = seconds / 2
    first = [x for x in samples if x["t"] <= half] or samples[:1]
    second = [x for x in samples if x["t"] > half] or samples[-1:]
    low, high = min(x["rss_mb"] for x in second), max(x["rss_mb"] for x in second)
    bound = max(SOAK_RSS_BOUND_MB, SOAK_RSS_BOUND_FRACTION * low)
    threads_first, threads_second = max(x["threads"] for x in first), max(x["threads"] for x in second)
    flat = high - low <= bound and threads_second <= threads_first
    return {"connections": connections, "seconds": seconds, "samples": samples, "minutes": rows,
            "rss_spread_mb": high - low, "rss_bound_mb": bound, "threads_first_half": threads_first,
            "threads_second_half": threads_second, "flat": flat}


def fmt_rps(value):
    return "{:,.0f}".format(value)


def fmt_count(value):
    return "{:,}".format(value)


def machine_description():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.0f GB RAM" % (int(f.readline().split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return "%d cores (%s), %s, %s" % (os.cpu_count(), model or "unknown CPU", mem, os.uname().release)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Benchmark shared-linkd against an httplib baseline and nginx.")
    p.add_argument("--smoke", action="store_true", help="a few seconds on a tiny database (CTest)")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build-bench"),
                   help="where to build Release (default: build-bench/)")
    p.add_argument("--shared-linkd", help="use this binary instead of building (with --sharectl, --baseline-server)")
    p.add_argument("--sharectl")
    p.add_argument("--baseline-server")
    p.add_argument("--duration", type=int, help="seconds per measurement (default 10; smoke 1)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up before each measurement (default 2; smoke 0)")
    p.add_argument("--connections", help="comma list (default 32,256; smoke 4)")
    p.add_argument("--scenarios", help="comma list of track,collection,unknown,page,media,scale,durability,"
                                       "auditlog,memory,correctness,soak (default: all but soak)")
    p.add_argument("--pool", type=int, help="distinct client addresses per measurement (default 80000)")
    p.add_argument("--flood", type=int, help="distinct addresses of the memory flood (default 1000000)")
    p.add_argument("--scale-rounds", type=int, help="scale: rounds of the two measurements (default 3; smoke 1)")
    p.add_argument("--audit-records", type=int,
                   help="records already in the log of the auditlog scenario (default 20000000; smoke 20000)")
    p.add_argument("--audit-log-cache", metavar="FILE",
                   help="auditlog: reuse the audit log seeded into FILE by an earlier run (same --audit-records), "
                        "or seed it and keep a copy there; its records end at the time it was seeded")
    p.add_argument("--soak", action="store_true",
                   help="run the soak (alone unless --scenarios names more): %d connections for --soak-minutes, "
                        "RSS and threads sampled every %d s" % (SOAK_CONNECTIONS, SOAK_SAMPLE_SECONDS))
    p.add_argument("--soak-minutes", type=float, default=10, help="length of the soak (default 10)")
    p.add_argument("--daemon-threads", type=int, default=16,
                   help="server.threads of shared-linkd (default 16, the shipped default; 0: the connections "
                        "plus 16, as a build that holds a thread per connection needs)")
    p.add_argument("--no-baselines", action="store_true", help="measure shared-linkd only")
    p.add_argument("--perf", metavar="DIR", help="perf record the daemon during each measurement into DIR")
    p.add_argument("--json-out", metavar="FILE", help="write every figure as JSON")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                   help="postgresql: also run the track and collection scenarios on a PostgreSQL copy of the same "
                        "installation (a throwaway cluster), beside SQLite")
    args = p.parse_args(argv)
    smoke = args.smoke
    args.duration = args.duration or (1 if smoke else 10)
    args.warmup = args.warmup if args.warmup is not None else (0 if smoke else 2)
    args.connections = [int(c) for c in (args.connections or ("4" if smoke else "32,256")).split(",")]
    if args.soak:
        args.scenarios = ",".join(filter(None, [args.scenarios, "soak"]))
    args.scenarios = set((args.scenarios or
                          "track,collection,unknown,page,media,scale,durability,auditlog,memory,correctness").split(","))
    args.pool = args.pool or (2000 if smoke else 80000)
    args.flood = args.flood or (3000 if smoke else 1_000_000)
    args.scale_rounds = max(1, args.scale_rounds or (1 if smoke else 3))
    args.audit_records = args.audit_records or (20_000 if smoke else 20_000_000)
    args.shares_small = 20 if smoke else 1000
    args.shares_large = 2000 if smoke else 1_000_000
    args.collection_shares = 10 if smoke else 100
    args.max_views_links = 10 if smoke else 200
    args.exact_links = 10 if smoke else 20
    return args


def main(argv):
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if not wrk:
        print("SKIP: wrk is not installed (apt-get install wrk); the benchmark needs it", flush=True)
        return SKIP
    nginx = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None
    if not nginx:
        print("note: nginx is not installed: the nginx baseline is skipped", flush=True)
    if args.shared_linkd:
        if not (args.sharectl and args.baseline_server):
            print("run_bench.py: error: --shared-linkd needs --sharectl and --baseline-server too", file=sys.stderr)
            return 2
        paths = (args.shared_linkd, args.sharectl, args.baseline_server)
    else:
        paths = build(args.build_dir)
    binaries = Binaries(*paths, wrk=wrk, nginx=nginx)

    workdir = tempfile.mkdtemp(prefix="sharelink-bench-")
    os.chmod(workdir, 0o755)
    started = time.time()
    bench = Bench(args, binaries, workdir)
    try:
        bench.seed()
        bench.capture_bodies()
        bench.run_throughput()
        bench.run_scale()
        bench.run_durability()
        bench.run_audit_log()
        bench.run_memory()
        bench.run_correctness()
        bench.run_soak()
    finally:
        if getattr(bench, "pg_cluster", None) is not None:
            bench.pg_cluster.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log("work directory kept: " + workdir)
    bench.results["machine"] = machine_description()
    bench.results["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    bench.results["command"] = " ".join(["tests/bench/run_bench.py"] + argv)
    bench.results["settings"] = {"duration": args.duration, "warmup": args.warmup, "pool": args.pool,
                                 "wrk_threads": 2}
    print("\nshared-link benchmark, %s, %s" % (bench.results["date"], bench.results["machine"]))
    print("wrk -t2, %d s per measurement after %d s warm-up, %s client addresses per measurement\n" %
          (args.duration, args.warmup, fmt_count(args.pool)))
    print(bench.report())
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(bench.results, f, indent=1, default=str)
    if bench.failures:
        print("\nFAILED:\n" + "\n".join("  " + f for f in bench.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
