"""sharectl licence / track / collection: the catalogue, its JSON shapes and every bad input."""

import json
import os
import re
import unittest

from cli_support import COLLECTION_KEYS, TRACK_KEYS, CliTestCase

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CLASSES = "(one of commercial_cleared, commercial_enterprise, personal_only, unclear)"


class LicenceTest(CliTestCase):
    def test_set_adds_and_changes_entries(self):
        added = self.ctl_json("licence", "set", "commercial_cleared", "2027-01", "--commercial-use", "yes",
                              "--requires-attribution", "no")
        self.assertEqual(added, {"licence_class": "commercial_cleared", "licence_version": "2027-01",
                                 "commercial_use": True, "requires_attribution": False})
        self.ok("licence", "set", "commercial_cleared", "2027-01", "--commercial-use", "no",
                "--requires-attribution", "yes")
        entries = [l for l in self.ctl_json("licence", "list") if l["licence_version"] == "2027-01"]
        self.assertEqual(entries, [{"licence_class": "commercial_cleared", "licence_version": "2027-01",
                                    "commercial_use": False, "requires_attribution": True}])

    def test_list_human_table(self):
        lines = self.ok("licence", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["CLASS", "VERSION", "COMMERCIAL_USE", "REQUIRES_ATTRIBUTION"])
        self.assertEqual(len(lines), 5)

    def test_bad_values(self):
        cases = [
            (["gold", "2026-01", "--commercial-use", "yes", "--requires-attribution", "no"],
             'sharectl: error: CLASS: unknown licence class "gold" ' + CLASSES + "\n"),
            (["unclear", "2026 01", "--commercial-use", "yes", "--requires-attribution", "no"],
             'sharectl: error: VERSION: expected a licence version of 1 to 32 of A-Z a-z 0-9 . _ - (e.g. 2026-01), '
             'got "2026 01"\n'),
            (["unclear", "2026-01", "--commercial-use", "maybe", "--requires-attribution", "no"],
             'sharectl: error: --commercial-use: expected yes or no, got "maybe"\n'),
            (["unclear", "2026-01", "--commercial-use", "no", "--requires-attribution", "true"],
             'sharectl: error: --requires-attribution: expected yes or no, got "true"\n'),
        ]
        for args, stderr in cases:
            with self.subTest(args=args):
                self.assert_usage_error(self.ctl("licence", "set", *args), stderr)
        proc = self.ctl("licence", "set", "unclear", "2026-01", "--commercial-use", "no")
        self.assert_usage_error(proc, contains="--requires-attribution is required")


