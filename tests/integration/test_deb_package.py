"""The Debian package: built with cpack from the build tree, inspected with dpkg-deb, installed,
used as the service user, removed (data kept) and purged (data gone).

$SHARELINK_BUILD_DIR (set by tests/CMakeLists.txt) is the build tree holding
CPackConfig.cmake. The install part changes this machine (/usr/bin,
/etc/shared-linkd, /var/lib/shared-linkd, the shared-linkd user), so it runs
only as root, never where shared-link is already installed or its user or
state directory exist, and CTest runs this file alone (RUN_SERIAL). It purges
the package again whatever happens.
"""

import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

BUILD_DIR = os.environ.get("SHARELINK_BUILD_DIR", "")
SHARECTL = os.environ.get("SHARECTL", "sharectl")
PACKAGE = "shared-link"
SERVICE_USER = "shared-linkd"
STATE_DIR = "/var/lib/shared-linkd"
CONFIG = "/etc/shared-linkd/shared-linkd.toml"
TOOLS = {name: shutil.which(name) for name in ("cpack", "dpkg-deb", "dpkg", "runuser", "setpriv")}
# CPack's DEB generator computes the dependencies with dpkg-shlibdeps (dpkg-dev) and finds the
# binaries with file(1).
BUILD_TOOLS = {name: shutil.which(name) for name in ("cpack", "dpkg-deb", "dpkg-shlibdeps", "file")}
MISSING_BUILD_TOOLS = ", ".join(name for name, path in BUILD_TOOLS.items() if not path)


def run(argv, check=True, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc


def dpkg(*args):
    """dpkg, waiting (bounded) while another dpkg or apt holds the lock."""
    deadline = time.monotonic() + 120
    while True:
        proc = run(["dpkg"] + list(args), check=False)
        if proc.returncode == 0 or "lock" not in proc.stderr or time.monotonic() > deadline:
            return proc
        time.sleep(2)


def as_service_user(*argv, check=True):
    return run(["runuser", "-u", SERVICE_USER, "--"] + list(argv), check=check, cwd="/")


def project_version():
    return run([SHARECTL, "--version"]).stdout.split()[-1]


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    return run(["getent", "group", name], check=False).returncode == 0


def installed():
    proc = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], check=False)
    return proc.returncode == 0 and "installed" in proc.stdout.split()


class PackageBuild:
    """One cpack run for the whole file."""
    deb = None
    dir = None

    @classmethod
    def build(cls):
        if cls.deb is None:
            cls.dir = tempfile.mkdtemp(prefix="sharelink-deb-")
            run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"), "-B", cls.dir],
                cwd=BUILD_DIR)
            debs = [name for name in os.listdir(cls.dir) if name.endswith(".deb")]
            if len(debs) != 1:
                raise AssertionError("cpack made %r" % debs)
            cls.deb = os.path.join(cls.dir, debs[0])
        return cls.deb


def tearDownModule():
    if PackageBuild.dir:
        shutil.rmtree(PackageBuild.dir, ignore_errors=True)


@unittest.skipUnless(BUILD_DIR and os.path.exists(os.path.join(BUILD_DIR, "CPackConfig.cmake")),
                     "SHARELINK_BUILD_DIR does not name a configured build tree: package tests skipped")
@unittest.skipIf(MISSING_BUILD_TOOLS, "%s missing (Debian packages cmake, dpkg-dev, file): package tests skipped"
                 % MISSING_BUILD_TOOLS)
class PackageContentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = PackageBuild.build()
        cls.arch = run(["dpkg", "--print-architecture"]).stdout.strip()

    def field(self, name):
        return run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def test_file_name_and_metadata(self):
        version = project_version()
        self.assertEqual(os.path.basename(self.deb), "shared-link_%s_%s.deb" % (version, self.arch))
        self.assertEqual(self.field("Package"), PACKAGE)
        self.assertEqual(self.field("Version"), version)
        self.assertEqual(self.field("Architecture"), self.arch)
        self.assertTrue(self.field("Maintainer"))
        self.assertTrue(self.field("Description"))

    def test_dependencies_are_computed_from_the_binaries(self):
        depends = [d.strip() for d in self.field("Depends").split(",")]
        names = {re.match(r"[a-z0-9.+-]+", d).group(0) for d in depends}
        for library in ("libc6", "libstdc++6", "libssl3", "libsqlite3-0", "libtomlplusplus3"):
            self.assertIn(library, names)
        self.assertTrue(any(n.startswith("libcpp-httplib") for n in names), depends)
        self.assertIn("adduser", names)  # for the maintainer scripts
        # dpkg-shlibdeps writes minimum versions; a hand-written list would not have them all.
        self.assertTrue(all("(>=" in d for d in depends if d.startswith("lib")), depends)

    def test_contents(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout
        entries = {}
        for line in listing.splitlines():
            parts = line.split()
            entries[parts[-1]] = (parts[0], parts[1])
        for binary in ("./usr/bin/shared-linkd", "./usr/bin/sharectl"):
            self.assertEqual(entries.get(binary), ("-rwxr-xr-x", "root/root"), binary)
        for path in ("./etc/shared-linkd/shared-linkd.toml", "./lib/systemd/system/shared-linkd.service",
                     "./usr/share/doc/shared-link/examples/shared-linkd.toml",
                     "./usr/share/doc/shared-link/examples/nginx/shared-linkd-site.conf",
                     "./usr/share/man/man1/sharectl.1.gz", "./usr/share/man/man8/shared-linkd.8.gz",
                     "./usr/share/man/man5/shared-linkd.toml.5.gz",
                     "./usr/share/bash-completion/completions/sharectl",
                     "./usr/share/doc/shared-link/openapi.yaml", "./usr/share/doc/shared-link/docs/threat-model.md"):
            self.assertEqual(entries.get(path), ("-rw-r--r--", "root/root"), path)
        self.assertFalse([p for p in entries if p.startswith("./usr/local") or p.startswith("./var")])

    def test_control_files(self):
        control = tempfile.mkdtemp(prefix="sharelink-control-")
        self.addCleanup(shutil.rmtree, control, True)
        run(["dpkg-deb", "-e", self.deb, control])
        with open(os.path.join(control, "conffiles")) as f:
            self.assertEqual(f.read().split(), [CONFIG])
        for script in ("postinst", "prerm", "postrm"):
            mode = os.stat(os.path.join(control, script)).st_mode
            self.assertTrue(mode & stat.S_IXUSR, script)
            run(["sh", "-n", os.path.join(control, script)])

    def test_packaged_configuration_keeps_everything_in_var_lib(self):
        tree = tempfile.mkdtemp(prefix="sharelink-tree-")
        self.addCleanup(shutil.rmtree, tree, True)
        run(["dpkg-deb", "-x", self.deb, tree])
        with open(os.path.join(tree, CONFIG.lstrip("/"))) as f:
            config = f.read()
        for key, file in (("path", "shared-link.db"), ("audit_path", "shared-link-audit.db"),
                          ("key_file", "signing.keys"), ("media_root", "media")):
            self.assertRegex(config, r'(?m)^%s = "%s/%s"$' % (key, STATE_DIR, file))


@unittest.skipUnless(BUILD_DIR and os.path.exists(os.path.join(BUILD_DIR, "CPackConfig.cmake")),
                     "SHARELINK_BUILD_DIR does not name a configured build tree: package tests skipped")
@unittest.skipIf(MISSING_BUILD_TOOLS, "%s missing (Debian packages cmake, dpkg-dev, file): install test skipped"
                 % MISSING_BUILD_TOOLS)
@unittest.skipUnless(all(TOOLS.values()), "cpack, dpkg, dpkg-deb, runuser or setpriv missing: install test skipped")
@unittest.skipUnless(os.geteuid() == 0, "not root: the package install test is skipped")
class PackageInstallTest(unittest.TestCase):
    def setUp(self):
        if installed() or user_exists(SERVICE_USER) or os.path.exists(STATE_DIR):
            self.skipTest("shared-link, its user or %s already exist on this machine: not touching them" % STATE_DIR)
        self.deb = PackageBuild.build()
        self.addCleanup(self.purge_quietly)

    def purge_quietly(self):
        dpkg("--purge", PACKAGE)

    def install(self):
        proc = dpkg("-i", self.deb)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def start_daemon(self):
        """The packaged daemon as the service user on a free port; returns (process, port).

        setpriv execs the daemon in place (runuser would stay as its parent), so
        the test's SIGTERM reaches the daemon itself."""
        proc = subprocess.Popen(["setpriv", "--reuid", SERVICE_USER, "--regid", SERVICE_USER, "--init-groups", "--",
                                 "/usr/bin/shared-linkd", "--config", CONFIG, "--listen", "127.0.0.1:0"],
                                stderr=subprocess.PIPE, text=True, cwd="/")
        port = []
        ready = threading.Event()

        def pump():
            for line in proc.stderr:
                m = re.search(r"msg=listening .*addr=\S+:(\d+)", line)
                if m and not port:
                    port.append(int(m.group(1)))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(20)
        if not port:
            proc.kill()
            raise AssertionError("the packaged shared-linkd did not start")
        return proc, port[0]

    def test_install_use_remove_purge(self):
        self.install()

        # The service user and its private state directory, set up by sharectl init.
        user = pwd.getpwnam(SERVICE_USER)
        self.assertEqual(user.pw_dir, STATE_DIR)
        self.assertTrue(group_exists(SERVICE_USER))
        st = os.stat(STATE_DIR)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o750, user.pw_uid, user.pw_gid))
        key_file = os.stat(os.path.join(STATE_DIR, "signing.keys"))
        self.assertEqual((stat.S_IMODE(key_file.st_mode), key_file.st_uid), (0o600, user.pw_uid))
        for name in ("shared-link.db", "shared-link-audit.db"):
            self.assertEqual(os.stat(os.path.join(STATE_DIR, name)).st_uid, user.pw_uid, name)
        self.assertTrue(os.access("/usr/bin/shared-linkd", os.X_OK))

        # The operator's commands, as the service user.
        self.assertIn("configuration OK",
                      as_service_user("/usr/bin/shared-linkd", "--config", CONFIG, "--check-config").stdout)
        self.assertEqual(json.loads(as_service_user("/usr/bin/sharectl", "--json", "share", "list").stdout), [])
        media = os.path.join(STATE_DIR, "media", "song.mp3")
        with open(media, "wb") as f:
            f.write(b"ID3 packaged test audio")
        os.chown(media, user.pw_uid, user.pw_gid)
        track = json.loads(as_service_user(
            "/usr/bin/sharectl", "--json", "track", "add", "--title", "Packaged", "--engine", "studio", "--mode",
            "creation", "--licence", "personal_only@2026-01", "--audio", "song.mp3").stdout)["id"]
        share = json.loads(as_service_user("/usr/bin/sharectl", "--json", "share", "create", "--track", track).stdout)
        listed = json.loads(as_service_user("/usr/bin/sharectl", "--json", "share", "list").stdout)
        self.assertEqual([s["id"] for s in listed], [share["id"]])

        # The packaged daemon serves the share.
        daemon, port = self.start_daemon()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/music/shared/%s" % (port, share["token"]),
                                        timeout=10) as resp:
                self.assertEqual(json.loads(resp.read())["track"]["id"], track)
        finally:
            daemon.send_signal(signal.SIGTERM)
            rc = daemon.wait(30)
            daemon.stderr.close()
        self.assertEqual(rc, 0, "clean shutdown on SIGTERM")

        # Installing again (an upgrade runs postinst again): idempotent, data kept.
        self.install()
        listed = json.loads(as_service_user("/usr/bin/sharectl", "--json", "share", "list").stdout)
        self.assertEqual([s["id"] for s in listed], [share["id"]])

        # Remove: the programs go, the data, the configuration and the user stay.
        proc = dpkg("--remove", PACKAGE)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertFalse(os.path.exists("/usr/bin/shared-linkd"))
        self.assertFalse(os.path.exists("/usr/bin/sharectl"))
        self.assertTrue(os.path.exists(CONFIG))
        self.assertTrue(user_exists(SERVICE_USER))
        with sqlite3.connect("file:%s/shared-link.db?mode=ro" % STATE_DIR, uri=True) as db:
            self.assertEqual(db.execute("SELECT id FROM shares").fetchall(), [(share["id"],)])
        self.assertTrue(os.path.exists(os.path.join(STATE_DIR, "signing.keys")))
        self.assertTrue(os.path.exists(media))

        # Purge: data, configuration, user and group are gone.
        proc = dpkg("--purge", PACKAGE)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertFalse(os.path.exists(STATE_DIR))
        self.assertFalse(os.path.exists(os.path.dirname(CONFIG)))
        self.assertFalse(user_exists(SERVICE_USER))
        self.assertFalse(group_exists(SERVICE_USER))
        self.assertFalse(installed())


if __name__ == "__main__":
    unittest.main()
