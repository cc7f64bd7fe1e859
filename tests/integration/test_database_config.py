"""The [database] keys of SPEC 13 as both real binaries read them: problems are reported, passwords never shown.

A database.url that carries a password is refused by shared-linkd --check-config
and by sharectl alike, with file:line:column, and neither prints the password
anywhere (stdout or stderr), in whatever form the URL holds it.
"""

import os
import subprocess
import tempfile
import shutil
import unittest

from sharelink_testlib import BACKEND, SHARECTL, SHARED_LINKD, Installation

SECRET = "hunter2-Sekr1t"


class DatabaseConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sharelink-dbconfig-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.config = os.path.join(self.dir, "shared-linkd.toml")

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def run_both(self):
        daemon = subprocess.run([SHARED_LINKD, "--config", self.config, "--check-config"], capture_output=True,
                                text=True, timeout=60)
        cli = subprocess.run([SHARECTL, "--config", self.config, "licence", "list"], capture_output=True, text=True,
                             timeout=60)
        return daemon, cli

    def test_a_url_with_a_password_is_refused_and_never_printed(self):
        urls = ["postgresql://shared_link:%s@db.example.org/shared_link" % SECRET,
                "postgres://shared_link@db.example.org/shared_link?password=%s" % SECRET,
                "postgresql://shared_link@db.example.org/shared_link?sslmode=require&sslpassword=%s" % SECRET,
                "postgresql://shared_link:%s%%zz@db.example.org/shared_link" % SECRET]
        for url in urls:
            with self.subTest(url=url):
                self.write('[database]\nbackend = "postgresql"\nurl = "%s"\n' % url)
                for proc in self.run_both():
                    self.assertEqual(proc.returncode, 1, proc.stderr)
                    self.assertNotIn(SECRET, proc.stdout + proc.stderr)
                    self.assertIn("%s:3:7: database.url: " % self.config, proc.stderr)
                    self.assertIn("carries a password (put the password in the file named by "
                                  "database.password_file)", proc.stderr)

    def test_the_postgresql_backend_needs_a_url(self):
        self.write('[database]\nbackend = "postgresql"\n')
        for proc in self.run_both():
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn('%s:1:1: database.url: required when database.backend is "postgresql"' % self.config,
                          proc.stderr)

    def test_an_unknown_backend_is_refused(self):
        self.write('[database]\nbackend = "mysql"\n')
        for proc in self.run_both():
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn('%s:2:11: database.backend: expected one of "sqlite", "postgresql", got "mysql"'
                          % self.config, proc.stderr)



@unittest.skipUnless(BACKEND == "postgresql", "checks a PostgreSQL database")
class PostgresCheckConfigTest(unittest.TestCase):
    """--check-config on postgresql: the password file's mode, the database reached with the current schema."""

    def setUp(self):
        self.inst = Installation()
        self.addCleanup(self.inst.cleanup)
        self.url = self.inst.config["database"]["url"]

    def check(self):
        return subprocess.run([SHARED_LINKD, "--config", self.inst.config_path, "--check-config"],
                              capture_output=True, text=True, timeout=60)

    def test_a_current_database_is_ok(self):
        proc = self.check()
        self.assertEqual((proc.returncode, proc.stdout), (0, "configuration OK\n"), proc.stderr)

    def test_a_database_without_tables_or_out_of_reach_is_reported(self):
        self.inst.execute("DROP TABLE schema_migrations")
        proc = self.check()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("database %s has no shared-link tables (run \"sharectl init\")" % self.url, proc.stderr)
        self.inst.config["database"]["url"] = "postgresql://nobody@127.0.0.1:1/nowhere"
        self.inst.write_config()
        proc = self.check()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("cannot reach database postgresql://nobody@127.0.0.1:1/nowhere", proc.stderr)

    def test_a_password_file_others_can_read_is_refused_without_its_content(self):
        password_file = self.inst.path("db.password")
        with open(password_file, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(password_file, 0o644)
        self.inst.config["database"]["password_file"] = password_file
        self.inst.write_config()
        for argv in ([SHARED_LINKD, "--config", self.inst.config_path, "--check-config"],
                     [SHARECTL, "--config", self.inst.config_path, "licence", "list"]):
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn(password_file, proc.stderr)
            self.assertIn("chmod 600", proc.stderr)
            self.assertNotIn(SECRET, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