class TrackAddTest(CliTestCase):
    def add(self, *extra, audio="a.mp3", licence="personal_only@2026-01"):
        return self.ctl("track", "add", "--title", "Late Night Study", "--engine", "studio", "--mode", "creation",
                        "--licence", licence, "--audio", audio, *extra)

    def test_json_shape_and_values(self):
        self.inst.write_media("a.mp3")
        proc = self.add("--duration", "120.4", "--instrumental", "--no-commercial", "--id", "mtrack_b4d9e1c6a72f",
                        "--json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        track = json.loads(proc.stdout)
        self.assertEqual(list(track), TRACK_KEYS)
        self.assertRegex(track.pop("created_at"), RFC3339)
        self.assertEqual(track, {"id": "mtrack_b4d9e1c6a72f", "title": "Late Night Study", "engine": "studio",
                                 "mode": "creation", "measured_duration_seconds": 120.4, "instrumental": True,
                                 "licence_class": "personal_only", "licence_version": "2026-01",
                                 "no_commercial": True, "mime_type": "audio/mpeg", "audio_path": "a.mp3",
                                 "removed_at": None})
        self.assertEqual(self.ctl_json("track", "show", "mtrack_b4d9e1c6a72f")["title"], "Late Night Study")

    def test_defaults(self):
        self.inst.write_media("a.mp3")
        track = json.loads(self.add("--json").stdout)
        self.assertRegex(track["id"], r"^mtrack_[0-9a-f]{12}$")
        self.assertIsNone(track["measured_duration_seconds"])
        self.assertFalse(track["instrumental"])
        self.assertFalse(track["no_commercial"])

    def test_human_output_names_the_new_track(self):
        self.inst.write_media("a.mp3")
        proc = self.add("--id", "mtrack_human")
        self.assertEqual(proc.stdout, 'added track mtrack_human "Late Night Study"\n')

    def test_mime_type_guessed_from_the_extension(self):
        cases = {"a.mp3": "audio/mpeg", "b.ogg": "audio/ogg", "c.oga": "audio/ogg", "d.opus": "audio/ogg",
                 "e.flac": "audio/flac", "f.wav": "audio/wav", "g.m4a": "audio/mp4", "h.aac": "audio/mp4",
                 "i.webm": "audio/webm", "j.FLAC": "audio/flac", "k.bin": "audio/mpeg", "noext": "audio/mpeg"}
        for audio, mime in cases.items():
            with self.subTest(audio=audio):
                self.inst.write_media(audio)
                self.assertEqual(json.loads(self.add("--json", audio=audio).stdout)["mime_type"], mime)

    def test_mime_flag(self):
        self.inst.write_media("a.mp3")
        self.assertEqual(json.loads(self.add("--mime", "audio/x-custom", "--json").stdout)["mime_type"],
                         "audio/x-custom")
        self.assert_usage_error(self.add("--mime", "mpeg"),
                                'sharectl: error: --mime: expected a MIME type such as audio/mpeg, got "mpeg"\n')

    def test_audio_paths_inside_media_root_are_stored_relative(self):
        self.inst.write_media("sub/x.ogg")
        cases = {"sub/x.ogg": "sub/x.ogg", "./sub/../sub/x.ogg": "sub/x.ogg",
                 os.path.join(self.inst.media, "sub", "x.ogg"): "sub/x.ogg"}
        for given, stored in cases.items():
            with self.subTest(given=given):
                proc = self.add("--json", audio=given)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(json.loads(proc.stdout)["audio_path"], stored)

    def test_audio_paths_escaping_media_root_are_usage_errors(self):
        media = self.inst.media
        for given in ("../secret.mp3", "sub/../../secret.mp3", "/etc/passwd", self.inst.path("other.mp3"),
                      media, media + "/", "."):
            with self.subTest(given=given):
                self.assert_usage_error(self.add(audio=given),
                                        'sharectl: error: --audio: "%s" lies outside playback.media_root %s '
                                        '(give a path inside it)\n' % (given, media))
        self.assertEqual(self.ctl_json("track", "list"), [])

    def test_missing_audio_file_is_a_warning(self):
        proc = self.add("--json", audio="later/upload.mp3")
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stderr, "sharectl: warning: audio file %s does not exist yet (copy it there before "
                                      "sharing the track)\n" % os.path.join(self.inst.media, "later", "upload.mp3"))
        self.assertEqual(json.loads(proc.stdout)["audio_path"], "later/upload.mp3")

    def test_licence_outside_the_registry_is_accepted_with_a_warning(self):
        self.inst.write_media("a.mp3")
        proc = self.add("--json", licence="commercial_cleared@2099-01")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "sharectl: warning: licence commercial_cleared@2099-01 is not in the licence "
                                      "registry: the track is shown with commercial_use false and "
                                      "requires_attribution true until it is added (see \"sharectl licence list\")\n")
        proc = self.add("--json", licence="unclear@2026-01")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, 'sharectl: warning: licence class "unclear": the track is shown with '
                                      'commercial_use false and requires_attribution true\n')

    def test_bad_values(self):
        self.inst.write_media("a.mp3")
        cases = [
            (["--id", "track_1"],
             'sharectl: error: --id: expected mtrack_ followed by 1 to 64 of A-Z a-z 0-9 _ -, got "track_1"\n'),
            (["--id", "mtrack_" + "a" * 65], None),
            (["--id", "mtrack_a/b"], None),
            (["--duration", "abc"], 'sharectl: error: --duration: expected a number of seconds >= 0, got "abc"\n'),
            (["--duration", "-1"], 'sharectl: error: --duration: expected a number of seconds >= 0, got "-1"\n'),
            (["--duration", "nan"], None),
            (["--duration", "inf"], None),
            (["--duration", "12s"], None),
            (["--id", "x" * 300],
             'sharectl: error: --id: expected mtrack_ followed by 1 to 64 of A-Z a-z 0-9 _ -, got "%s..."\n'
             % ("x" * 200)),
        ]
        for extra, stderr in cases:
            with self.subTest(extra=extra):
                self.assert_usage_error(self.add(*extra), stderr, contains=extra[0] + ": expected")
        self.assertEqual(self.ctl_json("track", "list"), [])

    def test_bad_licence_flag(self):
        cases = [
            ("personal_only", 'sharectl: error: --licence: expected CLASS@VERSION (e.g. personal_only@2026-01), '
                              'got "personal_only"\n'),
            ("gold@2026-01", 'sharectl: error: --licence: unknown licence class "gold" ' + CLASSES + "\n"),
            ("personal_only@", None),
        ]
        for licence, stderr in cases:
            with self.subTest(licence=licence):
                self.assert_usage_error(self.add(licence=licence), stderr, contains="--licence: ")

    def test_empty_or_control_character_text_is_refused(self):
        proc = self.ctl("track", "add", "--title", "", "--engine", "e", "--mode", "m", "--licence",
                        "unclear@2026-01", "--audio", "a.mp3")
        self.assert_usage_error(proc, contains="--title: expected a non-empty text")
        proc = self.ctl("track", "add", "--title", "a\x1b[31mred", "--engine", "e", "--mode", "m", "--licence",
                        "unclear@2026-01", "--audio", "a.mp3")
        self.assert_usage_error(proc, contains='got "a\\x1b[31mred"')

    def test_duplicate_id_is_a_usage_error(self):
        self.inst.write_media("a.mp3")
        self.assertEqual(self.add("--id", "mtrack_dup").returncode, 0)
        self.assert_usage_error(self.add("--id", "mtrack_dup"),
                                'sharectl: error: --id: track "mtrack_dup" already exists (see "sharectl track show '
                                'mtrack_dup"; "sharectl track import" updates tracks)\n')


