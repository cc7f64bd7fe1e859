"""Request framing: a request that announces a body is the last one its connection carries (SPEC 4).

shared-linkd reads no request bodies. A GET, HEAD or OPTIONS with a
Content-Length above 0 or any Transfer-Encoding answers 400 BAD_REQUEST with
Connection: close, and nothing the client sent after it, even a whole
request hidden in the body, is ever read as a request (request smuggling:
behind a proxy that would forge client addresses in the audit log and dodge
the per-client limits). Every shape is sent as raw bytes, with the hidden
request placed within the daemon's first read and past it.
"""

import hashlib
import json
import os
import re
import time
import unittest

from http_wire import exchange, parse_answers, read_all, wait_until
from sharelink_testlib import Daemon, Installation

PUBLIC_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer",
                  "x-content-type-options": "nosniff", "access-control-allow-origin": "*"}


def smuggled_request(token):
    return ("GET /v1/music/shared/%s HTTP/1.1\r\nHost: x\r\n\r\n" % token).encode()


def with_content_length(method, target, body):
    return ("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (method, target, len(body))).encode() + body


def chunked(method, target, body):
    head = ("%s %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" % (method, target)).encode()
    return head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


def both(method, target, body):
    head = ("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
            % (method, target, len(body) + 10)).encode()
    return head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


FRAMINGS = {"content-length": with_content_length, "chunked": chunked, "content-length+chunked": both}


def padded(framing, method, target, hidden, pad_to):
    """A request whose body ends with the hidden request, starting at byte pad_to (None: right after the head)."""
    build = FRAMINGS[framing]
    if pad_to is None:
        return build(method, target, hidden)
    start = build(method, target, hidden).find(hidden)
    for pad in range(max(0, pad_to - start - 16), pad_to - start + 16):
        data = build(method, target, b"x" * pad + hidden)
        if data.find(hidden) == pad_to:
            return data
    raise AssertionError("cannot place the hidden request at byte %d" % pad_to)


class RequestFramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation({"rate_limit": {"requests_per_minute": 100000, "burst": 100000,
                                                "misses_per_minute": 100000}})
        cls.daemon = Daemon(cls.inst)
        tid = cls.inst.add_track()
        _, cls.token = cls.inst.share(tid)
        body = cls.daemon.resolve(cls.token).json()
        url = body["track"]["playback_url"]
        cls.media_path = url[url.index("/v1/music/media/"):]
        cls.routes = {"healthz": "/healthz", "resolve": "/v1/music/shared/" + cls.token, "media": cls.media_path}

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def audit(self):
        return json.loads(self.inst.sharectl("audit", "--limit", "100000", json_output=True).stdout)

    def assert_refused_and_closed(self, result, method, route):
        self.assertEqual(len(result.answers), 1, "one answer, nothing after it: %r" % result.rest[:200])
        answer = result.answers[0]
        self.assertEqual(answer.status, 400)
        self.assertEqual(answer.header("Connection"), "close")
        self.assertIsNone(answer.header("Keep-Alive"))
        self.assertTrue(result.closed, "the daemon closes the connection after the answer")
        self.assertEqual(result.rest, b"")
        for name, value in PUBLIC_HEADERS.items():
            self.assertEqual(answer.header(name), value, name)
        self.assertRegex(answer.header("X-Request-Id") or "", r"^req_[0-9a-f]{16}$")
        if route != "healthz":
            self.assertIsNotNone(answer.header("RateLimit"), "rate-limit fields on the public routes")
            self.assertIsNotNone(answer.header("RateLimit-Policy"))
        if method != "HEAD":
            document = json.loads(answer.body)
            self.assertEqual(document["error"]["code"], "BAD_REQUEST")
            self.assertEqual(document["error"]["request_id"], answer.header("X-Request-Id"))
        return answer.header("X-Request-Id")

    def test_a_body_on_get_head_options_is_refused_and_nothing_after_it_is_read(self):
        hidden_tokens = []
        expected = {}  # request id -> (route, method)
        for route, target in self.routes.items():
            for method in ("GET", "HEAD", "OPTIONS"):
                for framing in FRAMINGS:
                    # The hidden request inside the daemon's first read, right at the 4 KiB
                    # boundary where cpp-httplib's own stream ends its read, and past 16 KiB.
                    for pad_to in (None, 4096, 20000):
                        token = "shr_" + os.urandom(16).hex()
                        hidden_tokens.append(token)
                        data = padded(framing, method, target, smuggled_request(token), pad_to)
                        with self.subTest(route=route, method=method, framing=framing, pad_to=pad_to):
                            result = exchange(self.daemon.port, data,
                                              head_answers=(0,) if method == "HEAD" else ())
                            request_id = self.assert_refused_and_closed(result, method, route)
                            expected[request_id] = (route, method)
        # The refusals on the public routes are audited (under the peer); no hidden request ever ran.
        public = {rid for rid, (route, _) in expected.items() if route != "healthz"}
        records = wait_until(lambda: [r for r in self.audit() if r["request_id"] in public]
                             if public <= {r["request_id"] for r in self.audit()} else None)
        self.assertTrue(records, "every refusal on a public route is audited")
        for record in records:
            route, _ = expected[record["request_id"]]
            self.assertEqual(record["event"], route)
            self.assertEqual(record["status"], 400)
            self.assertEqual(record["outcome"], "bad_request" if route == "resolve" else "error")
            self.assertEqual(record["client_ip"], "127.0.0.1")
        fingerprints = {hashlib.sha256(t.encode()).hexdigest()[:12] for t in hidden_tokens}
        self.assertFalse([r for r in self.audit() if r["token_fp"] in fingerprints], "a hidden request ran")

    def test_other_methods_with_a_body_get_their_answer_and_the_connection_closes(self):
        for target, status in (("/v1/music/shared/" + self.token, 405), ("/no/such/route", 404)):
            for framing in FRAMINGS:
                token = "shr_" + os.urandom(16).hex()
                data = padded(framing, "POST", target, smuggled_request(token), 4096)
                with self.subTest(target=target, framing=framing):
                    result = exchange(self.daemon.port, data)
                    self.assertEqual([a.status for a in result.answers], [status])
                    self.assertEqual(result.answers[0].header("Connection"), "close")
                    self.assertTrue(result.closed)

    def test_a_request_without_length_or_coding_has_an_empty_body(self):
        # RFC 9112 section 6.3: neither Content-Length nor Transfer-Encoding, so no body. The answer
        # comes at once, as for any empty request, and the next request on the connection is read.
        for target, status, code in (("/no/such/route", 404, "NOT_FOUND"),
                                     ("/v1/music/shared/" + self.token, 405, "METHOD_NOT_ALLOWED")):
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                data = (b"%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (method.encode(), target.encode())
                        + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                with self.subTest(target=target, method=method):
                    result = exchange(self.daemon.port, data)
                    self.assertEqual([a.status for a in result.answers], [status, 200])
                    self.assertEqual(json.loads(result.answers[0].body)["error"]["code"], code)
                    self.assertIn("timeout=", result.answers[0].header("Keep-Alive") or "")
                    self.assertTrue(result.closed)

    def test_content_length_zero_is_no_body(self):
        data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        result = exchange(self.daemon.port, data)
        self.assertEqual([a.status for a in result.answers], [200, 200])
        self.assertIn("timeout=", result.answers[0].header("Keep-Alive"))

    def test_pipelined_requests_are_each_answered_in_order(self):
        # One read buffer per connection: bytes after a request are the next request, exactly.
        data = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode()
                        for path in ("/healthz", "/v1/music/shared/" + self.token, "/no/such"))
        data += b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        result = exchange(self.daemon.port, data)
        self.assertEqual([a.status for a in result.answers], [200, 200, 404, 200])
        self.assertEqual(json.loads(result.answers[1].body)["kind"], "track")

    def test_field_lines_that_parsers_read_differently_are_refused(self):
        for line in (b"Transfer-Encoding : chunked", b" folded: value", b"X-No-Colon",
                     b"Bad Name: x", b"X: bare\rcr"):
            data = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + line + b"\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"
            with self.subTest(line=line):
                result = exchange(self.daemon.port, data)
                self.assertEqual([a.status for a in result.answers], [400])
                self.assertEqual(json.loads(result.answers[0].body)["error"]["code"], "BAD_REQUEST")
                self.assertEqual(result.answers[0].header("Connection"), "close")
                self.assertTrue(result.closed)
        # A line ended by LF alone, announcing a body that cpp-httplib would have skipped.
        data = b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\n\r\n5\r\nxxxxx\r\n0\r\n\r\n"
        result = exchange(self.daemon.port, data)
        self.assertEqual([a.status for a in result.answers], [400])

    def test_a_head_over_32_kib_is_refused_and_the_connection_closed(self):
        flood = b"".join(b"X-Flood-%05d: %s\r\n" % (i, b"f" * 80) for i in range(400))  # ~38 KiB, no end
        result = exchange(self.daemon.port, b"GET /v1/music/shared/" + self.token.encode() + b" HTTP/1.1\r\n" + flood)
        self.assertEqual([a.status for a in result.answers], [400])
        self.assertEqual(json.loads(result.answers[0].body)["error"]["code"], "BAD_REQUEST")
        self.assertEqual(result.answers[0].header("Connection"), "close")
        self.assertTrue(result.closed)

    def test_endless_header_lines_do_not_grow_the_daemon(self):
        # cpp-httplib keeps every header line it reads: one connection sending lines
        # without end used to grow the daemon by what it sent. Now the head stops at
        # 32 KiB: the daemon answers, stops reading, and the sender is left blocked.
        def rss_kib():
            with open("/proc/%d/status" % self.daemon.proc.pid) as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

        before = rss_kib()
        import socket
        sock = socket.create_connection(("127.0.0.1", self.daemon.port))
        sock.settimeout(2)
        line = b"X-Flood: " + b"f" * 1000 + b"\r\n"
        chunk = line * 64  # 64 KiB
        sent = 0
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            while sent < 64 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass
        received, _ = read_all(sock, 2)
        sock.close()
        grown = rss_kib() - before
        print("\nendless header lines: %d KiB accepted before the daemon stopped reading; RSS grew %d KiB"
              % (sent // 1024, grown))
        self.assertLess(sent, 16 * 1024 * 1024, "the daemon kept reading header lines")
        self.assertLess(grown, 8 * 1024, "the daemon grew with the header lines it was sent")
        answers, _ = parse_answers(received)
        if answers:  # the answer may be lost to the reset of a connection closed with unread input
            self.assertEqual(answers[0].status, 400)
        self.assertEqual(self.daemon.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
