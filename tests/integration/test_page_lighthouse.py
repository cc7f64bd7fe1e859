"""Lighthouse scores of the share page: track and collection pages >= 0.95 for performance, accessibility and
best practices.

Lighthouse 12 comes from tests/package.json (installed with `npm ci --prefix tests` by .ci/bootstrap, never by
this test) and runs Debian's Chromium (CHROME_PATH). Prints every score and every audit that did not pass.
Exits 77 (skipped) only when Chromium is missing.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from sharelink_testlib import Daemon, Installation  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LIGHTHOUSE = os.path.join(HERE, "..", "node_modules", "lighthouse", "cli", "index.js")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.environ.get("SHARELINK_BUILD_DIR", tempfile.gettempdir()), "test-artifacts", "page")
CATEGORIES = ["performance", "accessibility", "best-practices"]
MINIMUM = 0.95


def wav(seconds):
    import math
    import struct
    import wave
    path = tempfile.mktemp(suffix=".wav")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 6.0))) for i in range(int(seconds * 8000))))
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


class LighthouseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(LIGHTHOUSE):
            raise AssertionError("Lighthouse is not installed: run `npm ci --prefix tests` (.ci/bootstrap does)")
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.inst = Installation({"rate_limit": {"requests_per_minute": 100000, "burst": 100000,
                                                "media_requests_per_minute": 100000, "media_burst": 100000}})
        data = wav(6)
        ids = []
        for i, (title, licence) in enumerate([("Late Night Study", "personal_only@2026-01"),
                                              ("Morning Commute", "commercial_cleared@2026-01"),
                                              ("Rainy Window", "unclear@2026-01")]):
            cls.inst.write_media("t%d.wav" % i, data)
            ids.append(cls.inst.add_track(title, licence=licence, audio="t%d.wav" % i,
                                          extra=["--duration", "6", "--mime", "audio/wav"]))
        _, cls.track_token = cls.inst.share(ids[0], "--expires-in-days", "7")
        _, cls.collection_token = cls.inst.share(
            cls.inst.add_collection("Focus Sessions", ids, description="Three sketches for late work."),
            "--visibility", "public")
        cls.daemon = Daemon(cls.inst)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def lighthouse(self, name, token):
        report = os.path.join(ARTIFACTS, "lighthouse-%s.json" % name)
        profile = tempfile.mkdtemp(prefix="sharelink-lighthouse-")
        flags = " ".join(["--headless=new", "--no-sandbox", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          "--user-data-dir=" + profile])
        env = dict(os.environ, CHROME_PATH=CHROMIUM)
        try:
            proc = subprocess.run(["node", LIGHTHOUSE, self.daemon.base_url + "/s/" + token, "--quiet",
                                   "--output=json", "--output-path=" + report,
                                   "--only-categories=" + ",".join(CATEGORIES), "--chrome-flags=" + flags],
                                  capture_output=True, text=True, timeout=240, env=env)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        with open(report) as f:
            result = json.load(f)
        scores = {c: result["categories"][c]["score"] for c in CATEGORIES}
        print("\nLighthouse %s (%s): %s" % (result["lighthouseVersion"], name,
                                           ", ".join("%s %.2f" % (c, s) for c, s in scores.items())))
        for category in CATEGORIES:
            for ref in result["categories"][category]["auditRefs"]:
                audit = result["audits"][ref["id"]]
                if audit["score"] is not None and audit["score"] < 1 and audit["scoreDisplayMode"] != "informative":
                    print("  not passed [%s] %s: %s (score %s)" % (category, audit["id"], audit["title"],
                                                                    audit["score"]))
        return scores

    def test_track_page(self):
        for category, score in self.lighthouse("track", self.track_token).items():
            self.assertGreaterEqual(score, MINIMUM, category)

    def test_collection_page(self):
        for category, score in self.lighthouse("collection", self.collection_token).items():
            self.assertGreaterEqual(score, MINIMUM, category)


if __name__ == "__main__":
    if not os.access(CHROMIUM, os.X_OK):
        print("SKIP: Lighthouse needs Chromium (%s is missing)" % CHROMIUM)
        sys.exit(77)
    unittest.main(verbosity=2)