class TrackShowListRemoveTest(CliTestCase):
    def test_show_and_list(self):
        first = self.add_track(title="One", extra=("--duration", "61.5"))
        second = self.add_track(title="Two")
        listed = self.ctl_json("track", "list")
        self.assertEqual(sorted(t["id"] for t in listed), sorted([first, second]))
        for track in listed:
            self.assertEqual(list(track), TRACK_KEYS)
        shown = self.ok("track", "show", first).stdout
        self.assertIn("title:", shown)
        self.assertIn("61.5 s", shown)
        self.assertIn("commercial use no, attribution not required", shown)
        table = self.ok("track", "list").stdout.splitlines()
        self.assertEqual(table[0].split(), ["ID", "STATUS", "LICENCE", "DURATION", "TITLE"])
        self.assertEqual(len(table), 3)

    def test_unknown_ids_are_not_found(self):
        for command in ("show", "remove", "restore"):
            with self.subTest(command=command):
                self.assert_not_found(self.ctl("track", command, "mtrack_x"),
                                      'sharectl: error: unknown track "mtrack_x" (see "sharectl track list")\n')
        self.assert_not_found(self.ctl("track", "show", "not-an-id"),
                              'sharectl: error: unknown track "not-an-id" (see "sharectl track list")\n')

    def test_remove_and_restore_are_idempotent(self):
        track_id = self.add_track()
        removed = self.ctl_json("track", "remove", track_id)
        self.assertRegex(removed["removed_at"], RFC3339)
        again = self.ok("track", "remove", track_id)
        self.assertEqual(again.stdout, "track %s was already removed at %s\n" % (track_id, removed["removed_at"]))
        self.assertEqual(self.ctl_json("track", "show", track_id)["removed_at"], removed["removed_at"])
        self.assertIn("removed", self.ok("track", "list").stdout)

        self.assertIsNone(self.ctl_json("track", "restore", track_id)["removed_at"])
        self.assertEqual(self.ok("track", "restore", track_id).stdout, "track %s is not removed\n" % track_id)
        self.assertIsNone(self.ctl_json("track", "show", track_id)["removed_at"])


