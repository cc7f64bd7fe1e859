"""A throwaway PostgreSQL cluster for the tests, from Debian's postgresql package.

Nothing here uses or assumes a system cluster: initdb writes a new cluster into
a private temporary directory, and the server listens on 127.0.0.1 at a free
port with its Unix socket in that directory, fsync off. PostgreSQL refuses to
run as root, so when the tests run as root the server runs as the `postgres`
user (which gets the directory) through setpriv.

Authentication: the superuser `postgres` and every role connect without a
password (trust), except members of the role PASSWORD_ROLE, which must give
their password (scram-sha-256) on TCP and on the socket; create such a role
with create_role(name, password=...).

From a Python test (one cluster per test class, one database per test):

    from pg_cluster import PgCluster

    class T(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.cluster = PgCluster.for_tests()    # the CTest cluster, or one of its own
            cls.addClassCleanup(cls.cluster.close)

        def setUp(self):
            self.url = self.cluster.create_database()   # postgresql://postgres@127.0.0.1:PORT/t_...

    with PgCluster() as cluster:     # a cluster of one's own: stop() / start() for outages
        url = cluster.create_database()
        cluster.stop()               # clients now get "connection refused"
        cluster.start()              # same port, same data

An owned cluster is stopped and removed by close() / the with block, also when
a test fails or is interrupted (KeyboardInterrupt); if the Python process dies
without cleaning up (SIGKILL, a CTest timeout), the server gets SIGQUIT from
the kernel (parent-death signal) and the next PgCluster removes the directory.
The parent-death signal follows the thread that started the server: call
start() from a thread that outlives the cluster (the main thread).

From CTest (tests/CMakeLists.txt): a FIXTURES_SETUP test runs
`pg_cluster.py start --state-dir DIR`, which leaves one detached cluster
running and writes its superuser URL to DIR/url; C++ tests read that file
(named by $SHARELINK_PG_URL_FILE) and create their own databases in it; a
FIXTURES_CLEANUP test runs `pg_cluster.py stop --state-dir DIR`. A `start`
first removes a cluster that an interrupted run left behind in DIR.

Exit code 77 (CTest: skipped) when the PostgreSQL server binaries are not
installed, unless $SHARELINK_REQUIRE_POSTGRES is set (CI), then 1.
"""

import argparse
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PREFIX = "sharelink-pg-"
SUPERUSER = "postgres"
# Members of this role must authenticate with their password (scram-sha-256).
PASSWORD_ROLE = "password_login"
START_TIMEOUT = 60
STOP_TIMEOUT = 60
SKIP = 77


class PgUnavailable(Exception):
    """The PostgreSQL server binaries are not installed."""


def find_bin_dir():
    """The directory of initdb/postgres/psql: $SHARELINK_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    explicit = os.environ.get("SHARELINK_PG_BIN")
    candidates = [explicit] if explicit else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0,
        reverse=True)
    for directory in candidates:
        if all(os.access(os.path.join(directory, tool), os.X_OK) for tool in ("initdb", "postgres", "psql")):
            return directory
    raise PgUnavailable("PostgreSQL server binaries not found (%s): install the Debian package postgresql"
                        % (explicit or "/usr/lib/postgresql/*/bin"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def pid_alive(pid):
    """True while the process runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            # "pid (comm) state ...": comm may hold spaces and parentheses.
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def reap_stale_clusters():
    """Removes directories of clusters whose owning process is gone (a killed test run)."""
    for directory in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")):
        try:
            with open(os.path.join(directory, "owner")) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if owner == 0 or pid_alive(owner):  # 0: the CTest fixture's, removed by "stop"
            continue
        server = _read_server_pid(os.path.join(directory, "data"))
        if server and pid_alive(server):
            _signal_and_wait(server, signal.SIGQUIT, STOP_TIMEOUT)
        shutil.rmtree(directory, ignore_errors=True)


