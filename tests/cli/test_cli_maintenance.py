"""sharectl keys list/rotate/retire and db backup/check."""

import json
import os
import re
import sqlite3
import stat
import unittest

from cli_support import CliTestCase, run_sharectl
from sharelink_testlib import sqlite_only


class KeysTest(CliTestCase):
    def key_file_text(self):
        with open(self.inst.path("signing.keys")) as f:
            return f.read()

    def secrets(self):
        return [line.split()[1] for line in self.key_file_text().splitlines() if line and not line.startswith("#")]

    def test_list_never_shows_secrets(self):
        keys = self.ctl_json("keys", "list")
        self.assertEqual(len(keys), 1)
        self.assertEqual(list(keys[0]), ["kid", "created_at", "current"])
        self.assertTrue(keys[0]["current"])
        human = self.ok("keys", "list").stdout
        self.assertEqual(human.splitlines()[0].split(), ["KID", "CREATED_AT", "USE"])
        for secret in self.secrets():
            self.assertNotIn(secret, human)
            self.assertNotIn(secret, json.dumps(keys))

    def test_rotate_puts_a_new_key_first_and_keeps_the_old(self):
        old = self.ctl_json("keys", "list")[0]["kid"]
        old_secret = self.secrets()[0]
        rotated = self.ctl_json("keys", "rotate")
        self.assertEqual([k["current"] for k in rotated], [True, False])
        self.assertEqual(rotated[1]["kid"], old)
        self.assertNotEqual(rotated[0]["kid"], old)
        self.assertEqual(self.secrets()[1], old_secret)
        self.assertEqual(stat.S_IMODE(os.stat(self.inst.path("signing.keys")).st_mode), 0o600)
        share = self.create_share(self.add_track())
        url = self.ctl_json("resolve", share["token"])["body"]["track"]["playback_url"]
        self.assertIn("&kid=%s&" % rotated[0]["kid"], url)
        self.assertEqual([r["action"] for r in self.ctl_json("audit", "--event", "admin", "--limit", "3")][-1],
                         "keys.rotate")

    def test_retire(self):
        first = self.ctl_json("keys", "list")[0]["kid"]
        new = self.ctl_json("keys", "rotate")[0]["kid"]
        proc = self.ok("keys", "retire", first)
        self.assertIn("retired signing key %s" % first, proc.stdout)
        self.assertEqual([k["kid"] for k in self.ctl_json("keys", "list")], [new])
        self.assertEqual(self.ctl_json("audit", "--event", "admin", "--limit", "1")[0]["action"], "keys.retire")
        self.assert_not_found(self.ctl("keys", "retire", first),
                              'sharectl: error: unknown signing key "%s" (see "sharectl keys list")\n' % first)
        self.assert_usage_error(self.ctl("keys", "retire", new),
                                'sharectl: error: cannot retire %s: it is the only signing key (run "sharectl keys '
                                'rotate" first)\n' % new)
        self.assertEqual([k["kid"] for k in self.ctl_json("keys", "list")], [new])

    def test_an_unsafe_key_file_is_refused(self):
        os.chmod(self.inst.path("signing.keys"), 0o644)
        proc = self.ctl("keys", "list")
        self.assert_fails(proc, 1, contains="chmod 600")


class DbBackupTest(CliTestCase):
    def test_backup_copies_both_databases(self):
        track_id = self.add_track()
        backup = self.inst.path("backups", "nightly.db")
        os.makedirs(os.path.dirname(backup))
        copies = self.ctl_json("db", "backup", backup)
        self.assertEqual([list(c) for c in copies], [["source", "copy", "bytes", "schema_version"]] * 2)
        if self.inst.backend == "postgresql":
            sources = [self.inst.config["database"]["url"]] * 2  # one database holds both
        else:
            sources = [self.inst.path("shared-link.db"), self.inst.path("shared-link-audit.db")]
        self.assertEqual([(c["source"], c["copy"]) for c in copies],
                         [(sources[0], backup), (sources[1], backup + "-audit")])
        proc = run_sharectl("--config", self.inst.config_path, "--db", backup, "--audit-db", backup + "-audit",
                            "--json", "track", "list")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([t["id"] for t in json.loads(proc.stdout)], [track_id])
        self.assertEqual(self.ctl_json("audit", "--event", "admin", "--limit", "1")[0]["action"], "db.backup")

    def test_an_existing_backup_is_never_overwritten(self):
        backup = self.inst.path("copy.db")
        self.ok("db", "backup", backup)
        with open(backup, "rb") as f:
            before = f.read()
        self.assert_fails(self.ctl("db", "backup", backup), 1, contains=backup)
        with open(backup, "rb") as f:
            self.assertEqual(f.read(), before)
        if self.inst.backend == "sqlite":
            self.assert_fails(self.ctl("db", "backup", self.inst.path("shared-link.db")), 1)


class DbCheckTest(CliTestCase):
    def test_healthy_databases(self):
        proc = self.ok("db", "check")
        self.assertRegex(proc.stdout, r"^main database .*: ok \(schema version \d+\)\naudit database .*: ok "
                                      r"\(schema version \d+\)\n$")
        checks = self.ctl_json("db", "check")
        self.assertEqual([list(c) for c in checks],
                         [["file", "kind", "exists", "schema_version", "expected_schema_version", "ok",
                           "problems"]] * 2)
        self.assertEqual([(c["kind"], c["ok"], c["problems"]) for c in checks],
                         [("main", True, []), ("audit", True, [])])

    @sqlite_only('damaged and foreign SQLite files')
    def test_problems_exit_1(self):
        garbage = self.inst.path("garbage.db")
        with open(garbage, "wb") as f:
            f.write(b"this is not a database" * 100)
        newer = self.inst.path("newer.db")
        self.ok("db", "backup", newer)
        db = sqlite3.connect(newer)
        db.execute("PRAGMA user_version = 999")
        db.commit()
        db.close()
        for path in (self.inst.path("missing.db"), garbage, newer):
            with self.subTest(path=path):
                proc = self.ctl("db", "check", "--db", path)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn("main database %s: 1 problem" % path, proc.stdout)
                self.assertIn("audit database %s: ok" % self.inst.path("shared-link-audit.db"), proc.stdout)
                self.assertEqual(proc.stderr, "sharectl: error: db check found 1 problem\n")
                checks = json.loads(self.ctl("--json", "db", "check", "--db", path).stdout)
                self.assertFalse(checks[0]["ok"])
                self.assertTrue(re.search(r"\S", checks[0]["problems"][0]))


if __name__ == "__main__":
    unittest.main()
