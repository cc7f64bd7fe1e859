"""sharectl share ... and resolve: links, their JSON shapes, the offline resolver, and where tokens go."""

import datetime
import json
import math
import os
import re
import time
import unittest

from cli_support import (ERROR_BODY_KEYS, OS_USER, SHARE_CREATE_KEYS, SHARE_KEYS, TOKEN_RE, TRACK_VIEW_KEYS,
                         VIEW_KEYS, CliTestCase, Installation)

REQUEST_ID = re.compile(r"^req_[0-9a-f]{16}$")
BASE_URL = "https://music.example.org"


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


class ShareCreateTest(CliTestCase):
    config = {"server": {"public_base_url": BASE_URL}, "shares": {"max_expires_in_days": 90}}

    def setUp(self):
        super().setUp()
        self.track_id = self.add_track()

    def create(self, *extra):
        return self.ctl("share", "create", "--track", self.track_id, *extra)

    def test_json_shape_and_defaults(self):
        created = self.create_share(self.track_id)
        self.assertEqual(list(created), SHARE_CREATE_KEYS)
        self.assertRegex(created["id"], r"^mslink_[0-9a-f]{12}$")
        self.assertRegex(created["token"], TOKEN_RE)
        self.assertEqual(created["url"], BASE_URL + "/v1/music/shared/" + created["token"])
        self.assertEqual(created["page_url"], BASE_URL + "/s/" + created["token"])
        self.assertEqual((created["target_type"], created["target_id"], created["visibility"],
                          created["expires_at"], created["max_views"]),
                         ("track", self.track_id, "link_only", None, None))
        parse_time(created["created_at"])
        shown = self.inspect(created["id"])
        self.assertEqual((shown["created_by"], shown["status"], shown["view_count"], shown["note"]),
                         (OS_USER, "active", 0, None))

    def test_options(self):
        created = self.create_share(self.track_id, "--visibility", "public", "--max-views", "5", "--note", "for Ann")
        self.assertEqual((created["visibility"], created["max_views"]), ("public", 5))
        self.assertEqual(self.inspect(created["id"])["note"], "for Ann")
        collection = self.ctl_json("collection", "create", "--name", "Mix")["id"]
        created = self.create_share(collection)
        self.assertEqual((created["target_type"], created["target_id"]), ("collection", collection))

    def test_human_output_shows_the_page_link_first_then_the_api_link(self):
        proc = self.ok("share", "create", "--track", self.track_id)
        tokens = re.findall(r"shr_[0-9a-f]{32}", proc.stdout)
        self.assertEqual(len(tokens), 2)  # in the page link and the API link, nowhere else
        self.assertEqual(tokens[0], tokens[1])
        lines = proc.stdout.splitlines()
        page = [i for i, line in enumerate(lines) if (BASE_URL + "/s/" + tokens[0]) in line]
        api = [i for i, line in enumerate(lines) if (BASE_URL + "/v1/music/shared/" + tokens[0]) in line]
        self.assertEqual((len(page), len(api)), (1, 1))
        self.assertLess(page[0], api[0])
        self.assertRegex(lines[page[0]], r"^\s*page_url:")
        self.assertRegex(lines[api[0]], r"^\s*url:")
        self.assertNotIn(tokens[0], proc.stderr)

    def test_expires_in_days(self):
        created = self.create_share(self.track_id, "--expires-in-days", "7")
        delta = parse_time(created["expires_at"]) - parse_time(created["created_at"])
        self.assertEqual(delta, datetime.timedelta(days=7))

    def test_expires_in_days_above_the_maximum_is_clamped_with_a_note(self):
        proc = self.create("--expires-in-days", "365", "--json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "sharectl: note: --expires-in-days 365 is above shares.max_expires_in_days "
                                      "(90): the link expires in 90 days\n")
        created = json.loads(proc.stdout)
        self.assertEqual(parse_time(created["expires_at"]) - parse_time(created["created_at"]),
                         datetime.timedelta(days=90))
        huge = self.create("--expires-in-days", "99999999999999999999999", "--json")
        self.assertEqual(huge.returncode, 0, huge.stderr)
        self.assertIn("the link expires in 90 days", huge.stderr)

    def test_expires_at(self):
        created = self.create_share(self.track_id, "--expires-at", "2099-07-28T10:30:00Z")
        self.assertEqual(created["expires_at"], "2099-07-28T10:30:00Z")
        created = self.create_share(self.track_id, "--expires-at", "2099-07-28T12:30:00+02:00")
        self.assertEqual(created["expires_at"], "2099-07-28T10:30:00Z")
        created = self.create_share(self.track_id, "--expires-at", "12h")
        self.assertEqual(parse_time(created["expires_at"]) - parse_time(created["created_at"]),
                         datetime.timedelta(hours=12))

    def test_bad_values(self):
        days = "sharectl: error: --expires-in-days: expected a whole number of days >= 1, got \"%s\"\n"
        views = "sharectl: error: --max-views: expected a whole number >= 1, got \"%s\"\n"
        time_forms = ("an RFC 3339 time (2026-07-28T10:30:00Z) or a span (90s, 15m, 12h, 7d)")
        cases = [
            (["--expires-in-days", "abc"], days % "abc"),
            (["--expires-in-days", "0"], days % "0"),
            (["--expires-in-days", "-3"], days % "-3"),
            (["--expires-in-days", "1.5"], days % "1.5"),
            (["--expires-in-days", ""], days % ""),
            (["--expires-in-days", " 7"], days % " 7"),
            (["--max-views", "0"], views % "0"),
            (["--max-views", "many"], views % "many"),
            (["--expires-at", "tomorrow"],
             'sharectl: error: --expires-at: expected %s, got "tomorrow"\n' % time_forms),
            (["--expires-at", "2020-01-01T00:00:00Z"],
             "sharectl: error: --expires-at: 2020-01-01T00:00:00Z is not in the future\n"),
            (["--expires-in-days", "3", "--expires-at", "7d"],
             "sharectl: error: --expires-in-days and --expires-at are mutually exclusive (give one)\n"),
            (["--visibility", "secret"],
             'sharectl: error: --visibility: expected one of link_only, public, got "secret"\n'),
            (["--collection", "mcoll_x"],
             "sharectl: error: --track and --collection are mutually exclusive (a link shares one track or one "
             "collection)\n"),
            (["--note", "a\nb"], None),
        ]
        for extra, stderr in cases:
            with self.subTest(extra=extra):
                self.assert_usage_error(self.create(*extra), stderr)
        self.assert_usage_error(self.ctl("share", "create"), "sharectl: error: give --track ID or --collection ID\n")
        self.assertEqual(self.ctl_json("share", "list"), [])

    def test_unknown_target_is_not_found(self):
        self.assert_not_found(self.ctl("share", "create", "--track", "mtrack_nope"),
                              'sharectl: error: unknown track "mtrack_nope" (see "sharectl track list")\n')
        self.assert_not_found(self.ctl("share", "create", "--collection", "mcoll_nope"),
                              'sharectl: error: unknown collection "mcoll_nope" (see "sharectl collection list")\n')
        self.assertEqual(self.ctl_json("share", "list"), [])

    def test_removed_target_is_allowed_with_a_warning(self):
        self.ok("track", "remove", self.track_id)
        proc = self.create("--json")
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stderr, "sharectl: warning: track %s is removed: the link answers available:false "
                                      "until it is restored\n" % self.track_id)
        self.assertTrue(self.inspect(json.loads(proc.stdout)["id"])["target_removed"])


