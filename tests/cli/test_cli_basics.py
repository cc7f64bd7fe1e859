"""sharectl: global options, help and version, parse errors, exit codes, init."""

import json
import os
import stat
import unittest

from cli_support import CliTestCase, Installation, run_sharectl
from sharelink_testlib import sqlite_only


class HelpAndVersionTest(unittest.TestCase):
    def test_help_exits_0_and_lists_every_command(self):
        proc = run_sharectl("--help")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for command in ("init", "licence", "track", "collection", "share", "resolve", "audit", "keys", "db"):
            self.assertIn(command, proc.stdout)
        self.assertIn("Exit codes", proc.stdout)

    def test_help_of_a_subcommand_exits_0(self):
        for argv in (["track", "add", "--help"], ["share", "--help"], ["share", "create", "--help"],
                     ["audit", "--help"], ["--help", "collection"]):
            with self.subTest(argv=argv):
                proc = run_sharectl(*argv)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("Usage:", proc.stdout)
        self.assertIn("--expires-in-days", run_sharectl("share", "create", "--help").stdout)

    def test_version(self):
        proc = run_sharectl("--version")
        self.assertEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout, r"^sharectl \d+\.\d+\.\d+\n$")


class ParseErrorTest(unittest.TestCase):
    """CLI parse errors print our format and exit 2, before any file is read."""

    def test_parse_errors(self):
        cases = [
            (["track", "list", "--bogus"],
             'sharectl: error: unknown option "--bogus" for "sharectl track list" '
             '(see "sharectl track list --help")\n'),
            (["frob"], 'sharectl: error: unknown command "frob" for "sharectl" '
                       '(one of init, licence, track, collection, share, resolve, audit, keys, db)\n'),
            (["track", "frob"], 'sharectl: error: unknown command "frob" for "sharectl track" '
                                '(one of add, import, list, show, remove, restore)\n'),
            ([], 'sharectl: error: "sharectl" needs a command: init, licence, track, collection, share, resolve, '
                 'audit, keys, db (see "sharectl --help")\n'),
            (["share"], 'sharectl: error: "sharectl share" needs a command: create, list, inspect, revoke, expire '
                        '(see "sharectl share --help")\n'),
            (["track", "add", "--title", "x"],
             'sharectl: error: --engine is required (see "sharectl track add --help")\n'),
            (["track", "show"], 'sharectl: error: ID is required (see "sharectl track show --help")\n'),
            (["track", "show", "mtrack_a", "mtrack_b"],
             'sharectl: error: unexpected argument "mtrack_b" for "sharectl track show" '
             '(see "sharectl track show --help")\n'),
            (["share", "create", "--track", "mtrack_a", "--max-views"],
             'sharectl: error: --max-views: 1 required N missing (see "sharectl share create --help")\n'),
            (["collection", "add", "mcoll_a"],
             'sharectl: error: TRACK_ID is required (see "sharectl collection add --help")\n'),
        ]
        for argv, stderr in cases:
            with self.subTest(argv=argv):
                proc = run_sharectl(*argv)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(proc.stdout, "")
                self.assertEqual(proc.stderr, stderr)


class GlobalOptionsTest(CliTestCase):
    def test_global_options_before_or_after_the_subcommand(self):
        track_id = self.add_track()
        config = self.inst.config_path
        for argv in (["--json", "--config", config, "track", "list"],
                     ["track", "list", "--json", "--config", config],
                     ["track", "--config", config, "list", "--json"],
                     ["--config", config, "track", "show", track_id, "--json"]):
            with self.subTest(argv=argv):
                proc = run_sharectl(*argv)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                document = json.loads(proc.stdout)
                ids = [t["id"] for t in document] if isinstance(document, list) else [document["id"]]
                self.assertEqual(ids, [track_id])

    def test_db_and_audit_db_override_the_config(self):
        other = Installation()
        self.addCleanup(other.cleanup)
        other_track = other.add_track(title="Elsewhere")
        self.add_track(title="Here")
        # On postgresql, --db names the other installation's database, which holds its audit log too.
        override = ["--db", other.db_arg]
        if other.backend == "sqlite":
            override += ["--audit-db", other.path("shared-link-audit.db")]
        proc = run_sharectl("track", "list", "--config", self.inst.config_path, "--json", *override)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([t["id"] for t in json.loads(proc.stdout)], [other_track])
        # A change through the override is audited in the overriding audit database.
        run_sharectl("--config", self.inst.config_path, *override, "track", "remove", other_track)
        actions = [r["action"] for r in other.sharectl_json("audit", "--event", "admin")]
        self.assertEqual(actions[0], "track.remove")
        self.assertNotIn("track.remove", [r["action"] for r in self.ctl_json("audit", "--event", "admin")])

    def test_json_output_is_exactly_one_document(self):
        self.add_track()
        for argv in (["track", "list"], ["licence", "list"], ["share", "list"], ["collection", "list"],
                     ["audit"]):
            with self.subTest(argv=argv):
                proc = self.ctl("--json", *argv)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                json.loads(proc.stdout)  # raises on anything but one document


