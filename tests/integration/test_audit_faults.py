"""The audit log under faults against the real daemon (SPEC 7 Faults and Durability): an audit database
on a full tmpfs or held locked fails closed in bounded time, a SIGTERM spills what is left, the next
start or sharectl imports the spill exactly once, and audit.synchronous survives a SIGKILL."""

import http.client
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from sharelink_testlib import Daemon, Installation

GENEROUS = {"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000, "misses_per_minute": 1000000}}
WRK = shutil.which("wrk")
QUEUE_WAIT_MS = 400


def audit_request_ids(path):
    con = sqlite3.connect(path, timeout=30)
    try:
        return [r[0] for r in con.execute("SELECT request_id FROM audit_records WHERE request_id IS NOT NULL")]
    finally:
        con.close()


def audit_admin_actions(path):
    con = sqlite3.connect(path, timeout=30)
    try:
        return [r[0] for r in con.execute("SELECT action FROM audit_records WHERE event = 'admin' ORDER BY id")]
    finally:
        con.close()


def metric(daemon, name):
    text = daemon.get("/metrics").body.decode()
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    if m is None:
        raise AssertionError("no metric %s" % name)
    return float(m.group(1))


def wait_for(predicate, timeout=30, what="condition"):
    give_up = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > give_up:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def run_wrk(url, seconds, connections=32):
    """Load from wrk (two threads); returns when it is done."""
    subprocess.run([WRK, "-t2", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s", url],
                   capture_output=True, timeout=seconds + 30)


class LockedAuditDatabase:
    """Holds the audit database's write lock from another connection, as a stuck sharectl would."""

    def __init__(self, path):
        self.con = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.con.execute("BEGIN IMMEDIATE")

    def release(self):
        if self.con is not None:
            self.con.execute("ROLLBACK")
            self.con.close()
            self.con = None


@unittest.skipIf(WRK is None, "wrk is not installed")
class AuditFullDiskTest(unittest.TestCase):
    """The audit database on a small tmpfs that a filler file fills (root only: mount)."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root (CI runs as root); see test_locked_* for the same "
                          "behaviour without it")
        self.mount = tempfile.mkdtemp(prefix="sharelink-audit-tmpfs-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", self.mount], check=True)
        self.addCleanup(self._unmount)
        self.audit_path = os.path.join(self.mount, "audit.db")
        config = dict(GENEROUS)
        config["database"] = {"audit_path": self.audit_path}
        config["audit"] = {"queue_wait_ms": QUEUE_WAIT_MS, "shutdown_grace_seconds": 2}
        self.inst = Installation(config)
        self.addCleanup(self.inst.cleanup)
        self.filler = os.path.join(self.mount, "filler")

    def _unmount(self):
        subprocess.run(["umount", "-l", self.mount], check=False)
        os.rmdir(self.mount)

    def fill(self):
        with open(self.filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass

    def test_a_full_audit_disk_fails_closed_in_bounded_time_and_recovers(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        daemon = Daemon(self.inst)
        try:
            self.assertEqual(daemon.resolve(token).status, 200)
            self.assertEqual(daemon.get("/readyz").status, 200)
            self.fill()
            # Load until the queue is full and requests are refused.
            url = daemon.base_url + "/v1/music/shared/" + token
            loader = threading.Thread(target=run_wrk, args=(url, 6))
            loader.start()
            wait_for(lambda: metric(daemon, "sharelink_audit_requests_refused_total") > 0, 30, "refusals")
            started = time.monotonic()
            refused = daemon.resolve(token)
            waited = time.monotonic() - started
            self.assertEqual(refused.status, 503)
            self.assertEqual(refused.json()["error"]["code"], "SERVICE_UNAVAILABLE")
            self.assertEqual(refused.header("cache-control"), "no-store")
            self.assertIsNotNone(refused.header("ratelimit"))
            # Bounded: queue_wait_ms, with a wide margin for a loaded 2-core machine.
            self.assertLess(waited, QUEUE_WAIT_MS / 1000 + 5)
            page = daemon.get("/s/" + token)
            self.assertEqual(page.status, 503)
            self.assertTrue(page.header("content-type").startswith("text/html"))
            # Every route that appends refuses the same way, also answers given outside the handlers.
            for method, path in (("GET", "/v1/music/media/mtrack_000000000000?share=mslink_000000000000"),
                                 ("OPTIONS", "/v1/music/shared/" + token),
                                 ("POST", "/v1/music/shared/" + token)):
                answer = daemon.request(method, path)
                self.assertEqual(answer.status, 503, (method, path))
                self.assertEqual(answer.json()["error"]["code"], "SERVICE_UNAVAILABLE")
            self.assertEqual(daemon.get("/readyz").status, 503)
            self.assertEqual(metric(daemon, "sharelink_audit_writer_failing"), 1)
            self.assertIn('route="resolve",outcome="unavailable_audit"', daemon.get("/metrics").body.decode())
            loader.join()
            log = daemon.log()
            failures = re.findall(r'level=error msg="audit database refuses writes[^"]*" error="([^"]*)"', log)
            self.assertTrue(failures, log[-3000:])
            self.assertRegex(failures[0], r"(?i)full|disk")
            # One line per distinct reason, not one per failed attempt.
            self.assertLess(len(failures), 5)
            self.assertRegex(log, r'msg="audit queue full: request refused with 503 SERVICE_UNAVAILABLE"')
            self.assertLess(len(re.findall("request refused with 503", log)), 5)
            self.assertNotIn(token, log)

            # Room again: the writer catches up, /readyz is 200, requests are served.
            os.unlink(self.filler)
            wait_for(lambda: daemon.get("/readyz").status == 200, 30, "/readyz 200")
            self.assertIn('msg="audit database accepts writes again"', daemon.log())
            self.assertEqual(daemon.resolve(token).status, 200)
            self.assertEqual(metric(daemon, "sharelink_audit_writer_failing"), 0)
        finally:
            rc = daemon.stop()
        self.assertEqual(rc, 0)
        self.assertRegex(daemon.log(), r"audit_records_lost=0")

    def test_sigterm_on_a_full_disk_ends_within_the_grace_period_and_counts_what_is_lost(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        daemon = Daemon(self.inst)
        self.fill()
        run_wrk(daemon.base_url + "/v1/music/shared/" + token, 2)
        wait_for(lambda: metric(daemon, "sharelink_audit_write_errors_total") > 0, 30, "write errors")
        queued = metric(daemon, "sharelink_audit_queue_depth")
        self.assertGreater(queued, 0)
        started = time.monotonic()
        rc = daemon.stop(timeout=60)
        elapsed = time.monotonic() - started
        self.assertEqual(rc, 0)
        # shutdown_grace_seconds (2) plus a margin for draining connections, one last attempt and a
        # slow or instrumented build; still short of the writer's 30 s without the grace period.
        self.assertLess(elapsed, 2 + 20)
        log = daemon.log()
        # The spill beside the audit database cannot be written either (same full disk): counted and logged.
        self.assertRegex(log, r'level=error msg="audit records lost: the spill file could not be written" records=\d+')
        lost = int(re.search(r"msg=stopped .*audit_records_lost=(\d+)", log).group(1))
        self.assertGreaterEqual(lost, queued)


class AuditLockedDatabaseTest(unittest.TestCase):
    """The audit database held locked by another process: refused writes without root."""

    def setUp(self):
        config = dict(GENEROUS)
        config["audit"] = {"queue_wait_ms": QUEUE_WAIT_MS, "shutdown_grace_seconds": 1}
        self.inst = Installation(config)
        self.addCleanup(self.inst.cleanup)
        self.audit_path = self.inst.path("shared-link-audit.db")
        self.spill = self.audit_path + "-spill.jsonl"

    def answered_under_lock(self, daemon, token, count):
        """count requests answered while the audit database is locked; their request ids."""
        ids = []
        for _ in range(count):
            resp = daemon.resolve(token)
            self.assertEqual(resp.status, 200)
            ids.append(resp.header("x-request-id"))
        return ids

    def spill_with_sigterm(self, token):
        """Starts a daemon, answers requests while the audit database is locked, stops it; returns the
        request ids answered and the daemon."""
        daemon = Daemon(self.inst)
        lock = LockedAuditDatabase(self.audit_path)
        try:
            ids = self.answered_under_lock(daemon, token, 20)
            wait_for(lambda: daemon.get("/readyz").status == 503, 30, "/readyz 503")
            started = time.monotonic()
            rc = daemon.stop(timeout=60)
            elapsed = time.monotonic() - started
        finally:
            lock.release()
        self.assertEqual(rc, 0)
        # shutdown_grace_seconds (1) plus one write attempt (the 5 s lock wait) and a margin for a slow
        # or instrumented build (a sanitizer's exit checks take seconds); still well short of the 30 s
        # the writer would keep retrying if the grace period were ignored.
        self.assertLess(elapsed, 1 + 5 + 20)
        log = daemon.log()
        self.assertRegex(log, r'msg="audit database refuses writes[^"]*" error="[^"]*locked')
        self.assertRegex(log, r'msg="audit records written to the spill file" file=\S+ records=20')
        self.assertRegex(log, r"msg=stopped .*audit_records_spilled=20 audit_records_lost=0")
        self.assertTrue(os.path.exists(self.spill))
        self.assertEqual(os.stat(self.spill).st_mode & 0o777, 0o600)
        with open(self.spill) as f:
            spilled = f.read()
        self.assertNotIn(token, spilled)
        for request_id in ids:
            self.assertIn(request_id, spilled)
        return ids

    def test_spill_at_sigterm_is_imported_once_at_the_next_start(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        ids = self.spill_with_sigterm(token)
        self.assertFalse(set(ids) & set(audit_request_ids(self.audit_path)))

        daemon = Daemon(self.inst)
        try:
            self.assertRegex(daemon.log(), r'msg="imported the audit spill file" file=\S+ records=20 '
                                           r'records_already_imported=0 bad_lines=0')
            self.assertFalse(os.path.exists(self.spill))
        finally:
            self.assertEqual(daemon.stop(), 0)
        stored = audit_request_ids(self.audit_path)
        for request_id in ids:
            self.assertEqual(stored.count(request_id), 1)
        self.assertEqual(audit_admin_actions(self.audit_path).count("audit.import-spill"), 1)

        # Nothing is left for sharectl, nor for another start.
        proc = self.inst.sharectl("audit", "import-spill")
        self.assertIn("no spill file at " + self.spill, proc.stdout)
        daemon = Daemon(self.inst)
        self.assertEqual(daemon.stop(), 0)
        self.assertNotIn("imported the audit spill file", daemon.log())
        stored = audit_request_ids(self.audit_path)
        for request_id in ids:
            self.assertEqual(stored.count(request_id), 1)

    def test_sharectl_imports_the_spill_exactly_once(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        ids = self.spill_with_sigterm(token)
        summary = self.inst.sharectl_json("audit", "import-spill")
        self.assertEqual(summary["file"], self.spill)
        self.assertTrue(summary["found"])
        self.assertEqual(summary["records_imported"], 20)
        self.assertEqual(summary["segments_imported"], 1)
        self.assertEqual(summary["bad_lines"], [])
        self.assertIsNone(summary["rejected_file"])
        again = self.inst.sharectl_json("audit", "import-spill")
        self.assertFalse(again["found"])
        self.assertEqual(again["records_imported"], 0)
        stored = audit_request_ids(self.audit_path)
        for request_id in ids:
            self.assertEqual(stored.count(request_id), 1)
        records = self.inst.sharectl_json("audit", "--event", "admin")
        markers = [r for r in records if r["action"] == "audit.import-spill"]
        self.assertEqual(len(markers), 1)
        self.assertTrue(markers[0]["detail"].startswith("segment="))

    def test_bad_spill_lines_are_reported_and_kept_aside(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        ids = self.spill_with_sigterm(token)
        with open(self.spill, "a") as f:
            f.write("{not json\n")
        proc = self.inst.sharectl("audit", "import-spill", check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        line = len(ids) + 1
        self.assertIn("sharectl: error: %s:%d: not a JSON object" % (self.spill, line), proc.stderr)
        m = re.search(r"kept in (\S+)", proc.stderr)
        self.assertIsNotNone(m, proc.stderr)
        with open(m.group(1)) as f:
            self.assertEqual(f.read(), "{not json\n")
        self.assertIn("imported 20 audit records", proc.stdout)
        self.assertFalse(os.path.exists(self.spill))

    def test_requests_wait_at_most_queue_wait_ms_for_a_commit_when_synchronous(self):
        self.inst.config["audit"]["synchronous"] = True
        self.inst.write_config()
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        daemon = Daemon(self.inst)
        lock = LockedAuditDatabase(self.audit_path)
        try:
            started = time.monotonic()
            resp = daemon.resolve(token)
            waited = time.monotonic() - started
            self.assertEqual(resp.status, 503)
            self.assertEqual(resp.json()["error"]["code"], "SERVICE_UNAVAILABLE")
            self.assertLess(waited, QUEUE_WAIT_MS / 1000 + 5)
            request_id = resp.header("x-request-id")
        finally:
            lock.release()
        # The record is still written once the database is back.
        wait_for(lambda: request_id in audit_request_ids(self.audit_path), 30, "the record")
        self.assertGreaterEqual(metric(daemon, "sharelink_audit_commit_timeouts_total"), 1)
        self.assertEqual(daemon.resolve(token).status, 200)
        self.assertEqual(daemon.stop(), 0)


class AuditSigkillTest(unittest.TestCase):
    """SIGKILL under load: with audit.synchronous no answered request lacks its record."""

    def sigkill_under_load(self, synchronous):
        config = dict(GENEROUS)
        config["audit"] = {"synchronous": synchronous}
        inst = Installation(config)
        self.addCleanup(inst.cleanup)
        tid = inst.add_track()
        _, token = inst.share(tid)
        daemon = Daemon(inst)
        answered = []
        stop = threading.Event()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
            mine = []
            try:
                while not stop.is_set():
                    conn.request("GET", "/v1/music/shared/" + token)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        mine.append(resp.getheader("X-Request-Id"))
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
            except (OSError, http.client.HTTPException):
                pass  # the kill ends the connection mid-request: that answer never arrived
            finally:
                answered.extend(mine)

        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(3)
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(30)
        stop.set()
        for t in threads:
            t.join(30)
        daemon.stop()
        stored = set(audit_request_ids(inst.path("shared-link-audit.db")))
        missing = [i for i in answered if i not in stored]
        return answered, missing

    def test_synchronous_audit_loses_no_answered_request(self):
        answered, missing = self.sigkill_under_load(True)
        print("audit.synchronous = true: %d answered, %d without a record after SIGKILL"
              % (len(answered), len(missing)))
        self.assertGreater(len(answered), 100)
        self.assertEqual(missing, [])

    def test_batched_audit_figure_after_sigkill(self):
        answered, missing = self.sigkill_under_load(False)
        # Reported, not asserted: the batched default may lose the last moments' records.
        print("audit.synchronous = false: %d answered, %d without a record after SIGKILL (%.2f %%)"
              % (len(answered), len(missing), 100.0 * len(missing) / max(len(answered), 1)))
        self.assertGreater(len(answered), 100)


if __name__ == "__main__":
    unittest.main()