class SmallMaximumTest(CliTestCase):
    config = {"shares": {"max_expires_in_days": 10}}

    def test_clamp_follows_the_config(self):
        track_id = self.add_track()
        proc = self.ctl("--json", "share", "create", "--track", track_id, "--expires-in-days", "11")
        self.assertEqual(proc.stderr, "sharectl: note: --expires-in-days 11 is above shares.max_expires_in_days "
                                      "(10): the link expires in 10 days\n")
        created = json.loads(proc.stdout)
        self.assertEqual(parse_time(created["expires_at"]) - parse_time(created["created_at"]),
                         datetime.timedelta(days=10))
        proc = self.ctl("share", "create", "--track", track_id, "--expires-in-days", "10")
        self.assertEqual(proc.stderr, "")


class TokenSecrecyTest(CliTestCase):
    def test_the_token_is_written_nowhere_but_the_create_output(self):
        track_id = self.add_track()
        collection = self.ctl_json("collection", "create", "--name", "Mix")["id"]
        self.ok("collection", "add", collection, track_id)
        outputs = []
        tokens = []
        for argv in (["share", "create", "--track", track_id, "--note", "n"],
                     ["--json", "share", "create", "--collection", collection, "--max-views", "3"]):
            proc = self.ok(*argv)
            found = re.findall(r"shr_[0-9a-f]{32}", proc.stdout)
            self.assertEqual(len(set(found)), 1)
            self.assertNotIn(found[0], proc.stderr)
            tokens.append(found[0])
        for token in tokens:
            for argv in (["share", "inspect", token], ["--json", "share", "inspect", token], ["resolve", token],
                         ["--json", "resolve", token], ["share", "list"], ["--json", "share", "list"],
                         ["audit"], ["--json", "audit"], ["audit", "--format", "csv"], ["audit", "--token", token],
                         ["share", "expire", token, "--at", "30d"], ["share", "revoke", token, "--reason", "leak"],
                         ["share", "revoke", token], ["--json", "resolve", token]):
                proc = self.ctl(*argv)
                self.assertIn(proc.returncode, (0, 4), proc.stderr)
                outputs.append(proc.stdout + proc.stderr)
        self.ok("audit", "prune", "--older-than", "30d")
        self.ok("db", "backup", self.inst.path("backup.db"))
        self.assertTrue(os.path.exists(self.inst.path("backup.db-audit")))
        for token in tokens:
            self.assertEqual(self.files_containing(token), [])
            self.assertEqual([o for o in outputs if token in o], [])
        # The fingerprint, not the token, is what files and outputs carry.
        self.assertTrue(self.files_containing(self.inspect(tokens[0])["token_fp"]))

    def test_unknown_token_is_not_echoed(self):
        token = "shr_" + "ab" * 16
        proc = self.ctl("share", "inspect", token)
        self.assert_not_found(proc)
        self.assertNotIn(token, proc.stderr)
        self.assertIn("fingerprint", proc.stderr)


class ShareListInspectTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.track_id = self.add_track()
        self.other_id = self.add_track(title="Other")
        self.active = self.create_share(self.track_id, "--max-views", "2")
        self.revoked = self.create_share(self.track_id)
        self.expired = self.create_share(self.other_id)
        self.ok("share", "revoke", self.revoked["id"], "--reason", "leaked")
        self.ok("share", "expire", self.expired["id"], "--at", "2020-01-01T00:00:00Z")

    def ids(self, *args):
        return sorted(s["id"] for s in self.ctl_json("share", "list", *args))

    def test_filters(self):
        everything = sorted([self.active["id"], self.revoked["id"], self.expired["id"]])
        self.assertEqual(self.ids(), everything)
        self.assertEqual(self.ids("--status", "all"), everything)
        self.assertEqual(self.ids("--status", "active"), [self.active["id"]])
        self.assertEqual(self.ids("--status", "revoked"), [self.revoked["id"]])
        self.assertEqual(self.ids("--status", "expired"), [self.expired["id"]])
        self.assertEqual(self.ids("--status", "exhausted"), [])
        self.assertEqual(self.ids("--target", self.other_id), [self.expired["id"]])
        self.assertEqual(self.ids("--target", self.track_id, "--status", "active"), [self.active["id"]])
        self.assert_usage_error(self.ctl("share", "list", "--status", "gone"),
                                'sharectl: error: --status: expected one of active, revoked, expired, exhausted, all, '
                                'got "gone"\n')

    def test_list_items_have_the_share_fields_and_never_the_token(self):
        items = self.ctl_json("share", "list")
        for item in items:
            self.assertEqual(list(item), SHARE_KEYS)
        by_id = {item["id"]: item for item in items}
        self.assertEqual(by_id[self.revoked["id"]]["status"], "revoked")
        self.assertEqual(by_id[self.revoked["id"]]["revoke_reason"], "leaked")
        self.assertEqual(by_id[self.expired["id"]]["expires_at"], "2020-01-01T00:00:00Z")
        table = self.ok("share", "list").stdout.splitlines()
        self.assertEqual(table[0].split(), ["ID", "STATUS", "TARGET", "VIEWS", "EXPIRES_AT", "CREATED_BY", "NOTE"])
        self.assertIn("0/2", table[1] + table[2] + table[3])

    def test_inspect_by_id_and_by_token(self):
        by_id = self.inspect(self.active["id"])
        self.assertEqual(list(by_id), SHARE_KEYS + ["audit"])
        self.assertEqual(by_id["audit"], {"last_resolve": None, "resolves_by_outcome": {}})
        self.assertEqual(by_id, self.inspect(self.active["token"]))
        self.assertRegex(by_id["token_fp"], r"^[0-9a-f]{12}$")
        self.assertEqual((by_id["id"], by_id["target_type"], by_id["target_id"], by_id["visibility"],
                          by_id["max_views"], by_id["view_count"], by_id["last_viewed_at"], by_id["revoked_at"],
                          by_id["revoke_reason"], by_id["status"], by_id["target_removed"]),
                         (self.active["id"], "track", self.track_id, "link_only", 2, 0, None, None, None, "active",
                          False))
        human = self.ok("share", "inspect", self.revoked["id"]).stdout
        self.assertIn("revoke_reason:  leaked", human)
        self.assertIn("status:         revoked", human)

    def test_inspect_unknown_or_malformed_is_not_found(self):
        self.assert_not_found(self.ctl("share", "inspect", "mslink_000000000000"),
                              'sharectl: error: unknown share link "mslink_000000000000" (see "sharectl share '
                              'list")\n')
        self.assert_not_found(self.ctl("share", "inspect", "shr_123"),
                              "sharectl: error: malformed share token (expected shr_ followed by 32 lowercase hex)\n")
        self.assert_not_found(self.ctl("share", "inspect", "hello"),
                              'sharectl: error: unknown share link "hello" (see "sharectl share list")\n')


