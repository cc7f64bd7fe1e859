"""sharectl db copy --to FILE|URL (SPEC 13): every row to new SQLite files or an empty PostgreSQL database, tokens
keep working, a daemon serves the copy.

On the sqlite backend the copy goes to new SQLite files; on postgresql it goes
from PostgreSQL to SQLite files and from those back into a new PostgreSQL
database, so both directions run.
"""

import json
import os
import unittest

from cli_support import CliTestCase, run_sharectl
from sharelink_testlib import Daemon, Installation, pg_test_cluster

TABLES = ["licences", "tracks", "collections", "collection_tracks", "shares", "audit_records"]


class DbCopyTest(CliTestCase):
    config = {"rate_limit": {"burst": 1000, "requests_per_minute": 1000}}

    def populate(self):
        self.tid = self.add_track()
        self.other = self.add_track("Removed Later")
        self.cid = self.ok("--json", "collection", "create", "--name", "Demo").stdout
        self.cid = json.loads(self.cid)["id"]
        self.ok("collection", "add", self.cid, self.other, self.tid)
        self.sid, self.token = self.inst.share(self.tid, "--max-views", "5")
        self.revoked_id, self.revoked_token = self.inst.share(self.cid)
        self.ok("share", "revoke", self.revoked_id, "--reason", "done")
        self.ok("track", "remove", self.other)
        daemon = Daemon(self.inst)
        try:
            for _ in range(2):
                self.assertEqual(daemon.resolve(self.token).status, 200)
        finally:
            daemon.stop()

    def served_from(self, database):
        """An installation with this installation's key file and media, on the database config given."""
        copy = Installation(init=False, backend=database.get("backend", "sqlite"))
        self.addCleanup(copy.cleanup)
        copy.config["database"] = database
        copy.config["playback"] = {"key_file": self.inst.path("signing.keys"), "media_root": self.inst.media}
        copy.config["rate_limit"] = self.config["rate_limit"]
        copy.write_config()
        return copy

    def check_copy_serves(self, copy, views):
        """The copy holds the links as copied (views: the limited link's count) and a daemon serves it."""
        shares = {s["id"]: s for s in json.loads(copy.sharectl("--json", "share", "list").stdout)}
        self.assertEqual(shares[self.sid]["view_count"], views)
        self.assertEqual(shares[self.revoked_id]["revoke_reason"], "done")
        daemon = Daemon(copy)
        try:
            resp = daemon.resolve(self.token)
            self.assertEqual(resp.status, 200)
            self.assertEqual(daemon.resolve(self.revoked_token).status, 410)
        finally:
            daemon.stop()
        self.assertEqual(json.loads(copy.sharectl("--json", "share", "inspect", self.sid).stdout)["view_count"],
                         views + 1)

    def copy_to(self, config_path, target, *global_args):
        proc = run_sharectl("--config", config_path, *global_args, "--json", "db", "copy", "--to", target)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def test_copy_to_files_then_back_keeps_every_row(self):
        self.populate()
        records = len(self.ctl_json("audit", "--limit", "100000"))
        target = self.inst.path("copy.db")
        counts = self.copy_to(self.inst.config_path, target)
        self.assertEqual(list(counts), ["tables"])
        self.assertEqual(list(counts["tables"]), TABLES)
        self.assertEqual(counts["tables"]["tracks"], 2)
        self.assertEqual(counts["tables"]["collections"], 1)
        self.assertEqual(counts["tables"]["collection_tracks"], 2)
        self.assertEqual(counts["tables"]["shares"], 2)
        self.assertEqual(counts["tables"]["audit_records"], records)
        self.assertEqual(os.stat(target).st_mode & 0o077, 0)
        self.assertTrue(os.path.exists(target + "-audit"))
        # The source is unchanged: no record of the copy, nothing counted.
        self.assertEqual(len(self.ctl_json("audit", "--limit", "100000")), records)
        files = self.served_from({"backend": "sqlite", "path": target, "audit_path": target + "-audit"})
        self.assertEqual(len(json.loads(files.sharectl("--json", "audit", "--limit", "100000").stdout)), records)
        self.check_copy_serves(files, 2)

        # Human output names every table.
        proc = self.ctl("db", "copy", "--to", self.inst.path("second.db"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for table in TABLES:
            self.assertIn("  %s: " % table, proc.stdout)

        if self.inst.backend != "postgresql":
            return
        # From the SQLite copy into a new, initialised PostgreSQL database.
        cluster = pg_test_cluster()
        name = "t_" + os.urandom(6).hex()
        url = cluster.create_database(name)
        self.addCleanup(cluster.drop_database, name)
        served = self.served_from({"backend": "postgresql", "url": url})
        served.sharectl("init")  # a copy may go into a database that "sharectl init" prepared
        back = self.copy_to(files.config_path, url)
        self.assertEqual(back["tables"]["audit_records"], records + 2)  # and the two resolves served from the files
        self.check_copy_serves(served, 3)  # with the view the files' daemon counted

    def test_a_target_that_is_not_empty_is_refused(self):
        self.populate()
        target = self.inst.path("copy.db")
        self.copy_to(self.inst.config_path, target)
        with open(target, "rb") as f:
            before = f.read()
        self.assert_fails(self.ctl("db", "copy", "--to", target), 1, contains=target)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), before)
        if self.inst.backend == "postgresql":
            # The installation's own database is not empty.
            self.assert_fails(self.ctl("db", "copy", "--to", self.inst.config["database"]["url"]), 1,
                              contains="is not empty")

    def test_a_target_url_with_a_password_is_refused_without_repeating_it(self):
        proc = self.ctl("db", "copy", "--to", "postgresql://someone:hunter2secret@127.0.0.1:1/db")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertNotIn("hunter2secret", proc.stderr + proc.stdout)
        proc = self.ctl("--db", "postgresql://someone:hunter2secret@127.0.0.1:1/db", "track", "list")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertNotIn("hunter2secret", proc.stderr + proc.stdout)


if __name__ == "__main__":
    unittest.main()