class TrackImportTest(CliTestCase):
    def line(self, track_id, **fields):
        track = {"id": track_id, "title": "Title " + track_id, "engine": "studio", "mode": "creation",
                 "licence_class": "personal_only", "licence_version": "2026-01", "audio_path": track_id + ".mp3"}
        track.update(fields)
        return json.dumps(track)

    def write(self, lines, name="tracks.jsonl"):
        path = self.inst.path(name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def test_import_and_upsert(self):
        self.inst.write_media("mtrack_a.mp3")
        self.inst.write_media("mtrack_b.mp3")
        path = self.write([self.line("mtrack_a", measured_duration_seconds=12.5, instrumental=True,
                                     created_at="2026-01-02T03:04:05Z"),
                           "",
                           self.line("mtrack_b", mime_type="audio/flac", no_commercial=True,
                                     removed_at="2026-02-01T00:00:00Z")])
        proc = self.ok("track", "import", path)
        self.assertEqual(proc.stdout, "imported 2 tracks (2 new, 0 updated)\n")
        self.assertEqual(proc.stderr, "")
        a = self.ctl_json("track", "show", "mtrack_a")
        self.assertEqual((a["measured_duration_seconds"], a["instrumental"], a["created_at"], a["mime_type"]),
                         (12.5, True, "2026-01-02T03:04:05Z", "audio/mpeg"))
        b = self.ctl_json("track", "show", "mtrack_b")
        self.assertEqual((b["mime_type"], b["no_commercial"], b["removed_at"]),
                         ("audio/flac", True, "2026-02-01T00:00:00Z"))

        # Upsert by id: the title changes, created_at stays when the line has none.
        path = self.write([self.line("mtrack_a", title="Renamed")])
        self.assertEqual(self.ctl_json("track", "import", path), {"imported": 1, "created": 0, "updated": 1})
        a = self.ctl_json("track", "show", "mtrack_a")
        self.assertEqual((a["title"], a["created_at"]), ("Renamed", "2026-01-02T03:04:05Z"))

    def test_show_output_imports_back(self):
        track_id = self.add_track(extra=("--duration", "3.25", "--instrumental"))
        exported = self.ok("--json", "track", "show", track_id).stdout
        self.ok("track", "remove", track_id)
        proc = self.ok("track", "import", "-", input=json.dumps(json.loads(exported)) + "\n")
        self.assertEqual(proc.stdout, "imported 1 track (0 new, 1 updated)\n")
        self.assertEqual(self.ctl_json("track", "show", track_id), json.loads(exported))

    def test_bad_line_3_leaves_nothing_imported(self):
        path = self.write([self.line("mtrack_a"), self.line("mtrack_b"), self.line("mtrack_c", licence_class="gold"),
                           self.line("mtrack_d")])
        self.assert_usage_error(self.ctl("track", "import", path),
                                'sharectl: error: %s:3: "licence_class": unknown licence class "gold" %s\n'
                                'sharectl: error: nothing imported: 1 invalid line in %s\n' % (path, CLASSES, path))
        self.assertEqual(self.ctl_json("track", "list"), [])

    def test_every_problem_is_reported_with_its_line(self):
        path = self.write([
            "not json",
            "[1, 2]",
            json.dumps({"id": "mtrack_x"}),
            self.line("mtrack_y", colour="blue"),
            self.line("bad id"),
            self.line("mtrack_z", audio_path="../../etc/passwd"),
            self.line("mtrack_z", measured_duration_seconds=-3),
            self.line("mtrack_z", instrumental="yes"),
            self.line("mtrack_z", created_at="yesterday"),
            self.line("mtrack_ok"),
            self.line("mtrack_ok"),
            self.line("mtrack_v", licence_version="2026/01"),
            self.line("mtrack_m", mime_type="flac"),
        ])
        proc = self.ctl("track", "import", path)
        self.assert_usage_error(proc)
        lines = proc.stderr.splitlines()
        expected = [
            (1, "not valid JSON: "),
            (2, 'expected a JSON object with the keys of "sharectl track show --json"'),
            (3, 'missing required key "title"'),
            (4, 'unknown key "colour"'),
            (5, '"id": expected mtrack_ followed by 1 to 64 of A-Z a-z 0-9 _ -, got "bad id"'),
            (6, '"audio_path": "../../etc/passwd" lies outside playback.media_root'),
            (7, '"measured_duration_seconds" must be a number >= 0 or null'),
            (8, '"instrumental" must be true or false'),
            (9, '"created_at" must be an RFC 3339 time'),
            (11, 'id "mtrack_ok" already appears on line 10'),
            (12, '"licence_version": expected a licence version'),
            (13, '"mime_type": expected a MIME type such as audio/mpeg, got "flac"'),
        ]
        self.assertEqual(len(lines), len(expected) + 1, proc.stderr)
        for line, (number, problem) in zip(lines, expected):
            self.assertTrue(line.startswith("sharectl: error: %s:%d: %s" % (path, number, problem)), line)
        self.assertEqual(lines[-1], "sharectl: error: nothing imported: 12 invalid lines in %s" % path)
        self.assertEqual(self.ctl_json("track", "list"), [])

    def test_many_problems_are_summarised(self):
        path = self.write(["{}"] * 25)
        proc = self.ctl("track", "import", path)
        self.assert_usage_error(proc)
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), 22)
        self.assertEqual(lines[20], "sharectl: error: ... and 5 more problems")

    def test_standard_input(self):
        proc = self.ok("track", "import", "-", input=self.line("mtrack_in") + "\r\n  \r\n" + self.line("mtrack_2"))
        self.assertEqual(proc.stdout, "imported 2 tracks (2 new, 0 updated)\n")
        self.assert_usage_error(self.ctl("track", "import", "-", input="{\n"),
                                contains="sharectl: error: <stdin>:1: not valid JSON")

    def test_warnings_for_unregistered_licences_and_missing_audio(self):
        path = self.write([self.line("mtrack_a", licence_version="2099-01"), self.line("mtrack_b",
                                                                                        licence_version="2099-01"),
                           self.line("mtrack_c", licence_class="unclear")])
        proc = self.ok("track", "import", path)
        self.assertEqual(proc.stderr.count("personal_only@2099-01 is not in the licence registry"), 1)
        self.assertIn('licence class "unclear"', proc.stderr)
        self.assertIn("sharectl: warning: 3 of the audio files do not exist yet under %s (first: mtrack_a.mp3)"
                      % self.inst.media, proc.stderr)

    def test_unreadable_file_is_a_runtime_error(self):
        self.assert_fails(self.ctl("track", "import", self.inst.path("missing.jsonl")), 1,
                          "sharectl: error: cannot read %s: No such file or directory\n"
                          % self.inst.path("missing.jsonl"))