class RevokeExpireTest(CliTestCase):
    def setUp(self):
        super().setUp()
        self.share = self.create_share(self.add_track())

    def test_revoke_is_idempotent(self):
        first = self.ctl_json("share", "revoke", self.share["id"], "--reason", "leaked")
        self.assertEqual((first["status"], first["revoke_reason"]), ("revoked", "leaked"))
        second = self.ok("share", "revoke", self.share["id"], "--reason", "other")
        self.assertEqual(second.stdout, "share link %s was already revoked at %s\n"
                         % (self.share["id"], first["revoked_at"]))
        after = self.inspect(self.share["id"])
        self.assertEqual((after["revoked_at"], after["revoke_reason"]), (first["revoked_at"], "leaked"))

    def test_revoke_by_token(self):
        self.assertEqual(self.ctl_json("share", "revoke", self.share["token"])["id"], self.share["id"])

    def test_expire(self):
        started = time.time()
        expired = self.ctl_json("share", "expire", self.share["id"])
        self.assertEqual(expired["status"], "expired")
        parse_time(expired["expires_at"])
        later = self.ctl_json("share", "expire", self.share["id"], "--at", "2d")
        elapsed = datetime.timedelta(seconds=math.ceil(time.time() - started))
        self.assertEqual(later["status"], "active")
        # Two commands, each reading the clock in whole seconds: "2d" is two
        # days after the second one's now.
        delta = parse_time(later["expires_at"]) - parse_time(expired["expires_at"])
        self.assertGreaterEqual(delta, datetime.timedelta(days=2))
        self.assertLessEqual(delta, datetime.timedelta(days=2) + elapsed)
        fixed = self.ctl_json("share", "expire", self.share["id"], "--at", "2026-03-01T00:00:00Z")
        self.assertEqual((fixed["expires_at"], fixed["status"]), ("2026-03-01T00:00:00Z", "expired"))
        self.assertEqual(self.ok("share", "expire", self.share["id"], "--at", "2026-03-01T00:00:00Z").stdout,
                         "share link %s expired at 2026-03-01T00:00:00Z\n" % self.share["id"])

    def test_errors(self):
        for command in ("revoke", "expire"):
            with self.subTest(command=command):
                self.assert_not_found(self.ctl("share", command, "mslink_000000000000"),
                                      'sharectl: error: unknown share link "mslink_000000000000" (see "sharectl '
                                      'share list")\n')
        self.assert_usage_error(self.ctl("share", "expire", self.share["id"], "--at", "soon"),
                                contains='--at: expected an RFC 3339 time')
        self.assert_usage_error(self.ctl("share", "revoke", self.share["id"], "--reason", ""),
                                contains="--reason: expected a non-empty text")
        self.assertEqual(self.inspect(self.share["id"])["status"], "active")


