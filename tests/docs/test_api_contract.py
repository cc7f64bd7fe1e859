"""The OpenAPI document (docs/api/openapi.yaml) and its validator (tests/support/api_contract.py).

The integration tests prove that the daemon's answers match the document; these prove that the
validator would notice if they did not, and that the document covers what the source defines.
"""

import copy
import json
import os
import re
import unittest
from unittest import mock

import api_contract
from api_contract import Answer, ApiContract, ContractViolation

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

TOKEN = "shr_9f3a2b7c1e4d6a8f0b2c4d6e8f1a3b5c"
RID = "req_54a4c05860ac54ee"
COMMON = [("Access-Control-Allow-Origin", "*"), ("Cache-Control", "no-store"),
          ("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff"), ("X-Request-Id", RID)]
LIMITED = [("RateLimit", '"per-ip";r=29;t=1'), ("RateLimit-Policy", '"per-ip";q=30;w=30')]
JSON_TYPE = [("Content-Type", "application/json; charset=utf-8")]
HTML_TYPE = [("Content-Type", "text/html; charset=utf-8")]
STYLE = "'sha256-%s='" % ("A" * 43)
ERROR_PAGE_CSP = ("default-src 'none'; style-src %s; img-src data:; base-uri 'none'; form-action 'none'; "
                  "frame-ancestors 'none'" % STYLE)
PAGE_CSP = ("default-src 'none'; style-src %s; script-src %s; media-src https://music.example.org/v1/music/media/; "
            "connect-src https://music.example.org/v1/music/page/playback; img-src data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'" % (STYLE, STYLE))
EMBEDDING = {"page": {"embed_origins": ["https://blog.example.org"]}}


def error_body(code):
    return json.dumps({"success": False, "error": {"code": code, "message": "A message.", "request_id": RID}}).encode()


class ContractTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.contract = ApiContract()
        cls.doc = cls.contract.document

    def example(self, name):
        return copy.deepcopy(self.doc["components"]["examples"][name]["value"])

    def problems(self, answer, malformed=False, config=None):
        return self.contract.problems(answer, malformed, config)[2]

    def kinds(self, answer, malformed=False, config=None):
        return [(p.kind, p.detail) for p in self.problems(answer, malformed, config)]

    def html_example(self, response, key):
        content = self.doc["components"]["responses"][response]["content"]["text/html; charset=utf-8"]
        return content["examples"][key]["value"]

    def error_page(self, status=404, body=None, csp=ERROR_PAGE_CSP, target="/s/" + TOKEN, extra=()):
        """An HTML error answer of a page route, by default the document's 404 page."""
        if body is None:
            body = self.html_example("PageNotFound", "share_not_found")
        headers = COMMON + LIMITED + HTML_TYPE + [("X-Robots-Tag", "noindex"), ("Content-Security-Policy", csp)]
        return Answer("GET", target, status, headers + list(extra), body.encode())

    def view(self, headers=None, body=None, status=200, method="GET", target="/v1/music/shared/" + TOKEN):
        if headers is None:
            headers = COMMON + LIMITED + JSON_TYPE + [("X-Robots-Tag", "noindex")]
        if body is None:
            body = json.dumps(self.example("TrackView")).encode()
        return Answer(method, target, status, headers, body)


