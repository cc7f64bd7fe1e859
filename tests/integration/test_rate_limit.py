"""Per-client rate limiting of the resolve route against the real daemon (SPEC 6)."""

import re
import time
import unittest

from sharelink_testlib import Daemon, Installation


def rate_limit_fields(resp):
    m = re.fullmatch(r'"per-ip";r=(\d+);t=(\d+)', resp.header("ratelimit") or "")
    assert m, resp.header("ratelimit")
    return int(m.group(1)), int(m.group(2))


class DaemonCase(unittest.TestCase):
    CONFIG = {}

    def setUp(self):
        self.inst = Installation(self.CONFIG)
        self.daemon = Daemon(self.inst)
        _, self.token = self.inst.share(self.inst.add_track())

    def tearDown(self):
        self.daemon.stop()
        self.inst.cleanup()


def refill_bound(start):
    """Tokens the default bucket (60 a minute, one a second) can have refilled since start."""
    return int(time.monotonic() - start) + 1


class DefaultLimitsTest(DaemonCase):
    def exhaust(self, headers=lambda i: None):
        """Resolves until the first refusal; returns (answers served, the refusal). The burst is 30,
        plus the tokens refilled meanwhile (a slow machine takes over a second for 30 requests)."""
        start = time.monotonic()
        served = 0
        while True:
            resp = self.daemon.resolve(self.token, headers(served))
            if resp.status != 200:
                break
            served += 1
            self.assertLessEqual(served, 30 + refill_bound(start), "the burst never ended")
        self.assertGreaterEqual(served, 30)
        return served, resp

    def test_burst_then_429_with_headers_and_no_database_work(self):
        sid = self.inst.inspect(self.token)["id"]
        # The bucket refills one token a second (60 a minute), so on a slow machine a token can come
        # back during the burst: each answer's remaining count is 29 - i plus at most the whole
        # seconds elapsed since the first request, and the burst ends after 30 + those tokens.
        start = time.monotonic()
        served = 0
        while True:
            resp = self.daemon.resolve(self.token)
            refilled = refill_bound(start)
            if resp.status != 200:
                break
            self.assertEqual(resp.header("ratelimit-policy"), '"per-ip";q=30;w=30')
            remaining, _ = rate_limit_fields(resp)
            self.assertGreaterEqual(remaining, 29 - served)
            self.assertLessEqual(remaining, 29 - served + refilled)
            served += 1
            self.assertLessEqual(served, 30 + refilled, "the burst never ended")
        self.assertGreaterEqual(served, 30)
        self.assertEqual(resp.status, 429)
        body = resp.json()
        self.assertEqual(body["error"]["code"], "RATE_LIMITED")
        self.assertEqual(body["error"]["request_id"], resp.header("x-request-id"))
        remaining, t = rate_limit_fields(resp)
        self.assertEqual(remaining, 0)
        self.assertGreaterEqual(t, 1)
        self.assertGreaterEqual(int(resp.header("retry-after")), max(t, 1))
        self.assertEqual(resp.header("cache-control"), "no-store")
        self.assertEqual(resp.header("content-type"), "application/json; charset=utf-8")
        # Refused requests did no database work: no view beyond the ones served. (Five quick
        # retries: a refilled token would be served and counted, so count what each answer was.)
        for _ in range(5):
            if self.daemon.resolve(self.token).status == 200:
                served += 1
        self.assertEqual(self.inst.inspect(sid)["view_count"], served)

    def test_refill_after_retry_after(self):
        _, refused = self.exhaust()
        self.assertEqual(refused.status, 429)
        time.sleep(int(refused.header("retry-after")) + 0.1)
        self.assertEqual(self.daemon.resolve(self.token).status, 200)

    def test_untrusted_peer_cannot_spoof_x_forwarded_for(self):
        # Every request claims another address; the peer's one bucket still runs dry after the burst.
        _, refused = self.exhaust(lambda i: {"X-Forwarded-For": "198.51.100.%d" % (i % 250)})
        self.assertEqual(refused.status, 429)


class MissBucketTest(DaemonCase):
    CONFIG = {"rate_limit": {"requests_per_minute": 6000, "burst": 1000, "misses_per_minute": 3}}

    def test_guessing_is_throttled_separately(self):
        for i in range(20):  # hits never touch the miss bucket
            self.assertEqual(self.daemon.resolve(self.token).status, 200)
        for i in range(3):
            self.assertEqual(self.daemon.resolve("shr_%032x" % i).status, 404)
        resp = self.daemon.resolve("shr_%032x" % 99)
        self.assertEqual(resp.status, 429)
        self.assertEqual(resp.json()["error"]["code"], "RATE_LIMITED")
        self.assertGreaterEqual(int(resp.header("retry-after")), 1)
        # While the miss bucket is empty, the client is refused even for a good token.
        self.assertEqual(self.daemon.resolve(self.token).status, 429)
        self.assertEqual(self.daemon.resolve("garbage").status, 429)


class TrustedProxyTest(DaemonCase):
    CONFIG = {"rate_limit": {"burst": 2, "trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"],
                             "ipv6_prefix_length": 64}}

    def statuses(self, xff, n):
        return [self.daemon.resolve(self.token, {"X-Forwarded-For": xff}).status for _ in range(n)]

    def test_clients_behind_the_proxy_get_their_own_buckets(self):
        self.assertEqual(self.statuses("203.0.113.5", 3), [200, 200, 429])
        self.assertEqual(self.statuses("203.0.113.6", 2), [200, 200])
        # Right to left: trusted hops are skipped, the first untrusted address is the client.
        self.assertEqual(self.statuses("203.0.113.7, 10.1.2.3", 3), [200, 200, 429])
        self.assertEqual(self.statuses("192.0.2.1, 203.0.113.7", 1), [429])  # spoofed left part ignored

    def test_ipv6_clients_are_keyed_by_prefix_and_mapped_ipv4_as_ipv4(self):
        self.assertEqual(self.statuses("2001:db8::1", 2), [200, 200])
        self.assertEqual(self.statuses("2001:db8::ffff:2", 1), [429])  # same /64
        self.assertEqual(self.statuses("2001:db8:0:1::1", 1), [200])  # next /64
        self.assertEqual(self.statuses("198.51.100.9", 2), [200, 200])
        self.assertEqual(self.statuses("::ffff:198.51.100.9", 1), [429])

    def test_malformed_header_falls_back_to_the_peer(self):
        self.assertEqual(self.statuses("not-an-address", 2), [200, 200])
        self.assertEqual(self.statuses("", 1), [429])  # the peer 127.0.0.1's bucket


if __name__ == "__main__":
    unittest.main()
