"""Several daemons on one PostgreSQL database (SPEC 13), directly and behind a real nginx with the shipped upstream.

Two shared-linkd serve one installation (one config, one key file, one
database): a max_views link is served exactly max_views times across both, a
revoke is seen by both at the next request, a playback URL minted by one plays
on the other, and behind nginx (packaging/nginx/shared-linkd-upstream.conf with
the test's daemons as servers) each client meets one daemon, so its rate limit
holds as with one daemon. Runs in the ".postgresql" registration only.
"""

import concurrent.futures
import os
import re
import subprocess
import unittest
import urllib.parse

from sharelink_testlib import BACKEND, Daemon, Installation
from test_nginx_upstream import NGINX, Nginx, recipe_for, sources


def forward_client_address(nginx):
    """Makes the upstream test's nginx name the client in X-Forwarded-For, as the shipped site does (so that
    the daemons, which trust 127.0.0.1, rate-limit the client rather than nginx), and reloads it."""
    with open(nginx.conf) as f:
        conf = f.read()
    line = '      proxy_set_header Connection "";\n'
    if line not in conf:
        raise AssertionError("the upstream test's nginx.conf changed")
    with open(nginx.conf, "w") as f:
        f.write(conf.replace(line, line + "      proxy_set_header X-Forwarded-For $remote_addr;\n", 1))
    old = nginx.workers()
    subprocess.run(nginx.reload_command().split(), check=True)
    nginx.wait_for_new_workers(old)


@unittest.skipUnless(BACKEND == "postgresql", "several daemons share a PostgreSQL database")
class SeveralDaemonsTest(unittest.TestCase):
    LIMITS = {"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000, "misses_per_minute": 1000000}}

    def start(self, config):
        self.inst = Installation(config=config)
        self.addCleanup(self.inst.cleanup)
        self.tid = self.inst.add_track()
        self.daemons = [Daemon(self.inst), Daemon(self.inst)]
        for daemon in self.daemons:
            self.addCleanup(daemon.stop)

    def test_max_views_exact_across_both_daemons(self):
        self.start(self.LIMITS)
        sid, token = self.inst.share(self.tid, "--max-views", "20")
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda i: self.daemons[i % 2].resolve(token).status, range(60)))
        self.assertEqual(statuses.count(200), 20)
        self.assertEqual(statuses.count(410), 40)
        self.assertEqual(self.inst.inspect(sid)["view_count"], 20)
        # Both served some of the 20.
        served = [sum(1 for i, s in enumerate(statuses) if s == 200 and i % 2 == d) for d in (0, 1)]
        self.assertTrue(all(served), served)

    def test_a_revoke_is_seen_by_both_at_the_next_request(self):
        self.start(self.LIMITS)
        sid, token = self.inst.share(self.tid)
        self.assertEqual([d.resolve(token).status for d in self.daemons], [200, 200])
        self.inst.sharectl("share", "revoke", sid)
        for daemon in self.daemons:
            resp = daemon.resolve(token)
            self.assertEqual(resp.status, 410)
            self.assertEqual(resp.json()["error"]["code"], "SHARE_REVOKED")

    def test_a_playback_url_minted_by_one_plays_on_the_other(self):
        self.start(self.LIMITS)
        _, token = self.inst.share(self.tid)
        with open(os.path.join(self.inst.media, "t1.mp3"), "rb") as f:
            audio = f.read()
        for minting, playing in ((0, 1), (1, 0)):
            url = self.daemons[minting].resolve(token).json()["track"]["playback_url"]
            parts = urllib.parse.urlsplit(url)
            self.assertEqual(parts.port, self.daemons[minting].port)
            resp = self.daemons[playing].get(parts.path + "?" + parts.query)
            self.assertEqual((resp.status, resp.body), (200, audio))

    @unittest.skipUnless(NGINX, "nginx is not installed")
    def test_behind_nginx_each_client_keeps_its_rate_limit(self):
        burst = 5
        self.start({"rate_limit": {"requests_per_minute": 1, "burst": burst, "misses_per_minute": 1000,
                                   "trusted_proxies": ["127.0.0.1/32"]}})
        _, token = self.inst.share(self.tid)
        nginx = Nginx(recipe_for(self.daemons))
        self.addCleanup(nginx.stop)
        forward_client_address(nginx)
        path = "/v1/music/shared/" + token
        # Which daemon a client meets depends on the hash ring, built from the daemons' (random) ports: a
        # handful of clients may all land on one. Clients are added until both daemons have answered some
        # (on an even ring, all 40 on one daemon has a chance of about 2 in 10^12); every client is checked.
        clients = 0
        for source in sources(40):
            with self.subTest(client=source):
                statuses = [nginx.get(path, source=source)[0] for _ in range(burst + 3)]
                # Exactly the burst, then 429: the client met one daemon's buckets only.
                self.assertEqual(statuses, [200] * burst + [429] * 3)
            clients += 1
            served = [self.served(daemon) for daemon in self.daemons]
            if clients >= 6 and all(served):
                break
        # The clients were spread over both daemons (each answered some of them), and together they answered
        # exactly one burst per client (the metric counts before the answer is sent).
        self.assertTrue(all(served), served)
        self.assertEqual(sum(served), burst * clients)

    @staticmethod
    def served(daemon):
        metrics = daemon.get("/metrics").body.decode()
        return sum(float(m) for m in re.findall(
            r'^sharelink_requests_total\{route="resolve",outcome="ok"\} (\S+)$', metrics, re.M))


if __name__ == "__main__":
    unittest.main()
