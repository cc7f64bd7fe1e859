"""Checks HTTP answers of shared-linkd against the OpenAPI document, docs/api/openapi.yaml.

sharelink_testlib.Daemon runs every answer its tests receive through check(), so the document
cannot drift from the daemon: the status must be documented for the method and path, every
documented header must be present when required and well-formed when present (and sent once), the
Content-Type must be one the document lists, a JSON body must be valid against its schema, and a
text body (the share page's HTML) against its string schema. An answer to a path the document does
not list is checked against x-sharelink-unrouted, an answer to a method a path does not serve
against that path's x-sharelink-other-methods. A path with x-sharelink-served-when is a route only
under that configuration; under any other its answers are checked against x-sharelink-unrouted,
so the checks take the daemon's configuration (the tables of its TOML file, as a dict; None: the
built-in defaults the document names).

A test that deliberately sends bytes no document can describe (a broken request line, binary
garbage) says so with malformed=True: its answer must then be the document's 400 for a request
that cannot be parsed.

Needs Debian's python3-jsonschema and python3-yaml, which import only under /usr/bin/python3 (the
interpreter CTest runs the black-box tests with).
"""

import collections
import json
import os
import re

try:
    import jsonschema
    import yaml
except ImportError as error:  # pragma: no cover - a setup problem, reported as such
    raise ImportError("%s: the OpenAPI validator needs python3-jsonschema and python3-yaml (Debian packages, "
                      "importable by /usr/bin/python3, the interpreter CTest uses)" % error) from error

DOCUMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "api", "openapi.yaml")

METHODS = ("get", "head", "options", "put", "post", "delete", "patch", "trace")

# Where the daemon was seen to disagree with the document. Each entry is a bug in the daemon, not
# part of the contract: it is tolerated here so that the rest of every such answer is still
# checked, and it is to be removed with the fix (the document marks each with "KNOWN DEVIATION").
# Fields: method ("*" for any), route template, status, kind of problem, detail, why.
Deviation = collections.namedtuple("Deviation", "method route status kind detail reason")
KNOWN_DEVIATIONS = ()


class ContractViolation(AssertionError):
    """An answer the document does not describe."""


Problem = collections.namedtuple("Problem", "kind detail message")


def _media_type(value):
    """("type/subtype", "normalised full value") of a Content-Type or a content key."""
    parts = [p.strip() for p in value.split(";")]
    params = []
    for p in parts[1:]:
        if p:
            name, _, val = p.partition("=")
            params.append("%s=%s" % (name.strip().lower(), val.strip()))
    base = parts[0].lower()
    return base, "; ".join([base] + params)


def _range_matches(pattern, actual):
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return actual.startswith(pattern[:-1])
    return pattern == actual


def _text_error(error):
    """What a schema error says about a text body, without quoting the whole page."""
    if error.validator == "pattern":
        return "does not match the pattern %r" % error.validator_value
    return "is not valid: %s" % error.message[:300]


def _is_json(media_type):
    return media_type == "application/json" or media_type.endswith("+json")


class Answer:
    """One HTTP answer as the validator sees it. headers: (name, value) pairs as received; body:
    bytes, or None when the test did not read it (a stream)."""

    def __init__(self, method, target, status, headers, body):
        self.method = method.upper()
        self.target = target
        self.status = int(status)
        self.headers = list(headers)
        self.body = body

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    def values(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]


def parse_raw_request(data):
    """(method, target) of the request line of raw request bytes, or None if there is none."""
    line = data.split(b"\r\n", 1)[0]
    m = re.match(rb"^([A-Z]+) (/[\x21-\x7e]*) HTTP/1\.[01]$", line)
    if not m:
        return None
    return m.group(1).decode(), m.group(2).decode()


