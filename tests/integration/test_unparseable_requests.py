"""A request cpp-httplib cannot parse is answered 400 BAD_REQUEST and audited under its peer address.

The library sets Request::remote_addr only after it has parsed a request, so
such records used to name "::". The daemon now reads the peer when it accepts
the connection. The client here connects from 127.0.0.5, an address nothing
else uses, so the record must name exactly that peer.
"""

import json
import unittest

from http_wire import exchange, wait_until
from sharelink_testlib import Daemon, Installation

CLIENT = "127.0.0.5"
TOKEN_PATH = "/v1/music/shared/shr_" + "0" * 32

CASES = [
    # (what, raw request, audit event, audit outcome)
    ("a 9,000-byte header line", ("GET %s HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % (TOKEN_PATH, "a" * 9000)).encode(),
     "resolve", "bad_request"),
    ("a bad HTTP version", ("GET %s HTTP/9.9\r\nHost: x\r\n\r\n" % TOKEN_PATH).encode(), "resolve", "bad_request"),
    ("an unknown method", b"BREW /v1/music/media/mtrack_000000000001 HTTP/1.1\r\nHost: x\r\n\r\n", "media", "error"),
    ("two query marks", ("GET %s?a=1?b=2 HTTP/1.1\r\nHost: x\r\n\r\n" % TOKEN_PATH).encode(), "resolve", "bad_request"),
    ("a URI over 8 KiB", ("GET /v1/music/shared/%s HTTP/1.1\r\nHost: x\r\n\r\n" % ("a" * 9000)).encode(),
     "resolve", "bad_request"),
    ("a head over 32 KiB", ("GET %s HTTP/1.1\r\n" % TOKEN_PATH).encode() + b"X-Flood: f\r\n" * 3500,
     "resolve", "bad_request"),
]


class UnparseableRequestTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation()
        self.addCleanup(self.inst.cleanup)
        self.daemon = Daemon(self.inst)
        self.addCleanup(self.daemon.stop)

    def test_unparseable_requests_are_audited_under_their_peer(self):
        expected = {}
        for what, raw, event, outcome in CASES:
            with self.subTest(what):
                result = exchange(self.daemon.port, raw, source=CLIENT)
                self.assertEqual(len(result.answers), 1)
                answer = result.answers[0]
                self.assertEqual(answer.status, 400)
                document = json.loads(answer.body)
                self.assertEqual(document["error"]["code"], "BAD_REQUEST")
                self.assertEqual(document["error"]["request_id"], answer.header("X-Request-Id"))
                # After a request it cannot parse, the daemon cannot know where the next one starts.
                self.assertEqual(answer.header("Connection"), "close")
                self.assertTrue(result.closed)
                expected[answer.header("X-Request-Id")] = (what, event, outcome)

        def records():
            found = {r["request_id"]: r for r in json.loads(
                self.inst.sharectl("audit", "--limit", "1000", json_output=True).stdout)}
            return found if set(expected) <= set(found) else None

        found = wait_until(records)
        self.assertTrue(found, "every answer is audited")
        for request_id, (what, event, outcome) in expected.items():
            with self.subTest(what):
                record = found[request_id]
                self.assertEqual(record["client_ip"], CLIENT, record)
                self.assertEqual((record["event"], record["outcome"], record["status"]), (event, outcome, 400))

    def test_a_garbage_request_line_answers_json_and_the_daemon_goes_on(self):
        for raw in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", b"GET\r\n\r\n", b"\r\n\r\n"):
            with self.subTest(raw=raw):
                result = exchange(self.daemon.port, raw, source=CLIENT)
                self.assertEqual([a.status for a in result.answers], [400])
                self.assertEqual(json.loads(result.answers[0].body)["error"]["code"], "BAD_REQUEST")
        self.assertEqual(self.daemon.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