class DocumentTest(ContractTestCase):
    def media_examples(self):
        """(where, media type, schema, example value) of every example of a response body."""
        for name, response in self.doc["components"]["responses"].items():
            for media_type, media in response.get("content", {}).items():
                values = []
                if "example" in media:
                    values.append(("example", media["example"]))
                for key, example in media.get("examples", {}).items():
                    values.append((key, self.contract.resolve(example)["value"]))
                for key, value in values:
                    yield "%s %s %s" % (name, media_type, key), media_type, media.get("schema", {}), value

    def test_every_example_is_valid_against_its_schema(self):
        checked = 0
        for where, media_type, schema, value in self.media_examples():
            with self.subTest(where=where):
                errors = self.contract._validate(value, schema)
                self.assertEqual([e.message for e in errors], [], where)
                checked += 1
        self.assertGreater(checked, 30)

    def test_the_view_schema_refuses_what_the_spec_forbids(self):
        schema = {"$ref": "#/components/schemas/ShareView"}
        track = self.example("TrackView")
        cases = {
            "an extra field": dict(track, extra=1),
            "a missing field": {k: v for k, v in track.items() if k != "tracks"},
            "a track share with tracks": dict(track, tracks=[]),
            "kind and target_type apart": dict(track, share=dict(track["share"], target_type="collection")),
            "available without its track": dict(track, track=None),
            "unavailable with a track": dict(track, available=False, message="gone"),
            "unavailable without a message": dict(self.example("UnavailableView"), message=None),
            "an unclear licence overstated": dict(track, track=dict(track["track"], licence=dict(
                track["track"]["licence"], licence_class="unclear", requires_attribution=False))),
            "a timestamp with a fraction": dict(track, share=dict(track["share"], expires_at="2026-12-28T10:30:00.5Z")),
            "a duration as a string": dict(track, track=dict(track["track"], measured_duration_seconds="120.4")),
        }
        for what, body in cases.items():
            with self.subTest(what=what):
                self.assertNotEqual(self.contract._validate(body, schema), [], what)

    def source_error_codes(self):
        """(status, code) of every public error the source defines."""
        with open(os.path.join(ROOT, "common", "public_errors.cpp")) as f:
            table = re.findall(r'\{(\d{3}), "([A-Z_]+)", "', f.read())
        with open(os.path.join(ROOT, "daemon", "media_route.cpp")) as f:
            table += [("416", code) for code in re.findall(r'"code":"([A-Z_]+)"', f.read())]
        self.assertGreaterEqual(len(table), 13)
        return [(int(status), code) for status, code in table]

    def codes_allowed(self, response):
        """The error codes a response's JSON schema allows, or None if it has no JSON error."""
        for media_type, media in self.contract.resolve(response).get("content", {}).items():
            if not media_type.startswith("application/json"):
                continue
            schema = media["schema"]
            if schema.get("$ref") == "#/components/schemas/Error":
                return set(self.doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
            if "allOf" not in schema:
                continue  # not an error body
            code = schema["allOf"][1]["properties"]["error"]["properties"]["code"]
            return {code["const"]} if "const" in code else set(code["enum"])
        return None

    def test_every_error_code_of_the_source_is_documented_with_its_status(self):
        enum = set(self.doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
        lists = [self.doc["x-sharelink-unrouted"]["responses"]]
        for item in self.doc["paths"].values():
            lists += [item[m]["responses"] for m in api_contract.METHODS if m in item]
            lists += [item["x-sharelink-other-methods"]["responses"]] if "x-sharelink-other-methods" in item else []
        documented = set()
        for responses in lists:
            for status, response in responses.items():
                documented |= {(int(status), code) for code in self.codes_allowed(response) or ()}
        for status, code in self.source_error_codes():
            with self.subTest(code=code):
                self.assertIn(code, enum)
                self.assertIn((status, code), documented, "no operation documents %d %s" % (status, code))
        self.assertEqual(enum, {code for _, code in self.source_error_codes()})

    def test_every_error_example_matches_a_status_of_its_code(self):
        statuses = {code: status for status, code in self.source_error_codes()}
        for name, example in self.doc["components"]["examples"].items():
            value = example["value"]
            if isinstance(value, dict) and "error" in value:
                with self.subTest(example=name):
                    self.assertIn(value["error"]["code"], statuses)

    def test_every_route_of_the_daemon_is_documented(self):
        with open(os.path.join(ROOT, "daemon", "public_server.cpp")) as f:
            source = f.read()
        literal = set(re.findall(r'server\.(?:Get|Options)\("(/[a-z/]+)"', source))
        with open(os.path.join(ROOT, "daemon", "routes.hpp")) as f:
            constants = set(re.findall(r'k_\w+_path = "(/[^"]*)"', source + f.read()))
        self.assertEqual(constants, {"/oembed", "/v1/music/page/playback"})
        literal |= constants
        patterns = re.findall(r'k_\w+_pattern = R"\((/[^)]+\)[^"]*)\)"', source)
        self.assertTrue(literal and patterns)
        for path in literal:
            self.assertIn(path, self.doc["paths"])
        for pattern in patterns:
            regex = re.compile(pattern)
            self.assertTrue(any(regex.fullmatch(template.replace("{", "").replace("}", "")) for template in
                                self.doc["paths"]), pattern)


class ValidatorTest(ContractTestCase):
    def test_a_documented_answer_passes(self):
        self.assertEqual(self.problems(self.view()), [])
        self.contract.check(self.view())

    def test_an_undocumented_status_fails_naming_route_and_status(self):
        with self.assertRaises(ContractViolation) as caught:
            self.contract.check(self.view(status=302))
        message = str(caught.exception)
        self.assertIn("GET /v1/music/shared/{token}", message)
        self.assertIn("status 302 is not documented (documented: 200, 400, 404, 410, 429, 500, 503)", message)

    def test_a_missing_required_header_fails(self):
        headers = [h for h in COMMON + LIMITED + JSON_TYPE if h[0] != "RateLimit"]
        self.assertEqual(self.kinds(self.view(headers)), [("missing-header", "ratelimit")])

    def test_a_malformed_header_value_fails(self):
        cases = {("RateLimit", "30"): "ratelimit", ("X-Request-Id", "req_XYZ"): "x-request-id",
                 ("Cache-Control", "max-age=60"): "cache-control", ("X-Robots-Tag", "all"): "x-robots-tag"}
        for (name, value), detail in cases.items():
            with self.subTest(header=name):
                headers = [h for h in COMMON + LIMITED + JSON_TYPE if h[0] != name] + [(name, value)]
                self.assertEqual(self.kinds(self.view(headers)), [("header-value", detail)])

    def test_an_integer_header_must_be_an_integer(self):
        headers = COMMON + LIMITED + JSON_TYPE + [("X-Robots-Tag", "noindex")]
        limited = Answer("GET", "/v1/music/shared/x", 429, headers + [("Retry-After", "soon")],
                         error_body("RATE_LIMITED"))
        self.assertEqual(self.kinds(limited), [("header-value", "retry-after")])
        limited.headers[-1] = ("Retry-After", "0")
        self.assertEqual(self.kinds(limited), [("header-value", "retry-after")])
        limited.headers[-1] = ("Retry-After", "20")
        self.assertEqual(self.kinds(limited), [])

    def test_a_header_sent_twice_fails(self):
        headers = COMMON + LIMITED + JSON_TYPE + [("X-Request-Id", RID)]
        self.assertEqual(self.kinds(self.view(headers)), [("repeated-header", "x-request-id")])

    def test_an_undocumented_content_type_fails(self):
        headers = COMMON + LIMITED + [("Content-Type", "application/json")]
        self.assertEqual(self.kinds(self.view(headers)), [("content-type", "application/json")])
        headers = COMMON + LIMITED
        self.assertEqual(self.kinds(self.view(headers)), [("content-type", "")])

    def test_a_media_range_admits_its_subtypes_only(self):
        signed = "/v1/music/media/mtrack_b4d9e1c6a72f?share=mslink_bb7253a121a5&exp=1&kid=k1&sig=x"
        base = COMMON + LIMITED + [("Access-Control-Expose-Headers", "Accept-Ranges, Content-Length, Content-Range, "
                                    "X-Request-Id, RateLimit, RateLimit-Policy, Retry-After")]
        for content_type, kinds in (("audio/ogg", []), ("audio/flac", []), ("application/octet-stream", []),
                                    ("text/html", [("content-type", "text/html")])):
            with self.subTest(content_type=content_type):
                self.assertEqual(self.kinds(Answer("GET", signed, 200, base + [("Content-Type", content_type)],
                                                   b"bytes")), kinds)

    def test_a_body_off_the_schema_fails_naming_where(self):
        body = self.example("TrackView")
        body["track"]["licence"]["commercial_use"] = "no"
        problems = self.problems(self.view(body=json.dumps(body).encode()))
        self.assertIn(("body", "track/licence/commercial_use"), [(p.kind, p.detail) for p in problems])
        self.assertEqual({p.kind for p in problems}, {"body"})
        self.assertIn("body at track/licence/commercial_use: 'no' is not of type 'boolean'",
                      "\n".join(p.message for p in problems))
        self.assertEqual(self.kinds(self.view(body=b"{not json")), [("body", "")])

    def test_an_error_code_outside_the_status_fails(self):
        headers = COMMON + LIMITED + JSON_TYPE + [("X-Robots-Tag", "noindex")]
        gone = Answer("GET", "/v1/music/shared/" + TOKEN, 404, headers, error_body("SHARE_REVOKED"))
        self.assertEqual(self.kinds(gone), [("error-code", "SHARE_REVOKED")])
        found = Answer("GET", "/v1/music/shared/" + TOKEN, 404, headers, error_body("SHARE_NOT_FOUND"))
        self.assertEqual(self.kinds(found), [])

    def test_head_answers_are_checked_without_a_body(self):
        self.assertEqual(self.kinds(self.view(method="HEAD", body=b"")), [])
        headers = COMMON + LIMITED + [("Content-Type", "text/plain")]
        self.assertEqual(self.kinds(self.view(headers, method="HEAD", body=b"")), [("content-type", "text/plain")])

    def test_a_body_where_none_is_documented_fails(self):
        preflight = COMMON + LIMITED + [("X-Robots-Tag", "noindex"), ("Allow", "GET, HEAD, OPTIONS"),
                                        ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
                                        ("Access-Control-Allow-Headers", "Range, Content-Type"),
                                        ("Access-Control-Max-Age", "86400")]
        self.assertEqual(self.kinds(self.view(preflight, method="OPTIONS", status=204, body=b"")), [])
        self.assertEqual(self.kinds(self.view(preflight, method="OPTIONS", status=204, body=b"x")), [("body", "")])

    def test_unknown_paths_get_the_unrouted_answers(self):
        headers = COMMON + JSON_TYPE + [("X-Robots-Tag", "noindex")]
        for path in ("/", "/nope", "/v1/music/shared", "/v1/music/shared/a/b"):
            with self.subTest(path=path):
                self.assertEqual(self.kinds(Answer("GET", path, 404, headers, error_body("NOT_FOUND"))), [])
                self.assertEqual(self.kinds(Answer("GET", path, 200, headers, b"{}")), [("status", "200")])
                what = self.contract.problems(Answer("GET", path, 200, headers, b"{}"))[0]
                self.assertIn("a path no route serves", what)

    def test_other_methods_get_the_routes_405(self):
        headers = COMMON + LIMITED + JSON_TYPE + [("X-Robots-Tag", "noindex"), ("Allow", "GET, HEAD, OPTIONS")]
        refused = Answer("DELETE", "/v1/music/shared/" + TOKEN, 405, headers, error_body("METHOD_NOT_ALLOWED"))
        self.assertEqual(self.kinds(refused), [])
        served = Answer("DELETE", "/v1/music/shared/" + TOKEN, 200, headers, b"{}")
        self.assertEqual(self.kinds(served), [("status", "200")])
        without_limits = Answer("DELETE", "/v1/music/shared/" + TOKEN, 405,
                                [h for h in headers if h not in LIMITED], error_body("METHOD_NOT_ALLOWED"))
        self.assertEqual(sorted(self.kinds(without_limits)),
                         [("missing-header", "ratelimit"), ("missing-header", "ratelimit-policy")])

    def test_a_malformed_request_must_get_the_documented_400(self):
        headers = COMMON + JSON_TYPE + [("X-Robots-Tag", "noindex")]
        self.assertEqual(self.kinds(Answer("GET", "/", 400, headers, error_body("BAD_REQUEST")), malformed=True), [])
        self.assertEqual(self.kinds(Answer("GET", "/", 404, headers, error_body("NOT_FOUND")), malformed=True),
                         [("status", "404")])
        self.assertEqual(self.kinds(Answer("GET", "/", 400, headers, error_body("NOT_FOUND")), malformed=True),
                         [("error-code", "NOT_FOUND")])

    def test_known_deviations_are_tolerated_only_where_listed(self):
        signed = "/v1/music/media/mtrack_b4d9e1c6a72f?share=mslink_bb7253a121a5&exp=1&kid=k1&sig=x"
        expose = [("Access-Control-Expose-Headers", "Accept-Ranges, Content-Length, Content-Range, X-Request-Id, "
                   "RateLimit, RateLimit-Policy, Retry-After"), ("X-Robots-Tag", "noindex")]
        once = COMMON + LIMITED + JSON_TYPE + expose + [("Accept-Ranges", "bytes"), ("Content-Range", "bytes */10")]
        twice = once + [("X-Request-Id", RID), ("X-Robots-Tag", "noindex")]
        self.contract.check(Answer("GET", signed, 416, once, error_body("RANGE_NOT_SATISFIABLE")))
        # The daemon once sent these twice; with the fix, nothing tolerates it any more.
        with self.assertRaises(ContractViolation):
            self.contract.check(Answer("GET", signed, 416, twice, error_body("RANGE_NOT_SATISFIABLE")))
        # The mechanism, for the next deviation found: a listed fault passes, on that answer alone.
        listed = tuple(api_contract.Deviation("*", "/v1/music/media/{track_id}", 416, "repeated-header", name,
                                              "a fault under repair") for name in ("x-request-id", "x-robots-tag"))
        with mock.patch.object(api_contract, "KNOWN_DEVIATIONS", listed):
            self.contract.check(Answer("GET", signed, 416, twice, error_body("RANGE_NOT_SATISFIABLE")))
            with self.assertRaises(ContractViolation):  # the same fault on another route
                self.contract.check(self.view(COMMON + LIMITED + JSON_TYPE + [("X-Request-Id", RID)]))
            with self.assertRaises(ContractViolation):  # another fault on the same answer
                self.contract.check(Answer("GET", signed, 416, [h for h in twice if h[0] != "RateLimit"],
                                           error_body("RANGE_NOT_SATISFIABLE")))
        for deviation in api_contract.KNOWN_DEVIATIONS:
            self.assertIn(deviation.route, self.doc["paths"])
            self.assertTrue(deviation.reason)

    def test_a_used_up_link_is_no_longer_tolerated_on_the_media_route(self):
        signed = "/v1/music/media/mtrack_b4d9e1c6a72f?share=mslink_bb7253a121a5&exp=1&kid=k1&sig=x"
        expose = [("Access-Control-Expose-Headers", "Accept-Ranges, Content-Length, Content-Range, X-Request-Id, "
                   "RateLimit, RateLimit-Policy, Retry-After"), ("X-Robots-Tag", "noindex")]
        headers = COMMON + LIMITED + JSON_TYPE + expose
        self.assertEqual(self.kinds(Answer("GET", signed, 410, headers, error_body("SHARE_LIMIT_REACHED"))),
                         [("error-code", "SHARE_LIMIT_REACHED")])
        self.assertEqual(self.kinds(Answer("GET", signed, 410, headers, error_body("SHARE_REVOKED"))), [])
        self.assertFalse([d for d in api_contract.KNOWN_DEVIATIONS if d.detail == "SHARE_LIMIT_REACHED"])

    def test_a_route_behind_a_switch_is_unrouted_when_the_switch_is_off(self):
        json_404 = Answer("GET", "/s/" + TOKEN, 404, COMMON + JSON_TYPE + [("X-Robots-Tag", "noindex")],
                          error_body("NOT_FOUND"))
        disabled = {"page": {"enabled": False}}
        self.assertEqual(self.kinds(json_404, config=disabled), [])
        what = self.contract.problems(json_404, config=disabled)[0]
        self.assertIn("a path this configuration does not serve (/s/{token}, since page.enabled is false)", what)
        # Served (the default): the page's own 404, an HTML page with its code.
        self.assertIn(("content-type", "application/json; charset=utf-8"), self.kinds(json_404))
        self.assertEqual(self.kinds(self.error_page()), [])
        self.assertEqual(self.kinds(self.error_page(), config=disabled), [("content-type", "text/html; charset=utf-8")])
        # Embedding is off by default: the embed route and oEmbed are not routes then.
        for target in ("/s/%s/embed" % TOKEN, "/oembed?url=x&format=json"):
            with self.subTest(target=target):
                unrouted = Answer("GET", target, 404, COMMON + JSON_TYPE + [("X-Robots-Tag", "noindex")],
                                  error_body("NOT_FOUND"))
                self.assertEqual(self.kinds(unrouted), [])
                self.assertEqual(self.kinds(unrouted, config={"page": {"embed_origins": []}}), [])
                self.assertIn(("missing-header", "ratelimit"), self.kinds(unrouted, config=EMBEDDING))
                self.assertEqual(self.kinds(unrouted, config={"page": {"enabled": False, "embed_origins": ["x"]}}), [])
        # The refresh follows page.enabled alone.
        refresh = Answer("GET", "/v1/music/page/playback", 404, COMMON + JSON_TYPE + [("X-Robots-Tag", "noindex")],
                         error_body("NOT_FOUND"))
        self.assertEqual(self.kinds(refresh, config=disabled), [])
        self.assertIn(("missing-header", "ratelimit"), self.kinds(refresh))

    def test_every_switch_names_its_default(self):
        for template, item in self.doc["paths"].items():
            switch = item.get("x-sharelink-served-when")
            if switch is None:
                continue
            with self.subTest(path=template):
                self.assertTrue(switch["description"])
                for condition in switch["config"]:
                    self.assertEqual(set(condition), {"key", "is", "default"})
                    self.assertIn(condition["key"], ("page.enabled", "page.embed_origins"))
        switched = {t for t, item in self.doc["paths"].items() if "x-sharelink-served-when" in item}
        self.assertEqual(switched, {"/s/{token}", "/s/{token}/embed", "/v1/music/page/playback", "/oembed"})

    def test_an_html_page_must_carry_the_code_of_its_status(self):
        revoked = self.html_example("PageGone", "revoked")
        self.assertEqual(self.kinds(self.error_page(410, revoked)), [])
        self.assertEqual(self.kinds(self.error_page(404, revoked)), [("body", "")])
        self.assertIn("does not match", self.problems(self.error_page(404, revoked))[0].message)
        without_reference = re.sub(r'<p class="ref">.*?</p>\n', "", revoked)
        self.assertEqual(self.kinds(self.error_page(410, without_reference)), [("body", ""), ("body", "")])
        self.assertEqual(len(self.kinds(self.error_page(410, "<html>oops</html>"))), 3)
        not_utf8 = self.error_page(410, revoked)
        not_utf8.body = revoked.encode("utf-16")
        self.assertEqual(self.kinds(not_utf8), [("body", "")])
        self.assertIn("not UTF-8", self.problems(not_utf8)[0].message)

    def test_a_share_page_must_carry_its_meta_tags_and_policy(self):
        page = self.html_example("SharePage", "track")
        headers = COMMON + LIMITED + HTML_TYPE + [("X-Robots-Tag", "noindex"), ("Content-Security-Policy", PAGE_CSP)]
        self.assertEqual(self.kinds(Answer("GET", "/s/" + TOKEN, 200, headers, page.encode())), [])
        no_card = page.replace('<meta name="twitter:card" content="summary">\n', "")
        self.assertEqual(self.kinds(Answer("GET", "/s/" + TOKEN, 200, headers, no_card.encode())), [("body", "")])
        for policy in (PAGE_CSP.replace("script-src " + STYLE, "script-src 'unsafe-inline'"),
                       PAGE_CSP.replace("frame-ancestors 'none'", "frame-ancestors *"),
                       PAGE_CSP.replace("; form-action 'none'", ""),
                       PAGE_CSP.replace("media-src https://music.example.org/v1/music/media/", "media-src *")):
            with self.subTest(policy=policy):
                changed = [h for h in headers if h[0] != "Content-Security-Policy"] + [("Content-Security-Policy", policy)]
                self.assertEqual(self.kinds(Answer("GET", "/s/" + TOKEN, 200, changed, page.encode())),
                                 [("header-value", "content-security-policy")])
        # The embed page's policy names its framing origins; an error page's has no player.
        embed = [h for h in headers if h[0] != "Content-Security-Policy"] + [
            ("Content-Security-Policy", PAGE_CSP.replace("frame-ancestors 'none'", "frame-ancestors https://blog.example.org"))]
        self.assertEqual(self.kinds(Answer("GET", "/s/%s/embed" % TOKEN, 200, embed, page.encode()), config=EMBEDDING), [])
        self.assertEqual(self.kinds(Answer("GET", "/s/" + TOKEN, 200, embed, page.encode())),
                         [("header-value", "content-security-policy")])
        self.assertEqual(self.kinds(self.error_page(csp=PAGE_CSP)), [("header-value", "content-security-policy")])

    def test_the_page_routes_405_is_an_html_page(self):
        page = self.html_example("PageMethodNotAllowed", "method_not_allowed")
        allow = [("Allow", "GET, HEAD, OPTIONS")]
        refused = self.error_page(405, page, extra=allow)
        refused.method = "DELETE"
        self.assertEqual(self.kinds(refused), [])
        as_json = Answer("DELETE", "/s/" + TOKEN, 405, COMMON + LIMITED + JSON_TYPE + allow + [("X-Robots-Tag", "noindex")],
                         error_body("METHOD_NOT_ALLOWED"))
        self.assertIn(("content-type", "application/json; charset=utf-8"), self.kinds(as_json))

    def test_the_refresh_answers_exactly_its_fields_and_codes(self):
        media = [("RateLimit", '"per-ip";r=199;t=1'), ("RateLimit-Policy", '"per-ip";q=200;w=10')]
        headers = COMMON + media + JSON_TYPE + [("X-Robots-Tag", "noindex")]
        body = copy.deepcopy(self.doc["components"]["examples"]["PlaybackRefreshCollection"]["value"])
        fresh = lambda b, status=200: Answer("GET", "/v1/music/page/playback", status, headers, json.dumps(b).encode())
        self.assertEqual(self.kinds(fresh(body)), [])
        for what, changed in {"a title": dict(body, tracks=[dict(body["tracks"][0], title="x")]),
                              "a view field": dict(body, available=True),
                              "a null URL": dict(body, tracks=[dict(body["tracks"][0], playback_url=None)]),
                              "no expiry": {"tracks": body["tracks"]},
                              "a zero expiry": dict(body, expires_in=0)}.items():
            with self.subTest(what=what):
                self.assertEqual({k for k, _ in self.kinds(fresh(changed))}, {"body"})
        gone = lambda code: Answer("GET", "/v1/music/page/playback", 410, headers, error_body(code))
        for code in ("PAGE_SESSION_EXPIRED", "SHARE_REVOKED", "SHARE_EXPIRED"):
            self.assertEqual(self.kinds(gone(code)), [])
        self.assertEqual(self.kinds(gone("SHARE_LIMIT_REACHED")), [("error-code", "SHARE_LIMIT_REACHED")])
        invalid = Answer("GET", "/v1/music/page/playback", 403, headers, error_body("PAGE_SESSION_INVALID"))
        self.assertEqual(self.kinds(invalid), [])
        invalid.body = error_body("SIGNATURE_INVALID")
        self.assertEqual(self.kinds(invalid), [("error-code", "SIGNATURE_INVALID")])

    def test_oembed_answers_exactly_its_fields(self):
        headers = COMMON + LIMITED + JSON_TYPE + [("X-Robots-Tag", "noindex")]
        body = copy.deepcopy(self.doc["components"]["examples"]["OEmbedTrack"]["value"])
        target = "/oembed?url=x&format=json"
        answer = lambda b: Answer("GET", target, 200, headers, json.dumps(b).encode())
        self.assertEqual(self.kinds(answer(body), config=EMBEDDING), [])
        for what, changed in {"no provider_url": {k: v for k, v in body.items() if k != "provider_url"},
                              "an extra field": dict(body, author_name="x"),
                              "another version": dict(body, version="2.0"),
                              "a script in html": dict(body, html="<script>alert(1)</script>"),
                              "wider than the player": dict(body, width=481)}.items():
            with self.subTest(what=what):
                self.assertEqual({k for k, _ in self.kinds(answer(changed), config=EMBEDDING)}, {"body"})
        without_limits = Answer("GET", target, 200, COMMON + JSON_TYPE, json.dumps(body).encode())
        self.assertEqual(sorted(self.kinds(without_limits, config=EMBEDDING)),
                         [("missing-header", "ratelimit"), ("missing-header", "ratelimit-policy")])

    def test_raw_answers_are_parsed_and_checked(self):
        answer = (b"HTTP/1.1 404 Not Found\r\nAccess-Control-Allow-Origin: *\r\nCache-Control: no-store\r\n"
                  b"Content-Type: application/json; charset=utf-8\r\nReferrer-Policy: no-referrer\r\n"
                  b"X-Content-Type-Options: nosniff\r\nX-Request-Id: " + RID.encode() + b"\r\n"
                  b"X-Robots-Tag: noindex\r\nContent-Length: %d\r\n\r\n" % len(error_body("NOT_FOUND")))
        answer += error_body("NOT_FOUND")
        api_contract.check_raw(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", answer)
        with self.assertRaises(ContractViolation) as caught:
            api_contract.check_raw(b"GARBAGE\r\n\r\n", answer)
        self.assertIn("malformed=True", str(caught.exception))
        with self.assertRaises(ContractViolation):  # garbage answered 404, not the documented 400
            api_contract.check_raw(b"GARBAGE\r\n\r\n", answer, malformed=True)


if __name__ == "__main__":
    unittest.main()
