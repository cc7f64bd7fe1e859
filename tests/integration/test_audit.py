"""The audit log of public requests against the real daemon (SPEC 7)."""

import os
import unittest

from sharelink_testlib import Daemon, Installation

GENEROUS = {"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000, "misses_per_minute": 1000000}}


def audit_rows(inst):
    return inst.audit_rows()


def all_bytes_under(directory):
    blobs = {}
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                blobs[os.path.join(root, name)] = f.read()
    return blobs


class AuditTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation(GENEROUS)

    def tearDown(self):
        self.inst.cleanup()

    def test_every_request_is_recorded_and_flushed_on_sigterm(self):
        tid = self.inst.add_track()
        _, ok_token = self.inst.share(tid)
        rid, revoked_token = self.inst.share(tid)
        self.inst.sharectl("share", "revoke", rid)
        lid, limited_token = self.inst.share(tid, "--max-views", "1")
        removed_tid = self.inst.add_track()
        _, removed_token = self.inst.share(removed_tid)
        self.inst.sharectl("track", "remove", removed_tid)
        admin_records = len(audit_rows(self.inst))

        daemon = Daemon(self.inst)
        seen = []  # (request id, status, expected outcome)
        plan = [(ok_token, {}, "ok"), (ok_token, {"User-Agent": "Slackbot 1.0"}, "preview"),
                (revoked_token, {}, "revoked"), (limited_token, {}, "ok"), (limited_token, {}, "limit_reached"),
                (removed_token, {}, "unavailable"), ("shr_" + "0" * 32, {}, "not_found"), ("junk", {}, "not_found")]
        for i in range(25):
            token, headers, outcome = plan[i % len(plan)]
            if token == limited_token and outcome == "ok" and i >= len(plan):
                outcome = "limit_reached"
            resp = daemon.resolve(token, headers)
            seen.append((resp.header("x-request-id"), resp.status, outcome))
        self.assertEqual(daemon.stop(), 0)

        rows = [r for r in audit_rows(self.inst) if r["event"] == "resolve"]
        self.assertEqual(len(audit_rows(self.inst)), admin_records + len(seen))
        self.assertEqual(len(rows), len(seen))
        by_request = {r["request_id"]: r for r in rows}
        self.assertEqual(set(by_request), {rid for rid, _, _ in seen})
        for request_id, status, outcome in seen:
            row = by_request[request_id]
            self.assertEqual(row["status"], status)
            self.assertEqual(row["outcome"], outcome, request_id)
            self.assertEqual(row["client_ip"], "127.0.0.1")
            self.assertRegex(row["token_fp"], r"^[0-9a-f]{12}$")
        ids = [r["id"] for r in audit_rows(self.inst)]
        self.assertEqual(ids, sorted(ids))
        revoked_row = next(r for r in rows if r["outcome"] == "revoked")
        self.assertEqual(revoked_row["share_id"], rid)

    def test_rate_limited_requests_are_recorded(self):
        self.inst.config["rate_limit"] = {"burst": 1}
        self.inst.write_config()
        daemon = Daemon(self.inst)
        statuses = [daemon.resolve("shr_" + "1" * 32).status for _ in range(3)]
        daemon.stop()
        self.assertEqual(statuses, [404, 429, 429])
        outcomes = [r["outcome"] for r in audit_rows(self.inst) if r["event"] == "resolve"]
        self.assertEqual(outcomes, ["not_found", "rate_limited", "rate_limited"])

    def test_preflight_wrong_method_and_unparsable_requests_are_recorded(self):
        daemon = Daemon(self.inst)
        answers = [daemon.request("OPTIONS", "/v1/music/shared/shr_" + "4" * 32),
                   daemon.request("POST", "/v1/music/shared/shr_" + "4" * 32, body=b"x"),
                   daemon.request("DELETE", "/v1/music/media/mtrack_1?share=x")]
        daemon.get("/nowhere")  # not a public route: no record
        daemon.stop()
        rows = [r for r in audit_rows(self.inst) if r["event"] in ("resolve", "media")]
        self.assertEqual([(r["event"], r["status"], r["outcome"]) for r in rows],
                         [("resolve", 204, "ok"), ("resolve", 405, "bad_request"), ("media", 405, "error")])
        self.assertEqual([r["request_id"] for r in rows], [a.header("x-request-id") for a in answers])

    def test_user_agent_is_truncated_and_escaped(self):
        daemon = Daemon(self.inst)
        daemon.resolve("shr_" + "2" * 32, {"User-Agent": "A" * 1000})
        daemon.resolve("shr_" + "3" * 32, {"User-Agent": "tab\there \\ backslash"})
        daemon.stop()
        agents = [r["user_agent"] for r in audit_rows(self.inst) if r["event"] == "resolve"]
        self.assertLessEqual(len(agents[0].encode()), 256)
        self.assertTrue(agents[0].startswith("AAAA"))
        self.assertNotIn("\t", agents[1])
        self.assertIn("\\x09", agents[1])

    def test_no_token_or_credential_reaches_any_file(self):
        tid = self.inst.add_track()
        created = self.inst.sharectl_json("share", "create", "--track", tid)
        token = created["token"]
        secrets = [token, "shr_" + "9" * 32, "Bearer sk_live_51HSecretValue", "key_SecretApiKey123",
                   "session=CookieSecret42"]
        daemon = Daemon(self.inst)
        for t in (token, "shr_" + "9" * 32, "shr_" + "9" * 32 + "/extra", token + "x"):
            daemon.resolve(t, {"Authorization": secrets[2], "X-API-Key": secrets[3], "Cookie": secrets[4]})
        # sharectl commands that take the token.
        self.inst.sharectl("share", "inspect", token)
        self.inst.sharectl("resolve", token)
        self.inst.sharectl("share", "revoke", created["id"])
        daemon.resolve(token, {"Authorization": secrets[2]})
        log = daemon.log()
        daemon.stop()
        log += daemon.log()
        for secret in secrets:
            self.assertNotIn(secret, log)
            for path, data in all_bytes_under(self.inst.dir).items():
                self.assertNotIn(secret.encode(), data, "%s found in %s" % (secret, path))
        # The credential-free parts still were audited.
        self.assertTrue(any(r["token_fp"] for r in audit_rows(self.inst)))


if __name__ == "__main__":
    unittest.main()
