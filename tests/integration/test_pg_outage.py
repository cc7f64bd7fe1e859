"""PostgreSQL unreachable under load (SPEC 13): 503 while it is down, recovery without a restart, no audit record lost.

The test owns its cluster (tests/support/pg_cluster.py), so that it can stop
and start the server under a running daemon. It runs in the ".postgresql"
registration only: on SQLite there is no server to stop.
"""

import threading
import time
import unittest

from pg_cluster import PgCluster
from sharelink_testlib import BACKEND, Daemon, Installation


@unittest.skipUnless(BACKEND == "postgresql", "a PostgreSQL outage needs the postgresql backend")
class PostgresOutageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = PgCluster()
        cls.addClassCleanup(cls.cluster.close)

    def setUp(self):
        self.inst = Installation(pg_cluster=self.cluster,
                                 config={"rate_limit": {"burst": 100000, "requests_per_minute": 100000}})
        self.addCleanup(self.inst.cleanup)
        self.tid = self.inst.add_track()
        self.share_id, self.token = self.inst.share(self.tid)
        _, self.limited_token = self.inst.share(self.tid, "--max-views", "1000")
        self.daemon = Daemon(self.inst)
        self.addCleanup(self.daemon.stop)

    def test_outage_answers_503_and_recovers_by_itself_with_every_audit_record(self):
        counts = {}
        stop = threading.Event()
        lock = threading.Lock()

        def load(token):
            while not stop.is_set():
                status = self.daemon.resolve(token).status
                with lock:
                    counts[status] = counts.get(status, 0) + 1

        threads = [threading.Thread(target=load, args=(t,)) for t in (self.token, self.limited_token)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            self.assertEqual(self.daemon.resolve(self.token).status, 200)
            self.cluster.stop()
            # Down: the database routes answer 503 SERVICE_UNAVAILABLE, /readyz 503, /healthz 200.
            resp = self.daemon.resolve(self.token)
            self.assertEqual(resp.status, 503)
            self.assertEqual(resp.json()["error"]["code"], "SERVICE_UNAVAILABLE")
            self.assertEqual(self.daemon.get("/readyz").status, 503)
            self.assertEqual(self.daemon.get("/healthz").status, 200)
            time.sleep(1.5)  # load goes on against the stopped server
            self.cluster.start()
            # Back: the same daemon serves again, without a restart.
            deadline = time.monotonic() + 30
            own = {200: 1, 503: 1}  # the test's own resolves so far, by status
            while True:
                status = self.daemon.resolve(self.token).status
                own[status] = own.get(status, 0) + 1
                if status == 200:
                    break
                self.assertLess(time.monotonic(), deadline, self.daemon.log())
                time.sleep(0.2)
            # Ready again once the audit writer has written the records that waited (it retries
            # on its own schedule, so this can come a little after the first 200).
            while self.daemon.get("/readyz").status != 200:
                self.assertLess(time.monotonic(), deadline, self.daemon.log())
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        self.assertGreater(counts.get(503, 0), 0, counts)
        self.assertGreater(counts.get(200, 0), 0, counts)
        self.assertEqual(self.daemon.proc.poll(), None, "the daemon kept running")
        self.assertEqual(self.daemon.stop(), 0)

        # Every answered resolve has its record, those answered during the outage included.
        records = self.inst.audit_rows("resolve")
        self.assertEqual(len(records), sum(counts.values()) + sum(own.values()))
        by_status = {}
        for record in records:
            by_status[record["status"]] = by_status.get(record["status"], 0) + 1
        self.assertEqual(by_status.get(503, 0), counts.get(503, 0) + own.get(503, 0))
        stopped = [line for line in self.daemon.stderr_lines if "msg=stopped" in line]
        self.assertTrue(stopped, self.daemon.log())
        self.assertIn("audit_records_lost=0", stopped[-1])
        # The limited link was counted exactly as often as it was served.
        limited = self.inst.rows("SELECT view_count FROM shares WHERE max_views = 1000")[0]["view_count"]
        self.assertLessEqual(limited, 1000)


if __name__ == "__main__":
    unittest.main()
