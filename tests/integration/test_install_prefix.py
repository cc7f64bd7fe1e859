"""A plain `cmake --install BUILD --prefix DIR` writes only under DIR.

Nothing of a prefix install may land in /etc or /lib/systemd: those paths belong to the Debian
package (cmake/Packaging.cmake), whose contents tests/integration/test_deb_package.py checks.

The install runs twice. First with DESTDIR set to a scratch directory, where a file meant for an
absolute path (/etc/...) lands as DESTDIR/etc/... and is caught without touching this machine;
only if that run kept to the prefix does the real one run, with DESTDIR unset as a user would
install, and its install_manifest.txt (every file it wrote) must name paths under the prefix only.

$SHARELINK_BUILD_DIR (set by tests/CMakeLists.txt) is the built tree to install from.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

BUILD_DIR = os.environ.get("SHARELINK_BUILD_DIR", "")
CMAKE = os.environ.get("CMAKE") or shutil.which("cmake")

# What a prefix install carries (the rest of the package's payload is checked by the .deb test).
EXPECTED = ["bin/shared-linkd", "bin/sharectl",
            "share/doc/shared-link/examples/shared-linkd.toml",
            "share/doc/shared-link/examples/nginx/shared-linkd-site.conf",
            "share/doc/shared-link/openapi.yaml",
            "share/bash-completion/completions/sharectl"]
MAN_PAGES = ["share/man/man1/sharectl.1.gz", "share/man/man8/shared-linkd.8.gz",
             "share/man/man5/shared-linkd.toml.5.gz"]


def files_under(root):
    found = []
    for parent, _, names in os.walk(root):
        found.extend(os.path.relpath(os.path.join(parent, name), root) for name in names)
    return sorted(found)


def cmake_install(prefix, destdir=None):
    env = {k: v for k, v in os.environ.items() if k != "DESTDIR"}
    if destdir is not None:
        env["DESTDIR"] = destdir
    proc = subprocess.run([CMAKE, "--install", BUILD_DIR, "--prefix", prefix], env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError("cmake --install failed (%d):\n%s%s" % (proc.returncode, proc.stdout, proc.stderr))
    return proc


@unittest.skipUnless(BUILD_DIR and os.path.exists(os.path.join(BUILD_DIR, "cmake_install.cmake")),
                     "SHARELINK_BUILD_DIR does not name a configured build tree: install test skipped")
@unittest.skipUnless(CMAKE, "cmake missing: install test skipped")
class PrefixInstallTest(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="sharelink-install-")
        self.addCleanup(shutil.rmtree, self.scratch, True)
        self.prefix = os.path.join(self.scratch, "prefix")

    def expected(self):
        man_pages_built = os.path.exists(os.path.join(BUILD_DIR, "man", "sharectl.1.gz"))
        return EXPECTED + (MAN_PAGES if man_pages_built else [])

    def test_a_staged_install_keeps_to_the_prefix(self):
        jail = os.path.join(self.scratch, "jail")
        cmake_install(self.prefix, destdir=jail)
        staged = files_under(jail)
        inside = os.path.relpath(self.prefix, "/") + os.sep
        self.assertEqual([f for f in staged if not f.startswith(inside)], [])
        installed = [f[len(inside):] for f in staged]
        for path in self.expected():
            self.assertIn(path, installed)
        self.assertFalse([f for f in installed if f.startswith("etc/") or "systemd/system" in f], installed)

    def test_a_plain_install_writes_only_under_the_prefix(self):
        # The staged run first: an install that would write outside the prefix fails here, unrun.
        cmake_install(self.prefix, destdir=os.path.join(self.scratch, "jail"))
        self.assertEqual([f for f in files_under(os.path.join(self.scratch, "jail"))
                          if not f.startswith(os.path.relpath(self.prefix, "/") + os.sep)], [])
        proc = cmake_install(self.prefix)
        manifest = os.path.join(BUILD_DIR, "install_manifest.txt")
        with open(manifest) as f:
            written = [line.strip() for line in f if line.strip()]
        self.assertTrue(written, proc.stdout)
        self.assertEqual([p for p in written if not p.startswith(self.prefix + os.sep)], [])
        # The manifest is the whole story: the prefix holds what it lists, and nothing else.
        self.assertEqual(sorted(os.path.relpath(p, self.prefix) for p in written), files_under(self.prefix))
        for path in self.expected():
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, path)), path)
        self.assertTrue(os.access(os.path.join(self.prefix, "bin", "sharectl"), os.X_OK))


if __name__ == "__main__":
    unittest.main()
