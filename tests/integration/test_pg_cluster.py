"""The throwaway PostgreSQL cluster of the tests (tests/support/pg_cluster.py) does what the suites rely on.

It starts on 127.0.0.1 at a port of its own in a private directory, hands out
fresh databases, enforces passwords for the roles that have one, stops and
starts again under the same address with its data (the outage tests need
that), cleans up after itself even when its owner is killed, and serves as
CTest's fixture through its command line.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import pg_cluster
from pg_cluster import PgCluster

SUPPORT_DIR = os.path.dirname(os.path.abspath(pg_cluster.__file__))

try:
    pg_cluster.find_bin_dir()
    MISSING = None
except pg_cluster.PgUnavailable as e:
    MISSING = str(e)


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def server_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


@unittest.skipIf(MISSING and not os.environ.get("SHARELINK_REQUIRE_POSTGRES"), MISSING or "")
class OwnClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = PgCluster()
        cls.addClassCleanup(cls.cluster.close)

    def test_listens_on_loopback_in_its_own_directory(self):
        c = self.cluster
        settings = dict(c.sql("SELECT name, setting FROM pg_settings WHERE name IN "
                              "('listen_addresses', 'port', 'unix_socket_directories', 'fsync', 'data_directory')"))
        self.assertEqual(settings["listen_addresses"], "127.0.0.1")
        self.assertEqual(int(settings["port"]), c.port)
        self.assertEqual(settings["unix_socket_directories"], c.dir)
        self.assertEqual(settings["fsync"], "off")
        self.assertEqual(settings["data_directory"], c.data_dir)
        self.assertTrue(c.dir.startswith(tempfile.gettempdir()))
        self.assertTrue(os.path.exists(os.path.join(c.dir, ".s.PGSQL.%d" % c.port)))
        if os.geteuid() == 0:
            # PostgreSQL refuses root: it runs as the postgres user.
            self.assertEqual(server_uid(c._pid), pg_cluster.pwd.getpwnam("postgres").pw_uid)

    def test_each_database_is_new_and_empty(self):
        c = self.cluster
        first = c.create_database()
        second = c.create_database()
        self.assertNotEqual(first, second)
        self.assertTrue(first.startswith("postgresql://postgres@127.0.0.1:%d/t_" % c.port))
        name = first.rsplit("/", 1)[1]
        c.sql("CREATE TABLE mine (n integer)", dbname=name)
        other = second.rsplit("/", 1)[1]
        self.assertEqual(c.sql("SELECT to_regclass('mine') IS NULL", dbname=other), [["t"]])
        self.assertEqual(c.sql("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '%s'" % name),
                         [["UTF8"]])
        c.drop_database(name)
        self.assertEqual(c.sql("SELECT count(*) FROM pg_database WHERE datname = '%s'" % name), [["0"]])

    def test_a_role_with_a_password_must_give_it(self):
        c = self.cluster
        c.create_role("with_pw", password="s3cret pass")
        c.create_role("trusted")
        refused = c.psql("SELECT 1", user="with_pw", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("password", refused.stderr)
        wrong = c.psql("SELECT 1", user="with_pw", check=False, env={"PGPASSWORD": "wrong"})
        self.assertIn('password authentication failed for user "with_pw"', wrong.stderr)
        self.assertEqual(c.psql("SELECT current_user", user="with_pw", env={"PGPASSWORD": "s3cret pass"}).stdout,
                         "with_pw\n")
        self.assertEqual(c.psql("SELECT current_user", user="trusted").stdout, "trusted\n")


@unittest.skipIf(MISSING and not os.environ.get("SHARELINK_REQUIRE_POSTGRES"), MISSING or "")
class LifecycleTest(unittest.TestCase):
    def test_stop_and_start_keep_the_address_and_the_data(self):
        with PgCluster() as c:
            url = c.create_database()
            name = url.rsplit("/", 1)[1]
            c.sql("CREATE TABLE kept (n integer); INSERT INTO kept VALUES (1)", dbname=name)
            port = c.port
            for mode in ("fast", "immediate"):
                c.stop(mode)
                self.assertFalse(c.running())
                down = c.psql("SELECT 1", check=False)
                self.assertNotEqual(down.returncode, 0)
                self.assertIn("Connection refused", down.stderr)
                c.start()
                self.assertEqual(c.port, port)
                self.assertEqual(c.sql("SELECT count(*) FROM kept", dbname=name), [["1"]], mode)
                c.sql("INSERT INTO kept VALUES (2); DELETE FROM kept WHERE n = 2", dbname=name)

    def test_close_stops_the_server_and_removes_its_directory(self):
        c = PgCluster()
        directory, pid = c.dir, c._pid
        c.close()
        self.assertFalse(os.path.exists(directory))
        self.assertFalse(pg_cluster.pid_alive(pid))

    def test_a_killed_owner_takes_its_server_along_and_the_next_cluster_removes_the_rest(self):
        owner = subprocess.Popen(
            [sys.executable, "-c", "import sys, time, pg_cluster\n"
                                   "c = pg_cluster.PgCluster()\n"
                                   "print(c.dir, c._pid, flush=True)\n"
                                   "time.sleep(600)\n"],
            cwd=SUPPORT_DIR, stdout=subprocess.PIPE, text=True)
        try:
            directory, pid = owner.stdout.readline().split()
            pid = int(pid)
            self.assertTrue(pg_cluster.pid_alive(pid))
        finally:
            owner.kill()
            owner.wait()
            owner.stdout.close()
        # The kernel's parent-death signal (SIGQUIT) ends the server with its owner.
        self.assertTrue(wait_for(lambda: not pg_cluster.pid_alive(pid)), "postgres outlived its killed owner")
        self.assertTrue(os.path.exists(directory))
        with PgCluster(start=False):
            self.assertFalse(os.path.exists(directory), "the stale cluster directory was not removed")


@unittest.skipIf(MISSING and not os.environ.get("SHARELINK_REQUIRE_POSTGRES"), MISSING or "")
class CTestFixtureTest(unittest.TestCase):
    def run_fixture(self, command, state_dir):
        return subprocess.run([sys.executable, os.path.join(SUPPORT_DIR, "pg_cluster.py"), command,
                               "--state-dir", state_dir], capture_output=True, text=True, timeout=180)

    def test_start_writes_the_url_stop_removes_everything(self):
        state_dir = tempfile.mkdtemp(prefix="sharelink-fixture-test-")
        self.addCleanup(shutil.rmtree, state_dir, True)
        self.addCleanup(self.run_fixture, "stop", state_dir)

        started = self.run_fixture("start", state_dir)
        self.assertEqual(started.returncode, 0, started.stderr)
        url_file = os.path.join(state_dir, "url")
        with open(url_file) as f:
            first_url = f.read().strip()
        self.assertRegex(first_url, r"^postgresql://postgres@127\.0\.0\.1:\d+/postgres$")

        # The detached server outlives the command; tests attach to it.
        os.environ["SHARELINK_PG_URL_FILE"] = url_file
        try:
            attached = PgCluster.for_tests()
        finally:
            del os.environ["SHARELINK_PG_URL_FILE"]
        self.assertFalse(attached.owned)
        url = attached.create_database()
        name = url.rsplit("/", 1)[1]
        self.assertEqual(attached.sql("SELECT current_database()", dbname=name), [[name]])
        with self.assertRaises(RuntimeError):
            attached.stop()
        attached.close()  # drops its databases, leaves the server running
        self.assertEqual(attached.sql("SELECT count(*) FROM pg_database WHERE datname = '%s'" % name), [["0"]])

        # A second start (after an interrupted run) replaces the recorded cluster.
        first_pid = _recorded_pid(state_dir)
        again = self.run_fixture("start", state_dir)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertFalse(pg_cluster.pid_alive(first_pid))
        second_pid = _recorded_pid(state_dir)
        self.assertTrue(pg_cluster.pid_alive(second_pid))

        stopped = self.run_fixture("stop", state_dir)
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertFalse(os.path.exists(url_file))
        self.assertTrue(wait_for(lambda: not pg_cluster.pid_alive(second_pid)))


def _recorded_pid(state_dir):
    import json
    with open(os.path.join(state_dir, "cluster.json")) as f:
        return json.load(f)["pid"]


if __name__ == "__main__":
    unittest.main()
