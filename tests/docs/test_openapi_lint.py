"""docs/api/openapi.yaml passes `spectral lint` with .spectral.yaml, whose own rules catch their faults.

Run as a script (CTest does): exits 77, CTest's skip code, when Spectral is not installed
(`npm ci` at the repository root installs the version package-lock.json pins).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPECTRAL = os.path.join(ROOT, "node_modules", ".bin", "spectral")
RULESET = os.path.join(ROOT, ".spectral.yaml")
DOCUMENT = os.path.join(ROOT, "docs", "api", "openapi.yaml")


def lint(document):
    return subprocess.run([SPECTRAL, "lint", "--fail-severity=warn", "--ruleset", RULESET, document],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


class OpenApiLintTest(unittest.TestCase):
    def test_the_document_is_clean(self):
        result = lint(DOCUMENT)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_the_projects_rules_catch_their_faults(self):
        with open(DOCUMENT) as f:
            doc = yaml.safe_load(f)
        responses = doc["components"]["responses"]
        # One fault per rule, each in a different place.
        del responses["Health"]["content"]["application/json; charset=utf-8"]["examples"]
        del doc["components"]["headers"]["Allow"]["example"]
        responses["ShareGone"]["content"]["application/json; charset=utf-8"]["schema"] = {"type": "object"}
        del responses["Metrics"]["headers"]["X-Request-Id"]
        directory = tempfile.mkdtemp(prefix="sharelink-lint-")
        self.addCleanup(shutil.rmtree, directory)
        broken = os.path.join(directory, "openapi.yaml")
        with open(broken, "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        result = lint(broken)
        self.assertNotEqual(result.returncode, 0)
        expected = {
            "sharelink-response-example": "#/components/responses/Health",
            "sharelink-header-example": "#/components/headers/Allow",
            "sharelink-error-schema": "(#/components/responses/ShareGone)",
            "sharelink-request-id": "(#/components/responses/Metrics)",
        }
        for rule, where in expected.items():
            with self.subTest(rule=rule):
                lines = [line for line in result.stdout.splitlines() if rule in line]
                self.assertTrue(any(where in line for line in lines), result.stdout)


if __name__ == "__main__":
    if not os.access(SPECTRAL, os.X_OK):
        print("SKIPPED: %s is missing: run `npm ci` at the repository root (.ci/bootstrap does)" % SPECTRAL)
        sys.exit(77)
    unittest.main(verbosity=2)
