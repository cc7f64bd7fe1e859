"""shared-linkd's logs (SPEC 9): one logfmt line per event on stderr, for startup, shutdown,
reloads and errors (with the request id), and never a token.

Also the SIGHUP reload itself: new rate limits and signing keys take effect on
open connections' next requests, and an invalid configuration is logged while
the previous settings keep serving.
"""

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import unittest
import urllib.parse

from sharelink_testlib import SHARED_LINKD, Daemon, Installation, check_answer, sqlite_only

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
REQUEST_ID_RE = re.compile(r"^req_[0-9a-f]{16}$")


def parse_logfmt(line):
    """key=value pairs of one line, strictly: bare values have no space, quote, = or backslash;
    quoted values use \\" \\\\ \\n and \\xNN escapes only."""
    if not line.endswith("\n") or "\n" in line[:-1]:
        raise AssertionError("not one line: %r" % line)
    text = line[:-1]
    fields = {}
    pos = 0
    while pos < len(text):
        m = KEY_RE.match(text, pos)
        if not m or text[m.end():m.end() + 1] != "=":
            raise AssertionError("bad key at %d in %r" % (pos, text))
        key = m.group(0)
        pos = m.end() + 1
        if text[pos:pos + 1] == '"':
            pos += 1
            value = []
            while True:
                if pos >= len(text):
                    raise AssertionError("unterminated quote in %r" % text)
                c = text[pos]
                if c == "\\":
                    nxt = text[pos + 1:pos + 2]
                    if nxt in ('"', "\\"):
                        value.append(nxt)
                        pos += 2
                    elif nxt == "n":
                        value.append("\n")
                        pos += 2
                    elif nxt == "x" and re.fullmatch(r"[0-9a-f]{2}", text[pos + 2:pos + 4]):
                        value.append(chr(int(text[pos + 2:pos + 4], 16)))
                        pos += 4
                    else:
                        raise AssertionError("bad escape in %r" % text)
                elif c == '"':
                    pos += 1
                    break
                else:
                    value.append(c)
                    pos += 1
            value = "".join(value)
        else:
            end = text.find(" ", pos)
            end = len(text) if end < 0 else end
            value = text[pos:end]
            if not value or re.search(r'["=\\]', value):
                raise AssertionError("bad bare value in %r" % text)
            pos = end
        if key in fields:
            raise AssertionError("duplicate key %s in %r" % (key, text))
        fields[key] = value
        if pos < len(text):
            if text[pos] != " ":
                raise AssertionError("expected a space at %d in %r" % (pos, text))
            pos += 1
    return fields


def events(daemon):
    """Every stderr line so far, parsed; each must be a logfmt event with ts, level and msg first."""
    out = []
    for line in list(daemon.stderr_lines):
        fields = parse_logfmt(line)
        if list(fields)[:3] != ["ts", "level", "msg"]:
            raise AssertionError("an event starts with ts, level, msg: %r" % line)
        if not TS_RE.match(fields["ts"]) or fields["level"] not in ("debug", "info", "warn", "error"):
            raise AssertionError("bad ts or level: %r" % line)
        out.append(fields)
    return out


