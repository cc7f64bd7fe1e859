"""sharectl: a database it cannot use is a runtime error (exit 1) with a message that names it and the fix."""

import os
import shutil
import sqlite3
import stat
import subprocess
import unittest

from cli_support import SHARECTL, CliTestCase
from sharelink_testlib import sqlite_only

LOCKED = " (another process held a lock on it for more than 5000 ms; try again)\n"
READ_ONLY = (": attempt to write a readonly database"
             " (this user cannot write the file or its directory: check their owner and permissions)\n")


@sqlite_only('SQLite file locks and file modes')
class LockedDatabaseTest(CliTestCase):
    def hold_write_lock(self, name):
        """Holds the write lock of one database, as a long transaction of another process would."""
        db = sqlite3.connect(self.inst.path(name), isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        self.addCleanup(db.close)
        self.addCleanup(db.execute, "ROLLBACK")

    def test_a_locked_catalogue_is_a_clear_error(self):
        tid = self.add_track()
        self.hold_write_lock("shared-link.db")
        for args in (("licence", "set", "personal_only", "2026-02", "--commercial-use", "no",
                      "--requires-attribution", "no"),
                     ("track", "remove", tid)):
            with self.subTest(args=args):
                proc = self.ctl(*args)
                self.assert_fails(proc, 1, "sharectl: error: database %s: database is locked%s"
                                  % (self.inst.path("shared-link.db"), LOCKED))
                self.assertNotIn("unexpected failure", proc.stderr)

    def test_a_locked_audit_log_is_a_clear_error(self):
        self.hold_write_lock("shared-link-audit.db")
        proc = self.ctl("audit", "prune")
        self.assert_fails(proc, 1, "sharectl: error: audit database %s: database is locked%s"
                          % (self.inst.path("shared-link-audit.db"), LOCKED))


@sqlite_only('SQLite file locks and file modes')
class UnwritableDatabaseTest(CliTestCase):
    def run_as_other_user(self, *args):
        """sharectl as a user who may read the installation but write none of it."""
        if os.geteuid() != 0:
            for name in os.listdir(self.inst.dir):
                path = self.inst.path(name)
                if os.path.isfile(path):
                    os.chmod(path, 0o444)
            os.chmod(self.inst.dir, 0o555)
            self.addCleanup(os.chmod, self.inst.dir, 0o755)
            return self.ctl(*args)
        if shutil.which("runuser") is None:
            self.skipTest("runuser is needed to run sharectl as another user when the tests run as root")
        # root ignores file modes: run as nobody, who can read and enter but not write.
        for root, dirs, files in os.walk(self.inst.dir):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        parent = os.path.dirname(self.inst.dir)
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            self.skipTest("the temporary directory is not searchable by other users")
        # The build tree may sit where nobody cannot reach it (a private checkout): run a copy of
        # sharectl from beside the installation, which nobody can reach.
        sharectl = os.path.join(parent, "sharectl-as-nobody-%d" % os.getpid())
        shutil.copy(SHARECTL, sharectl)
        os.chmod(sharectl, 0o755)
        self.addCleanup(os.remove, sharectl)
        return subprocess.run(["runuser", "-u", "nobody", "--", sharectl, "--config", self.inst.config_path]
                              + list(args), capture_output=True, text=True, timeout=60)

    def test_an_unwritable_catalogue_is_a_clear_error(self):
        proc = self.run_as_other_user("licence", "set", "personal_only", "2026-02", "--commercial-use", "no",
                                      "--requires-attribution", "no")
        if os.geteuid() == 0:
            # nobody cannot create the WAL index beside the database: refused when it opens.
            self.assert_fails(proc, 1, "sharectl: error: cannot open database %s%s"
                              % (self.inst.path("shared-link.db"), READ_ONLY))
        else:
            self.assert_fails(proc, 1, contains=self.inst.path("shared-link.db"))
        self.assertNotIn("unexpected failure", proc.stderr)


if __name__ == "__main__":
    unittest.main()