def parse_raw_answer(data):
    """(status, [(name, value)], body) of the first answer in raw bytes."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    m = re.match(r"^HTTP/1\.[01] (\d{3})(?: .*)?$", lines[0])
    if not m:
        raise ContractViolation("not an HTTP answer: %r" % data[:80])
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ContractViolation("malformed header line in the answer: %r" % line)
        headers.append((name.strip(), value.strip()))
    length = [v for n, v in headers if n.lower() == "content-length"]
    body = rest[:int(length[0])] if length else rest
    return int(m.group(1)), headers, body


class ApiContract:
    """The document, loaded once, and the checks of answers against it."""

    def __init__(self, path=DOCUMENT):
        with open(path, encoding="utf-8") as f:
            self.document = yaml.safe_load(f)
        self.resolver = jsonschema.RefResolver("", self.document)
        self.routes = []
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]*", re.escape(template)) + "$"
            self.routes.append((re.compile(pattern), template, item))

    # --- lookup -------------------------------------------------------------------------------
    @staticmethod
    def served(item, config):
        """Whether the path item is a route under config (x-sharelink-served-when), and if not,
        the first condition that fails, as text."""
        for condition in item.get("x-sharelink-served-when", {}).get("config", []):
            table, _, key = condition["key"].rpartition(".")
            value = ((config or {}).get(table) or {}).get(key, condition["default"])
            wanted = condition["is"]
            if wanted == "non-empty":
                ok = isinstance(value, (list, tuple, str)) and len(value) > 0
            else:
                ok = value == wanted
            if not ok:
                return False, "%s is %s" % (condition["key"], json.dumps(value))
        return True, None

    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 16:
            node = self.resolver.resolve(node["$ref"])[1]
            seen += 1
        return node

    def route(self, path):
        """(template, path item) of the documented route matching path, or (None, None)."""
        for pattern, template, item in self.routes:
            if pattern.match(path):
                return template, item
        return None, None

    def responses_for(self, answer, malformed=False, config=None):
        """(what, route template, responses) that apply to the answer's request under config."""
        unrouted = self.document["x-sharelink-unrouted"]["responses"]
        if malformed:
            return "a request that cannot be parsed", None, {"400": unrouted["400"]}
        template, item = self.route(answer.path)
        if template is None:
            return "a path no route serves (%s)" % answer.path, None, unrouted
        served, why = self.served(item, config)
        if not served:
            return "a path this configuration does not serve (%s, since %s)" % (template, why), None, unrouted
        operation = item.get(answer.method.lower())
        if operation is not None:
            return "%s %s" % (answer.method, template), template, operation["responses"]
        other = item.get("x-sharelink-other-methods")
        if other is None:
            return "%s %s (a method this path does not document)" % (answer.method, template), template, {}
        return "%s %s (a method the route does not serve)" % (answer.method, template), template, other["responses"]

    # --- checks -------------------------------------------------------------------------------
    def _validate(self, instance, schema):
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))

    def _header_problems(self, answer, headers):
        problems = []
        for name, header in headers.items():
            header = self.resolve(header)
            values = answer.values(name)
            if not values:
                if header.get("required"):
                    problems.append(Problem("missing-header", name.lower(), "header %s is missing" % name))
                continue
            if len(values) > 1:
                problems.append(Problem("repeated-header", name.lower(),
                                        "header %s is sent %d times: %r" % (name, len(values), values)))
            schema = self.resolve(header.get("schema", {}))
            value = values[-1]
            if schema.get("type") == "integer":
                if not re.fullmatch(r"-?[0-9]+", value):
                    problems.append(Problem("header-value", name.lower(),
                                            "header %s: %r is not an integer" % (name, value)))
                    continue
                value = int(value)
            for error in self._validate(value, schema):
                problems.append(Problem("header-value", name.lower(), "header %s: %s" % (name, error.message)))
        return problems

    def _content_problems(self, answer, content):
        if not content:
            if answer.body:
                return [Problem("body", "", "a body where the document has none (%d bytes)" % len(answer.body))]
            return []
        types = answer.values("Content-Type")
        if not types:
            return [Problem("content-type", "", "no Content-Type; documented: %s" % ", ".join(content))]
        actual_base, actual_full = _media_type(types[-1])
        chosen = None
        for key, media in content.items():
            key_base, key_full = _media_type(key)
            exact = ";" in key
            if (exact and key_full == actual_full) or (not exact and _range_matches(key_base, actual_base)):
                chosen = (key_base, media)
                break
        if chosen is None:
            return [Problem("content-type", types[-1],
                            "Content-Type %r is not documented; documented: %s" % (types[-1], ", ".join(content)))]
        if answer.method == "HEAD" or answer.body is None:
            return []
        key_base, media = chosen
        if _is_json(key_base):
            try:
                instance = json.loads(answer.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as error:
                return [Problem("body", "", "the body is not JSON: %s" % error)]
            problems = []
            for error in self._validate(instance, media.get("schema", {})):
                where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
                if list(error.absolute_path) == ["error", "code"]:
                    problems.append(Problem("error-code", instance["error"]["code"],
                                            "error code %s is not documented for this answer: %s"
                                            % (instance["error"]["code"], error.message)))
                else:
                    problems.append(Problem("body", where, "body at %s: %s" % (where, error.message)))
            return problems
        if key_base.startswith("text/"):
            try:
                text = answer.body.decode("utf-8")
            except UnicodeDecodeError as error:
                return [Problem("body", "", "the %s body is not UTF-8: %s" % (key_base, error))]
            return [Problem("body", "", "the %s body %s" % (key_base, _text_error(error)))
                    for error in self._validate(text, media.get("schema", {}))]
        return []

    def problems(self, answer, malformed=False, config=None):
        """What is wrong with answer, as Problems (empty: the document describes it)."""
        what, template, responses = self.responses_for(answer, malformed, config)
        response = responses.get(str(answer.status))
        if response is None:
            documented = ", ".join(sorted(responses)) or "none"
            return what, template, [Problem("status", str(answer.status),
                                            "status %d is not documented (documented: %s)" % (answer.status, documented))]
        response = self.resolve(response)
        problems = self._header_problems(answer, response.get("headers", {}))
        problems += self._content_problems(answer, response.get("content", {}))
        return what, template, problems

    def check(self, answer, malformed=False, config=None):
        """Raises ContractViolation naming every problem of answer that is not a known deviation."""
        what, template, problems = self.problems(answer, malformed, config)
        left = [p for p in problems if not self.is_known_deviation(answer, template, p)]
        if left:
            raise ContractViolation("answer %d to %s %s does not match docs/api/openapi.yaml for %s:\n  %s"
                                    % (answer.status, answer.method, answer.target[:200], what,
                                       "\n  ".join(p.message for p in left)))

    @staticmethod
    def is_known_deviation(answer, template, problem):
        return any(d.route == template and d.status == answer.status and d.method in ("*", answer.method)
                   and d.kind == problem.kind and d.detail == problem.detail for d in KNOWN_DEVIATIONS)


_CONTRACT = None


def contract():
    """The document of this checkout, loaded on first use."""
    global _CONTRACT
    if _CONTRACT is None:
        _CONTRACT = ApiContract()
    return _CONTRACT


def check(method, target, status, headers, body, malformed=False, config=None):
    """Checks one answer against the document; raises ContractViolation. headers: (name, value)
    pairs as received (repeats kept); body: bytes, or None when it was not read; config: the
    daemon's configuration tables (None: the defaults)."""
    contract().check(Answer(method, target, status, headers, body), malformed, config)


def check_raw(request, answer, malformed=False, config=None):
    """Checks the first answer in raw bytes to a raw request."""
    status, headers, body = parse_raw_answer(answer)
    line = None if malformed else parse_raw_request(request)
    if line is None and not malformed:
        raise ContractViolation("the raw request %r has no request line the document can describe: pass "
                                "malformed=True if that is deliberate" % request[:60])
    method, target = line or ("GET", "/")
    contract().check(Answer(method, target, status, headers, body), malformed, config)
