"""No raw token and no database password reaches PostgreSQL (SPEC 2, 13): its data directory and its log are scanned.

The cluster is the test's own, logging every statement with its parameters
(log_statement = all), so that whatever sharectl or the daemon sends would be
in the server log. The installation connects as a role that needs its
password, read from database.password_file. After the traffic a CHECKPOINT
writes every page to the data files; then no file under the data directory,
no server log and no daemon or sharectl output holds a token (with or without
its "shr_" prefix) or the password. Runs in the ".postgresql" registration only.
"""

import os
import shutil
import tempfile
import unittest

from pg_cluster import PgCluster
from sharelink_testlib import BACKEND, Daemon, Installation

PASSWORD = "pw-" + os.urandom(12).hex()


@unittest.skipUnless(BACKEND == "postgresql", "scans a PostgreSQL server's files")
class PostgresSecretScanTest(unittest.TestCase):
    def test_no_token_or_password_in_the_data_directory_or_logs(self):
        cluster = PgCluster(settings={"log_min_messages": "info", "log_connections": "on"})
        self.addCleanup(cluster.close)
        role = "sl_" + os.urandom(4).hex()
        cluster.create_role(role, password=PASSWORD)
        url = cluster.create_database(owner=role)
        # From here on every statement is logged with its parameters (the role's own CREATE, which
        # names the password, is not: the server keeps only its SCRAM verifier).
        cluster.psql("ALTER SYSTEM SET log_statement = 'all'")
        cluster.psql("SELECT pg_reload_conf()")
        scratch = tempfile.mkdtemp(prefix="sharelink-pw-")
        self.addCleanup(shutil.rmtree, scratch, True)
        password_file = os.path.join(scratch, "db-password")
        with open(password_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(password_file, 0o600)
        inst = Installation(pg_cluster=cluster, init=False,
                            config={"database": {"backend": "postgresql", "url": url,
                                                 "password_file": password_file},
                                    "rate_limit": {"burst": 1000, "requests_per_minute": 1000}})
        self.addCleanup(inst.cleanup)
        outputs = [inst.sharectl("init").stdout]
        os.makedirs(inst.media, exist_ok=True)
        tid = inst.add_track()
        tokens = []
        for extra in ((), ("--max-views", "2"), ("--max-views", "1")):
            sid, token = inst.share(tid, *extra)
            tokens.append(token)
        daemon = Daemon(inst)
        self.addCleanup(daemon.stop)
        for token in tokens + ["shr_" + "7" * 32]:
            for _ in range(3):
                daemon.resolve(token)
            daemon.get("/s/" + token)
        for token in tokens:
            outputs.append(inst.sharectl("share", "inspect", token).stdout)
            outputs.append(inst.sharectl("audit", "--token", token).stdout)
        outputs.append(inst.sharectl("share", "revoke", sid).stdout)
        outputs.append(inst.sharectl("db", "check").stdout)
        daemon.stop()
        cluster.psql("CHECKPOINT")

        secrets = [PASSWORD] + tokens + [t[4:] for t in tokens]
        found = []
        scanned = 0
        for root, _, files in os.walk(cluster.dir):
            for name in files:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                scanned += 1
                found += ["%s in %s" % (s[:8], path) for s in secrets if s.encode() in data]
        self.assertGreater(scanned, 100, "the data directory was scanned")
        self.assertIn("statement:", cluster.server_log(), "statements were logged")
        self.assertEqual(found, [])
        # Nor does the password reach what sharectl prints or the daemon logs.
        for text in outputs + [daemon.log()]:
            self.assertNotIn(PASSWORD, text)


if __name__ == "__main__":
    unittest.main()
