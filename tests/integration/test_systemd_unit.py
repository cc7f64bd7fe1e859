"""packaging/systemd/shared-linkd.service: systemd accepts it and rates its exposure at most 2.0.

Uses systemd-analyze (Debian package systemd), which works without a running
systemd. verify needs ExecStart's binary to exist, so it checks a copy of the
unit whose ExecStart names the binary under test.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "systemd",
                    "shared-linkd.service")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
SHARED_LINKD = os.environ.get("SHARED_LINKD", "shared-linkd")
MAX_EXPOSURE = 2.0


def read_unit():
    with open(UNIT) as f:
        return f.read()


def settings(text):
    """Every Key=value line of the unit, as (key, value) pairs in order."""
    return [tuple(line.split("=", 1)) for line in text.splitlines() if re.match(r"^[A-Za-z]+=", line)]


class SystemdUnitContentTest(unittest.TestCase):
    def test_runs_the_packaged_binary_as_the_service_user_with_sighup_reload(self):
        unit = settings(read_unit())
        for expected in [
            ("Type", "simple"),
            ("User", "shared-linkd"),
            ("ExecStart", "/usr/bin/shared-linkd --config /etc/shared-linkd/shared-linkd.toml"),
            ("ExecReload", "/bin/kill -HUP $MAINPID"),
            ("ReadWritePaths", "/var/lib/shared-linkd"),
            ("WantedBy", "multi-user.target"),
        ]:
            self.assertIn(expected, unit)

    def test_hardening_the_issue_lists(self):
        unit = settings(read_unit())
        for expected in [
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("CapabilityBoundingSet", ""),
            ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
            ("SystemCallFilter", "@system-service"),
        ]:
            self.assertIn(expected, unit)


@unittest.skipUnless(SYSTEMD_ANALYZE, "systemd-analyze is not installed (Debian package systemd): unit checks skipped")
class SystemdAnalyzeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sharelink-unit-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def unit_copy(self):
        binary = shutil.which(SHARED_LINKD) or os.path.abspath(SHARED_LINKD)
        self.assertTrue(os.access(binary, os.X_OK), "SHARED_LINKD must name the built daemon: %s" % binary)
        text = read_unit()
        self.assertEqual(text.count("/usr/bin/shared-linkd"), 1)
        path = os.path.join(self.dir, "shared-linkd.service")
        with open(path, "w") as f:
            f.write(text.replace("/usr/bin/shared-linkd", binary))
        return path

    def run_analyze(self, *args):
        proc = subprocess.run([SYSTEMD_ANALYZE] + list(args), capture_output=True, text=True, timeout=120,
                              cwd=self.dir)
        if re.search(r"Failed to (initialize|create) (manager|bus)|not been booted with systemd", proc.stderr):
            self.skipTest("systemd-analyze cannot run here: " + proc.stderr.strip())
        return proc

    def test_verify_passes(self):
        proc = self.run_analyze("verify", self.unit_copy())
        about_unit = [line for line in (proc.stdout + proc.stderr).splitlines() if "shared-linkd" in line]
        self.assertEqual(about_unit, [], proc.stdout + proc.stderr)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_verify_catches_a_broken_unit(self):
        # The check above is meaningful: a typo in a directive fails it.
        path = self.unit_copy()
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("ProtectSystem=strict", "ProtectSystem=strict\nProtectSytem=yes"))
        proc = self.run_analyze("verify", path)
        self.assertIn("ProtectSytem", proc.stdout + proc.stderr)

    def test_security_exposure_at_most_2(self):
        proc = self.run_analyze("security", "--offline=yes", self.unit_copy())
        match = re.search(r"Overall exposure level for shared-linkd\.service: (\d+(?:\.\d+)?)", proc.stdout)
        self.assertIsNotNone(match, proc.stdout + proc.stderr)
        exposure = float(match.group(1))
        print("\nsystemd-analyze security: exposure %.1f (at most %.1f)" % (exposure, MAX_EXPOSURE))
        self.assertLessEqual(exposure, MAX_EXPOSURE, proc.stdout)


if __name__ == "__main__":
    unittest.main()