class ResolveTest(CliTestCase):
    config = {"server": {"public_base_url": BASE_URL}}

    def test_track_view_and_json_envelope(self):
        track_id = self.add_track(extra=("--duration", "120.4", "--instrumental"))
        share = self.create_share(track_id, "--expires-in-days", "3")
        proc = self.ok("--json", "resolve", share["token"])
        answer = json.loads(proc.stdout)
        self.assertEqual(list(answer), ["status", "body"])
        self.assertEqual(answer["status"], 200)
        body = answer["body"]
        self.assertEqual(list(body), VIEW_KEYS)
        self.assertEqual((body["kind"], body["available"], body["message"], body["collection"], body["tracks"]),
                         ("track", True, None, None, None))
        self.assertEqual(body["share"], {"target_type": "track", "visibility": "link_only",
                                         "expires_at": share["expires_at"]})
        track = body["track"]
        self.assertEqual(list(track), TRACK_VIEW_KEYS)
        self.assertEqual((track["id"], track["measured_duration_seconds"], track["instrumental"]),
                         (track_id, 120.4, True))
        self.assertTrue(track["playback_url"].startswith(
            "%s/v1/music/media/%s?share=%s&exp=" % (BASE_URL, track_id, share["id"])), track["playback_url"])
        self.assertEqual(track["licence"], {"licence_class": "personal_only", "licence_version": "2026-01",
                                            "commercial_use": False, "requires_attribution": False})
        # Without --json: the body alone, pretty-printed.
        plain = self.ok("resolve", share["token"]).stdout
        self.assertTrue(plain.startswith('{\n  "kind": "track",'), plain)
        self.assertEqual(list(json.loads(plain)), VIEW_KEYS)

    def test_resolve_never_counts_a_view(self):
        share = self.create_share(self.add_track(), "--max-views", "1")
        for _ in range(3):
            self.assertEqual(self.ctl_json("resolve", share["token"])["status"], 200)
        shown = self.inspect(share["id"])
        self.assertEqual((shown["view_count"], shown["last_viewed_at"], shown["status"]), (0, None, "active"))

    def test_collection_view_keeps_order_and_leaves_out_removed_tracks(self):
        a, b, c = (self.add_track(title=t) for t in "abc")
        collection = self.ctl_json("collection", "create", "--name", "Mix", "--description", "Deep")["id"]
        self.ok("collection", "add", collection, c, a, b)
        self.ok("track", "remove", a)
        share = self.create_share(collection)
        body = self.ctl_json("resolve", share["token"])["body"]
        self.assertEqual((body["kind"], body["track"]), ("collection", None))
        self.assertEqual(body["collection"], {"id": collection, "name": "Mix", "description": "Deep"})
        self.assertEqual([t["id"] for t in body["tracks"]], [c, b])

    def test_licence_truth(self):
        narrowed = self.add_track(licence="commercial_cleared@2026-01", extra=("--no-commercial",))
        unknown = self.add_track(licence="commercial_cleared@2099-01")
        cleared = self.add_track(licence="commercial_cleared@2026-01")
        expected = {narrowed: (False, False), unknown: (False, True), cleared: (True, False)}
        for track_id, (commercial, attribution) in expected.items():
            with self.subTest(track_id=track_id):
                licence = self.ctl_json("resolve", self.create_share(track_id)["token"])["body"]["track"]["licence"]
                self.assertEqual((licence["commercial_use"], licence["requires_attribution"]),
                                 (commercial, attribution))

    def test_removed_content_answers_200_unavailable(self):
        track_id = self.add_track()
        share = self.create_share(track_id)
        self.ok("track", "remove", track_id)
        answer = self.ctl_json("resolve", share["token"])
        body = answer["body"]
        self.assertEqual((answer["status"], body["available"], body["track"], body["collection"], body["tracks"]),
                         (200, False, None, None, None))
        self.assertIsInstance(body["message"], str)

    def test_errors_exit_4_with_the_daemon_body(self):
        track_id = self.add_track()
        revoked = self.create_share(track_id)
        self.ok("share", "revoke", revoked["id"])
        expired = self.create_share(track_id)
        self.ok("share", "expire", expired["id"])
        cases = [
            (revoked["token"], 410, "SHARE_REVOKED"),
            (expired["token"], 410, "SHARE_EXPIRED"),
            ("shr_" + "0" * 32, 404, "SHARE_NOT_FOUND"),
            ("not-a-token", 404, "SHARE_NOT_FOUND"),
        ]
        for token, status, code in cases:
            with self.subTest(code=code, token=token):
                proc = self.ctl("--json", "resolve", token)
                self.assertEqual(proc.returncode, 4, proc.stderr)
                self.assertEqual(proc.stderr, "")
                answer = json.loads(proc.stdout)
                self.assertEqual(list(answer), ["status", "body"])
                self.assertEqual(answer["status"], status)
                body = answer["body"]
                self.assertEqual(list(body), ERROR_BODY_KEYS)
                self.assertIs(body["success"], False)
                self.assertEqual(list(body["error"]), ["code", "message", "request_id"])
                self.assertEqual(body["error"]["code"], code)
                self.assertRegex(body["error"]["request_id"], REQUEST_ID)
                plain = self.ctl("resolve", token)
                self.assertEqual(plain.returncode, 4)
                self.assertEqual(json.loads(plain.stdout)["error"]["code"], code)


    def test_a_missing_key_file_is_a_runtime_error(self):
        share = self.create_share(self.add_track())
        os.remove(self.inst.path("signing.keys"))
        proc = self.ctl("resolve", share["token"])
        self.assert_fails(proc, 1, contains=self.inst.path("signing.keys"))


