"""The signed media route in builtin mode against the real shared-linkd (SPEC 5)."""

import hashlib
import http.client
import os
import time
import unittest
import urllib.parse

from sharelink_testlib import Daemon, Installation
from clock_offset import ClockOffset

GENEROUS_LIMITS = {"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000, "misses_per_minute": 1000000,
                                  "media_requests_per_minute": 1000000, "media_burst": 1000000}}

PUBLIC_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "access-control-allow-origin": "*",
}


def audio_bytes(size, seed):
    """Deterministic, non-repeating bytes (a wrong offset shows)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%s-%d" % (seed.encode(), counter)).digest()
        counter += 1
    return bytes(out[:size])


def audit_rows(inst, event="media"):
    return inst.audit_rows(event)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


class MediaTestCase(unittest.TestCase):
    """Shared helpers: resolving a share to its playback URLs, fetching them."""

    def playback_urls(self, daemon, token):
        resp = daemon.resolve(token)
        self.assertEqual(resp.status, 200, resp.body)
        body = resp.json()
        tracks = [body["track"]] if body["track"] else body["tracks"]
        return {t["id"]: t["playback_url"] for t in tracks}

    def playback_path(self, daemon, url):
        self.assertTrue(url.startswith(daemon.base_url + "/v1/music/media/"), url)
        return url[len(daemon.base_url):]

    def assert_error(self, resp, status, code, limited=True):
        self.assertEqual(resp.status, status, resp.body)
        if limited:  # answers of the media route itself carry the media bucket's fields
            self.assertRegex(resp.header("ratelimit") or "", r'^"per-ip";r=\d+;t=\d+$')
            self.assertRegex(resp.header("ratelimit-policy") or "", r'^"per-ip";q=\d+;w=\d+$')
        body = resp.json()
        self.assertEqual(list(body), ["success", "error"])
        self.assertIs(body["success"], False)
        self.assertEqual(body["error"]["code"], code)
        self.assertEqual(body["error"]["request_id"], resp.header("x-request-id"))
        self.assertEqual(resp.header("content-type"), "application/json; charset=utf-8")
        self.assertEqual(resp.header("x-robots-tag"), "noindex")
        for name, value in PUBLIC_HEADERS.items():
            self.assertEqual(resp.header(name), value, name)


class BuiltinMediaTest(MediaTestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation(GENEROUS_LIMITS)
        cls.clock = ClockOffset(cls.inst.dir)
        cls.daemon = Daemon(cls.inst, env=cls.clock.env())

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def new_track(self, size=200000, mime=None, name=None, title="Track"):
        name = name or "t%d-%s.ogg" % (size, os.urandom(4).hex())
        data = audio_bytes(size, name)
        self.inst.write_media(name, data)
        extra = ["--mime", mime] if mime else []
        return self.inst.add_track(title, audio=name, extra=extra), data

    def shared_track(self, size=200000, mime=None, *share_args):
        tid, data = self.new_track(size, mime)
        sid, token = self.inst.share(tid, *share_args)
        path = self.playback_path(self.daemon, self.playback_urls(self.daemon, token)[tid])
        return tid, sid, token, path, data

    # --- 200, ranges, HEAD ----------------------------------------------
    def test_playback_url_streams_the_exact_file_with_its_mime_type(self):
        tid, sid, _, path, data = self.shared_track(200000, "audio/ogg")  # several 64 KiB chunks
        resp = self.daemon.get(path)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, data)
        self.assertEqual(resp.header("content-type"), "audio/ogg")
        self.assertEqual(resp.header("content-length"), str(len(data)))
        self.assertEqual(resp.header("accept-ranges"), "bytes")
        self.assertIsNone(resp.header("content-range"))
        for name, value in PUBLIC_HEADERS.items():
            self.assertEqual(resp.header(name), value, name)
        self.assertRegex(resp.header("x-request-id"), r"^req_[0-9a-f]{16}$")
        self.assertEqual(resp.header("x-robots-tag"), "noindex")  # link_only share
        self.assertRegex(resp.header("ratelimit"), r'^"per-ip";r=\d+;t=\d+$')
        self.assertRegex(resp.header("ratelimit-policy"), r'^"per-ip";q=1000000;w=\d+$')
        self.assertIn("Content-Range", resp.header("access-control-expose-headers"))

    def test_public_share_media_is_not_marked_noindex(self):
        _, _, _, path, data = self.shared_track(1000, None, "--visibility", "public")
        resp = self.daemon.get(path)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, data)
        self.assertEqual(resp.header("content-type"), "audio/ogg")  # guessed from .ogg by sharectl
        self.assertIsNone(resp.header("x-robots-tag"))

    def test_single_ranges_answer_206_with_the_right_bytes(self):
        _, _, _, path, data = self.shared_track(200000)
        n = len(data)
        cases = [
            ("bytes=0-9", 0, 9),
            ("bytes=100-", 100, n - 1),
            ("bytes=-5", n - 5, n - 1),
            ("bytes=60000-140000", 60000, 140000),  # across chunk boundaries
            ("bytes=%d-%d" % (n - 10, n + 1000), n - 10, n - 1),  # last clamped to the end
            ("bytes=-%d" % (n * 2), 0, n - 1),  # suffix longer than the file
            ("bytes=%d-%d" % (n - 1, n - 1), n - 1, n - 1),
        ]
        for header, first, last in cases:
            with self.subTest(range=header):
                resp = self.daemon.get(path, {"Range": header})
                self.assertEqual(resp.status, 206)
                self.assertEqual(resp.body, data[first:last + 1])
                self.assertEqual(resp.header("content-range"), "bytes %d-%d/%d" % (first, last, n))
                self.assertEqual(resp.header("content-length"), str(last - first + 1))
                self.assertEqual(resp.header("accept-ranges"), "bytes")
                self.assertEqual(resp.header("content-type"), "audio/ogg")

    def test_unsatisfiable_range_answers_416_with_the_size(self):
        _, _, _, path, data = self.shared_track(5000)
        for header in ("bytes=5000-", "bytes=5000-6000", "bytes=99999999-", "bytes=-0"):
            with self.subTest(range=header):
                resp = self.daemon.get(path, {"Range": header})
                self.assertEqual(resp.status, 416, resp.body)
                self.assertEqual(resp.header("content-range"), "bytes */5000")
                self.assertEqual(resp.json()["error"]["code"], "RANGE_NOT_SATISFIABLE")
                self.assertEqual(resp.json()["error"]["request_id"], resp.header("x-request-id"))

    def test_unsatisfiable_range_sends_each_header_once_and_noindex(self):
        # An error answer is noindex whatever the share's visibility (SPEC 4), and no header repeats.
        for share_args in ((), ("--visibility", "public")):
            with self.subTest(share=share_args):
                _, _, _, path, _ = self.shared_track(100, None, *share_args)
                for method in ("GET", "HEAD"):
                    resp = self.daemon.request(method, path, {"Range": "bytes=100-"})
                    self.assertEqual(resp.status, 416)
                    names = [name.lower() for name, _ in resp.raw_headers]
                    self.assertEqual(sorted({n for n in names if names.count(n) > 1}), [], resp.raw_headers)
                    self.assertEqual(resp.header("x-robots-tag"), "noindex")
                    self.assertRegex(resp.header("x-request-id"), r"^req_[0-9a-f]{16}$")

    def test_multi_range_and_if_range_answer_the_whole_file(self):
        # Documented choice: several ranges are answered with the whole file
        # (200), as RFC 9110 allows; so is a Range with an If-Range validator
        # this server never hands out.
        _, _, _, path, data = self.shared_track(5000)
        for headers in ({"Range": "bytes=0-1,10-20"}, {"Range": "bytes=0-9", "If-Range": '"some-etag"'}):
            with self.subTest(headers=headers):
                resp = self.daemon.get(path, headers)
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.body, data)
                self.assertIsNone(resp.header("content-range"))

    def test_empty_file_is_served_empty_and_any_range_is_unsatisfiable(self):
        tid, _, _, path, data = self.shared_track(0)
        self.assertEqual(data, b"")
        resp = self.daemon.get(path)
        self.assertEqual((resp.status, resp.body, resp.header("content-length")), (200, b"", "0"))
        self.assertEqual(resp.header("content-type"), "audio/ogg")
        resp = self.daemon.get(path, {"Range": "bytes=0-"})
        self.assertEqual((resp.status, resp.header("content-range")), (416, "bytes */0"))

    def test_unsafe_stored_mime_type_is_not_sent_as_a_header(self):
        tid, _, _, path, data = self.shared_track(100)
        self.inst.execute("UPDATE tracks SET mime_type = ? WHERE id = ?", ("audio/ogg\r\nX-Injected: 1", tid))
        resp = self.daemon.get(path)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, data)
        self.assertEqual(resp.header("content-type"), "application/octet-stream")
        self.assertIsNone(resp.header("x-injected"))

    def test_head_has_the_same_status_and_headers_without_a_body(self):
        _, _, _, path, data = self.shared_track(5000)
        for headers, status, length in (({}, 200, 5000), ({"Range": "bytes=10-19"}, 206, 10),
                                        ({"Range": "bytes=9000-"}, 416, None)):
            with self.subTest(headers=headers):
                get = self.daemon.get(path, headers)
                head = self.daemon.request("HEAD", path, headers)
                self.assertEqual(head.status, status)
                self.assertEqual(get.status, status)
                self.assertEqual(head.body, b"")
                for name in ("content-type", "content-length", "content-range", "accept-ranges", "cache-control",
                             "x-content-type-options"):
                    self.assertEqual(head.header(name), get.header(name), name)
                if length is not None:
                    self.assertEqual(head.header("content-length"), str(length))

    def test_head_of_a_refused_url_has_the_error_status_and_no_body(self):
        _, _, _, path, _ = self.shared_track(1000)
        resp = self.daemon.request("HEAD", path.replace("sig=", "sig=A"))
        self.assertEqual(resp.status, 403)
        self.assertEqual(resp.body, b"")
        self.assertEqual(resp.header("content-type"), "application/json; charset=utf-8")

    def test_options_preflight_is_answered(self):
        _, _, _, path, _ = self.shared_track(1000)
        resp = self.daemon.request("OPTIONS", path)
        self.assertEqual(resp.status, 204)
        self.assertIn("GET", resp.header("access-control-allow-methods"))

    def test_wrong_method_is_405(self):
        _, _, _, path, _ = self.shared_track(1000)
        resp = self.daemon.request("POST", path, body=b"")
        self.assert_error(resp, 405, "METHOD_NOT_ALLOWED", limited=False)

    # --- signature ------------------------------------------------------
    def test_tampered_or_missing_parameters_are_403_signature_invalid(self):
        tid, sid, _, path, _ = self.shared_track(1000)
        other_tid, other_sid, _, _, _ = self.shared_track(1000)
        base, query = path.split("?")
        params = dict(urllib.parse.parse_qsl(query))
        self.assertEqual(list(params), ["share", "exp", "kid", "sig"])

        def url(track=tid, drop=None, extra="", **changes):
            values = dict(params, **changes)
            if drop:
                del values[drop]
            return "/v1/music/media/%s?%s%s" % (track, urllib.parse.urlencode(values), extra)

        flipped = params["sig"][:-1] + ("A" if params["sig"][-1] != "A" else "B")
        cases = {
            "sig flipped": url(sig=flipped),
            "sig empty": url(sig=""),
            "sig of another URL": url(sig=params["sig"][::-1]),
            "sig padded": url(sig=params["sig"] + "="),
            "exp plus one": url(exp=str(int(params["exp"]) + 1)),
            "exp with a leading zero": url(exp="0" + params["exp"]),
            "exp not a number": url(exp="soon"),
            "unknown kid": url(kid="zz-unknown"),
            "another share": url(share=other_sid),
            "another track": url(track=other_tid),
            "track of another share": url(track=other_tid, share=other_sid),
            "missing sig": url(drop="sig"),
            "missing exp": url(drop="exp"),
            "missing kid": url(drop="kid"),
            "missing share": url(drop="share"),
            "repeated share": url(extra="&share=" + other_sid),
            "second, different sig": url(extra="&sig=" + flipped),
            "empty track": url(track=""),
        }
        self.assertEqual(self.daemon.get(url()).status, 200)
        for name, target in cases.items():
            with self.subTest(name):
                self.assert_error(self.daemon.get(target), 403, "SIGNATURE_INVALID")

    def test_expired_url_is_410_playback_url_expired(self):
        # The URL lives until min(now + ttl, share expiry): a share ending in
        # 2 s gives a URL that ends with it.
        _, _, _, path, data = self.shared_track(1000, None, "--expires-at", "2s")
        exp = int(dict(urllib.parse.parse_qsl(path.split("?")[1]))["exp"])
        self.assertLessEqual(exp, time.time() + 3)
        self.assertEqual(self.daemon.get(path).body, data)
        self.addCleanup(self.clock.reset)
        self.clock.pass_time(max(0.0, exp - time.time()) + 1.1)  # the daemon's clock, past exp
        self.assert_error(self.daemon.get(path), 410, "PLAYBACK_URL_EXPIRED")

    # --- the share and the track, checked on every request ---------------
    def test_revocation_is_instant_for_a_url_already_handed_out(self):
        _, sid, _, path, data = self.shared_track(1000)
        self.assertEqual(self.daemon.get(path).body, data)
        self.inst.sharectl("share", "revoke", sid, "--reason", "test")
        self.assert_error(self.daemon.get(path), 410, "SHARE_REVOKED")

    def test_expired_share_is_410_share_expired_while_the_url_is_valid(self):
        _, sid, _, path, data = self.shared_track(1000)
        self.assertEqual(self.daemon.get(path).status, 200)
        self.inst.sharectl("share", "expire", sid)
        self.assert_error(self.daemon.get(path), 410, "SHARE_EXPIRED")

    def test_a_share_at_its_view_limit_still_plays_the_urls_it_handed_out(self):
        # SPEC 5: exhaustion stops new views, not the playback of a view
        # already counted: a max_views = 1 link is playable once opened.
        tid, data = self.new_track(1000)
        sid, token = self.inst.share(tid, "--max-views", "1")
        path = self.playback_path(self.daemon, self.playback_urls(self.daemon, token)[tid])
        self.assertEqual(self.inst.inspect(sid)["status"], "exhausted")
        self.assertEqual(self.daemon.resolve(token).status, 410)  # no new view
        for _ in range(3):
            resp = self.daemon.get(path)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.body, data)
        ranged = self.daemon.get(path, {"Range": "bytes=10-19"})
        self.assertEqual((ranged.status, ranged.body), (206, data[10:20]))
        self.assertEqual(self.inst.inspect(sid)["view_count"], 1)
        # Revocation still stops it at once.
        self.inst.sharectl("share", "revoke", sid)
        self.assert_error(self.daemon.get(path), 410, "SHARE_REVOKED")

    def test_removed_track_is_404_until_restored(self):
        tid, _, _, path, data = self.shared_track(1000)
        self.inst.sharectl("track", "remove", tid)
        self.assert_error(self.daemon.get(path), 404, "NOT_FOUND")
        self.inst.sharectl("track", "restore", tid)
        self.assertEqual(self.daemon.get(path).body, data)

    def test_collection_share_serves_its_tracks_until_dropped_or_removed(self):
        first, first_data = self.new_track(1000)
        second, second_data = self.new_track(1000)
        cid = self.inst.add_collection("Album", [first, second])
        sid, token = self.inst.share(cid)
        urls = {tid: self.playback_path(self.daemon, url) for tid, url in self.playback_urls(self.daemon, token).items()}
        self.assertEqual(self.daemon.get(urls[first]).body, first_data)
        self.assertEqual(self.daemon.get(urls[second]).body, second_data)

        self.inst.sharectl("collection", "drop", cid, first)
        self.assert_error(self.daemon.get(urls[first]), 404, "NOT_FOUND")
        self.assertEqual(self.daemon.get(urls[second]).body, second_data)

        self.inst.sharectl("collection", "remove", cid)
        self.assert_error(self.daemon.get(urls[second]), 404, "NOT_FOUND")

    def test_missing_audio_file_is_404(self):
        tid, _, _, path, _ = self.shared_track(1000)
        os.remove(os.path.join(self.inst.media, self.inst.sharectl_json("track", "show", tid)["audio_path"]))
        self.assert_error(self.daemon.get(path), 404, "NOT_FOUND")

    # --- media_root is never escaped -------------------------------------
    def test_symlink_pointing_outside_media_root_is_404_and_logged(self):
        secret = self.inst.path("outside-secret.ogg")
        with open(secret, "wb") as f:
            f.write(b"SECRET-OUTSIDE-MEDIA-ROOT")
        os.symlink(secret, os.path.join(self.inst.media, "escape.ogg"))
        os.symlink(self.inst.dir, os.path.join(self.inst.media, "escape-dir"))
        for audio in ("escape.ogg", "escape-dir/outside-secret.ogg"):
            with self.subTest(audio=audio):
                tid = self.inst.add_track("Escape", audio=audio)
                _, token = self.inst.share(tid)
                path = self.playback_path(self.daemon, self.playback_urls(self.daemon, token)[tid])
                resp = self.daemon.get(path)
                self.assert_error(resp, 404, "NOT_FOUND")
                self.assertNotIn(b"SECRET", resp.body)
                self.assertTrue(wait_for(lambda: any("escapes media_root" in line and tid in line
                                                     for line in self.daemon.stderr_lines)), self.daemon.log())

    def test_symlink_staying_inside_media_root_is_served(self):
        tid, data = self.new_track(1000, name="real-inside.ogg")
        os.symlink("real-inside.ogg", os.path.join(self.inst.media, "alias-inside.ogg"))
        alias = self.inst.add_track("Alias", audio="alias-inside.ogg")
        _, token = self.inst.share(alias)
        path = self.playback_path(self.daemon, self.playback_urls(self.daemon, token)[alias])
        self.assertEqual(self.daemon.get(path).body, data)

    def test_stored_paths_with_dot_dot_or_absolute_are_404(self):
        # sharectl refuses such paths, so they are written into the database
        # directly, as a damaged or hand-edited catalogue would hold them.
        secret = self.inst.path("outside.ogg")
        with open(secret, "wb") as f:
            f.write(b"SECRET-OUTSIDE")
        for stored in ("../outside.ogg", "sub/../../outside.ogg", secret):
            with self.subTest(stored=stored):
                tid, _, _, path, _ = self.shared_track(1000)
                self.inst.execute("UPDATE tracks SET audio_path = ? WHERE id = ?", (stored, tid))
                resp = self.daemon.get(path)
                self.assert_error(resp, 404, "NOT_FOUND")
                self.assertNotIn(b"SECRET", resp.body)

    def test_unusable_media_root_is_500_and_logged(self):
        _, _, _, path, data = self.shared_track(100)
        moved = self.inst.media + "-moved"
        os.rename(self.inst.media, moved)
        try:
            resp = self.daemon.get(path)
            self.assert_error(resp, 500, "INTERNAL_ERROR")
            self.assertNotIn(self.inst.media.encode(), resp.body)
            request_id = resp.header("x-request-id")
            self.assertTrue(wait_for(lambda: any("media_root" in line and request_id in line
                                                 for line in self.daemon.stderr_lines)), self.daemon.log())
        finally:
            os.rename(moved, self.inst.media)
        self.assertEqual(self.daemon.get(path).body, data)

    # --- views, audit, metrics -------------------------------------------
    def test_media_requests_count_no_views(self):
        tid, sid, _, path, _ = self.shared_track(1000)
        self.assertEqual(self.inst.inspect(sid)["view_count"], 1)  # the resolve
        for headers in ({}, {"Range": "bytes=0-1"}, {"Range": "bytes=5-"}):
            self.assertIn(self.daemon.get(path, headers).status, (200, 206))
        self.daemon.request("HEAD", path)
        self.assertEqual(self.inst.inspect(sid)["view_count"], 1)

    def test_every_media_request_is_audited_with_its_outcome(self):
        tid, sid, _, path, _ = self.shared_track(1000)
        answers = [self.daemon.get(path), self.daemon.get(path.replace("sig=", "sig=A"))]
        self.inst.sharectl("share", "revoke", sid)
        answers.append(self.daemon.get(path))
        wanted = {resp.header("x-request-id") for resp in answers}

        def our_rows():
            rows = [r for r in audit_rows(self.inst) if r["request_id"] in wanted]
            return rows if len(rows) == len(wanted) else None

        rows = wait_for(our_rows)
        self.assertIsNotNone(rows, "one media record per request expected")
        by_request = {r["request_id"]: r for r in rows}
        expected = [("ok", 200), ("bad_signature", 403), ("share_inactive", 410)]
        for resp, (outcome, status) in zip(answers, expected):
            record = by_request[resp.header("x-request-id")]
            self.assertEqual((record["outcome"], record["status"]), (outcome, status))
            self.assertEqual(record["share_id"], sid)
            self.assertEqual(record["client_ip"], "127.0.0.1")
            self.assertIsNone(record["token_fp"])
            sig = dict(urllib.parse.parse_qsl(path.split("?")[1]))["sig"]
            self.assertNotIn(sig, repr(record))

    def test_metrics_count_media_requests(self):
        _, _, _, path, _ = self.shared_track(1000)
        self.daemon.get(path)
        metrics = self.daemon.get("/metrics").body.decode()
        self.assertRegex(metrics, r'sharelink_requests_total\{route="media",outcome="ok"\} [1-9]')


class MediaRateLimitTest(MediaTestCase):
    def test_media_bucket_answers_429_with_retry_after(self):
        inst = Installation({"rate_limit": {"media_requests_per_minute": 1, "media_burst": 3}})
        daemon = Daemon(inst)
        try:
            tid = inst.add_track()
            _, token = inst.share(tid)
            path = self.playback_path(daemon, self.playback_urls(daemon, token)[tid])
            for left in (2, 1, 0):
                resp = daemon.get(path)
                self.assertEqual(resp.status, 200)
                self.assertRegex(resp.header("ratelimit"), r'^"per-ip";r=%d;t=\d+$' % left)
                self.assertEqual(resp.header("ratelimit-policy"), '"per-ip";q=3;w=180')
            resp = daemon.get(path)
            self.assert_error(resp, 429, "RATE_LIMITED")
            self.assertGreaterEqual(int(resp.header("retry-after")), 1)
            self.assertRegex(resp.header("ratelimit"), r'^"per-ip";r=0;t=\d+$')
            # The resolve route has its own bucket.
            self.assertEqual(daemon.resolve(token).status, 200)
            rows = wait_for(lambda: [r for r in audit_rows(inst) if r["outcome"] == "rate_limited"])
            self.assertEqual(rows[0]["status"], 429)
        finally:
            daemon.stop()
            inst.cleanup()


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


class LargeFileTest(MediaTestCase):
    SIZE = 64 * 1024 * 1024

    def test_large_file_streams_without_loading_it_into_memory(self):
        inst = Installation(GENEROUS_LIMITS)
        daemon = Daemon(inst)
        try:
            # Sparse in the middle, distinct bytes at both ends.
            head, tail = audio_bytes(1 << 20, "head"), audio_bytes(1 << 20, "tail")
            name = os.path.join(inst.media, "large.flac")
            with open(name, "wb") as f:
                f.write(head)
                f.seek(self.SIZE - len(tail))
                f.write(tail)
            tid = inst.add_track("Large", audio="large.flac")
            _, token = inst.share(tid)
            path = self.playback_path(daemon, self.playback_urls(daemon, token)[tid])
            baseline_kib = vm_kib(daemon.proc.pid, "VmRSS")

            conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
            conn.request("GET", path)
            resp = conn.getresponse()
            daemon.check_answer("GET", path, resp.status, resp.getheaders(), None)  # streamed below
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.getheader("content-length"), str(self.SIZE))
            self.assertEqual(resp.getheader("content-type"), "audio/flac")
            digest, received, peak_kib = hashlib.sha256(), 0, 0
            while True:
                chunk = resp.read(1 << 20)
                if not chunk:
                    break
                if received == 0:
                    self.assertEqual(chunk[:1024], head[:1024])
                digest.update(chunk)
                received += len(chunk)
                peak_kib = max(peak_kib, vm_kib(daemon.proc.pid, "VmRSS"))
            conn.close()
            expected = hashlib.sha256(head + bytes(self.SIZE - len(head) - len(tail)) + tail).hexdigest()
            self.assertEqual(received, self.SIZE)
            self.assertEqual(digest.hexdigest(), expected)

            # The whole transfer moved the resident set by far less than the file.
            peak_kib = max(peak_kib, vm_kib(daemon.proc.pid, "VmHWM"))
            self.assertLess(peak_kib - baseline_kib, 16 * 1024,
                            "RSS grew from %d KiB to %d KiB for a %d MiB file" % (baseline_kib, peak_kib,
                                                                                  self.SIZE >> 20))

            # A range at the far end of the file.
            resp = daemon.get(path, {"Range": "bytes=-100"})
            self.assertEqual(resp.status, 206)
            self.assertEqual(resp.body, tail[-100:])
            self.assertEqual(resp.header("content-range"), "bytes %d-%d/%d" % (self.SIZE - 100, self.SIZE - 1,
                                                                               self.SIZE))
        finally:
            daemon.stop()
            inst.cleanup()


if __name__ == "__main__":
    unittest.main()
