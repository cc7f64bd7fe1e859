"""GET /metrics (SPEC 9): the Prometheus text format, checked by promtool and by a strict parser,
and the counts after a known sequence of requests.

promtool (Debian package prometheus) is used when installed; the parser below
checks the text format (version 0.0.4) itself either way: HELP/TYPE lines,
name and label syntax, escaping, one contiguous family per name, no duplicate
series, counters named *_total, histogram buckets cumulative in increasing le
ending with +Inf equal to _count.
"""

import http.client
import json
import math
import re
import shutil
import subprocess
import time
import unittest
import urllib.parse

from sharelink_testlib import SHARED_LINKD, Daemon, Installation

PROMTOOL = shutil.which("promtool")
NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(AssertionError):
    pass


def parse_value(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise FormatError("%s: not a number: %r" % (where, text))
    return float(text)


def parse_labels(text, pos, where):
    """Parses {a="x",b="y"} starting at text[pos] == "{"; returns (labels, position after "}")."""
    labels = {}
    pos += 1
    while True:
        if text[pos:pos + 1] == "}":
            return labels, pos + 1
        m = LABEL_NAME_RE.match(text, pos)
        if not m:
            raise FormatError("%s: bad label name at %r" % (where, text[pos:]))
        name = m.group(0)
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise FormatError("%s: expected =\" after label %s" % (where, name))
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise FormatError("%s: unterminated label value" % where)
            c = text[pos]
            if c == "\\":
                escaped = text[pos + 1:pos + 2]
                if escaped not in ('\\', '"', "n"):
                    raise FormatError("%s: bad escape \\%s" % (where, escaped))
                value.append("\n" if escaped == "n" else escaped)
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        if name in labels:
            raise FormatError("%s: duplicate label %s" % (where, name))
        labels[name] = "".join(value)
        if text[pos:pos + 1] == ",":
            pos += 1
        elif text[pos:pos + 1] != "}":
            raise FormatError("%s: expected , or } after label %s" % (where, name))


def family_of(sample_name, families):
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name[:-len(suffix)] if sample_name.endswith(suffix) else None
        if base and families.get(base, {}).get("type") in ("histogram", "summary"):
            return base
    return sample_name


def parse_exposition(text):
    """Strictly parses the text format. Returns {family: {"type", "help", "samples": [(name, labels, value)]}}."""
    if not text.endswith("\n"):
        raise FormatError("the exposition must end with a newline")
    families = {}
    order = []  # families in the order they appear; each must be contiguous
    seen_series = set()
    for number, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % number
        if line == "":
            raise FormatError("%s: empty line" % where)
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) ?(.*)", line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise FormatError("%s: malformed %r" % (where, line))
                continue  # a plain comment
            kind, name, rest = m.groups()
            if not NAME_RE.fullmatch(name):
                raise FormatError("%s: bad metric name %r" % (where, name))
            family = families.setdefault(name, {"type": None, "help": None, "samples": []})
            if order and order[-1] != name:
                if name in order:
                    raise FormatError("%s: family %s appears twice" % (where, name))
            if not order or order[-1] != name:
                order.append(name)
            if kind == "HELP":
                if family["help"] is not None:
                    raise FormatError("%s: second HELP for %s" % (where, name))
                family["help"] = rest
            else:
                if family["type"] is not None:
                    raise FormatError("%s: second TYPE for %s" % (where, name))
                if family["samples"]:
                    raise FormatError("%s: TYPE of %s after its samples" % (where, name))
                if rest not in TYPES:
                    raise FormatError("%s: unknown type %r" % (where, rest))
                family["type"] = rest
            continue
        m = NAME_RE.match(line)
        if not m:
            raise FormatError("%s: bad sample %r" % (where, line))
        sample_name = m.group(0)
        pos = m.end()
        labels = {}
        if line[pos:pos + 1] == "{":
            labels, pos = parse_labels(line, pos, where)
        rest = line[pos:]
        if not rest.startswith(" "):
            raise FormatError("%s: expected a space before the value in %r" % (where, line))
        parts = rest[1:].split(" ")
        if len(parts) not in (1, 2):
            raise FormatError("%s: bad value part %r" % (where, rest))
        value = parse_value(parts[0], where)
        if len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1]):
            raise FormatError("%s: bad timestamp %r" % (where, parts[1]))
        name = family_of(sample_name, families)
        family = families.setdefault(name, {"type": None, "help": None, "samples": []})
        if not order or order[-1] != name:
            if name in order:
                raise FormatError("%s: family %s appears twice" % (where, name))
            order.append(name)
        series = (sample_name, tuple(sorted(labels.items())))
        if series in seen_series:
            raise FormatError("%s: duplicate series %r" % (where, series))
        seen_series.add(series)
        family["samples"].append((sample_name, labels, value))

    for name, family in families.items():
        if family["type"] == "counter":
            if not name.endswith("_total"):
                raise FormatError("counter %s is not named *_total" % name)
            for _, _, value in family["samples"]:
                if value < 0:
                    raise FormatError("counter %s is negative" % name)
        if family["type"] == "histogram":
            check_histogram(name, family["samples"])
    return families


