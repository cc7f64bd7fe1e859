"""sharectl audit, audit stats, audit prune, and the admin records every changing command leaves."""

import datetime
import json
import queue
import signal
import subprocess
import threading
import time
import unittest

from cli_support import AUDIT_KEYS, OS_USER, SHARECTL, CliTestCase

DAY_MS = 86400 * 1000


def rfc3339(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AdminRecordTest(CliTestCase):
    def test_each_changing_command_leaves_one_admin_record(self):
        track_id = self.add_track()
        self.ok("licence", "set", "unclear", "2027-01", "--commercial-use", "no", "--requires-attribution", "yes")
        self.ok("track", "import", "-", input=json.dumps(self.ctl_json("track", "show", track_id)) + "\n")
        collection = self.ctl_json("collection", "create", "--name", "Mix")["id"]
        self.ok("collection", "add", collection, track_id)
        self.ok("collection", "drop", collection, track_id)
        share = self.create_share(track_id)
        self.ok("share", "expire", share["id"], "--at", "3d")
        self.ok("share", "revoke", share["id"], "--reason", "done")
        self.ok("collection", "remove", collection)
        self.ok("collection", "restore", collection)
        self.ok("track", "remove", track_id)
        self.ok("track", "restore", track_id)
        # Reading changes nothing.
        for argv in (["track", "list"], ["track", "show", track_id], ["collection", "list"], ["share", "list"],
                     ["share", "inspect", share["id"]], ["resolve", share["token"]], ["licence", "list"], ["audit"],
                     ["audit", "stats"]):
            self.ctl(*argv)

        records = self.ctl_json("audit", "--event", "admin")
        self.assertEqual([r["action"] for r in reversed(records)],
                         ["init", "track.add", "licence.set", "track.import", "collection.create", "collection.add",
                          "collection.drop", "share.create", "share.expire", "share.revoke", "collection.remove",
                          "collection.restore", "track.remove", "track.restore"])
        for record in records:
            self.assertEqual(list(record), AUDIT_KEYS)
            self.assertEqual((record["event"], record["outcome"], record["status"], record["actor"],
                              record["client_ip"], record["user_agent"]),
                             ("admin", "ok", None, OS_USER, None, None))
            self.assertRegex(record["request_id"], r"^req_[0-9a-f]{16}$")
            self.assertRegex(record["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertNotIn(share["token"], json.dumps(record))
        ids = [r["id"] for r in records]
        self.assertEqual(ids, sorted(ids, reverse=True))
        share_records = [r for r in records if r["action"].startswith("share.")]
        fingerprint = self.inspect(share["id"])["token_fp"]
        for record in share_records:
            self.assertEqual((record["share_id"], record["token_fp"]), (share["id"], fingerprint))
        self.assertIn("done", share_records[0]["detail"])

    def test_detail_is_short(self):
        title = "T" * 300  # the longest title: its record's detail is still cut
        self.add_track(title=title)
        detail = self.ctl_json("audit", "--event", "admin", "--limit", "1")[0]["detail"]
        self.assertTrue(detail.startswith("mtrack_"), detail)
        self.assertEqual(len(detail), 203)
        self.assertTrue(detail.endswith("TTT..."))

    def test_failed_commands_leave_no_record(self):
        before = len(self.ctl_json("audit"))
        self.ctl("track", "remove", "mtrack_nope")
        self.ctl("share", "create", "--track", "mtrack_nope")
        self.ctl("share", "create", "--track", "mtrack_nope", "--expires-in-days", "0")
        self.assertEqual(len(self.ctl_json("audit")), before)


class AuditFixtureTest(CliTestCase):
    """An audit log with records the daemon would have written over the last months."""

    def setUp(self):
        super().setUp()
        self.share = self.create_share(self.add_track())
        self.fp = self.inspect(self.share["id"])["token_fp"]
        now = int(time.time() * 1000)
        self.now_ms = now

        def row(n, age_ms, event, outcome, status, ip, share=None, fp=None, ua="curl/8.0"):
            return {"ts": now - age_ms, "event": event, "outcome": outcome, "status": status, "client_ip": ip,
                    "share_id": share, "token_fp": fp, "request_id": "req_%016d" % n, "user_agent": ua}

        self.rows = [
            row(1, 100 * DAY_MS, "resolve", "ok", 200, "203.0.113.7", self.share["id"], self.fp),
            row(2, 40 * DAY_MS, "resolve", "not_found", 404, "203.0.113.9", ua='=HYPERLINK("x")'),
            row(3, 2 * DAY_MS, "resolve", "ok", 200, "2001:db8::1", self.share["id"], self.fp,
                ua='Mozilla, "quoted"'),
            row(4, 3600 * 1000, "media", "ok", 200, "198.51.100.4", self.share["id"]),
            # Refused before the lookup: the token's fingerprint, no share.
            row(5, 3600 * 1000, "resolve", "rate_limited", 429, "203.0.113.7", fp=self.fp),
        ]
        self.insert_audit_records(self.rows)

    def request_ids(self, *args):
        """The fixture rows a query returns, as their numbers, in output order."""
        return [int(r["request_id"][4:]) for r in self.ctl_json("audit", *args)
                if r["request_id"].startswith("req_0000")]

    def test_json_records_newest_first(self):
        records = self.ctl_json("audit")
        for record in records:
            self.assertEqual(list(record), AUDIT_KEYS)
        self.assertEqual(self.request_ids(), [5, 4, 3, 2, 1])
        third = [r for r in records if r["request_id"] == "req_%016d" % 3][0]
        self.assertEqual((third["event"], third["outcome"], third["status"], third["client_ip"], third["share_id"],
                          third["token_fp"], third["user_agent"], third["actor"], third["action"], third["detail"]),
                         ("resolve", "ok", 200, "2001:db8::1", self.share["id"], self.fp, 'Mozilla, "quoted"', None,
                          None, None))

    def test_filters(self):
        since = rfc3339(self.now_ms - 50 * DAY_MS)
        until = rfc3339(self.now_ms - 30 * DAY_MS)
        cases = [
            (["--ip", "203.0.113.7"], [5, 1]),
            (["--ip", "203.0.113.0/24"], [5, 2, 1]),
            (["--ip", "2001:db8::/32"], [3]),
            (["--ip", "192.0.2.1"], []),
            (["--share", self.share["id"]], [4, 3, 1]),
            (["--token", self.share["token"]], [5, 3, 1]),
            (["--event", "media"], [4]),
            (["--outcome", "not_found"], [2]),
            (["--outcome", "rate_limited", "--event", "resolve"], [5]),
            (["--since", "30d"], [5, 4, 3]),
            (["--until", "30d"], [2, 1]),
            (["--since", since, "--until", until], [2]),
            (["--event", "resolve", "--limit", "2"], [5, 3]),
        ]
        for args, expected in cases:
            with self.subTest(args=args):
                self.assertEqual(self.request_ids(*args), expected)
        # The share's and the token's admin record (share.create) match too.
        self.assertEqual([r["action"] for r in self.ctl_json("audit", "--token", self.share["token"],
                                                             "--event", "admin")], ["share.create"])

    def test_bad_filter_values(self):
        time_forms = "an RFC 3339 time (2026-07-28T10:30:00Z) or a span (90s, 15m, 12h, 7d)"
        cases = [
            (["--ip", "300.1.1.1"], 'sharectl: error: --ip: expected an address or CIDR (203.0.113.7, '
                                    '203.0.113.0/24, 2001:db8::/32), got "300.1.1.1"\n'),
            (["--share", "share1"], 'sharectl: error: --share: expected a share link id (mslink_ followed by 12 '
                                    'lowercase hex), got "share1"\n'),
            (["--token", "shr_abc"], "sharectl: error: --token: expected a share token (shr_ followed by 32 "
                                     "lowercase hex)\n"),
            (["--event", "login"], 'sharectl: error: --event: expected one of resolve, page, media, admin, got "login"\n'),
            (["--outcome", "fine"], 'sharectl: error: --outcome: expected one of ok, preview, unavailable, not_found, '
                                    'revoked, expired, limit_reached, rate_limited, bad_request, error, '
                                    'bad_signature, url_expired, share_inactive, got "fine"\n'),
            (["--outcome", "unavailable_audit"], None),  # a metrics label, never a record's outcome
            (["--event", "Resolve"], None),
            (["--since", "last week"], 'sharectl: error: --since: expected %s, got "last week"\n' % time_forms),
            (["--until", "-1d"], None),
            (["--limit", "0"], 'sharectl: error: --limit: expected a whole number from 1 to 100000, got "0"\n'),
            (["--limit", "100001"], None),
            (["--limit", "ten"], None),
            (["--format", "xml"], 'sharectl: error: --format: expected one of table, json, csv, got "xml"\n'),
            (["--json", "--format", "csv"], "sharectl: error: --json and --format csv disagree (give one)\n"),
        ]
        for args, stderr in cases:
            with self.subTest(args=args):
                self.assert_usage_error(self.ctl("audit", *args), stderr, contains=args[0])

    def test_csv(self):
        lines = self.ok("audit", "--format", "csv", "--event", "resolve").stdout.splitlines()
        self.assertEqual(lines[0], ",".join(AUDIT_KEYS))
        self.assertEqual(len(lines), 5)
        rows = {line.split(",")[8]: line for line in lines[1:]}
        self.assertTrue(rows["req_%016d" % 3].endswith(',"Mozilla, ""quoted""",,,'), rows["req_%016d" % 3])
        # A stranger's User-Agent cannot become a spreadsheet formula.
        self.assertTrue(rows["req_%016d" % 2].endswith(",\"'=HYPERLINK(\"\"x\"\")\",,,"), rows["req_%016d" % 2])

    def test_table(self):
        lines = self.ok("audit", "--event", "media").stdout.splitlines()
        self.assertEqual(lines[0].split(), [k.upper() for k in AUDIT_KEYS])
        self.assertEqual(len(lines), 2)
        self.assertIn("198.51.100.4", lines[1])

    def test_stats(self):
        admin = len(self.ctl_json("audit", "--event", "admin"))
        stats = self.ctl_json("audit", "stats")
        self.assertEqual(list(stats), ["total", "by_outcome", "top_clients"])
        self.assertEqual(stats["total"], 5 + admin)
        self.assertEqual(stats["by_outcome"], {"admin/ok": admin, "media/ok": 1, "resolve/not_found": 1,
                                               "resolve/ok": 2, "resolve/rate_limited": 1})
        self.assertEqual(stats["top_clients"][0], {"client_ip": "203.0.113.7", "count": 2})
        recent = self.ctl_json("audit", "stats", "--since", "30d")
        self.assertEqual(recent["total"], 3 + admin)
        human = self.ok("audit", "stats").stdout
        self.assertIn("%d records" % (5 + admin), human)
        self.assertIn("resolve/ok", human)
        self.assert_usage_error(self.ctl("audit", "stats", "--since", "soon"), contains="--since: expected")

    def test_prune_with_the_configured_retention(self):
        report = self.ctl_json("audit", "prune")
        self.assertEqual(list(report), ["deleted", "ips_truncated", "cutoff", "ip_cutoff"])
        self.assertEqual(report["deleted"], 1)
        self.assertEqual(report["ips_truncated"], 1)
        self.assertEqual(self.request_ids(), [5, 4, 3, 2])
        aged = [r for r in self.ctl_json("audit") if r["request_id"] == "req_%016d" % 2][0]
        self.assertEqual(aged["client_ip"], "203.0.113.0")
        self.assertEqual(self.ctl_json("audit", "--event", "admin")[0]["action"], "audit.prune")

    def test_prune_older_than(self):
        report = self.ctl_json("audit", "prune", "--older-than", "1d")
        self.assertEqual(report["deleted"], 3)
        self.assertEqual(self.request_ids(), [5, 4])
        self.assertRegex(self.ok("audit", "prune", "--older-than", "1d").stdout,
                         r"^deleted 0 records older than \S+Z, truncated 0 client IPs older than \S+Z\n$")
        for span in ("ten", "-1d", "1w", "2026-01-01T00:00:00Z"):
            with self.subTest(span=span):
                self.assert_usage_error(self.ctl("audit", "prune", "--older-than", span),
                                        'sharectl: error: --older-than: expected a span (90s, 15m, 12h, 7d), '
                                        'got "%s"\n' % span)

    def test_share_inspect_summarises_the_links_resolves(self):
        shown = self.inspect(self.share["id"])
        self.assertEqual(shown["audit"], {"last_resolve": rfc3339(self.rows[2]["ts"]),
                                          "resolves_by_outcome": {"ok": 2}})
        human = self.ok("share", "inspect", self.share["id"]).stdout
        self.assertIn("resolves:       ok 2", human)


class ShortRetentionTest(CliTestCase):
    config = {"audit": {"retention_days": 30, "ip_retention_days": 1}}

    def test_prune_follows_the_config(self):
        now = int(time.time() * 1000)
        self.insert_audit_records([
            {"ts": now - 31 * DAY_MS, "event": "resolve", "outcome": "ok", "status": 200, "client_ip": "192.0.2.1",
             "request_id": "req_old"},
            {"ts": now - 2 * DAY_MS, "event": "resolve", "outcome": "ok", "status": 200,
             "client_ip": "2001:db8:1:2:3::9", "request_id": "req_mid"},
        ])
        self.assertEqual(self.ctl_json("audit", "prune")["deleted"], 1)
        kept = [r for r in self.ctl_json("audit", "--event", "resolve")]
        self.assertEqual([(r["request_id"], r["client_ip"]) for r in kept], [("req_mid", "2001:db8:1::")])


class FollowTest(CliTestCase):
    def start(self, *args):
        """sharectl audit --follow ARGS..., its stdout lines arriving on a queue."""
        proc = subprocess.Popen([SHARECTL, "--config", self.inst.config_path, "audit", "--follow"] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        return proc, lines

    def follow(self, stop_signal):
        existing = len(self.ctl_json("audit"))
        proc, lines = self.start("--format", "json")
        first = [json.loads(lines.get(timeout=30)) for _ in range(existing)]
        self.assertEqual(first[0]["action"], "init")  # oldest first, one JSON object per line
        self.ok("licence", "set", "unclear", "2030-01", "--commercial-use", "no", "--requires-attribution", "yes")
        self.insert_audit_records([{"ts": int(time.time() * 1000), "event": "resolve", "outcome": "ok",
                                    "status": 200, "client_ip": "192.0.2.1", "request_id": "req_live"}])
        new = [json.loads(lines.get(timeout=30)) for _ in range(2)]
        self.assertEqual([(r["action"], r["request_id"]) for r in new][1], (None, "req_live"))
        self.assertEqual(new[0]["action"], "licence.set")
        proc.send_signal(stop_signal)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(proc.stderr.read(), "")

    def test_follow_prints_new_records_until_sigterm(self):
        self.follow(signal.SIGTERM)

    def test_follow_stops_on_sigint(self):
        self.follow(signal.SIGINT)

    def test_csv_header_is_printed_once(self):
        proc, lines = self.start("--format", "csv", "--event", "resolve")
        self.assertEqual(lines.get(timeout=30), ",".join(AUDIT_KEYS) + "\n")
        for n in range(2):
            self.insert_audit_records([{"ts": int(time.time() * 1000), "event": "resolve", "outcome": "ok",
                                        "status": 200, "client_ip": "192.0.2.1", "request_id": "req_%d" % n}])
            self.assertEqual(lines.get(timeout=30).split(",")[8], "req_%d" % n)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertTrue(lines.empty())


if __name__ == "__main__":
    unittest.main()