class ConfigurationErrorTest(unittest.TestCase):
    def test_missing_config_file_is_a_runtime_error(self):
        proc = run_sharectl("--config", "/nonexistent/shared-linkd.toml", "track", "list")
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(proc.stderr.startswith("sharectl: error: "), proc.stderr)
        self.assertIn("/nonexistent/shared-linkd.toml", proc.stderr)

    def test_invalid_config_names_file_line_and_key(self):
        inst = Installation(config={"server": {"listen_adress": "127.0.0.1:1"}}, init=False)
        self.addCleanup(inst.cleanup)
        proc = run_sharectl("--config", inst.config_path, "track", "list")
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(proc.stderr.startswith("sharectl: error: " + inst.config_path + ":"), proc.stderr)
        self.assertIn("listen_adress", proc.stderr)


class RequiresInitTest(unittest.TestCase):
    def test_every_command_but_init_needs_both_databases(self):
        inst = Installation(init=False)
        self.addCleanup(inst.cleanup)
        for argv in (["track", "list"], ["licence", "list"], ["collection", "list"], ["share", "list"],
                     ["share", "inspect", "mslink_000000000000"], ["resolve", "shr_" + "0" * 32], ["audit"],
                     ["track", "remove", "mtrack_a"]):
            with self.subTest(argv=argv):
                proc = inst.sharectl(*argv, check=False)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(proc.stdout, "")
                self.assertIn(inst.db_arg, proc.stderr)
                self.assertIn('run "sharectl init"', proc.stderr)
        self.assertFalse(os.path.exists(inst.path("shared-link.db")))

    @sqlite_only("about the SQLite files and their directories")
    def test_a_missing_audit_database_is_named_too(self):
        inst = Installation()
        self.addCleanup(inst.cleanup)
        os.remove(inst.path("shared-link-audit.db"))
        proc = inst.sharectl("track", "list", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(inst.path("shared-link-audit.db"), proc.stderr)
        self.assertIn('run "sharectl init"', proc.stderr)


class InitTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation(config={"database": {"path": "var/lib/main.db", "audit_path": "var/log/audit.db"},
                                         "playback": {"key_file": "etc/keys/signing.keys", "media_root": "srv/media"}},
                                 init=False)
        self.addCleanup(self.inst.cleanup)

    @sqlite_only("about the SQLite files and their directories")
    def test_init_creates_everything_with_parent_directories(self):
        proc = self.inst.sharectl("init")
        self.assertEqual(proc.stderr, "")
        for path in ("var/lib/main.db", "var/log/audit.db", "etc/keys/signing.keys"):
            self.assertTrue(os.path.isfile(self.inst.path(path)), path)
        self.assertTrue(os.path.isdir(self.inst.path("srv/media")))
        self.assertEqual(stat.S_IMODE(os.stat(self.inst.path("etc/keys/signing.keys")).st_mode), 0o600)
        self.assertIn("created at schema version", proc.stdout)
        self.assertIn("licence registry: seeded 4 entries", proc.stdout)
        licences = {(l["licence_class"], l["licence_version"]): (l["commercial_use"], l["requires_attribution"])
                    for l in self.inst.sharectl_json("licence", "list")}
        self.assertEqual(licences, {("commercial_cleared", "2026-01"): (True, False),
                                    ("commercial_enterprise", "2026-01"): (True, False),
                                    ("personal_only", "2026-01"): (False, False),
                                    ("unclear", "2026-01"): (False, True)})

    def test_init_is_idempotent_and_keeps_the_operators_changes(self):
        self.inst.sharectl("init")
        with open(self.inst.path("etc/keys/signing.keys"), "rb") as f:
            keys = f.read()
        self.inst.sharectl("licence", "set", "personal_only", "2026-01", "--commercial-use", "yes",
                           "--requires-attribution", "yes")
        self.inst.media = self.inst.path("srv/media")
        track_id = self.inst.add_track()

        again = self.inst.sharectl_json("init")
        self.assertEqual(again["licences_seeded"], 0)
        self.assertEqual(again["database"]["from_version"], again["database"]["to_version"])
        self.assertFalse(again["key_file"]["created"])
        self.assertFalse(again["media_root"]["created"])
        with open(self.inst.path("etc/keys/signing.keys"), "rb") as f:
            self.assertEqual(f.read(), keys)
        personal = [l for l in self.inst.sharectl_json("licence", "list") if l["licence_class"] == "personal_only"]
        self.assertEqual(personal, [{"licence_class": "personal_only", "licence_version": "2026-01",
                                     "commercial_use": True, "requires_attribution": True}])
        self.assertEqual([t["id"] for t in self.inst.sharectl_json("track", "list")], [track_id])

    @sqlite_only("about the SQLite files and their directories")
    def test_init_json_shape(self):
        report = self.inst.sharectl_json("init")
        self.assertEqual(list(report), ["database", "audit_database", "licences_seeded", "key_file", "media_root"])
        self.assertEqual(report["database"], {"path": self.inst.path("var/lib/main.db"), "from_version": 0,
                                              "to_version": report["database"]["to_version"]})
        self.assertGreaterEqual(report["database"]["to_version"], 1)
        self.assertEqual(report["licences_seeded"], 4)
        self.assertEqual(report["key_file"], {"path": self.inst.path("etc/keys/signing.keys"), "created": True})
        self.assertEqual(report["media_root"], {"path": self.inst.path("srv/media"), "created": True})

    def test_init_is_audited(self):
        self.inst.sharectl("init")
        records = self.inst.sharectl_json("audit")
        self.assertEqual([(r["event"], r["action"]) for r in records], [("admin", "init")])


if __name__ == "__main__":
    unittest.main()