def check_histogram(name, samples):
    groups = {}
    for sample_name, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        group = groups.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sample_name == name + "_bucket":
            if "le" not in labels:
                raise FormatError("%s bucket without le" % name)
            group["buckets"].append((parse_value(labels["le"], name + " le"), value))
        elif sample_name == name + "_sum":
            group["sum"] = value
        elif sample_name == name + "_count":
            group["count"] = value
        else:
            raise FormatError("%s: unexpected sample %s in a histogram" % (name, sample_name))
    for key, group in groups.items():
        buckets = group["buckets"]
        if not buckets or buckets[-1][0] != math.inf:
            raise FormatError("%s%r: buckets must end with le=\"+Inf\"" % (name, key))
        for (le_a, n_a), (le_b, n_b) in zip(buckets, buckets[1:]):
            if not le_a < le_b:
                raise FormatError("%s%r: le not increasing (%s, %s)" % (name, key, le_a, le_b))
            if n_b < n_a:
                raise FormatError("%s%r: buckets not cumulative" % (name, key))
        if group["count"] is None or group["sum"] is None:
            raise FormatError("%s%r: _sum and _count are required" % (name, key))
        if buckets[-1][1] != group["count"]:
            raise FormatError("%s%r: +Inf bucket %s != _count %s" % (name, key, buckets[-1][1], group["count"]))


def sample(families, name, **labels):
    family = families[family_of(name, families)]
    for sample_name, sample_labels, value in family["samples"]:
        if sample_name == name and sample_labels == labels:
            return value
    return 0.0  # counters with no requests yet are not written


