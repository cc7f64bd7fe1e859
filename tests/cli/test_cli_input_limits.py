"""sharectl's limits on the texts an operator supplies, and terminal-safe table output.

Titles, names, descriptions, engines, modes, notes, reasons and MIME types are
valid UTF-8 without control characters (C0, DEL, C1) and within stated byte
lengths; anything else is a usage error (exit 2), with FILE:LINE for track
import. An import line with a key twice, or a number no double can hold, is
refused the same way. Tables escape any control character that reached the
database by other means.
"""

import json
import sqlite3
import subprocess

from cli_support import SHARECTL, CliTestCase

LIMITS = {"--title": 300, "--engine": 64, "--mode": 64}
BAD_TEXTS = {
    "ESC": "red \x1b[31malert",
    "CR": "line\rover",
    "LF": "two\nlines",
    "TAB": "a\tb",
    "DEL": "a\x7fb",
    "C1 CSI": "a\u009b31mb",
    "C1 NEL": "a\u0085b",
}


class CliInputLimitsTest(CliTestCase):
    def track_add(self, **overrides):
        args = {"--title": "T", "--engine": "studio", "--mode": "creation", "--licence": "personal_only@2026-01",
                "--audio": "a.mp3"}
        args.update(overrides)
        argv = []
        for flag, value in args.items():
            argv += [flag, value]
        return self.ctl("track", "add", *argv)

    def run_bytes(self, *argv):
        """sharectl with raw bytes in argv (for invalid UTF-8)."""
        return subprocess.run([SHARECTL.encode(), b"--config", self.inst.config_path.encode()] + list(argv),
                              capture_output=True, timeout=60)

    # --- flags -----------------------------------------------------------------
    def test_track_texts_at_their_limit_pass_and_one_byte_more_is_refused(self):
        self.inst.write_media("a.mp3")
        for flag, limit in LIMITS.items():
            with self.subTest(flag=flag):
                self.assertEqual(self.track_add(**{flag: "x" * limit}).returncode, 0)
                self.assert_usage_error(
                    self.track_add(**{flag: "x" * (limit + 1)}),
                    "sharectl: error: %s: expected a non-empty text of at most %d bytes (valid UTF-8, no control "
                    "characters), got %d bytes\n" % (flag, limit, limit + 1))
        # Bytes, not characters: 150 two-byte letters fit a title, 151 do not.
        self.assertEqual(self.track_add(**{"--title": "\u00e9" * 150}).returncode, 0)
        self.assert_usage_error(self.track_add(**{"--title": "\u00e9" * 151}), contains="got 302 bytes")

    def test_control_characters_are_refused_in_every_text_flag(self):
        self.inst.write_media("a.mp3")
        cid = self.inst.add_collection("C", [])
        sid = self.create_share(self.add_track())["id"]
        for name, text in BAD_TEXTS.items():
            commands = {
                "--title": self.track_add(**{"--title": text}),
                "--engine": self.track_add(**{"--engine": text}),
                "--mode": self.track_add(**{"--mode": text}),
                "--mime": self.track_add(**{"--mime": "audio/" + text}),
                "--name": self.ctl("collection", "create", "--name", text),
                "--description": self.ctl("collection", "create", "--name", "N", "--description", text),
                "--note": self.ctl("share", "create", "--collection", cid, "--note", text),
                "--reason": self.ctl("share", "revoke", sid, "--reason", text),
            }
            for flag, proc in commands.items():
                with self.subTest(character=name, flag=flag):
                    self.assert_usage_error(proc, contains="sharectl: error: %s: expected " % flag)
        self.assertEqual(self.inspect(sid)["status"], "active")

    def test_invalid_utf8_is_refused(self):
        self.inst.write_media("a.mp3")
        proc = self.run_bytes(b"track", b"add", b"--title", b"caf\xe9", b"--engine", b"e", b"--mode", b"m",
                              b"--licence", b"personal_only@2026-01", b"--audio", b"a.mp3")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"--title: expected a non-empty text of at most 300 bytes (valid UTF-8", proc.stderr)
        proc = self.run_bytes(b"collection", b"create", b"--name", b"\xc0\xafoverlong")
        self.assertEqual(proc.returncode, 2, proc.stderr)

    def test_collection_and_share_limits(self):
        self.assertEqual(self.ctl("collection", "create", "--name", "n" * 300, "--description", "d" * 4000).returncode,
                         0)
        self.assert_usage_error(self.ctl("collection", "create", "--name", "n" * 301), contains="--name: expected")
        self.assert_usage_error(self.ctl("collection", "create", "--name", "N", "--description", "d" * 4001),
                                contains="--description: expected a non-empty text of at most 4000 bytes")
        track = self.add_track()
        self.assertEqual(self.ctl("share", "create", "--track", track, "--note", "n" * 1000).returncode, 0)
        self.assert_usage_error(self.ctl("share", "create", "--track", track, "--note", "n" * 1001),
                                contains="--note: expected a non-empty text of at most 1000 bytes")
        sid = self.create_share(track)["id"]
        self.assert_usage_error(self.ctl("share", "revoke", sid, "--reason", "r" * 501),
                                contains="--reason: expected a non-empty text of at most 500 bytes")

    def test_help_states_the_limits(self):
        add = self.ok("track", "add", "--help").stdout
        for text in ("Title (at most 300 bytes)", "Engine key (at most 64 bytes)", "Generation mode (at most 64 bytes)"):
            self.assertIn(text, add)
        self.assertIn("Description (at most 4000 bytes)", self.ok("collection", "create", "--help").stdout)
        self.assertIn("at most 1000 bytes", self.ok("share", "create", "--help").stdout)
        self.assertIn("at most 500 bytes", self.ok("share", "revoke", "--help").stdout)

    # --- track import ------------------------------------------------------------
    def import_lines(self, lines):
        path = self.inst.path("tracks.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path, self.ctl("track", "import", path)

    def line(self, track_id, raw=None, **fields):
        track = {"id": track_id, "title": "Title", "engine": "studio", "mode": "creation",
                 "licence_class": "personal_only", "licence_version": "2026-01", "audio_path": track_id + ".mp3"}
        track.update(fields)
        return raw if raw is not None else json.dumps(track)

    def test_import_refuses_what_track_add_refuses_with_file_and_line(self):
        cases = [
            (self.line("mtrack_a", title="NUL\u0000inside"), '"title": expected a non-empty text of at most 300 bytes'),
            (self.line("mtrack_b", title="\u001b]0;owned\u0007"), '"title": expected'),
            (self.line("mtrack_c", title="carriage\rreturn"), '"title": expected'),
            (self.line("mtrack_d", title="csi\u009b2J"), '"title": expected'),
            (self.line("mtrack_e", title="t" * 301), '"title": expected a non-empty text of at most 300 bytes '
                                                      '(valid UTF-8, no control characters), got 301 bytes'),
            (self.line("mtrack_f", engine="e" * 65), '"engine": expected a non-empty text of at most 64 bytes'),
            (self.line("mtrack_g", mode="m\nx"), '"mode": expected'),
            (self.line("mtrack_h", mime_type="audio/\u001bx"), '"mime_type": expected a MIME type'),
            (self.line("mtrack_i", audio_path="a" * 4097), '"audio_path": at most 4096 bytes, got 4097'),
            ('{"id": "mtrack_j", "title": "One", "title": "Two", "engine": "e", "mode": "m", '
             '"licence_class": "personal_only", "licence_version": "2026-01", "audio_path": "j.mp3"}',
             'key "title" appears twice'),
            ('{"id": "mtrack_k", "title": "T", "engine": "e", "mode": "m", "licence_class": "personal_only", '
             '"licence_version": "2026-01", "audio_path": "k.mp3", "measured_duration_seconds": 1e400}',
             "not valid JSON: "),
            ('{"id": "mtrack_l", "title": "T", "engine": "e", "mode": "m", "licence_class": "personal_only", '
             '"licence_version": "2026-01", "audio_path": "l.mp3", "measured_duration_seconds": -1e400}',
             "not valid JSON: "),
            (self.line("mtrack_m", title="big " * 5 * 1024 * 1024), "got 20971520 bytes"),  # 20 MB
        ]
        path, proc = self.import_lines([line for line, _ in cases])
        self.assert_usage_error(proc)
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), len(cases) + 1, proc.stderr[:2000])
        for number, (line, (_, problem)) in enumerate(zip(lines, cases), start=1):
            with self.subTest(line=number):
                self.assertTrue(line.startswith("sharectl: error: %s:%d: " % (path, number)), line[:300])
                self.assertIn(problem, line[:400])
                self.assertLess(len(line), 1000, "a refused value is never echoed whole")
        self.assertNotIn("unexpected", proc.stderr)
        self.assertEqual(lines[-1], "sharectl: error: nothing imported: %d invalid lines in %s" % (len(cases), path))
        self.assertEqual(self.ctl_json("track", "list"), [])

    def test_import_of_invalid_utf8_is_refused_with_its_line(self):
        path = self.inst.path("bad.jsonl")
        with open(path, "wb") as f:
            f.write(self.line("mtrack_ok").encode() + b"\n" + self.line("mtrack_x", title="@@").encode().replace(
                b"@@", b"\xff\xfe") + b"\n")
        self.assert_usage_error(self.ctl("track", "import", path), contains="%s:2: not valid JSON" % path)

    def test_import_accepts_clean_texts_at_their_limits(self):
        self.inst.write_media("mtrack_ok.mp3")
        line = self.line("mtrack_ok", title="\u00e9" * 150, engine="e" * 64, mode="m" * 64, mime_type="audio/ogg",
                         measured_duration_seconds=1e300)
        _, proc = self.import_lines([line])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        track = self.ctl_json("track", "show", "mtrack_ok")
        self.assertEqual((track["title"], track["measured_duration_seconds"]), ("\u00e9" * 150, 1e300))

    # --- output ------------------------------------------------------------------
    def test_tables_escape_control_characters_that_reached_the_database(self):
        track = self.add_track(title="Clean")
        cid = self.inst.add_collection("Clean", [track])
        sid = self.create_share(track, "--note", "clean")["id"]
        self.ok("track", "show", track)
        db = sqlite3.connect(self.inst.path("shared-link.db"))
        with db:
            db.execute("UPDATE tracks SET title = ? WHERE id = ?", ("evil\x1b]0;owned\x07\x1b[2J\r\x00x\u009b", track))
            db.execute("UPDATE collections SET name = ? WHERE id = ?", ("coll\x1b[31m", cid))
            db.execute("UPDATE shares SET note = ? WHERE id = ?", (b"note\x1b[5m\xff".decode("latin-1"), sid))
        db.close()
        self.insert_audit_records([{"ts": 1785000000000, "event": "admin", "outcome": "ok", "actor": "x\x1b[8m",
                                    "action": "track.add", "detail": "d\x1b[41m\r"}])
        outputs = {
            "track list": self.ok("track", "list").stdout,
            "track show": self.ok("track", "show", track).stdout,
            "collection list": self.ok("collection", "list").stdout,
            "collection show": self.ok("collection", "show", cid).stdout,
            "share list": self.ok("share", "list").stdout,
            "audit": self.ok("audit", "--limit", "5").stdout,
        }
        for command, text in outputs.items():
            with self.subTest(command=command):
                for raw in ("\x1b", "\x07", "\r", "\x00", "\u009b"):
                    self.assertNotIn(raw, text)
        self.assertIn("evil\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x00x\\u009b", outputs["track list"])
        self.assertIn("coll\\x1b[31m", outputs["collection list"])
        self.assertIn("d\\x1b[41m\\x0d", outputs["audit"])
        # --json output stays exact: JSON escapes the characters itself.
        self.assertEqual(self.ctl_json("track", "show", track)["title"], "evil\x1b]0;owned\x07\x1b[2J\r\x00x\u009b")