def _read_server_pid(data_dir):
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def _signal_and_wait(pid, signum, timeout):
    """Signals a process (not necessarily our child) and waits until it is gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Reaps it if it is our child; otherwise init does.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return False


class PgCluster:
    """One PostgreSQL cluster on 127.0.0.1 in a temporary directory (see the module docstring)."""

    def __init__(self, start=True, detached=False, settings=None):
        """Creates (initdb) and, unless start is False, starts a new cluster.

        detached: the server outlives this process (the CTest fixture); no
        parent-death signal, its own session. settings: extra postgresql.conf
        values, e.g. {"max_connections": 300}.
        """
        self.bin_dir = find_bin_dir()
        reap_stale_clusters()
        self.owned = True
        self.detached = detached
        self.dir = tempfile.mkdtemp(prefix=PREFIX)
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.host = "127.0.0.1"
        self.port = None
        self._proc = None
        self._pid = None
        self._databases = []
        with open(os.path.join(self.dir, "owner"), "w") as f:
            f.write("%d\n" % (os.getpid() if not detached else 0))
        try:
            self._run_as_server_user = os.geteuid() == 0
            if self._run_as_server_user:
                server_user = pwd.getpwnam("postgres")
                os.chown(self.dir, server_user.pw_uid, server_user.pw_gid)
            self._initdb(settings or {})
            if start:
                self.start()
        except BaseException:  # also KeyboardInterrupt: leave nothing running or behind
            try:
                self.stop("immediate")
            finally:
                self._remove()
            raise

    # --- construction helpers -------------------------------------------------
    @classmethod
    def attach(cls, url_file):
        """A handle on a cluster someone else runs (the CTest fixture's): databases only, no stop/start."""
        with open(url_file) as f:
            url = f.read().strip()
        self = cls.__new__(cls)
        self.owned = False
        self.detached = True
        hostport = url.split("@", 1)[1].split("/", 1)[0]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.bin_dir = find_bin_dir()
        self.dir = self.data_dir = self.log_path = None
        self._proc = None
        self._pid = None
        self._databases = []
        return self

    @classmethod
    def for_tests(cls):
        """The CTest fixture's cluster when $SHARELINK_PG_URL_FILE names one, else a new cluster of its own.

        Tests that stop or restart the server must use PgCluster() instead.
        """
        url_file = os.environ.get("SHARELINK_PG_URL_FILE")
        if url_file and os.path.exists(url_file):
            return cls.attach(url_file)
        return cls()

    def _server_cmd(self, argv, pdeathsig=False):
        """argv run as the server user when we are root (PostgreSQL refuses root)."""
        if not self._run_as_server_user and not pdeathsig:
            return argv
        wrapper = ["setpriv"]
        if self._run_as_server_user:
            wrapper += ["--reuid=postgres", "--regid=postgres", "--init-groups"]
        if pdeathsig:
            # Set after the credential change, so it survives it.
            wrapper += ["--pdeathsig", "SIGQUIT"]
        return wrapper + ["--"] + argv

    def _initdb(self, settings):
        argv = self._server_cmd([os.path.join(self.bin_dir, "initdb"), "-D", self.data_dir, "-A", "trust",
                                 "-U", SUPERUSER, "--no-sync", "-E", "UTF8", "--locale=C"])
        proc = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError("initdb failed (%d):\n%s%s" % (proc.returncode, proc.stdout, proc.stderr))
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": quote_literal(self.dir),
            # No fsync: the data need not survive a power cut of the test machine. Commits
            # stay synchronous, so a server crash (stop("immediate")) loses nothing
            # committed, as in production.
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "'32MB'",
            "log_min_messages": "warning",
            "log_connections": "off",
        }
        conf.update({k: str(v) for k, v in settings.items()})
        # The files belong to the server user; appending keeps their owner.
        with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as f:
            f.write("\n# tests/support/pg_cluster.py\n")
            for key, value in conf.items():
                f.write("%s = %s\n" % (key, value))
        with open(os.path.join(self.data_dir, "pg_hba.conf"), "w") as f:
            f.write("# tests/support/pg_cluster.py: members of %s need their password, everyone else is trusted.\n"
                    "local all +%s scram-sha-256\n"
                    "host  all +%s 127.0.0.1/32 scram-sha-256\n"
                    "local all all trust\n"
                    "host  all all 127.0.0.1/32 trust\n" % (PASSWORD_ROLE, PASSWORD_ROLE, PASSWORD_ROLE))

    # --- server lifecycle -----------------------------------------------------
    def start(self):
        """Starts the server (the first time at a free port, afterwards at the same one) and waits until it accepts."""
        if not self.owned:
            raise RuntimeError("this cluster is not ours to start")
        if self.running():
            return
        first = self.port is None
        for attempt in range(5):
            if first:
                self.port = free_port()
            if self._start_once():
                break
            if not first or attempt == 4:
                raise RuntimeError("postgres did not start on port %d:\n%s" % (self.port, self.server_log()))
        if first:
            self.sql("CREATE ROLE %s NOLOGIN" % quote_ident(PASSWORD_ROLE))

    def _start_once(self):
        argv = self._server_cmd([os.path.join(self.bin_dir, "postgres"), "-D", self.data_dir, "-p", str(self.port)],
                                pdeathsig=not self.detached)
        log = open(self.log_path, "a")
        try:
            self._proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self._pid = self._proc.pid
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = self._pid = None
                return False
            if self._postmaster_status() == "ready":
                return True
            time.sleep(0.02)
        self._proc.kill()
        self._proc.wait()
        self._proc = self._pid = None
        return False

    def _postmaster_status(self):
        # Line 8 of postmaster.pid is the server's state ("starting", "ready", "stopping").
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        if len(lines) < 8 or lines[0].strip() != str(self._pid):
            return None
        return lines[7].strip()

    def running(self):
        return self._pid is not None and pid_alive(self._pid)

    def stop(self, mode="fast"):
        """Stops the server: "fast" (SIGINT: disconnects clients, clean shutdown) or
        "immediate" (SIGQUIT: a crash, recovered at the next start). Returns once it is gone."""
        if not self.owned:
            raise RuntimeError("this cluster is not ours to stop")
        if self._pid is None:
            return
        signum = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        if not _signal_and_wait(self._pid, signum, STOP_TIMEOUT):
            os.kill(self._pid, signal.SIGKILL)
            _signal_and_wait(self._pid, signal.SIGKILL, STOP_TIMEOUT)
        if self._proc is not None:
            self._proc.wait()
        self._proc = self._pid = None

    def restart(self, mode="fast"):
        self.stop(mode)
        self.start()

    def close(self):
        """Owned: stops the server and removes the directory. Attached: drops the databases made here."""
        if self.owned:
            try:
                self.stop("immediate")
            finally:
                self._remove()
        else:
            for name in list(self._databases):
                self.drop_database(name)

    def _remove(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # --- databases and roles --------------------------------------------------
    def url(self, dbname="postgres", user=SUPERUSER):
        """A libpq URI for dbname as user (no password in it)."""
        return "postgresql://%s@%s:%d/%s" % (user, self.host, self.port, dbname)

    def psql(self, sql, dbname="postgres", user=SUPERUSER, check=True, env=None):
        """Runs sql with psql (unaligned, tuples only); returns the CompletedProcess."""
        argv = [os.path.join(self.bin_dir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", self.host, "-p", str(self.port), "-U", user, "-d", dbname, "-c", sql]
        child_env = dict(os.environ, PGCONNECT_TIMEOUT="10")
        child_env.pop("PGPASSWORD", None)
        child_env.update(env or {})
        proc = subprocess.run(argv, capture_output=True, text=True, env=child_env, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError("psql failed (%d) on %r:\n%s" % (proc.returncode, sql, proc.stderr))
        return proc

    def sql(self, sql, dbname="postgres", user=SUPERUSER):
        """Runs sql; returns its output rows as lists of strings (psql -A -t)."""
        out = self.psql(sql, dbname, user).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def create_database(self, name=None, owner=SUPERUSER):
        """Creates an empty database (TEMPLATE template0) and returns its URL for owner."""
        name = name or "t_" + secrets.token_hex(6)
        self.psql("CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING 'UTF8'" %
                  (quote_ident(name), quote_ident(owner)))
        self._databases.append(name)
        return self.url(name, owner)

    def drop_database(self, name):
        self.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(name))
        if name in self._databases:
            self._databases.remove(name)

    def create_role(self, name, password=None, superuser=False):
        """A login role; with a password it must authenticate with it (member of PASSWORD_ROLE)."""
        sql = "CREATE ROLE %s LOGIN%s" % (quote_ident(name), " SUPERUSER" if superuser else "")
        if password is not None:
            sql += " PASSWORD %s IN ROLE %s" % (quote_literal(password), quote_ident(PASSWORD_ROLE))
        self.psql(sql)

    def server_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except (OSError, TypeError):
            return ""


# --- the CTest fixture -------------------------------------------------------------
def _state_file(state_dir):
    return os.path.join(state_dir, "cluster.json")


def _stop_recorded(state_dir):
    """Stops and removes the cluster recorded in state_dir, if any (also one a killed run left)."""
    try:
        with open(_state_file(state_dir)) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = None
    if state:
        data_dir = os.path.join(state["dir"], "data")
        pid = _read_server_pid(data_dir)
        if pid and pid == state.get("pid") and pid_alive(pid):
            if not _signal_and_wait(pid, signal.SIGQUIT, STOP_TIMEOUT):
                os.kill(pid, signal.SIGKILL)
        if os.path.basename(state["dir"]).startswith(PREFIX):
            shutil.rmtree(state["dir"], ignore_errors=True)
    for name in ("cluster.json", "url"):
        try:
            os.remove(os.path.join(state_dir, name))
        except FileNotFoundError:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="The test suite's throwaway PostgreSQL cluster (CTest fixture).")
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--state-dir", required=True, help="where the URL file (url) and the cluster's record go")
    args = parser.parse_args(argv)
    os.makedirs(args.state_dir, exist_ok=True)
    _stop_recorded(args.state_dir)
    if args.command == "stop":
        print("pg_cluster: stopped")
        return 0
    try:
        cluster = PgCluster(detached=True)
    except PgUnavailable as e:
        print("pg_cluster: %s" % e, file=sys.stderr)
        return 1 if os.environ.get("SHARELINK_REQUIRE_POSTGRES") else SKIP
    state = {"dir": cluster.dir, "pid": cluster._pid, "port": cluster.port, "url": cluster.url()}
    with open(_state_file(args.state_dir) + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(_state_file(args.state_dir) + ".tmp", _state_file(args.state_dir))
    with open(os.path.join(args.state_dir, "url.tmp"), "w") as f:
        f.write(cluster.url() + "\n")
    os.replace(os.path.join(args.state_dir, "url.tmp"), os.path.join(args.state_dir, "url"))
    print("pg_cluster: running at %s (data in %s)" % (cluster.url(), cluster.data_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
