"""Range over HTTP, by RFC 9110 (SPEC 4, 5): invalid ignored, an end past the file clamped, 416 when unsatisfiable.

cpp-httplib 0.11 parses Range before routing and refused anything its own
pattern did not match (the daemon answered 400); the daemon now withholds the
field from the library and the media route alone interprets it. Other routes
ignore Range whatever it holds.
"""

import json
import unittest

from http_wire import exchange
from sharelink_testlib import Daemon, Installation

SIZE = 100
DATA = bytes(range(SIZE))

# (Range value, status, first, last) for a 100-byte file; first/last None for 200 and 416.
TABLE = [
    # satisfiable single ranges, prefix and suffix
    ("bytes=0-9", 206, 0, 9),
    ("bytes=90-", 206, 90, 99),
    ("bytes=-5", 206, 95, 99),
    ("bytes=-500", 206, 0, 99),
    ("BYTES=1-2", 206, 1, 2),
    # an end past the file is clamped, however large
    ("bytes=90-200", 206, 90, 99),
    ("bytes=0-18446744073709551615", 206, 0, 99),
    ("bytes=0-18446744073709551616", 206, 0, 99),
    ("bytes=0-99999999999999999999999999999999", 206, 0, 99),
    # empty list elements are allowed (RFC 9110 section 5.6.1)
    ("bytes=0-1,", 206, 0, 1),
    ("bytes=, 3-4", 206, 3, 4),
    # invalid: ignored, the whole file
    ("bytes=5-2", 200, None, None),
    ("items=0-1", 200, None, None),
    ("garbage", 200, None, None),
    ("bytes=", 200, None, None),
    ("bytes=,", 200, None, None),
    ("bytes=1-2x", 200, None, None),
    ("bytes= 3 - 4", 200, None, None),
    ("bytes=0-1,5-2", 200, None, None),
    # several ranges: the whole file (documented choice)
    ("bytes=0-1,5-6", 200, None, None),
    # unsatisfiable
    ("bytes=100-", 416, None, None),
    ("bytes=18446744073709551615-", 416, None, None),
    ("bytes=-0", 416, None, None),
]


def request(path, range_lines, method="GET"):
    head = "%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path)
    head += "".join("Range: %s\r\n" % value for value in range_lines)
    return (head + "Connection: close\r\n\r\n").encode()


class RangeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation({"rate_limit": {"media_requests_per_minute": 100000, "media_burst": 100000,
                                                "requests_per_minute": 100000, "burst": 100000,
                                                "misses_per_minute": 100000}})
        cls.daemon = Daemon(cls.inst)
        cls.inst.write_media("range.ogg", DATA)
        tid = cls.inst.add_track(audio="range.ogg")
        _, cls.token = cls.inst.share(tid)
        url = cls.daemon.resolve(cls.token).json()["track"]["playback_url"]
        cls.media = url[url.index("/v1/music/media/"):]

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def answer(self, path, range_lines, method="GET"):
        result = exchange(self.daemon.port, request(path, range_lines, method),
                          head_answers=(0,) if method == "HEAD" else ())
        self.assertEqual(len(result.answers), 1)
        return result.answers[0]

    def test_the_range_table_on_the_media_route(self):
        for value, status, first, last in TABLE:
            for method in ("GET", "HEAD"):
                with self.subTest(range=value, method=method):
                    answer = self.answer(self.media, [value], method)
                    self.assertEqual(answer.status, status, answer.body[:200])
                    self.assertEqual(answer.header("Accept-Ranges"), "bytes")
                    if status == 206:
                        self.assertEqual(answer.header("Content-Range"), "bytes %d-%d/%d" % (first, last, SIZE))
                        self.assertEqual(answer.header("Content-Length"), str(last - first + 1))
                        if method == "GET":
                            self.assertEqual(answer.body, DATA[first:last + 1])
                    elif status == 200:
                        self.assertIsNone(answer.header("Content-Range"))
                        self.assertEqual(answer.header("Content-Length"), str(SIZE))
                        if method == "GET":
                            self.assertEqual(answer.body, DATA)
                    else:
                        self.assertEqual(answer.header("Content-Range"), "bytes */%d" % SIZE)
                        if method == "GET":
                            self.assertEqual(json.loads(answer.body)["error"]["code"], "RANGE_NOT_SATISFIABLE")

    def test_two_range_fields_are_invalid_and_ignored(self):
        answer = self.answer(self.media, ["bytes=0-1", "bytes=5-9"])
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.body, DATA)

    def test_other_routes_ignore_range_whatever_it_holds(self):
        for value, _, _, _ in TABLE:
            with self.subTest(range=value):
                healthz = self.answer("/healthz", [value])
                self.assertEqual((healthz.status, json.loads(healthz.body)), (200, {"status": "ok"}))
                resolved = self.answer("/v1/music/shared/" + self.token, [value])
                self.assertEqual(resolved.status, 200)
                self.assertEqual(json.loads(resolved.body)["kind"], "track")
                self.assertIsNone(resolved.header("Content-Range"))
                missing = self.answer("/v1/music/shared/shr_" + "0" * 32, [value])
                self.assertEqual(json.loads(missing.body)["error"]["code"], "SHARE_NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