class StrictParserTest(unittest.TestCase):
    """The parser rejects what the format forbids (so passing it means something)."""

    GOOD = ("# HELP h_seconds Latency.\n# TYPE h_seconds histogram\n"
            'h_seconds_bucket{route="a",le="0.1"} 1\nh_seconds_bucket{route="a",le="+Inf"} 2\n'
            'h_seconds_sum{route="a"} 0.3\nh_seconds_count{route="a"} 2\n'
            '# HELP c_total Things.\n# TYPE c_total counter\nc_total{x="a\\"b\\\\c\\n"} 3\n')

    def test_accepts_a_valid_exposition(self):
        families = parse_exposition(self.GOOD)
        self.assertEqual(sample(families, "c_total", x='a"b\\c\n'), 3)
        self.assertEqual(sample(families, "h_seconds_count", route="a"), 2)

    def test_rejects(self):
        good = self.GOOD
        cases = [
            ("no final newline", good.rstrip("\n"), "end with a newline"),
            ("buckets not cumulative",
             good.replace('le="+Inf"} 2', 'le="+Inf"} 0').replace('_count{route="a"} 2', '_count{route="a"} 0'),
             "not cumulative"),
            ("+Inf differs from _count", good.replace('_count{route="a"} 2', '_count{route="a"} 3'), "!= _count"),
            ("no +Inf bucket", good.replace('h_seconds_bucket{route="a",le="+Inf"} 2\n', ""), "end with le"),
            ("le not increasing",
             good.replace('h_seconds_bucket{route="a",le="0.1"} 1\n',
                          'h_seconds_bucket{route="a",le="0.5"} 1\nh_seconds_bucket{route="a",le="0.1"} 1\n'),
             "le not increasing"),
            ("no _sum", good.replace('h_seconds_sum{route="a"} 0.3\n', ""), "_sum and _count"),
            ("bad escape", good.replace('a\\"b', 'a\\tb'), "bad escape"),
            ("unquoted label", good.replace('{x="a\\"b\\\\c\\n"}', "{x=a}"), 'expected ="'),
            ("bad label name", good.replace("{x=", "{1x="), "bad label name"),
            ("duplicate label", good.replace("{x=", '{x="1",x='), "duplicate label"),
            ("duplicate TYPE", good + "# TYPE c_total counter\n", "second TYPE|appears twice"),
            ("duplicate HELP", good.replace("# TYPE c_total", "# HELP c_total again\n# TYPE c_total"),
             "second HELP"),
            ("TYPE after samples", good.replace("# TYPE c_total counter\n", "") + "# TYPE c_total counter\n",
             "after its samples"),
            ("unknown type", good.replace("counter", "countr"), "unknown type"),
            ("family split", good + 'h_seconds_count{route="b"} 1\n', "appears twice"),
            ("duplicate series", good + 'c_total{x="a\\"b\\\\c\\n"} 4\n', "duplicate series"),
            ("counter without _total", good.replace("c_total", "c_things"), "not named"),
            ("negative counter", good.replace("\\n\"} 3", "\\n\"} -3"), "negative"),
            ("bad value", good.replace("\\n\"} 3", "\\n\"} 3x"), "not a number"),
            ("bad timestamp", good.replace("\\n\"} 3", "\\n\"} 3 soon"), "bad timestamp"),
            ("no space before value", good.replace("\\n\"} 3", "\\n\"}3"), "expected a space"),
            ("empty line", good.replace("# HELP c_total", "\n# HELP c_total"), "empty line"),
        ]
        for what, text, message in cases:
            with self.subTest(what):
                self.assertNotEqual(text, good, "the case must change the text")
                with self.assertRaisesRegex(FormatError, message):
                    parse_exposition(text)


class MetricsEndpointTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation({"rate_limit": {"requests_per_minute": 1, "burst": 5, "misses_per_minute": 1000}})
        self.addCleanup(self.inst.cleanup)
        self.tid = self.inst.add_track()
        self.share_id, self.token = self.inst.share(self.tid)
        revoked_id, self.revoked_token = self.inst.share(self.tid)
        self.inst.sharectl("share", "revoke", revoked_id)
        self.daemon = Daemon(self.inst)
        self.addCleanup(self.daemon.stop)

    def fetch(self, path, source="127.0.0.1"):
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=10, source_address=(source, 0))
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            self.daemon.check_answer("GET", path, resp.status, resp.getheaders(), body)
            return resp.status, resp.getheader("Content-Type"), body
        finally:
            conn.close()

    def scrape(self):
        status, content_type, body = self.fetch("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        text = body.decode("utf-8")
        return text, parse_exposition(text)

    def test_counts_after_known_requests(self):
        # Resolve, from 127.0.0.1 (burst 5, no refill to speak of): two views, an
        # unknown and a revoked token, a malformed one, then two refused.
        expected = [(self.token, 200), (self.token, 200), ("shr_" + "0" * 32, 404), (self.revoked_token, 410),
                    ("not-a-token", 404), (self.token, 429), (self.token, 429)]
        playback_url = None
        for token, status in expected:
            got, _, body = self.fetch("/v1/music/shared/" + token)
            self.assertEqual(got, status, body)
            if got == 200 and playback_url is None:
                playback_url = json.loads(body)["track"]["playback_url"]
        # Two more clients, one resolve each: the resolve limiter holds three buckets.
        for source in ("127.0.0.2", "127.0.0.3"):
            self.assertEqual(self.fetch("/v1/music/shared/shr_" + "1" * 32, source)[0], 404)
        # Media: one good signed URL, one tampered.
        path = urllib.parse.urlsplit(playback_url)
        media = path.path + "?" + path.query
        self.assertEqual(self.fetch(media)[0], 200)
        self.assertEqual(self.fetch(media.replace("sig=", "sig=AAAA"))[0], 403)
        self.assertEqual(self.fetch("/healthz")[0], 200)

        # Audit records are written off the request path: wait (bounded) for the writer.
        audited = len(expected) + 2 + 2
        deadline = time.monotonic() + 20
        while True:
            text, families = self.scrape()
            if sample(families, "sharelink_audit_records_written_total") >= audited or time.monotonic() > deadline:
                break
            time.sleep(0.1)

        resolve = lambda outcome: sample(families, "sharelink_requests_total", route="resolve", outcome=outcome)
        self.assertEqual(resolve("ok"), 2)
        self.assertEqual(resolve("not_found"), 4)
        self.assertEqual(resolve("revoked"), 1)
        self.assertEqual(resolve("rate_limited"), 2)
        self.assertEqual(sample(families, "sharelink_requests_total", route="media", outcome="ok"), 1)
        self.assertEqual(sample(families, "sharelink_requests_total", route="media", outcome="bad_signature"), 1)
        self.assertEqual(sample(families, "sharelink_requests_total", route="healthz", outcome="ok"), 1)
        self.assertEqual(sample(families, "sharelink_rate_limited_total", route="resolve"), 2)
        self.assertEqual(sample(families, "sharelink_rate_limited_total", route="media"), 0)
        self.assertEqual(sample(families, "sharelink_request_duration_seconds_count", route="resolve"), 9)
        self.assertEqual(sample(families, "sharelink_request_duration_seconds_count", route="media"), 2)
        self.assertGreater(sample(families, "sharelink_request_duration_seconds_sum", route="resolve"), 0)

        self.assertEqual(sample(families, "sharelink_rate_limiter_clients", limiter="resolve"), 3)
        self.assertEqual(sample(families, "sharelink_rate_limiter_clients", limiter="media"), 1)
        self.assertEqual(sample(families, "sharelink_rate_limiter_clients", limiter="miss"), 3)
        self.assertEqual(families["sharelink_rate_limiter_clients"]["type"], "gauge")

        self.assertEqual(sample(families, "sharelink_audit_records_written_total"), audited)
        self.assertEqual(families["sharelink_audit_records_written_total"]["type"], "counter")
        self.assertEqual(sample(families, "sharelink_audit_queue_depth"), 0)
        self.assertEqual(families["sharelink_audit_queue_depth"]["type"], "gauge")
        self.assertEqual(sample(families, "sharelink_audit_write_errors_total"), 0)
        self.assertEqual(sample(families, "sharelink_audit_records_lost_total"), 0)

        version = subprocess.run([SHARED_LINKD, "--version"], capture_output=True, text=True).stdout.split()[-1]
        self.assertEqual(sample(families, "sharelink_build_info", version=version), 1)
        for token in (self.token, self.revoked_token):
            self.assertNotIn(token, text)

    def test_every_family_documented_and_typed(self):
        _, families = self.scrape()
        for name, family in families.items():
            self.assertTrue(family["help"], name)
            self.assertIn(family["type"], TYPES - {"untyped"}, name)
        self.assertEqual(families["sharelink_request_duration_seconds"]["type"], "histogram")

    @unittest.skipUnless(PROMTOOL, "promtool is not installed (Debian package prometheus): promtool check skipped")
    def test_promtool_check_metrics(self):
        self.fetch("/v1/music/shared/" + "shr_" + "2" * 32)  # some non-zero series
        text, _ = self.scrape()
        proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.strip() + proc.stderr.strip(), "", "promtool found lint problems")


if __name__ == "__main__":
    unittest.main()
