"""The share page (SPEC 12) against the real shared-linkd: statuses, headers, CSP, previews, views, refresh, oEmbed."""

import base64
import calendar
import concurrent.futures
import hashlib
import html.parser
import json
import re
import subprocess
import time
import unittest
import urllib.parse

from sharelink_testlib import SHARED_LINKD, Daemon, Installation
from clock_offset import ClockOffset

GENEROUS_LIMITS = {"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000, "misses_per_minute": 1000000,
                                  "media_requests_per_minute": 1000000, "media_burst": 1000000}}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"}
PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
REFRESH = "/v1/music/page/playback"


class PageParser(html.parser.HTMLParser):
    """What a test needs from a page: meta tags, links, audio elements, scripts, styles, text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.meta, self.links, self.audio, self.scripts, self.styles, self.headings = {}, [], [], [], [], []
        self.main = {}
        self.text = []
        self._in = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in.append(tag)
        if tag == "meta":
            key = attrs.get("property") or attrs.get("name")
            if key:
                self.meta[key] = attrs.get("content")
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "audio":
            self.audio.append(attrs)
        elif tag == "main":
            self.main = attrs
        for name in attrs:
            if name.startswith("on"):
                raise AssertionError("inline handler %s on <%s>" % (name, tag))

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data):
        where = self._in[-1] if self._in else ""
        if where == "script":
            self.scripts.append(data)
        elif where == "style":
            self.styles.append(data)
        else:
            if where in ("h1", "h2"):
                self.headings.append((where, data))
            self.text.append(data)

    def all_text(self):
        return " ".join(" ".join(self.text).split())


def csp_of(resp):
    policy = {}
    for part in resp.header("content-security-policy").split(";"):
        words = part.split()
        if words:
            policy[words[0]] = words[1:]
    return policy


def sha256_source(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def audit_rows(inst, event=None):
    return inst.audit_rows(event)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


class PageTestCase(unittest.TestCase):
    def page(self, daemon, token, headers=None, method="GET", suffix=""):
        return daemon.request(method, "/s/" + token + suffix, dict(BROWSER, **(headers or {})))

    def assert_page_headers(self, resp, noindex=True):
        for name, value in PAGE_HEADERS.items():
            self.assertEqual(resp.header(name), value, name)
        self.assertRegex(resp.header("x-request-id"), r"^req_[0-9a-f]{16}$")
        self.assertRegex(resp.header("ratelimit"), r'^"per-ip";r=\d+;t=\d+$')
        self.assertRegex(resp.header("ratelimit-policy"), r'^"per-ip";q=\d+;w=\d+$')
        self.assertEqual(resp.header("x-robots-tag"), "noindex" if noindex else None)
        self.assertIsNotNone(resp.header("content-security-policy"))

    def assert_error_page(self, resp, status, code):
        self.assertEqual(resp.status, status, resp.body[:300])
        self.assert_page_headers(resp, noindex=True)
        parsed = PageParser(resp.body.decode())
        text = parsed.all_text()
        self.assertIn("Code %s" % code, text)
        self.assertIn("Request id %s" % resp.header("x-request-id"), text)
        self.assertEqual(parsed.audio, [])
        self.assertEqual(parsed.scripts, [])
        policy = csp_of(resp)
        self.assertEqual(policy["default-src"], ["'none'"])
        self.assertNotIn("script-src", policy)
        self.assertNotIn("media-src", policy)
        for leak in ["SQL", "sqlite", "/tmp", "exception", "what()"]:
            self.assertNotIn(leak, resp.body.decode())
        return parsed


class SharePageTest(PageTestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation(GENEROUS_LIMITS)
        cls.clock = ClockOffset(cls.inst.dir)
        cls.daemon = Daemon(cls.inst, env=cls.clock.env())

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def view_count(self, share_id):
        return self.inst.inspect(share_id)["view_count"]

    # --- 200 pages ----------------------------------------------------------
    def test_track_page(self):
        tid = self.inst.add_track("Late Night Study", extra=["--duration", "120.4", "--instrumental"])
        sid, token = self.inst.share(tid, "--expires-at", "2099-07-28T10:30:00Z", "--max-views", "5")
        resp = self.page(self.daemon, token)
        self.assertEqual(resp.status, 200)
        self.assert_page_headers(resp, noindex=True)
        page = PageParser(resp.body.decode())
        self.assertEqual(page.headings[0], ("h1", "Late Night Study"))
        text = page.all_text()
        for words in ["Instrumental · 2:00", "Not for commercial use", "No credit required",
                      "Licence personal_only, version 2026-01",
                      "This link expires on 28 July 2099 at 10:30 UTC", "It can be opened 4 more times."]:
            self.assertIn(words, text)
        self.assertEqual(len(page.audio), 1)
        audio = page.audio[0]
        self.assertEqual((audio["preload"], audio["data-track"]), ("none", tid))
        self.assertIn("controls", audio)
        self.assertRegex(audio["src"], r"^%s/v1/music/media/%s\?share=%s&exp=\d+&kid=[A-Za-z0-9_-]+&sig=[A-Za-z0-9_-]{43}$"
                         % (re.escape(self.daemon.base_url), tid, sid))
        self.assertEqual(self.view_count(sid), 1)
        # Meta tags of SPEC 12.
        self.assertEqual(page.meta["og:title"], "Late Night Study")
        self.assertEqual(page.meta["og:type"], "music.song")
        self.assertEqual(page.meta["og:url"], self.daemon.base_url + "/s/" + token)
        self.assertEqual(page.meta["og:site_name"], "shared-link")
        self.assertEqual(page.meta["og:description"],
                         "Instrumental track, 2:00. Not for commercial use, no credit required.")
        self.assertEqual(page.meta["twitter:card"], "summary")
        self.assertEqual(page.meta["robots"], "noindex")
        self.assertEqual(page.meta["viewport"], "width=device-width, initial-scale=1")
        # Without JavaScript the page plays what it was served with: the src is a working playback URL.
        media = self.daemon.get(audio["src"][len(self.daemon.base_url):])
        self.assertEqual(media.status, 200)
        self.assertTrue(media.body.startswith(b"RIFF"))

    def test_collection_page_lists_tracks_in_order(self):
        a = self.inst.add_track("Alpha", extra=["--duration", "61"])
        b = self.inst.add_track("Beta", licence="commercial_cleared@2026-01", extra=["--duration", "3725"])
        c = self.inst.add_track("Gamma")
        cid = self.inst.add_collection("Focus <Sessions>", [c, a, b], description="Late & quiet")
        sid, token = self.inst.share(cid, "--visibility", "public")
        self.inst.sharectl("track", "remove", c)
        resp = self.page(self.daemon, token)
        self.assertEqual(resp.status, 200)
        self.assert_page_headers(resp, noindex=False)
        page = PageParser(resp.body.decode())
        self.assertEqual(page.headings, [("h1", "Focus <Sessions>"), ("h2", "Alpha"), ("h2", "Beta")])
        self.assertEqual([x["data-track"] for x in page.audio], [a, b])
        self.assertTrue(all(x["src"].startswith(self.daemon.base_url + "/v1/music/media/") for x in page.audio))
        text = page.all_text()
        self.assertIn("Late & quiet", text)
        self.assertIn("Duration 1:01", text)
        self.assertIn("Duration 1:02:05", text)
        self.assertIn("Commercial use allowed · No credit required · commercial_cleared 2026-01", text)
        self.assertEqual(page.meta["og:type"], "music.playlist")
        self.assertEqual(page.meta["og:title"], "Focus <Sessions>")
        self.assertNotIn("robots", page.meta)
        self.assertIn(b"Focus &lt;Sessions&gt;", resp.body)
        self.assertEqual(self.view_count(sid), 1)

    def test_removed_content_is_a_200_page_without_player_and_counts_no_view(self):
        tid = self.inst.add_track()
        sid, token = self.inst.share(tid, "--max-views", "1")
        self.inst.sharectl("track", "remove", tid)
        for _ in range(2):
            resp = self.page(self.daemon, token)
            self.assertEqual(resp.status, 200)
            page = PageParser(resp.body.decode())
            self.assertIn("The creator has removed the content behind this share link.", page.all_text())
            self.assertEqual(page.audio, [])
            self.assertNotIn("media-src", csp_of(resp))
        self.assertEqual(self.view_count(sid), 0)

    # --- errors ---------------------------------------------------------------
    def test_error_statuses_as_html_pages(self):
        tid = self.inst.add_track()
        for token in ["shr_" + "0" * 32, "shr_123", "SHR_" + "a" * 32, "x" * 300, "shr_%27%20OR%201=1"]:
            with self.subTest(token=token):
                self.assert_error_page(self.page(self.daemon, token), 404, "SHARE_NOT_FOUND")
        sid, token = self.inst.share(tid)
        self.inst.sharectl("share", "revoke", sid)
        self.assert_error_page(self.page(self.daemon, token), 410, "SHARE_REVOKED")
        sid, token = self.inst.share(tid)
        self.inst.sharectl("share", "expire", sid)
        self.assert_error_page(self.page(self.daemon, token), 410, "SHARE_EXPIRED")
        sid, token = self.inst.share(tid, "--max-views", "1")
        self.assertEqual(self.page(self.daemon, token).status, 200)
        parsed = self.assert_error_page(self.page(self.daemon, token), 410, "SHARE_LIMIT_REACHED")
        self.assertIn("This link has been used up", parsed.all_text())

    def test_wrong_method_and_unknown_subpaths(self):
        resp = self.daemon.request("POST", "/s/shr_" + "0" * 32, body=b"x")
        self.assertIn(resp.status, (400, 405))
        resp = self.daemon.request("DELETE", "/s/shr_" + "0" * 32)
        self.assertEqual(resp.status, 405)
        self.assertEqual(resp.header("allow"), "GET, HEAD, OPTIONS")
        self.assertEqual(resp.header("content-type"), "text/html; charset=utf-8")
        self.assertIn(b"METHOD_NOT_ALLOWED", resp.body)
        for path in ["/s/", "/s/a/b", "/s/shr_%s/embed" % ("0" * 32)]:  # embedding is off here
            with self.subTest(path=path):
                resp = self.daemon.get(path)
                self.assertEqual(resp.status, 404)
                if path != "/s/":
                    self.assertEqual(resp.json()["error"]["code"], "NOT_FOUND")
        self.assertEqual(self.daemon.get("/oembed?url=x").json()["error"]["code"], "NOT_FOUND")

    # --- headers and CSP --------------------------------------------------------
    def test_csp_allows_exactly_the_page_style_script_media_and_refresh(self):
        _, token = self.inst.share(self.inst.add_track())
        resp = self.page(self.daemon, token)
        page = PageParser(resp.body.decode())
        policy = csp_of(resp)
        self.assertEqual(policy["default-src"], ["'none'"])
        self.assertEqual(policy["style-src"], [sha256_source(page.styles[0])])
        self.assertEqual(len(page.scripts), 1)
        self.assertEqual(policy["script-src"], [sha256_source(page.scripts[0])])
        self.assertEqual(policy["media-src"], [self.daemon.base_url + "/v1/music/media/"])
        self.assertEqual(policy["connect-src"], [self.daemon.base_url + REFRESH])
        self.assertEqual(policy["base-uri"], ["'none'"])
        self.assertEqual(policy["form-action"], ["'none'"])
        self.assertEqual(policy["frame-ancestors"], ["'none'"])
        self.assertEqual(policy["img-src"], ["data:"])  # the empty favicon only
        self.assertNotIn("unsafe", resp.header("content-security-policy"))
        self.assertEqual(set(policy), {"default-src", "style-src", "script-src", "media-src", "connect-src",
                                       "img-src", "base-uri", "form-action", "frame-ancestors"})
        self.assertEqual(page.main["data-refresh"], self.daemon.base_url + REFRESH)
        # Self-contained: nothing is loaded from anywhere.
        self.assertNotRegex(resp.body.decode(), r"<(script|link|img|iframe)[^>]+(src|href)=\"https?://(?!127\.0\.0\.1)")

    def test_every_header_appears_once(self):
        _, token = self.inst.share(self.inst.add_track())
        for path in ["/s/" + token, "/s/shr_x"]:
            raw = b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode()
            head = self.daemon.raw(raw).partition(b"\r\n\r\n")[0].decode()
            names = [line.split(":", 1)[0].lower() for line in head.split("\r\n")[1:]]
            self.assertEqual({n for n in names if names.count(n) > 1}, set(), head)

    def test_head_same_status_and_headers_no_body_no_view(self):
        sid, token = self.inst.share(self.inst.add_track(), "--max-views", "1")
        head = self.page(self.daemon, token, method="HEAD")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")
        self.assert_page_headers(head)
        self.assertEqual(self.view_count(sid), 0)
        get = self.page(self.daemon, token)
        self.assertEqual(csp_of(head), csp_of(get))
        self.assertEqual(self.view_count(sid), 1)
        after = self.page(self.daemon, token, method="HEAD")
        self.assertEqual((after.status, after.body), (410, b""))
        self.assertEqual(self.page(self.daemon, "shr_" + "0" * 32, method="HEAD").status, 404)

    # --- previews -----------------------------------------------------------------
    def test_preview_fetchers_get_meta_tags_no_playable_url_and_count_no_view(self):
        tid = self.inst.add_track("Preview Me", extra=["--duration", "90"])
        sid, token = self.inst.share(tid, "--max-views", "1")
        for agent in ["Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "facebookexternalhit/1.1",
                      "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "Twitterbot/1.0",
                      "WhatsApp/2.23.20.0", "TelegramBot (like TwitterBot)", "LinkedInBot/1.0"]:
            with self.subTest(agent=agent):
                resp = self.daemon.request("GET", "/s/" + token, {"User-Agent": agent})
                self.assertEqual(resp.status, 200)
                page = PageParser(resp.body.decode())
                self.assertEqual(page.meta["og:title"], "Preview Me")
                self.assertEqual(page.meta["og:type"], "music.song")
                self.assertEqual(page.audio, [])
                self.assertNotIn(b"/v1/music/media/", resp.body)
                self.assertNotIn(b"data-session", resp.body)
        self.assertEqual(self.view_count(sid), 0)
        rows = wait_for(lambda: [r for r in audit_rows(self.inst, "page") if r["share_id"] == sid])
        self.assertTrue(rows)
        self.assertEqual({r["outcome"] for r in rows}, {"preview"})
        # A browser still gets its one view.
        self.assertEqual(len(PageParser(self.page(self.daemon, token).body.decode()).audio), 1)
        self.assertEqual(self.view_count(sid), 1)

    # --- the view rule ----------------------------------------------------------
    def test_exactly_n_pages_for_max_views_n_under_30_parallel_loads(self):
        sid, token = self.inst.share(self.inst.add_track(), "--max-views", "7")
        with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
            answers = list(pool.map(lambda _: self.page(self.daemon, token), range(30)))
        statuses = [a.status for a in answers]
        self.assertEqual(statuses.count(200), 7)
        self.assertEqual(statuses.count(410), 23)
        self.assertEqual(self.view_count(sid), 7)
        # No page promises more openings than there are.
        lefts = []
        for a in answers:
            if a.status == 200:
                m = re.search(r"It can be opened (\d+) more times|It can be opened (once) more|(cannot) be opened again",
                              a.body.decode())
                self.assertIsNotNone(m)
                lefts.append(int(m.group(1)) if m.group(1) else (1 if m.group(2) else 0))
        # The page that took view k says at most 7 - k: the j-th most generous page promises at most 6 - j.
        self.assertEqual(len(lefts), 7)
        for j, left in enumerate(sorted(lefts, reverse=True)):
            self.assertLessEqual(left, 6 - j, lefts)
        self.assertEqual(min(lefts), 0)  # the last opener is told it cannot be opened again

    def test_page_and_api_views_count_together(self):
        sid, token = self.inst.share(self.inst.add_track(), "--max-views", "2")
        self.assertEqual(self.daemon.resolve(token).status, 200)
        self.assertEqual(self.page(self.daemon, token).status, 200)
        self.assertEqual(self.daemon.resolve(token).status, 410)
        self.assertEqual(self.page(self.daemon, token).status, 410)
        self.assertEqual(self.view_count(sid), 2)

    # --- the refresh ------------------------------------------------------------
    def refresh(self, session, headers=None):
        h = {"X-Page-Session": session} if session is not None else {}
        return self.daemon.request("GET", REFRESH, dict(h, **(headers or {})))

    def session_of(self, resp):
        return PageParser(resp.body.decode()).main["data-session"]

    def test_refresh_gives_fresh_playing_urls_and_counts_no_view(self):
        a, b = self.inst.add_track("A"), self.inst.add_track("B")
        cid = self.inst.add_collection("Mix", [a, b])
        sid, token = self.inst.share(cid, "--max-views", "1")
        page = self.page(self.daemon, token)
        session = self.session_of(page)
        self.assertEqual(self.inst.inspect(sid)["status"], "exhausted")
        urls = set()
        for _ in range(3):
            resp = self.refresh(session, {"User-Agent": "page-refresh-test"})
            self.assertEqual(resp.status, 200, resp.body)
            self.assertEqual(resp.header("content-type"), "application/json; charset=utf-8")
            self.assertEqual(resp.header("cache-control"), "no-store")
            body = resp.json()
            self.assertEqual(list(body), ["expires_in"] + ["tracks"])
            self.assertTrue(0 < body["expires_in"] <= 300)
            self.assertEqual([t["id"] for t in body["tracks"]], [a, b])
            self.assertEqual(list(body["tracks"][0]), ["id", "playback_url"])
            for t in body["tracks"]:
                urls.add(t["playback_url"])
                media = self.daemon.get(t["playback_url"][len(self.daemon.base_url):])
                self.assertEqual(media.status, 200)  # an exhausted link still plays
            # The answer never carries the view: no titles, no licence.
            self.assertNotIn(b"title", resp.body)
            self.assertNotIn(b"licence", resp.body)
        self.assertEqual(self.view_count(sid), 1)
        self.assertEqual(self.daemon.resolve(token).status, 410)  # the session opens nothing
        refreshes = lambda: [r for r in audit_rows(self.inst, "media")
                             if r["share_id"] == sid and r["user_agent"] == "page-refresh-test"]
        wait_for(lambda: len(refreshes()) >= 3)  # the audit writer commits in batches
        rows = refreshes()
        self.assertEqual(len(rows), 3)
        self.assertEqual({r["outcome"] for r in rows}, {"ok"})

    def test_refresh_is_refused_at_once_after_revoke_or_expiry(self):
        tid = self.inst.add_track()
        sid, token = self.inst.share(tid)
        session = self.session_of(self.page(self.daemon, token))
        self.assertEqual(self.refresh(session).status, 200)
        self.inst.sharectl("share", "revoke", sid)
        resp = self.refresh(session)
        self.assertEqual(resp.status, 410)
        self.assertEqual(resp.json()["error"]["code"], "SHARE_REVOKED")

        sid, token = self.inst.share(tid)
        session = self.session_of(self.page(self.daemon, token))
        self.inst.sharectl("share", "expire", sid)
        resp = self.refresh(session)
        self.assertEqual(resp.status, 410)
        self.assertEqual(resp.json()["error"]["code"], "SHARE_EXPIRED")

        sid, token = self.inst.share(tid)
        session = self.session_of(self.page(self.daemon, token))
        self.inst.sharectl("track", "remove", tid)
        resp = self.refresh(session)
        self.assertEqual((resp.status, resp.json()["error"]["code"]), (404, "NOT_FOUND"))
        self.inst.sharectl("track", "restore", tid)
        self.assertEqual(self.refresh(session).status, 200)
        inactive = wait_for(lambda: [r for r in audit_rows(self.inst, "media")
                                     if r["status"] == 410 and r["outcome"] == "share_inactive"])
        self.assertTrue(inactive)

    def test_refresh_refuses_missing_tampered_and_foreign_sessions(self):
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        session = self.session_of(self.page(self.daemon, token))
        other_sid, _ = self.inst.share(tid)
        forged = session.replace(session.split(".")[2], other_sid)
        for bad in [None, "", "x", session[:-1] + ("A" if session[-1] != "A" else "B"), forged, session + ".x",
                    "a" * 5000]:
            with self.subTest(session=bad and bad[:40]):
                resp = self.refresh(bad)
                self.assertEqual(resp.status, 403)
                self.assertEqual(resp.json()["error"]["code"], "PAGE_SESSION_INVALID")
                self.assertRegex(resp.header("ratelimit"), r'^"per-ip";r=\d+;t=\d+$')
        # A token is not a session, and a session is not a token.
        self.assertEqual(self.refresh(token).status, 403)
        self.assertEqual(self.daemon.resolve(session).status, 404)

    def test_sessions_end_with_the_link_expiry(self):
        tid = self.inst.add_track()
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
        _, token = self.inst.share(tid, "--expires-at", at)
        page = self.page(self.daemon, token)
        session = self.session_of(page)
        self.assertLessEqual(int(PageParser(page.body.decode()).main["data-expires-in"]), 3)
        self.assertEqual(int(session.split(".")[4]), calendar.timegm(time.strptime(at, "%Y-%m-%dT%H:%M:%SZ")))
        self.addCleanup(self.clock.reset)
        self.clock.pass_time(4)  # the daemon's clock, past the link's expiry
        resp = self.refresh(session)
        self.assertEqual(resp.status, 410)
        self.assertEqual(resp.json()["error"]["code"], "PAGE_SESSION_EXPIRED")

    # --- audit and metrics ---------------------------------------------------------
    def test_audit_records_with_event_page(self):
        tid = self.inst.add_track()
        sid, token = self.inst.share(tid, "--max-views", "1")
        self.page(self.daemon, token)
        self.page(self.daemon, token)
        self.page(self.daemon, token, method="HEAD")
        self.page(self.daemon, "shr_" + "e" * 32)
        unknown_fp = hashlib.sha256(("shr_" + "e" * 32).encode()).hexdigest()[:12]
        mine = lambda: [r for r in audit_rows(self.inst, "page") if r["share_id"] == sid or r["token_fp"] == unknown_fp]
        rows = wait_for(lambda: len(mine()) >= 4 and mine())
        mine = [(r["outcome"], r["status"]) for r in rows]
        self.assertIn(("ok", 200), mine)
        self.assertIn(("limit_reached", 410), mine)
        self.assertIn(("not_found", 404), mine)
        for r in rows:
            self.assertRegex(r["request_id"], r"^req_[0-9a-f]{16}$")
            self.assertEqual(r["client_ip"], "127.0.0.1")
        for r in audit_rows(self.inst):
            self.assertNotIn(token, json.dumps(r))
        metrics = self.daemon.get("/metrics").body.decode()
        self.assertRegex(metrics, r'sharelink_requests_total\{route="page",outcome="ok"\} \d+')
        self.assertRegex(metrics, r'sharelink_rate_limited_total\{route="page"\} \d+')
        shown = self.inst.inspect(sid)
        self.assertIn("ok", json.dumps(shown))

    def test_a_20_track_collection_page_is_under_30_kb(self):
        ids = [self.inst.add_track("Track number %d with a longer title" % i, extra=["--duration", "245"])
               for i in range(20)]
        _, token = self.inst.share(self.inst.add_collection("Twenty", ids, description="All of them"))
        resp = self.page(self.daemon, token)
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(PageParser(resp.body.decode()).audio), 20)
        self.assertLess(len(resp.body), 30 * 1024)


class PageLimitsTest(PageTestCase):
    """The page and the API take from the same request bucket and the same miss bucket."""

    def test_one_request_bucket(self):
        inst = Installation({"rate_limit": {"requests_per_minute": 1, "burst": 4, "misses_per_minute": 100}})
        try:
            _, token = inst.share(inst.add_track())
            daemon = Daemon(inst)
            try:
                self.assertEqual(self.page(daemon, token).status, 200)
                self.assertEqual(daemon.resolve(token).status, 200)
                self.assertEqual(self.page(daemon, token).status, 200)
                self.assertEqual(daemon.get("/oembed?url=x").status, 404)  # embedding off: not a page route
                self.assertEqual(daemon.resolve(token).status, 200)
                limited = self.page(daemon, token)
                self.assert_error_page(limited, 429, "RATE_LIMITED")
                self.assertGreaterEqual(int(limited.header("retry-after")), 1)
                self.assertIn("Try again in", PageParser(limited.body.decode()).all_text())
                self.assertEqual(daemon.resolve(token).status, 429)
            finally:
                daemon.stop()
        finally:
            inst.cleanup()

    def test_one_miss_bucket(self):
        inst = Installation({"rate_limit": {"requests_per_minute": 1000, "burst": 1000, "misses_per_minute": 3}})
        try:
            _, token = inst.share(inst.add_track())
            daemon = Daemon(inst)
            try:
                self.assertEqual(self.page(daemon, "shr_" + "1" * 32).status, 404)
                self.assertEqual(daemon.resolve("shr_" + "2" * 32).status, 404)
                self.assertEqual(self.page(daemon, "shr_bad").status, 404)
                self.assert_error_page(self.page(daemon, token), 429, "RATE_LIMITED")
                self.assertEqual(daemon.resolve(token).status, 429)
                rows = wait_for(lambda: [r for r in audit_rows(inst, "page") if r["outcome"] == "rate_limited"])
                self.assertEqual(rows[0]["status"], 429)
            finally:
                daemon.stop()
        finally:
            inst.cleanup()

    def test_oembed_takes_from_the_same_buckets(self):
        inst = Installation({"rate_limit": {"requests_per_minute": 1, "burst": 3, "misses_per_minute": 100},
                             "page": {"embed_origins": ["https://blog.example.org"]}})
        try:
            _, token = inst.share(inst.add_track())
            daemon = Daemon(inst)
            try:
                url = urllib.parse.quote(daemon.base_url + "/s/" + token, safe="")
                self.assertEqual(self.page(daemon, token).status, 200)
                self.assertEqual(daemon.get("/oembed?format=json&url=" + url).status, 200)
                self.assertEqual(daemon.resolve(token).status, 200)
                limited = daemon.get("/oembed?format=json&url=" + url)
                self.assertEqual(limited.status, 429)
                self.assertEqual(limited.json()["error"]["code"], "RATE_LIMITED")
                self.assertGreaterEqual(int(limited.header("retry-after")), 1)
                self.assert_error_page(self.page(daemon, token, suffix="/embed"), 429, "RATE_LIMITED")
            finally:
                daemon.stop()
        finally:
            inst.cleanup()

    def test_refresh_takes_from_the_media_bucket(self):
        inst = Installation({"rate_limit": {"requests_per_minute": 1000, "burst": 1000,
                                            "media_requests_per_minute": 1, "media_burst": 2}})
        try:
            _, token = inst.share(inst.add_track())
            daemon = Daemon(inst)
            try:
                session = PageParser(self.page(daemon, token).body.decode()).main["data-session"]
                statuses = [daemon.request("GET", REFRESH, {"X-Page-Session": session}).status for _ in range(3)]
                self.assertEqual(statuses, [200, 200, 429])
                self.assertEqual(self.page(daemon, token).status, 200)  # the page bucket is untouched
            finally:
                daemon.stop()
        finally:
            inst.cleanup()


class EmbedTest(PageTestCase):
    ORIGINS = ["https://blog.example.org", "http://localhost:8080"]

    @classmethod
    def setUpClass(cls):
        config = dict(GENEROUS_LIMITS)
        config["page"] = {"embed_origins": cls.ORIGINS, "site_name": "Studio Nord"}
        cls.inst = Installation(config)
        cls.daemon = Daemon(cls.inst)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def oembed(self, url, **extra):
        query = urllib.parse.urlencode(dict({"url": url, "format": "json"}, **extra))
        return self.daemon.get("/oembed?" + query)

    def test_discovery_link_oembed_and_embed_page(self):
        tid = self.inst.add_track("Embed <Me>", extra=["--duration", "30"])
        sid, token = self.inst.share(tid)
        page_url = self.daemon.base_url + "/s/" + token
        page = PageParser(self.page(self.daemon, token).body.decode())
        self.assertEqual(page.meta["og:site_name"], "Studio Nord")
        links = [l for l in page.links if l.get("type") == "application/json+oembed"]
        self.assertEqual(len(links), 1)
        self.assertEqual(links[0]["rel"], "alternate")
        self.assertEqual(links[0]["href"], self.daemon.base_url + "/oembed?url=" + urllib.parse.quote(page_url, safe="")
                         + "&format=json")
        self.assertEqual(self.inst.inspect(sid)["view_count"], 1)

        resp = self.daemon.get(links[0]["href"][len(self.daemon.base_url):])
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("content-type"), "application/json; charset=utf-8")
        body = resp.json()
        self.assertEqual(body["version"], "1.0")
        self.assertEqual(body["type"], "rich")
        self.assertEqual(body["title"], "Embed <Me>")
        self.assertEqual(body["provider_name"], "Studio Nord")
        self.assertEqual((body["width"], body["height"]), (480, 190))
        self.assertEqual(body["html"], '<iframe src="%s/embed" width="480" height="190" title="Embed &lt;Me&gt;" '
                                       'loading="lazy" style="border:0"></iframe>' % page_url)
        self.assertEqual(self.inst.inspect(sid)["view_count"], 1)  # oEmbed counts no view
        small = self.oembed(page_url, maxwidth=320, maxheight=120).json()
        self.assertEqual((small["width"], small["height"]), (320, 120))
        self.assertEqual(self.oembed(page_url, maxwidth="wide").status, 400)

        embed = self.page(self.daemon, token, suffix="/embed")
        self.assertEqual(embed.status, 200)
        self.assertEqual(csp_of(embed)["frame-ancestors"], self.ORIGINS)
        embed_page = PageParser(embed.body.decode())
        self.assertEqual(len(embed_page.audio), 1)
        self.assertIn("data-session", embed_page.main)
        self.assertEqual(self.inst.inspect(sid)["view_count"], 2)  # the embed is an opening
        self.assertEqual(csp_of(self.page(self.daemon, token))["frame-ancestors"], ["'none'"])

    def test_oembed_is_404_for_anything_but_a_resolving_page_url(self):
        tid = self.inst.add_track()
        sid, token = self.inst.share(tid)
        revoked_sid, revoked = self.inst.share(tid)
        self.inst.sharectl("share", "revoke", revoked_sid)
        for url in ["", "https://elsewhere.example/s/" + token, self.daemon.base_url + "/v1/music/shared/" + token,
                    self.daemon.base_url + "/s/" + token + "/embed", self.daemon.base_url + "/s/shr_" + "0" * 32,
                    self.daemon.base_url + "/s/" + revoked]:
            with self.subTest(url=url):
                resp = self.oembed(url)
                self.assertEqual(resp.status, 404)
                self.assertEqual(resp.json()["error"]["code"], "NOT_FOUND")
        self.assertEqual(self.oembed(self.daemon.base_url + "/s/" + token, format="xml").status, 404)
        self.assertEqual(self.inst.inspect(sid)["view_count"], 0)
        rows = wait_for(lambda: [r for r in audit_rows(self.inst, "page") if r["share_id"] == revoked_sid])
        self.assertEqual(rows[0]["outcome"], "revoked")


class PageSwitchTest(unittest.TestCase):
    def test_page_disabled_answers_404_not_found_json(self):
        inst = Installation({"page": {"enabled": False, "embed_origins": ["https://blog.example.org"]}})
        try:
            sid, token = inst.share(inst.add_track())
            daemon = Daemon(inst)
            try:
                for path in ["/s/" + token, "/s/" + token + "/embed", "/oembed?url=x&format=json", REFRESH]:
                    with self.subTest(path=path):
                        resp = daemon.get(path)
                        self.assertEqual(resp.status, 404)
                        self.assertEqual(resp.header("content-type"), "application/json; charset=utf-8")
                        self.assertEqual(resp.json()["error"]["code"], "NOT_FOUND")
                self.assertEqual(daemon.resolve(token).status, 200)  # the API is unaffected
                self.assertEqual(inst.inspect(sid)["view_count"], 1)
            finally:
                daemon.stop()
        finally:
            inst.cleanup()

    def test_check_config_reports_a_bad_page_table(self):
        inst = Installation()
        try:
            with open(inst.config_path, "a") as f:
                f.write('\n[page]\nsession_hours = 0\nembed_origins = ["https://x.example/path"]\n')
            proc = subprocess.run([SHARED_LINKD, "--config", inst.config_path, "--check-config"],
                                  capture_output=True, text=True, timeout=20)
            self.assertEqual(proc.returncode, 1)
            self.assertRegex(proc.stderr, r"shared-linkd\.toml:\d+:\d+: page\.session_hours: expected an integer from 1 to 168, got 0")
            self.assertRegex(proc.stderr, r"shared-linkd\.toml:\d+:\d+: page\.embed_origins\[0\]: expected an origin")
        finally:
            inst.cleanup()

    def test_demo_prints_page_links_first_and_serves_them(self):
        proc = subprocess.Popen([SHARED_LINKD, "--demo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            port = None
            deadline = time.time() + 20
            while port is None and time.time() < deadline:
                line = proc.stderr.readline()
                if "msg=listening" in line:
                    port = int(line.split("addr=")[1].split()[0].rsplit(":", 1)[1])
            self.assertIsNotNone(port)
            out = []
            while True:
                line = proc.stdout.readline()
                out.append(line)
                if line.startswith("Manage it with"):
                    break
            text = "".join(out)
            pages = re.findall(r"http://127\.0\.0\.1:%d/s/shr_[0-9a-f]{32}" % port, text)
            self.assertGreaterEqual(len(pages), 4)
            self.assertLess(text.index("/s/shr_"), text.index("/v1/music/shared/"))
            import urllib.request
            import urllib.error
            statuses = []
            for url in pages:
                try:
                    with urllib.request.urlopen(urllib.request.Request(url, headers=BROWSER)) as r:
                        statuses.append(r.status)
                        self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")
                except urllib.error.HTTPError as e:
                    statuses.append(e.code)
            self.assertIn(200, statuses)
            self.assertIn(410, statuses)
        finally:
            proc.send_signal(15)
            self.assertEqual(proc.wait(20), 0)
            proc.stdout.close()
            proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
