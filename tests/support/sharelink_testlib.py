"""Black-box test support: a throwaway installation, the real sharectl, the real shared-linkd.

Every test talks to the binaries exactly as an operator or a public client
would: sharectl through argv/stdout/exit codes, shared-linkd through HTTP on
127.0.0.1. Paths come from the environment CTest sets (SHARECTL, SHARED_LINKD).
Every answer a Daemon hands to a test has been checked against the OpenAPI
document (api_contract.py): a test fails at the first answer the document does
not describe.
"""

import copy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import api_contract

SHARECTL = os.environ.get("SHARECTL", "sharectl")
SHARED_LINKD = os.environ.get("SHARED_LINKD", "shared-linkd")
# The storage backend every Installation uses: "sqlite" (two files in its
# directory), or "postgresql" (a fresh database of its own in the test
# cluster: CTest's postgres_cluster fixture, else one started for this
# process). CTest registers each black-box test once per backend.
BACKEND = os.environ.get("SHARELINK_TEST_BACKEND", "sqlite")

_pg_cluster = None


def stop_process(proc, timeout=10):
    """Terminates a helper process the test started (killed after timeout seconds) and closes its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def pg_test_cluster():
    """The PostgreSQL cluster of this process's installations (started on first use when CTest has none)."""
    global _pg_cluster
    if _pg_cluster is None:
        import atexit

        import pg_cluster
        _pg_cluster = pg_cluster.PgCluster.for_tests()
        atexit.register(_pg_cluster.close)
    return _pg_cluster


def sqlite_only(reason):
    """Decorator: skips a test (or a test class) on the postgresql backend, saying why."""
    import unittest
    return unittest.skipIf(BACKEND == "postgresql", "SQLite only: " + reason)

TOKEN_RE = re.compile(r"^shr_[0-9a-f]{32}$")


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def _pg_fill(statement, params):
    """statement with each "?" replaced by the next of params as an SQL literal (tests' own values only)."""
    parts = statement.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError("%d placeholders, %d parameters" % (len(parts) - 1, len(params)))
    out = [parts[0]]
    for value, rest in zip(params, parts[1:]):
        if value is None:
            out.append("NULL")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, (int, float)):
            out.append(repr(value))
        else:
            out.append("'" + str(value).replace("'", "''") + "'")
        out.append(rest)
    return "".join(out)


