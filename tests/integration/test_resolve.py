"""The public resolve endpoint against the real shared-linkd (SPEC 4)."""

import concurrent.futures
import json
import os
import signal
import sqlite3
import subprocess
import time
import unittest

from sharelink_testlib import SHARED_LINKD, Daemon, Installation, TOKEN_RE, check_answer, sqlite_only

GENEROUS_LIMITS = {"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000, "misses_per_minute": 1000000}}

PUBLIC_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "access-control-allow-origin": "*",
}


class ResolveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation(GENEROUS_LIMITS)
        cls.daemon = Daemon(cls.inst)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def assert_public_headers(self, resp, noindex=True):
        for name, value in PUBLIC_HEADERS.items():
            self.assertEqual(resp.header(name), value, name)
        self.assertRegex(resp.header("x-request-id"), r"^req_[0-9a-f]{16}$")
        self.assertIsNotNone(resp.header("ratelimit"))
        self.assertIsNotNone(resp.header("ratelimit-policy"))
        if noindex:
            self.assertEqual(resp.header("x-robots-tag"), "noindex")
        else:
            self.assertIsNone(resp.header("x-robots-tag"))

    def assert_error(self, resp, status, code):
        self.assertEqual(resp.status, status, resp.body)
        body = resp.json()
        self.assertEqual(list(body), ["success", "error"])
        self.assertIs(body["success"], False)
        self.assertEqual(list(body["error"]), ["code", "message", "request_id"])
        self.assertEqual(body["error"]["code"], code)
        self.assertTrue(body["error"]["message"])
        self.assertEqual(body["error"]["request_id"], resp.header("x-request-id"))
        self.assert_public_headers(resp, noindex=True)

    def view_count(self, share_id):
        return self.inst.inspect(share_id)["view_count"]

    # --- 200 views --------------------------------------------------------
    def test_track_view_exact_shape_and_headers(self):
        tid = self.inst.add_track("Late Night Study", extra=["--duration", "120.4", "--instrumental"])
        sid, token = self.inst.share(tid, "--expires-at", "2099-07-28T10:30:00Z")
        resp = self.daemon.resolve(token)
        self.assertEqual(resp.status, 200)
        self.assert_public_headers(resp, noindex=True)
        body = resp.json()
        self.assertEqual(list(body), ["kind", "available", "message", "share", "track", "collection", "tracks"])
        self.assertEqual(body["kind"], "track")
        self.assertIs(body["available"], True)
        self.assertIsNone(body["message"])
        self.assertEqual(body["share"], {"target_type": "track", "visibility": "link_only",
                                         "expires_at": "2099-07-28T10:30:00Z"})
        self.assertEqual(list(body["share"]), ["target_type", "visibility", "expires_at"])
        track = body["track"]
        self.assertEqual(list(track), ["id", "title", "engine", "mode", "measured_duration_seconds", "instrumental",
                                       "playback_url", "licence"])
        self.assertEqual(track["id"], tid)
        self.assertEqual(track["title"], "Late Night Study")
        self.assertEqual(track["engine"], "studio")
        self.assertEqual(track["mode"], "creation")
        self.assertEqual(track["measured_duration_seconds"], 120.4)
        self.assertIs(track["instrumental"], True)
        self.assertRegex(track["playback_url"],
                         r"^%s/v1/music/media/%s\?share=%s&exp=\d+&kid=[A-Za-z0-9_-]+&sig=[A-Za-z0-9_-]{43}$"
                         % (self.daemon.base_url, tid, sid))
        exp = int(track["playback_url"].split("&exp=")[1].split("&")[0])
        self.assertAlmostEqual(exp, time.time() + 300, delta=30)
        self.assertEqual(track["licence"], {"licence_class": "personal_only", "licence_version": "2026-01",
                                            "commercial_use": False, "requires_attribution": False})
        self.assertIsNone(body["collection"])
        self.assertIsNone(body["tracks"])
        self.assertEqual(self.view_count(sid), 1)

    def test_fresh_playback_url_per_response_and_public_share_is_indexable(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid, "--visibility", "public")
        resp = self.daemon.resolve(token)
        self.assertEqual(resp.status, 200)
        self.assert_public_headers(resp, noindex=False)
        self.assertEqual(resp.json()["share"]["visibility"], "public")

    def test_unknown_duration_is_null(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        self.assertIsNone(self.daemon.resolve(token).json()["track"]["measured_duration_seconds"])

    def test_collection_order_and_removed_tracks(self):
        a, b, c = (self.inst.add_track(t) for t in ("A", "B", "C"))
        cid = self.inst.add_collection("Focus", [c, a, b], description="late work")
        sid, token = self.inst.share(cid)
        body = self.daemon.resolve(token).json()
        self.assertEqual(body["kind"], "collection")
        self.assertIsNone(body["track"])
        self.assertEqual(body["collection"], {"id": cid, "name": "Focus", "description": "late work"})
        self.assertEqual([t["id"] for t in body["tracks"]], [c, a, b])
        for t in body["tracks"]:
            self.assertIn("share=%s&" % sid, t["playback_url"])
        self.inst.sharectl("track", "remove", a)
        body = self.daemon.resolve(token).json()
        self.assertEqual([t["id"] for t in body["tracks"]], [c, b])
        self.inst.sharectl("track", "remove", b)
        self.inst.sharectl("track", "remove", c)
        resp = self.daemon.resolve(token)
        self.assertEqual(resp.status, 200)
        self.assertIs(resp.json()["available"], True)
        self.assertEqual(resp.json()["tracks"], [])
        self.assertEqual(self.view_count(sid), 3)

    def test_collection_without_description_has_null(self):
        cid = self.inst.add_collection("Bare", [self.inst.add_track()])
        _, token = self.inst.share(cid)
        self.assertIsNone(self.daemon.resolve(token).json()["collection"]["description"])

    def test_removed_collection_is_unavailable(self):
        cid = self.inst.add_collection("Gone", [self.inst.add_track()])
        sid, token = self.inst.share(cid)
        self.inst.sharectl("collection", "remove", cid)
        resp = self.daemon.resolve(token)
        self.assertEqual(resp.status, 200)
        body = resp.json()
        self.assertIs(body["available"], False)
        self.assertTrue(body["message"])
        self.assertEqual(body["kind"], "collection")
        self.assertIsNone(body["track"])
        self.assertIsNone(body["collection"])
        self.assertIsNone(body["tracks"])
        self.assertEqual(self.view_count(sid), 0)
        self.inst.sharectl("collection", "restore", cid)
        self.assertIs(self.daemon.resolve(token).json()["available"], True)

    def test_removed_track_is_unavailable_and_counts_no_view(self):
        tid = self.inst.add_track()
        sid, token = self.inst.share(tid, "--max-views", "1")
        self.inst.sharectl("track", "remove", tid)
        for _ in range(3):
            resp = self.daemon.resolve(token)
            self.assertEqual(resp.status, 200)
            self.assertIs(resp.json()["available"], False)
            self.assertIsNone(resp.json()["track"])
        self.assertEqual(self.view_count(sid), 0)

    def test_licence_truth(self):
        cases = [
            ("commercial_cleared@2026-01", [], True, False),
            ("commercial_cleared@2026-01", ["--no-commercial"], False, False),
            ("commercial_enterprise@2026-01", [], True, False),
            ("unclear@2026-01", [], False, True),
            ("commercial_cleared@1999-01", [], False, True),
        ]
        for licence, extra, commercial, attribution in cases:
            with self.subTest(licence=licence, extra=extra):
                tid = self.inst.add_track(licence=licence, extra=extra)
                _, token = self.inst.share(tid)
                facts = self.daemon.resolve(token).json()["track"]["licence"]
                self.assertEqual(facts["commercial_use"], commercial)
                self.assertEqual(facts["requires_attribution"], attribution)
                self.assertEqual(facts["licence_class"] + "@" + facts["licence_version"], licence)

    # --- errors -------------------------------------------------------------
    def test_unknown_and_malformed_tokens(self):
        for token in ["shr_" + "0" * 32, "shr_123", "SHR_" + "a" * 32, "shr_" + "A" * 32, "x" * 300,
                      "shr_%27%20OR%201=1", ""]:
            with self.subTest(token=token):
                self.assert_error(self.daemon.resolve(token), 404, "SHARE_NOT_FOUND")

    def test_revoked_expired_exhausted(self):
        tid = self.inst.add_track()
        sid, token = self.inst.share(tid)
        self.assertEqual(self.daemon.resolve(token).status, 200)
        self.inst.sharectl("share", "revoke", sid, "--reason", "leaked")
        self.assert_error(self.daemon.resolve(token), 410, "SHARE_REVOKED")

        sid, token = self.inst.share(tid)
        self.inst.sharectl("share", "expire", sid)
        self.assert_error(self.daemon.resolve(token), 410, "SHARE_EXPIRED")

        sid, token = self.inst.share(tid, "--max-views", "2")
        self.assertEqual(self.daemon.resolve(token).status, 200)
        self.assertEqual(self.daemon.resolve(token).status, 200)
        self.assert_error(self.daemon.resolve(token), 410, "SHARE_LIMIT_REACHED")
        self.assertEqual(self.view_count(sid), 2)

    def test_revoked_beats_expired(self):
        sid, token = self.inst.share(self.inst.add_track())
        self.inst.sharectl("share", "expire", sid)
        self.inst.sharectl("share", "revoke", sid)
        self.assert_error(self.daemon.resolve(token), 410, "SHARE_REVOKED")

    def test_unknown_route_and_wrong_method(self):
        for path in ["/", "/v1/music/shared", "/v1/music/shared/a/b", "/nope", "/v1/music/other/x"]:
            with self.subTest(path=path):
                resp = self.daemon.get(path)
                self.assertEqual(resp.status, 404)
                self.assertEqual(resp.json()["error"]["code"], "NOT_FOUND")
                self.assertEqual(resp.header("content-type"), PUBLIC_HEADERS["content-type"])
                self.assertEqual(resp.header("cache-control"), "no-store")
        for method in ["POST", "PUT", "DELETE", "PATCH"]:
            with self.subTest(method=method):
                resp = self.daemon.request(method, "/v1/music/shared/shr_" + "0" * 32, body=b"{}")
                self.assertEqual(resp.status, 405)
                self.assertEqual(resp.json()["error"]["code"], "METHOD_NOT_ALLOWED")
                self.assertEqual(resp.header("allow"), "GET, HEAD, OPTIONS")
                self.assertRegex(resp.header("x-request-id"), r"^req_[0-9a-f]{16}$")
                self.assertEqual(resp.json()["error"]["request_id"], resp.header("x-request-id"))
                self.assertIsNotNone(resp.header("ratelimit"))

    def test_a_route_parameter_is_one_whole_segment(self):
        # The daemon matches its busiest routes itself (no regex): the same
        # answers as the patterns, an empty last segment included.
        empty = self.daemon.get("/v1/music/shared/")
        self.assert_error(empty, 404, "SHARE_NOT_FOUND")
        for path in ["/v1/music/shared/x/", "/v1/music/sharedx", "/v1/music/shared//x", "/v1/music/media/x/y",
                     "/v1/music/media"]:
            with self.subTest(path=path):
                self.assertEqual(self.daemon.get(path).json()["error"]["code"], "NOT_FOUND")

    def test_garbage_requests_get_json_bad_request(self):
        for raw in [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET /v1/music/shared/x HTTP/9.9\r\n\r\n",
                    b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"\x00\x01\x02\xff\r\n\r\n"]:
            with self.subTest(raw=raw[:30]):
                answer = self.daemon.raw(raw, malformed=True)
                head, _, body = answer.partition(b"\r\n\r\n")
                self.assertRegex(head.split(b"\r\n")[0], rb"^HTTP/1\.1 400 ")
                self.assertIn(b"application/json", head)
                self.assertEqual(json.loads(body)["error"]["code"], "BAD_REQUEST")
        # The daemon is still healthy afterwards.
        self.assertEqual(self.daemon.get("/healthz").status, 200)

    def test_no_internal_detail_in_any_error(self):
        answers = [self.daemon.resolve("shr_" + "f" * 32), self.daemon.get("/x"),
                   self.daemon.request("POST", "/v1/music/shared/x")]
        for resp in answers:
            text = resp.body.decode() + json.dumps(resp.headers)
            for leak in ["SQL", "sqlite", "/tmp", "exception", "EXCEPTION_WHAT", "what()"]:
                self.assertNotIn(leak, text)

    # --- methods ----------------------------------------------------------
    def test_head_same_status_and_headers_no_body_no_view(self):
        sid, token = self.inst.share(self.inst.add_track(), "--max-views", "1")
        resp = self.daemon.resolve(token, method="HEAD")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"")
        self.assert_public_headers(resp, noindex=True)
        self.assertEqual(self.view_count(sid), 0)
        self.assertEqual(self.daemon.resolve("shr_" + "0" * 32, method="HEAD").status, 404)
        self.assertEqual(self.daemon.resolve(token).status, 200)
        head = self.daemon.resolve(token, method="HEAD")
        self.assertEqual(head.status, 410)
        self.assertEqual(head.body, b"")

    def test_head_content_length_is_that_of_get(self):
        # SPEC 4: HEAD has GET's headers, Content-Length too (a GET body carries playback URLs).
        tids = [self.inst.add_track(title="Track %d" % i) for i in range(3)]
        cid = self.inst.add_collection("Head Check", tids)
        for target, agent in ((tids[0], None), (cid, None), (tids[0], "Slackbot 1.0")):
            with self.subTest(target=target, agent=agent):
                sid, token = self.inst.share(target, "--max-views", "5")  # counted exactly, at once
                headers = {"User-Agent": agent} if agent else None
                head = self.daemon.resolve(token, headers, method="HEAD")
                self.assertEqual(head.status, 200)
                self.assertEqual(head.body, b"")
                self.assertEqual(self.view_count(sid), 0, "HEAD counts no view")
                get = self.daemon.resolve(token, headers)
                self.assertEqual(get.status, 200)
                self.assertEqual(head.header("content-length"), str(len(get.body)))
                self.assertEqual(head.header("content-length"), get.header("content-length"))
                playback = [t["playback_url"] for t in ([get.json()["track"]] if get.json()["track"]
                                                       else get.json()["tracks"])]
                self.assertEqual(all(url is None for url in playback), agent is not None)
                self.assertEqual(self.view_count(sid), 0 if agent else 1)

    def test_range_header_does_not_cut_json_answers(self):
        _, token = self.inst.share(self.inst.add_track())
        for token_or_junk, status in ((token, 200), ("shr_" + "e" * 32, 404)):
            resp = self.daemon.resolve(token_or_junk, {"Range": "bytes=0-5"})
            self.assertEqual(resp.status, status)
            self.assertIsNone(resp.header("content-range"))
            resp.json()  # the whole body, still valid JSON

    def test_options_preflight(self):
        resp = self.daemon.request("OPTIONS", "/v1/music/shared/shr_" + "0" * 32,
                                   {"Origin": "https://example.net", "Access-Control-Request-Method": "GET"})
        self.assertEqual(resp.status, 204)
        self.assertEqual(resp.header("access-control-allow-origin"), "*")
        self.assertIn("GET", resp.header("access-control-allow-methods"))
        self.assertIsNone(resp.header("access-control-allow-credentials"))
        self.assertEqual(resp.body, b"")
        self.assertRegex(resp.header("x-request-id"), r"^req_[0-9a-f]{16}$")
        self.assertIsNotNone(resp.header("ratelimit"))
        self.assertIsNotNone(resp.header("ratelimit-policy"))

    def test_every_header_appears_once(self):
        _, token = self.inst.share(self.inst.add_track())
        requests = [b"GET /v1/music/shared/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % token.encode(),
                    b"GET /v1/music/shared/shr_x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    b"POST /v1/music/shared/shr_x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n",
                    b"OPTIONS /v1/music/shared/shr_x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    b"BROKEN\r\n\r\n"]
        for raw in requests:
            with self.subTest(request=raw[:40]):
                head = self.daemon.raw(raw, malformed=raw.startswith(b"BROKEN")).partition(b"\r\n\r\n")[0].decode()
                names = [line.split(":", 1)[0].lower() for line in head.split("\r\n")[1:]]
                duplicates = {n for n in names if names.count(n) > 1}
                self.assertEqual(duplicates, set(), head)
                self.assertIn("x-request-id", names)

    # --- previews and credentials -------------------------------------------
    def test_link_preview_fetchers_get_null_playback_and_count_no_view(self):
        sid, token = self.inst.share(self.inst.add_track(), "--max-views", "1")
        agents = ["Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
                  "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
                  "facebookexternalhit/1.1", "Twitterbot/1.0", "WhatsApp/2.23.20.0", "TelegramBot (like TwitterBot)",
                  "LinkedInBot/1.0", "Mozilla/5.0 SkypeUriPreview Preview/0.5"]
        for agent in agents:
            with self.subTest(agent=agent):
                resp = self.daemon.resolve(token, {"User-Agent": agent})
                self.assertEqual(resp.status, 200)
                self.assertIsNone(resp.json()["track"]["playback_url"])
        self.assertEqual(self.view_count(sid), 0)
        # A browser gets a playable URL and burns the one view.
        resp = self.daemon.resolve(token, {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"})
        self.assertIsNotNone(resp.json()["track"]["playback_url"])
        self.assertEqual(self.view_count(sid), 1)

    def test_preview_of_collection_nulls_every_playback_url(self):
        cid = self.inst.add_collection("Prev", [self.inst.add_track(), self.inst.add_track()])
        _, token = self.inst.share(cid)
        tracks = self.daemon.resolve(token, {"User-Agent": "Slackbot 1.0"}).json()["tracks"]
        self.assertEqual(len(tracks), 2)
        self.assertTrue(all(t["playback_url"] is None for t in tracks))

    def test_authorization_and_api_key_are_ignored(self):
        sid, token = self.inst.share(self.inst.add_track())
        resp = self.daemon.resolve(token, {"Authorization": "Bearer sk_live_abcdef", "X-API-Key": "key_123"})
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.view_count(sid), 1)

    # --- freshness and atomicity ----------------------------------------------
    def test_sharectl_changes_are_seen_by_the_next_resolve(self):
        tid = self.inst.add_track()
        sid, token = self.inst.share(tid)
        for _ in range(3):
            self.assertEqual(self.daemon.resolve(token).status, 200)
        self.inst.sharectl("track", "remove", tid)
        self.assertIs(self.daemon.resolve(token).json()["available"], False)
        self.inst.sharectl("track", "restore", tid)
        self.assertIs(self.daemon.resolve(token).json()["available"], True)
        self.inst.sharectl("share", "revoke", sid)
        self.assertEqual(self.daemon.resolve(token).status, 410)

    def test_max_views_exact_under_concurrency(self):
        sid, token = self.inst.share(self.inst.add_track(), "--max-views", "10")
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda _: self.daemon.resolve(token).status, range(60)))
        self.assertEqual(statuses.count(200), 10)
        self.assertEqual(statuses.count(410), 50)
        self.assertEqual(self.view_count(sid), 10)

    def test_health_and_ready(self):
        self.assertEqual(self.daemon.get("/healthz").json(), {"status": "ok"})
        ready = self.daemon.get("/readyz")
        self.assertEqual(ready.status, 200)
        self.assertEqual(ready.json(), {"status": "ready"})

    def test_operational_routes_answer_the_methods_their_allow_names(self):
        for path in ("/healthz", "/readyz", "/metrics"):
            with self.subTest(path=path):
                refused = self.daemon.request("DELETE", path)
                self.assertEqual(refused.status, 405)
                allowed = [m.strip() for m in refused.header("allow").split(",")]
                self.assertEqual(allowed, ["GET", "HEAD", "OPTIONS"])
                for method in allowed:
                    resp = self.daemon.request(method, path)
                    self.assertEqual(resp.status, 204 if method == "OPTIONS" else 200, method)
                options = self.daemon.request("OPTIONS", path)
                self.assertEqual(options.header("allow"), "GET, HEAD, OPTIONS")
                self.assertEqual(options.body, b"")
                self.assertRegex(options.header("x-request-id"), r"^req_[0-9a-f]{16}$")
                self.assertIsNone(options.header("ratelimit"))


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation()

    def tearDown(self):
        self.inst.cleanup()

    def run_daemon(self, *args, timeout=20):
        return subprocess.run([SHARED_LINKD] + list(args), capture_output=True, text=True, timeout=timeout)

    def test_version(self):
        proc = self.run_daemon("--version")
        self.assertEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout, r"^shared-linkd \d+\.\d+\.\d+\n$")

    def test_unknown_flag_is_a_usage_error(self):
        proc = self.run_daemon("--frobnicate")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("shared-linkd: error:", proc.stderr)

    def test_bad_listen_is_a_usage_error(self):
        proc = self.run_daemon("--config", self.inst.config_path, "--listen", "nonsense")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--listen", proc.stderr)

    def test_check_config_ok(self):
        proc = self.run_daemon("--config", self.inst.config_path, "--check-config")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_check_config_reports_every_problem(self):
        with open(self.inst.config_path, "a") as f:
            f.write("\n[audit]\nretention_days = 0\nip_retention_dayz = 3\n")
        proc = self.run_daemon("--config", self.inst.config_path, "--check-config")
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr, r"shared-linkd\.toml:\d+:\d+: .*retention_days")
        self.assertIn('"ip_retention_dayz"', proc.stderr)
        self.assertIn("ip_retention_days", proc.stderr)  # the suggestion

    @sqlite_only('moves, edits or names SQLite database files')
    def test_check_config_finds_missing_databases(self):
        os.remove(self.inst.path("shared-link.db"))
        proc = self.run_daemon("--config", self.inst.config_path, "--check-config")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("sharectl init", proc.stderr)

    @sqlite_only('moves, edits or names SQLite database files')
    def test_refuses_schema_older_or_newer(self):
        db = self.inst.path("shared-link.db")
        for version, hint in [(0, "sharectl init"), (99, "upgrade")]:
            with self.subTest(version=version):
                con = sqlite3.connect(db)
                con.execute("PRAGMA user_version = %d" % version)
                con.close()
                proc = self.run_daemon("--config", self.inst.config_path)
                self.assertEqual(proc.returncode, 1)
                self.assertIn(hint, proc.stderr)
                self.assertIn("schema version %d" % version, proc.stderr)

    @sqlite_only('moves, edits or names SQLite database files')
    def test_missing_database_fails_fast(self):
        os.remove(self.inst.path("shared-link.db"))
        proc = self.run_daemon("--config", self.inst.config_path)
        self.assertEqual(proc.returncode, 1)
        self.assertIn('does not exist (run "sharectl init")', proc.stderr)

    @sqlite_only('moves, edits or names SQLite database files')
    def test_db_flag_overrides_database_path(self):
        proc = self.run_daemon("--config", self.inst.config_path, "--db", self.inst.path("other.db"), "--check-config")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("other.db", proc.stderr)

    def test_sigterm_and_sigint_exit_zero(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=signum):
                daemon = Daemon(self.inst)
                self.assertEqual(daemon.get("/healthz").status, 200)
                self.assertEqual(daemon.stop(signum), 0)
                self.assertIn("msg=stopped", daemon.log())

    def test_a_signal_during_startup_is_never_lost(self):
        # A SIGTERM that arrives while the daemon starts (signals already
        # blocked, the accept loop not yet running) must still stop it.
        # Before the signal mask is set the default action ends it (-SIGTERM).
        for delay_ms in (0, 2, 5, 10, 20, 40, 80):
            with self.subTest(delay_ms=delay_ms):
                proc = subprocess.Popen([SHARED_LINKD, "--config", self.inst.config_path],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    time.sleep(delay_ms / 1000)
                    proc.send_signal(signal.SIGTERM)
                    self.assertIn(proc.wait(20), (0, -signal.SIGTERM))
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()

    def test_listen_flag_and_public_base_url_follow_the_bound_port(self):
        daemon = Daemon(self.inst, ["--listen", "127.0.0.1:0"])
        try:
            _, token = self.inst.share(self.inst.add_track())
            url = daemon.resolve(token).json()["track"]["playback_url"]
            self.assertTrue(url.startswith("http://127.0.0.1:%d/v1/music/media/" % daemon.port), url)
        finally:
            daemon.stop()

    def test_configured_public_base_url(self):
        self.inst.config["server"]["public_base_url"] = "https://music.example.org/"
        self.inst.write_config()
        daemon = Daemon(self.inst)
        try:
            _, token = self.inst.share(self.inst.add_track())
            url = daemon.resolve(token).json()["track"]["playback_url"]
            self.assertTrue(url.startswith("https://music.example.org/v1/music/media/"), url)
        finally:
            daemon.stop()


@sqlite_only('the demo is a throwaway SQLite installation by nature')
class DemoTest(unittest.TestCase):
    def test_demo_serves_its_links(self):
        proc = subprocess.Popen([SHARED_LINKD, "--demo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            port = None
            deadline = time.time() + 20
            log = []
            while port is None and time.time() < deadline:
                line = proc.stderr.readline()
                log.append(line)
                if "msg=listening" in line:
                    port = int(line.split("addr=")[1].split()[0].rsplit(":", 1)[1])
            self.assertIsNotNone(port, "".join(log))
            out = []
            while True:
                line = proc.stdout.readline()
                out.append(line)
                if line.startswith("Manage it with"):
                    break
            text = "".join(out)
            urls = [w for w in text.split() if "/v1/music/shared/" in w]
            self.assertGreaterEqual(len(urls), 4)
            import urllib.request
            import urllib.error
            statuses = []
            for url in urls:
                self.assertIn("127.0.0.1:%d" % port, url)
                path = url[url.index("/v1/"):]
                try:
                    with urllib.request.urlopen(url) as r:
                        check_answer("GET", path, r.status, r.getheaders(), r.read())
                        statuses.append(r.status)
                except urllib.error.HTTPError as e:
                    check_answer("GET", path, e.code, e.headers.items(), e.read())
                    statuses.append(e.code)
            self.assertIn(200, statuses)
            self.assertIn(410, statuses)
            self.assertIn(404, statuses)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(20), 0)


if __name__ == "__main__":
    unittest.main()