class S3ResolveTest(CliTestCase):
    """playback.mode = "s3": resolve mints presigned URLs with the secret read from its own file."""

    def setUp(self):
        self.inst = Installation(config={"playback": {"mode": "s3"},
                                         "playback.s3": {"endpoint": "http://127.0.0.1:9000", "bucket": "music",
                                                         "region": "us-east-1", "access_key_id": "AKIDEXAMPLE",
                                                         "secret_access_key_file": "s3.secret"}},
                                 init=False)
        self.addCleanup(self.inst.cleanup)
        with open(self.inst.path("s3.secret"), "w") as f:
            f.write("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n")
        self.inst.sharectl("init")

    def test_presigned_playback_url(self):
        share = self.create_share(self.add_track(audio="albums/one.mp3"))
        url = self.ctl_json("resolve", share["token"])["body"]["track"]["playback_url"]
        self.assertTrue(url.startswith("http://127.0.0.1:9000/music/albums/one.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&"),
                        url)
        self.assertIn("X-Amz-Credential=AKIDEXAMPLE%2F", url)
        self.assertIn("X-Amz-Expires=300&", url)
        self.assertRegex(url, r"&X-Amz-Signature=[0-9a-f]{64}$")
        self.assertNotIn("wJalrXUtnFEMI", url)

    def test_unreadable_secret_file_is_a_runtime_error(self):
        share = self.create_share(self.add_track())
        os.remove(self.inst.path("s3.secret"))
        self.assert_fails(self.ctl("resolve", share["token"]), 1,
                          "sharectl: error: cannot read playback.s3.secret_access_key_file %s\n"
                          % self.inst.path("s3.secret"))


if __name__ == "__main__":
    unittest.main()