class Installation:
    """A temp directory with a config file, both databases and media (after init())."""

    def __init__(self, config=None, init=True, backend=None, pg_cluster=None):
        # pg_cluster: a PgCluster of the test's own (for outages); implies the postgresql backend.
        self.backend = "postgresql" if pg_cluster else (backend or BACKEND)
        self.dir = tempfile.mkdtemp(prefix="sharelink-test-")
        self.media = os.path.join(self.dir, "media")
        self.config_path = os.path.join(self.dir, "shared-linkd.toml")
        self.config = {
            "server": {"listen": "127.0.0.1:0"},
            "database": {"path": "shared-link.db", "audit_path": "shared-link-audit.db"},
            "playback": {"key_file": "signing.keys", "media_root": "media"},
        }
        self.pg_database = None
        self.pg = None
        if self.backend == "postgresql":
            cluster = self.pg = pg_cluster or pg_test_cluster()
            self.pg_database = "t_" + os.urandom(6).hex()
            self.config["database"] = {"backend": "postgresql",
                                       "url": cluster.create_database(self.pg_database)}
        for table, values in (config or {}).items():
            self.config.setdefault(table, {}).update(values)
        self.write_config()
        if init:
            self.sharectl("init")
            os.makedirs(self.media, exist_ok=True)

    def write_config(self):
        lines = []
        # Plain tables first, then dotted sub-tables such as playback.s3.
        for table in sorted(self.config, key=lambda t: (t.count("."), t)):
            lines.append("[%s]" % table)
            for key, value in self.config[table].items():
                lines.append("%s = %s" % (key, toml_value(value)))
            lines.append("")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines))

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_database:
            try:
                self.pg.drop_database(self.pg_database)
            except AssertionError:
                pass  # a cluster already stopped: removed with it
            self.pg_database = None

    @property
    def db_arg(self):
        """What sharectl --db takes for this installation's catalogue: its file, or its database URL."""
        if self.backend == "postgresql":
            return self.config["database"]["url"]
        return self.path(self.config["database"].get("path", "shared-link.db"))

    def rows(self, query, params=(), audit=False):
        """Runs one SELECT on this installation's database, as an operator could: the rows as dicts, with
        numbers as int, NULL as None, flags as 0/1 (true/false on postgresql compare equal).

        params fill the "?" placeholders. On sqlite, audit=True names the audit file (PostgreSQL holds
        both in one database). On postgresql, inet values read as their text (host addresses without a
        "/32").
        """
        if self.backend == "postgresql":
            out = self.pg.psql("SELECT coalesce(json_agg(q), '[]') FROM (%s) q" % _pg_fill(query, params),
                                         dbname=self.pg_database).stdout
            return json.loads(out)
        db = self._sqlite(audit)
        db.row_factory = __import__("sqlite3").Row
        try:
            return [dict(r) for r in db.execute(query, params)]
        finally:
            db.close()

    def execute(self, statement, params=(), audit=False):
        """Runs one statement that changes the database (UPDATE, INSERT, ...), committed at once."""
        if self.backend == "postgresql":
            self.pg.psql(_pg_fill(statement, params), dbname=self.pg_database)
            return
        db = self._sqlite(audit)
        try:
            db.execute(statement, params)
            db.commit()
        finally:
            db.close()

    def audit_rows(self, event=None):
        """Every audit record (of event, if given), oldest first, as dicts of its columns."""
        query = "SELECT * FROM audit_records" + (" WHERE event = ?" if event else "") + " ORDER BY id"
        return self.rows(query, (event,) if event else (), audit=True)

    def _sqlite(self, audit):
        import sqlite3
        name = self.config["database"].get("audit_path" if audit else "path",
                                           "shared-link-audit.db" if audit else "shared-link.db")
        return sqlite3.connect(self.path(name))

    # --- sharectl -------------------------------------------------------
    def sharectl(self, *args, check=True, json_output=False, input=None, env=None):
        argv = [SHARECTL, "--config", self.config_path]
        if json_output:
            argv.append("--json")
        argv += [str(a) for a in args]
        proc = subprocess.run(argv, capture_output=True, text=True, input=input, env=env, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError("sharectl %s failed (%d):\n%s%s" % (" ".join(map(str, args)), proc.returncode,
                                                                   proc.stdout, proc.stderr))
        return proc

    def sharectl_json(self, *args):
        return json.loads(self.sharectl(*args, json_output=True).stdout)

    def write_media(self, name, data=b"RIFF....WAVEfmt demo audio bytes"):
        path = os.path.join(self.media, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def add_track(self, title="Late Night Study", licence="personal_only@2026-01", audio=None, extra=()):
        audio = audio or ("t%d.mp3" % (len(os.listdir(self.media)) + 1))
        if not os.path.exists(os.path.join(self.media, audio)):
            self.write_media(audio)
        args = ["track", "add", "--title", title, "--engine", "studio", "--mode", "creation",
                "--licence", licence, "--audio", audio] + list(extra)
        return self.sharectl_json(*args)["id"]

    def add_collection(self, name, track_ids, description=None):
        args = ["collection", "create", "--name", name]
        if description is not None:
            args += ["--description", description]
        cid = self.sharectl_json(*args)["id"]
        if track_ids:
            self.sharectl("collection", "add", cid, *track_ids)
        return cid

    def share(self, target_id, *extra):
        flag = "--collection" if target_id.startswith("mcoll_") else "--track"
        created = self.sharectl_json("share", "create", flag, target_id, *extra)
        return created["id"], created["token"]

    def inspect(self, share_id_or_token):
        return self.sharectl_json("share", "inspect", share_id_or_token)


def check_answer(method, path, status, headers, body, malformed=False, config=None):
    """Checks an answer of the daemon that a test received on a connection of its own against the
    OpenAPI document (Daemon.request and Daemon.raw do it themselves). headers: (name, value)
    pairs as received; body: bytes, or None when the test streams it; config: the daemon's
    configuration tables when the routes it serves are not the default ones (Daemon.check_answer
    passes its own)."""
    api_contract.check(method, path, status, headers, body, malformed=malformed, config=config)


class Response:
    def __init__(self, status, headers, body, raw_headers=None):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self.raw_headers = raw_headers if raw_headers is not None else list(headers.items())  # as received

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


class Daemon:
    """The real shared-linkd on 127.0.0.1 with a port of its own choosing."""

    def __init__(self, installation, extra_args=(), env=None):
        self.installation = installation
        # The configuration this process started with: which routes it serves (api_contract).
        self.config = copy.deepcopy(installation.config)
        argv = [SHARED_LINKD, "--config", installation.config_path] + list(extra_args)
        self.stderr_lines = []
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.port = None
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.stderr_lines.append(line)
                m = re.search(r'msg=listening .*addr=\S+:(\d+)', line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.stdout_lines = []

        def pump_stdout():
            for line in self.proc.stdout:
                self.stdout_lines.append(line)

        self.pumps = [threading.Thread(target=pump, daemon=True), threading.Thread(target=pump_stdout, daemon=True)]
        for t in self.pumps:
            t.start()
        ready.wait(20)
        if self.port is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("shared-linkd did not start:\n" + "".join(self.stderr_lines))

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, headers=None, body=None, timeout=10, malformed=False):
        """One request on a new connection; the answer is checked against the OpenAPI document
        (malformed=True: only for a request built to be unparseable, whose answer must be the
        document's 400)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            raw_headers = resp.getheaders()
            self.check_answer(method, path, resp.status, raw_headers, data, malformed=malformed)
            return Response(resp.status, {k.lower(): v for k, v in raw_headers}, data, raw_headers)
        finally:
            conn.close()

    def check_answer(self, method, path, status, headers, body, malformed=False):
        """check_answer() for an answer of this daemon, under its configuration."""
        check_answer(method, path, status, headers, body, malformed=malformed, config=self.config)

    def get(self, path, headers=None):
        return self.request("GET", path, headers)

    def resolve(self, token, headers=None, method="GET"):
        return self.request(method, "/v1/music/shared/" + token, headers)

    def raw(self, data, timeout=5, malformed=False):
        """Sends raw bytes and returns the raw answer, whose first answer is checked against the
        OpenAPI document. malformed=True says the bytes are deliberately unparseable: the answer
        must then be the document's 400 for a request that cannot be parsed."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if b"\r\n\r\n" in b"".join(chunks):
                        head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                        if m and len(rest) >= int(m.group(1)):
                            break
            except socket.timeout:
                pass
            answer = b"".join(chunks)
            if answer:
                api_contract.check_raw(data, answer, malformed=malformed, config=self.config)
            return answer

    def send_signal(self, signum):
        self.proc.send_signal(signum)

    def stop(self, signum=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("shared-linkd did not stop within %ds" % timeout)
        for t in self.pumps:
            t.join(5)  # the pipes reach EOF once the process has exited
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc

    def log(self):
        return "".join(self.stderr_lines)
