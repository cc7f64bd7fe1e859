"""Helpers for the sharectl black-box tests: the real binary against a throwaway installation.

Every test runs `sharectl` exactly as an operator would and checks exit codes,
stdout (JSON shapes, key order) and the exact stderr text of errors.
"""

import json
import os
import pwd
import subprocess
import unittest

from sharelink_testlib import SHARECTL, TOKEN_RE, Installation  # noqa: F401 (re-exported for the tests)

# SPEC 8 key lists, in the pinned order.
TRACK_KEYS = ["id", "title", "engine", "mode", "measured_duration_seconds", "instrumental", "licence_class",
              "licence_version", "no_commercial", "mime_type", "audio_path", "removed_at", "created_at"]
COLLECTION_KEYS = ["id", "name", "description", "track_ids", "removed_at", "created_at"]
SHARE_CREATE_KEYS = ["id", "token", "url", "page_url", "target_type", "target_id", "visibility", "expires_at", "max_views",
                     "created_at"]
SHARE_KEYS = ["id", "target_type", "target_id", "visibility", "created_at", "expires_at", "max_views", "view_count",
              "last_viewed_at", "revoked_at", "revoke_reason", "note", "created_by", "status", "target_removed",
              "token_fp"]
AUDIT_KEYS = ["id", "ts", "event", "outcome", "status", "client_ip", "share_id", "token_fp", "request_id",
              "user_agent", "actor", "action", "detail"]
VIEW_KEYS = ["kind", "available", "message", "share", "track", "collection", "tracks"]
TRACK_VIEW_KEYS = ["id", "title", "engine", "mode", "measured_duration_seconds", "instrumental", "playback_url",
                   "licence"]
ERROR_BODY_KEYS = ["success", "error"]

OS_USER = pwd.getpwuid(os.geteuid()).pw_name


def run_sharectl(*argv, input=None):
    """Runs sharectl with exactly these arguments (nothing added)."""
    return subprocess.run([SHARECTL] + [str(a) for a in argv], capture_output=True, text=True, input=input,
                          timeout=60)


class CliTestCase(unittest.TestCase):
    """One fresh, initialised installation per test (self.inst)."""

    config = None  # extra config tables for Installation

    def setUp(self):
        self.inst = Installation(config=self.config)
        self.addCleanup(self.inst.cleanup)

    # --- running -------------------------------------------------------------
    def ctl(self, *args, input=None):
        """sharectl --config <installation> ARGS..., whatever the exit code."""
        return run_sharectl("--config", self.inst.config_path, *args, input=input)

    def ctl_json(self, *args, input=None):
        proc = self.ctl("--json", *args, input=input)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def ok(self, *args, input=None):
        proc = self.ctl(*args, input=input)
        self.assertEqual(proc.returncode, 0, "sharectl %s: %s" % (" ".join(args), proc.stderr))
        return proc

    def assert_fails(self, proc, code, stderr=None, contains=None):
        """The exit code, nothing on stdout, and stderr exactly (or containing) the given text."""
        self.assertEqual(proc.returncode, code, "stdout: %s\nstderr: %s" % (proc.stdout, proc.stderr))
        self.assertEqual(proc.stdout, "")
        self.assertTrue(proc.stderr.startswith("sharectl: error: "), proc.stderr)
        if stderr is not None:
            self.assertEqual(proc.stderr, stderr)
        if contains is not None:
            self.assertIn(contains, proc.stderr)

    def assert_usage_error(self, proc, stderr=None, contains=None):
        self.assert_fails(proc, 2, stderr, contains)

    def assert_not_found(self, proc, stderr=None, contains=None):
        self.assert_fails(proc, 3, stderr, contains)

    # --- fixtures --------------------------------------------------------------
    def add_track(self, title="Late Night Study", licence="personal_only@2026-01", audio=None, extra=()):
        return self.inst.add_track(title=title, licence=licence, audio=audio, extra=extra)

    def create_share(self, target_id, *extra):
        flag = "--collection" if target_id.startswith("mcoll_") else "--track"
        return self.ctl_json("share", "create", flag, target_id, *extra)

    def inspect(self, reference):
        return self.ctl_json("share", "inspect", reference)

    def insert_audit_records(self, rows):
        """Writes records straight into the audit database (records the daemon or an older run would have
        left), each a dict of audit_records columns; ts in unix milliseconds."""
        for row in rows:
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self.inst.execute("INSERT INTO audit_records (%s) VALUES (%s)" % (columns, marks), list(row.values()),
                              audit=True)

    def files_containing(self, needle):
        """Every file under the installation directory whose bytes contain needle."""
        found = []
        for root, _, files in os.walk(self.inst.dir):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    if needle.encode() in f.read():
                        found.append(path)
        return found
