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

from sharelink_testlib import SHARECTL, SHARED_LINKD

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


if __name__ == "__main__":
    unittest.main()