def wait_for_event(daemon, msg, after=0, timeout=10):
    """The first event with this msg among events[after:], waiting (bounded) for it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in events(daemon)[after:] if e["msg"] == msg]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError("no %r event; log:\n%s" % (msg, daemon.log()))
        time.sleep(0.05)


def get(port, path, conn=None, headers=None, method="GET"):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        check_answer(method, path, resp.status, resp.getheaders(), body)
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        if own:
            conn.close()


def kid_of(body):
    url = json.loads(body)["track"]["playback_url"]
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["kid"][0]


class LogTestCase(unittest.TestCase):
    def start(self, config=None):
        self.inst = Installation(config)
        self.addCleanup(self.inst.cleanup)
        self.tid = self.inst.add_track()
        self.share_id, self.token = self.inst.share(self.tid)
        self.daemon = Daemon(self.inst)
        self.addCleanup(self.daemon.stop)


class LifecycleLogTest(LogTestCase):
    def test_startup_line(self):
        self.start()
        event = wait_for_event(self.daemon, "listening")
        version = subprocess.run([SHARED_LINKD, "--version"], capture_output=True, text=True).stdout.split()[-1]
        self.assertEqual(event["level"], "info")
        self.assertEqual(event["version"], version)
        self.assertEqual(event["addr"], "127.0.0.1:%d" % self.daemon.port)
        if self.inst.backend == "postgresql":
            self.assertEqual(event["backend"], "postgresql")
            self.assertEqual(event["database"], self.inst.config["database"]["url"])
            user_version = int(self.inst.rows("SELECT max(version) AS v FROM schema_migrations")[0]["v"])
        else:
            self.assertEqual(os.path.realpath(event["database"]), os.path.realpath(self.inst.path("shared-link.db")))
            self.assertEqual(os.path.realpath(event["audit_database"]),
                             os.path.realpath(self.inst.path("shared-link-audit.db")))
            with sqlite3.connect("file:%s?mode=ro" % self.inst.path("shared-link.db"), uri=True) as db:
                user_version = db.execute("PRAGMA user_version").fetchone()[0]
        self.assertGreaterEqual(user_version, 1)
        self.assertEqual(event["schema_version"], str(user_version))

    def test_shutdown_lines(self):
        for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            with self.subTest(name):
                self.start()
                self.assertEqual(get(self.daemon.port, "/v1/music/shared/" + self.token)[0], 200)
                before = len(self.daemon.stderr_lines)
                self.assertEqual(self.daemon.stop(signum), 0)
                stopping = wait_for_event(self.daemon, "shutting down", before)
                self.assertEqual((stopping["level"], stopping["signal"]), ("info", name))
                stopped = wait_for_event(self.daemon, "stopped", before)
                self.assertEqual(stopped["level"], "info")
                self.assertEqual(stopped["audit_records_written"], "1")  # the resolve, flushed before exit

    @sqlite_only('makes the SQLite file disappear (test_pg_outage covers the PostgreSQL outage)')
    def test_error_line_carries_the_request_id(self):
        self.start()
        # The database disappears before any worker opened it: the resolve fails with 503.
        db = self.inst.path("shared-link.db")
        moved = self.inst.path("moved-away.db")
        os.rename(db, moved)
        status, headers, body = get(self.daemon.port, "/v1/music/shared/" + self.token)
        self.assertEqual(status, 503)
        request_id = headers["x-request-id"]
        self.assertRegex(request_id, REQUEST_ID_RE)
        self.assertEqual(json.loads(body)["error"]["request_id"], request_id)
        errors = [e for e in events(self.daemon) if e["level"] == "error"]
        self.assertTrue(errors, self.daemon.log())
        self.assertEqual(errors[-1].get("request_id"), request_id)
        self.assertIn("error", errors[-1], "the detail is in the log, not in the answer")
        self.assertNotIn(b"shared-link.db", body)
        # Back in place: the next request reopens the database.
        os.rename(moved, db)
        self.assertEqual(get(self.daemon.port, "/v1/music/shared/" + self.token)[0], 200)


class ReloadLogTest(LogTestCase):
    def policy(self, conn=None):
        status, headers, body = get(self.daemon.port, "/v1/music/shared/" + self.token, conn)
        self.assertEqual(status, 200, body)
        return re.search(r"q=(\d+)", headers["ratelimit-policy"]).group(1), kid_of(body)

    def sighup_and_wait(self, msg):
        before = len(self.daemon.stderr_lines)
        self.daemon.proc.send_signal(signal.SIGHUP)
        return wait_for_event(self.daemon, msg, before)

    def test_sighup_reloads_rate_limits_and_keys_on_an_open_connection(self):
        self.start({"rate_limit": {"burst": 30}})
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=10)
        self.addCleanup(conn.close)
        burst, kid = self.policy(conn)
        self.assertEqual(burst, "30")

        self.inst.config["rate_limit"]["burst"] = 7
        self.inst.write_config()
        self.inst.sharectl("keys", "rotate")
        self.assertEqual(self.policy(conn), ("30", kid), "nothing changes before the signal")
        event = self.sighup_and_wait("reloaded signing keys and rate limits")
        self.assertEqual(event["level"], "info")
        new_burst, new_kid = self.policy(conn)  # same keep-alive connection: not dropped
        self.assertEqual(new_burst, "7")
        self.assertNotEqual(new_kid, kid)

    def test_invalid_config_on_reload_is_logged_and_the_old_one_kept(self):
        self.start({"rate_limit": {"burst": 30}})
        before = self.policy()
        cases = [
            ("syntax error", "[rate_limit\nburst = 5\n"),
            ("out of range", "[rate_limit]\nburst = 0\n"),
            ("unknown key", "[rate_limit]\nburts = 5\n"),
        ]
        for what, text in cases:
            with self.subTest(what):
                with open(self.inst.config_path, "w") as f:
                    f.write(text)
                event = self.sighup_and_wait("reload failed; keeping the previous settings")
                self.assertEqual(event["level"], "error")
                self.assertIn(self.inst.config_path, event["error"])
                self.assertEqual(self.policy(), before, "the previous settings keep serving")
        # A configuration that parses but names a missing key file is refused the same way.
        self.inst.config["playback"]["key_file"] = "no-such.keys"
        self.inst.write_config()
        event = self.sighup_and_wait("reload failed; keeping the previous settings")
        self.assertIn("no-such.keys", event["error"])
        self.assertEqual(self.policy(), before)


class TokenSecrecyLogTest(LogTestCase):
    def test_no_token_ever_reaches_the_log(self):
        self.start({"rate_limit": {"burst": 1000, "requests_per_minute": 1000}})
        tokens = [self.token] + [self.inst.share(self.tid)[1] for _ in range(4)]
        revoked_id, revoked = self.inst.share(self.tid)
        self.inst.sharectl("share", "revoke", revoked_id)
        expired_id, expired = self.inst.share(self.tid)
        self.inst.sharectl("share", "expire", expired_id)
        tokens += [revoked, expired, "shr_" + "9" * 32]
        secret_headers = {"Authorization": "Bearer sk_live_do_not_log", "X-API-Key": "key_do_not_log",
                          "Cookie": "session=cookie_do_not_log"}
        port = self.daemon.port
        # The error path first, with real tokens in flight (no worker has opened the database yet).
        if self.inst.backend == "sqlite":
            db = self.inst.path("shared-link.db")
            os.rename(db, db + ".away")
            for token in tokens[:3]:
                self.assertEqual(get(port, "/v1/music/shared/" + token, headers=secret_headers)[0], 503)
            os.rename(db + ".away", db)
        for token in tokens:
            get(port, "/v1/music/shared/" + token, headers=secret_headers)
            get(port, "/v1/music/shared/" + token, method="HEAD")
            get(port, "/v1/music/shared/" + token, headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
            get(port, "/v1/music/shared/" + token + "/extra")
            get(port, "/v1/music/shared/" + token, method="DELETE")
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.daemon.stop()

        log = self.daemon.log() + "".join(self.daemon.stdout_lines)
        events(self.daemon)  # every line is a well-formed event
        if self.inst.backend == "sqlite":
            self.assertTrue(any(e["level"] == "error" for e in events(self.daemon)))
        for token in tokens:
            self.assertNotIn(token, log)
            self.assertNotIn(token[4:], log)
        self.assertNotIn("shr_", log)
        for value in secret_headers.values():
            self.assertNotIn(value.split()[-1].split("=")[-1], log)


if __name__ == "__main__":
    unittest.main()
