"""shared-linkd behind a real nginx running the shipped site (packaging/nginx/shared-linkd-site.conf).

The site is rendered by tests/support/nginx_site.py in its plain mode: its
TLS listeners become plain ones on free loopback ports (ssl_* lines dropped),
and the upstream port, media_root and log directory point at the test's. The
daemon trusts 127.0.0.1/32 (nginx's address towards it). "The client" talks to
nginx from other loopback addresses (127.0.0.2, 127.0.0.3), so the address
nginx saw, the address of nginx and any X-Forwarded-For a client writes are
all different, and the audit log shows which one the daemon believed.
"""

import http.client
import json
import re
import time
import unittest

from http_wire import exchange
from nginx_site import HOST, NGINX, Nginx
from sharelink_testlib import Daemon, Installation

CLIENT = "127.0.0.2"
OTHER_CLIENT = "127.0.0.3"
SPOOFED = "203.0.113.7"
TOKEN_RE = re.compile(r"shr_[0-9a-f]{32}")
REQUEST_ID_RE = re.compile(r"^req_[0-9a-f]{16}$")


def fetch(port, path, source=CLIENT, headers=None, method="GET"):
    """One plain-HTTP request from the loopback address source; (status, lower-case headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, headers=dict({"Host": HOST}, **(headers or {})))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@unittest.skipUnless(NGINX, "nginx is not installed (Debian package nginx-light): reverse-proxy tests skipped")
class ReverseProxyTest(unittest.TestCase):
    def start(self, playback_mode="builtin", rate_limit=None):
        self.inst = Installation({"rate_limit": dict({"trusted_proxies": ["127.0.0.1/32"]}, **(rate_limit or {})),
                                  "playback": {"mode": playback_mode}})
        self.addCleanup(self.inst.cleanup)
        self.daemon = Daemon(self.inst)
        self.addCleanup(self.daemon.stop)
        self.nginx = Nginx(self.daemon.port, self.inst.media)
        self.addCleanup(self.nginx.cleanup)
        self.addCleanup(self.nginx.stop)

    def audit_records(self, request_ids):
        """The audit records of these request ids, waiting for the batched writer."""
        deadline = time.monotonic() + 20
        while True:
            records = json.loads(self.inst.sharectl("audit", "--limit", "1000", json_output=True).stdout)
            found = {r["request_id"]: r for r in records if r["request_id"] in request_ids}
            if len(found) == len(request_ids) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def test_daemon_audits_the_client_nginx_saw_not_nginx_nor_a_spoofed_header(self):
        self.start()
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        cases = [
            # (source, X-Forwarded-For written by the client, path, expected status)
            (CLIENT, SPOOFED, "/v1/music/shared/" + token, 200),
            (CLIENT, "%s, 127.0.0.1" % SPOOFED, "/v1/music/shared/" + token, 200),
            (CLIENT, None, "/v1/music/shared/shr_" + "0" * 32, 404),
            (OTHER_CLIENT, SPOOFED, "/v1/music/shared/" + token, 200),
        ]
        expected = {}
        for source, forwarded, path, status in cases:
            headers = {"X-Forwarded-For": forwarded} if forwarded else {}
            got, resp_headers, body = self.nginx.get(path, source, headers)
            self.assertEqual(got, status, body)
            request_id = resp_headers.get("x-request-id", "")
            self.assertRegex(request_id, REQUEST_ID_RE)
            expected[request_id] = source
        records = self.audit_records(set(expected))
        self.assertEqual(set(records), set(expected), "every proxied request is audited")
        for request_id, source in expected.items():
            self.assertEqual(records[request_id]["client_ip"], source, records[request_id])
            self.assertEqual(records[request_id]["event"], "resolve")

    def test_share_page_and_its_refresh_through_the_proxy(self):
        self.start()
        _, token = self.inst.share(self.inst.add_track())
        status, headers, body = self.nginx.get("/s/" + token, CLIENT)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("content-type"), "text/html; charset=utf-8")
        self.assertIn("default-src 'none'", headers.get("content-security-policy", ""))
        session = re.search(rb'data-session="([^"]+)"', body).group(1).decode()
        status, headers, body = self.nginx.get("/v1/music/page/playback", CLIENT, {"X-Page-Session": session})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(json.loads(body)["tracks"]), 1)
        records = self.audit_records({headers["x-request-id"]})
        self.assertEqual(records[headers["x-request-id"]]["client_ip"], CLIENT)

    def test_rate_limits_apply_per_client_behind_the_proxy(self):
        self.start()
        # Each client has its own bucket although every connection comes from nginx.
        for _ in range(3):
            self.assertEqual(self.nginx.get("/v1/music/shared/shr_" + "1" * 32, CLIENT)[0], 404)
        _, first, _ = self.nginx.get("/v1/music/shared/shr_" + "1" * 32, OTHER_CLIENT)
        _, later, _ = self.nginx.get("/v1/music/shared/shr_" + "1" * 32, CLIENT)
        remaining = lambda h: int(re.search(r"r=(\d+)", h["ratelimit"]).group(1))
        self.assertGreater(remaining(first), remaining(later))

    def test_access_and_error_logs_never_hold_a_token(self):
        self.start()
        tid = self.inst.add_track()
        tokens = [self.inst.share(tid)[1] for _ in range(3)]
        request_ids = []
        for token in tokens:
            status, headers, _ = self.nginx.get("/v1/music/shared/" + token, headers={"Referer":
                                                "https://studio.example.org/s/" + token})
            self.assertEqual(status, 200)
            request_ids.append(headers["x-request-id"])
        # Unknown and malformed tokens, HEAD, and the plain-HTTP redirect (which quotes the URL back).
        self.nginx.get("/v1/music/shared/shr_" + "2" * 32)
        self.nginx.get("/v1/music/shared/" + tokens[0], method="HEAD")
        self.nginx.get("/v1/music/shared/shr_not-a-token")
        status, headers, _ = fetch(self.nginx.redirect_port, "/v1/music/shared/" + tokens[1])
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "https://%s/v1/music/shared/%s" % (HOST, tokens[1]))
        self.daemon.stop()
        self.nginx.get("/v1/music/shared/" + tokens[2])  # upstream down: nginx's own error path
        self.nginx.stop()

        access = self.nginx.log("shared-link.access.log")
        self.assertGreaterEqual(len(access.splitlines()), 8, access)
        for request_id in request_ids:
            self.assertIn("rid=" + request_id, access, "the request id correlates log and audit")
        everything = self.nginx.logs()
        for token in tokens:
            self.assertNotIn(token, everything)
        self.assertNotIn("shr_", everything)
        self.assertNotIn("/v1/music/", everything)

    def test_nginx_flood_limit_answers_json_429(self):
        # The daemon's own limits out of the way: nginx's outer bound (10 r/s, burst 50) answers.
        self.start(rate_limit={"requests_per_minute": 1000000, "burst": 1000000, "misses_per_minute": 1000000})
        # Bounded: requests arrive much faster than 10/s, so the burst runs out well before.
        answers = []
        for _ in range(400):
            answers.append(self.nginx.get("/v1/music/shared/shr_" + "4" * 32))
            if answers[-1][0] != 404:
                break
        self.assertEqual(answers[-1][0], 429, "400 requests in a row never hit nginx's limit_req")
        self.assertGreaterEqual(len(answers) - 1, 51, "the burst of 50 passes first")
        status, headers, body = answers[-1]
        self.assertNotIn("ratelimit", headers, "answered by nginx, not by the daemon")
        self.assertEqual(headers["retry-after"], "1")
        self.assertTrue(headers["content-type"].startswith("application/json"))
        document = json.loads(body)
        self.assertEqual(document["error"]["code"], "RATE_LIMITED")
        self.assertEqual(headers["x-request-id"], document["error"]["request_id"])
        self.assertRegex(document["error"]["request_id"], REQUEST_ID_RE)

    def test_requests_nginx_refuses_itself_answer_json_400(self):
        self.start()
        oversized = ("GET /v1/music/shared/shr_%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 20000\r\n\r\n"
                     % ("5" * 32, HOST)).encode() + b"x" * 20000
        cases = {
            "a body over client_max_body_size": oversized,
            "a header line over large_client_header_buffers": ("GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n"
                                                              % (HOST, "a" * 9000)).encode(),
            "a folded header line": ("GET /healthz HTTP/1.1\r\nHost: %s\r\nX-A: 1\r\n  folded\r\n\r\n" % HOST).encode(),
            "Content-Length and Transfer-Encoding": ("GET /healthz HTTP/1.1\r\nHost: %s\r\nContent-Length: 3\r\n"
                                                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % HOST).encode(),
        }
        for what, raw in cases.items():
            with self.subTest(what):
                result = exchange(self.nginx.port, raw, source=CLIENT)
                self.assertEqual([a.status for a in result.answers], [400])
                answer = result.answers[0]
                self.assertTrue(answer.header("Content-Type").startswith("application/json"))
                self.assertEqual(answer.header("Cache-Control"), "no-store")
                self.assertEqual(answer.header("X-Content-Type-Options"), "nosniff")
                document = json.loads(answer.body)
                self.assertEqual(document["error"]["code"], "BAD_REQUEST")
                self.assertEqual(document["error"]["request_id"], answer.header("X-Request-Id"))
                self.assertRegex(answer.header("X-Request-Id"), REQUEST_ID_RE)

    def test_a_body_is_never_forwarded_to_the_daemon(self):
        self.start()
        tid = self.inst.add_track()
        _, token = self.inst.share(tid)
        raw = ("GET /v1/music/shared/%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
               % (token, HOST)).encode()
        result = exchange(self.nginx.port, raw, source=CLIENT)
        # nginx reads the body and drops it: the daemon answers the GET as if it had none.
        self.assertEqual([a.status for a in result.answers], [200])
        self.assertEqual(json.loads(result.answers[0].body)["kind"], "track")

    def test_upstream_down_answers_json_503(self):
        self.start()
        self.daemon.stop()
        status, headers, body = self.nginx.get("/v1/music/shared/shr_" + "3" * 32)
        self.assertEqual(status, 503)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertEqual(headers["cache-control"], "no-store")
        document = json.loads(body)
        self.assertIs(document["success"], False)
        self.assertEqual(document["error"]["code"], "SERVICE_UNAVAILABLE")
        self.assertRegex(document["error"]["request_id"], REQUEST_ID_RE)
        self.assertEqual(headers["x-request-id"], document["error"]["request_id"])

    def test_metrics_and_readiness_only_from_this_host(self):
        self.start()
        status, _, body = self.nginx.get("/metrics", source="127.0.0.1")
        self.assertEqual(status, 200)
        self.assertIn(b"sharelink_build_info", body)
        self.assertEqual(self.nginx.get("/readyz", source="127.0.0.1")[0], 200)
        self.assertEqual(self.nginx.get("/metrics", source=CLIENT)[0], 403)
        self.assertEqual(self.nginx.get("/readyz", source=CLIENT)[0], 403)
        # The rest of the daemon's routes pass, with its JSON errors.
        self.assertEqual(self.nginx.get("/healthz")[0], 200)
        status, _, body = self.nginx.get("/no/such/route")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["error"]["code"], "NOT_FOUND")

    def test_x_accel_media_served_by_nginx_and_audited_with_the_client(self):
        self.start(playback_mode="x_accel")
        audio = b"ID3 shared-link reverse proxy test audio" * 50
        self.inst.write_media("proxied.mp3", audio)
        tid = self.inst.add_track(audio="proxied.mp3")
        _, token = self.inst.share(tid)
        status, _, body = self.nginx.get("/v1/music/shared/" + token)
        self.assertEqual(status, 200, body)
        url = json.loads(body)["track"]["playback_url"]
        path = url[url.index("/v1/music/media/"):]

        status, headers, body = self.nginx.get(path, headers={"X-Forwarded-For": SPOOFED})
        self.assertEqual(status, 200)
        self.assertEqual(body, audio)
        self.assertNotIn("x-accel-redirect", headers)
        request_id = headers.get("x-request-id", "")
        self.assertRegex(request_id, REQUEST_ID_RE)
        status, headers, body = self.nginx.get(path, headers={"Range": "bytes=0-9"})
        self.assertEqual(status, 206)
        self.assertEqual(body, audio[:10])
        # The internal location cannot be asked for directly.
        self.assertEqual(self.nginx.get("/protected-media/proxied.mp3")[0], 404)

        record = self.audit_records({request_id})[request_id]
        self.assertEqual((record["event"], record["outcome"], record["client_ip"]), ("media", "ok", CLIENT))


if __name__ == "__main__":
    unittest.main()