class CollectionTest(CliTestCase):
    def test_create_json_shape(self):
        created = self.ctl_json("collection", "create", "--name", "Focus", "--description", "Deep work",
                                "--id", "mcoll_focus")
        self.assertEqual(list(created), COLLECTION_KEYS)
        self.assertRegex(created.pop("created_at"), RFC3339)
        self.assertEqual(created, {"id": "mcoll_focus", "name": "Focus", "description": "Deep work",
                                   "track_ids": [], "removed_at": None})
        generated = self.ctl_json("collection", "create", "--name", "Other")
        self.assertRegex(generated["id"], r"^mcoll_[0-9a-f]{12}$")
        self.assertIsNone(generated["description"])

    def test_add_appends_in_order_and_drop_keeps_the_rest(self):
        a, b, c = (self.add_track(title=t) for t in "abc")
        cid = self.ctl_json("collection", "create", "--name", "Mix")["id"]
        self.assertEqual(self.ctl_json("collection", "add", cid, c, a)["track_ids"], [c, a])
        self.assertEqual(self.ctl_json("collection", "add", cid, b)["track_ids"], [c, a, b])
        self.assertEqual(self.ctl_json("collection", "drop", cid, a)["track_ids"], [c, b])
        self.assertEqual(self.ctl_json("collection", "show", cid)["track_ids"], [c, b])
        self.assertEqual(self.ok("collection", "add", cid, a).stdout,
                         "added 1 track to collection %s, which now has 3\n" % cid)

    def test_membership_errors_change_nothing(self):
        a, b = self.add_track(title="a"), self.add_track(title="b")
        cid = self.ctl_json("collection", "create", "--name", "Mix", "--id", "mcoll_mix")["id"]
        self.ok("collection", "add", cid, a)
        self.assert_usage_error(self.ctl("collection", "add", cid, b, a),
                                'sharectl: error: track "%s" is already in collection "mcoll_mix" (a track appears '
                                'once; nothing was added)\n' % a)
        self.assert_not_found(self.ctl("collection", "add", cid, b, "mtrack_nope"),
                              'sharectl: error: unknown track "mtrack_nope" (see "sharectl track list")\n')
        self.assert_not_found(self.ctl("collection", "add", "mcoll_nope", a),
                              'sharectl: error: unknown collection "mcoll_nope" (see "sharectl collection list")\n')
        self.assert_not_found(self.ctl("collection", "drop", cid, b),
                              'sharectl: error: track "%s" is not in collection "mcoll_mix" (see "sharectl '
                              'collection show mcoll_mix")\n' % b)
        self.assertEqual(self.ctl_json("collection", "show", cid)["track_ids"], [a])

    def test_adding_a_removed_track_warns(self):
        track_id = self.add_track()
        self.ok("track", "remove", track_id)
        cid = self.ctl_json("collection", "create", "--name", "Mix")["id"]
        proc = self.ok("collection", "add", cid, track_id)
        self.assertEqual(proc.stderr, "sharectl: warning: track %s is removed: shares of the collection leave it "
                                      "out until it is restored\n" % track_id)

    def test_bad_values(self):
        self.assert_usage_error(self.ctl("collection", "create", "--name", "x", "--id", "coll_1"),
                                'sharectl: error: --id: expected mcoll_ followed by 1 to 64 of A-Z a-z 0-9 _ -, '
                                'got "coll_1"\n')
        self.assert_usage_error(self.ctl("collection", "create", "--name", ""),
                                contains="--name: expected a non-empty text")
        self.ok("collection", "create", "--name", "x", "--id", "mcoll_x")
        self.assert_usage_error(self.ctl("collection", "create", "--name", "y", "--id", "mcoll_x"),
                                'sharectl: error: --id: collection "mcoll_x" already exists (see "sharectl '
                                'collection show mcoll_x")\n')

    def test_list_show_remove_restore(self):
        cid = self.ctl_json("collection", "create", "--name", "Mix", "--description", "d")["id"]
        listed = self.ctl_json("collection", "list")
        self.assertEqual([c["id"] for c in listed], [cid])
        self.assertEqual(list(listed[0]), COLLECTION_KEYS)
        self.assertIn("description: d", self.ok("collection", "show", cid).stdout)
        removed = self.ctl_json("collection", "remove", cid)
        self.assertRegex(removed["removed_at"], RFC3339)
        self.assertIn("already removed", self.ok("collection", "remove", cid).stdout)
        self.assertIsNone(self.ctl_json("collection", "restore", cid)["removed_at"])
        self.assertIn("is not removed", self.ok("collection", "restore", cid).stdout)
        for command in ("show", "remove", "restore"):
            with self.subTest(command=command):
                self.assert_not_found(self.ctl("collection", command, "mcoll_nope"),
                                      'sharectl: error: unknown collection "mcoll_nope" (see "sharectl collection '
                                      'list")\n')


if __name__ == "__main__":
    unittest.main()
