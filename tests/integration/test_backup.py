"""sharectl db backup while shared-linkd serves traffic: every copy is consistent, opens, passes
sharectl db check, and holds no raw token.

Load: a few client threads resolve real share links (each view is a write to
the main database, each request an audit record) until the backups are done
(bounded in count and time).
"""

import http.client
import json
import os
import sqlite3
import threading
import time
import unittest

from sharelink_testlib import Daemon, Installation, check_answer

CLIENTS = 4
MAX_REQUESTS_PER_CLIENT = 20000  # the load runs until the backups are done; this only bounds it
MAX_SECONDS = 60


class BackupUnderLoadTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation({"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000}})
        self.addCleanup(self.inst.cleanup)
        tid = self.inst.add_track()
        self.tokens = [self.inst.share(tid)[1] for _ in range(CLIENTS)]
        self.daemon = Daemon(self.inst)
        self.addCleanup(self.daemon.stop)
        # Loads the answer validator now: its first use takes seconds, longer than the daemon keeps an idle
        # keep-alive connection open, and the load threads must not sit that long between two requests.
        self.daemon.resolve(self.tokens[0])

    def load(self, token, stop, served, errors):
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=10)
        try:
            deadline = time.monotonic() + MAX_SECONDS
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                conn.request("GET", "/v1/music/shared/" + token)
                resp = conn.getresponse()
                check_answer("GET", "/v1/music/shared/" + token, resp.status, resp.getheaders(), resp.read())
                if resp.status != 200:
                    errors.append(resp.status)
                served.append(1)
        except OSError as e:
            errors.append(repr(e))
        finally:
            conn.close()

    def test_backups_taken_under_load_are_consistent_and_token_free(self):
        stop = threading.Event()
        served, errors = [], []
        threads = [threading.Thread(target=self.load, args=(token, stop, served, errors)) for token in self.tokens]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 30
            while len(served) < 50 and time.monotonic() < deadline:
                time.sleep(0.01)
            copies = []
            for n in range(3):
                copy = self.inst.path("backup-%d.db" % n)
                proc = self.inst.sharectl("db", "backup", copy)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                copies.append((copy, len(served)))
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
        self.assertEqual(errors, [])
        self.assertGreater(copies[-1][1], copies[0][1], "traffic was served while the backups ran")

        for copy, _ in copies:
            with self.subTest(copy=os.path.basename(copy)):
                audit_copy = copy + "-audit"
                self.assertTrue(os.path.exists(audit_copy))
                for path in (copy, audit_copy):
                    self.assertEqual(os.stat(path).st_mode & 0o077, 0, "a backup is private to its owner")
                    with sqlite3.connect("file:%s?mode=ro" % path, uri=True) as db:
                        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                # The views the copy holds, as sharectl reads them (shares and their batched views).
                listed = json.loads(self.inst.sharectl("--db", copy, "--audit-db", audit_copy, "--json", "share",
                                                       "list").stdout)
                self.assertEqual(len(listed), CLIENTS)
                self.assertGreater(sum(share["view_count"] for share in listed), 0)
                for share in listed:
                    self.assertEqual(share["view_count"] > 0, share["last_viewed_at"] is not None, share)
                with sqlite3.connect("file:%s?mode=ro" % audit_copy, uri=True) as db:
                    self.assertGreater(db.execute("SELECT count(*) FROM audit_records").fetchone()[0], 0)
                check = self.inst.sharectl("--db", copy, "--audit-db", audit_copy, "db", "check", check=False)
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                for path in (copy, audit_copy):
                    with open(path, "rb") as f:
                        data = f.read()
                    for token in self.tokens:
                        self.assertNotIn(token.encode(), data)
                        self.assertNotIn(token[4:].encode(), data)

        # The live databases are untouched and the daemon still serves.
        self.assertEqual(self.daemon.get("/readyz").status, 200)


if __name__ == "__main__":
    unittest.main()
