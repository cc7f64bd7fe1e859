"""The share page in a real browser: headless Chromium (Debian chromium + chromium-driver) driven by Selenium.

Plays a track and a collection (currentTime advances), keeps playing after the
playback URL TTL (2 s here) has passed, shows no CSP violation, shows a title
made of markup as text, stops when the link is revoked. Saves screenshots of
the track, collection, removed and error pages in light and dark under
$SHARELINK_BUILD_DIR/test-artifacts/page/.

Run with Debian's interpreter (/usr/bin/python3), which has python3-selenium.
Exits 77 (skipped) only when Chromium, its driver or Selenium is missing.
"""

import math
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import unittest
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from sharelink_testlib import Daemon, Installation  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = os.path.join(os.environ.get("SHARELINK_BUILD_DIR", tempfile.gettempdir()), "test-artifacts", "page")
EVIL_TITLE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">Bold & "quoted"'
CSP_RECORDER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def missing_browser():
    """What is missing for this test, or None."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium (run with /usr/bin/python3)")
    return ", ".join(missing) or None


def tone_wav(path, seconds, frequency):
    """A mono 16-bit 8 kHz sine tone."""
    rate = 8000
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            frames += struct.pack("<h", int(9000 * math.sin(2 * math.pi * frequency * i / rate)))
        w.writeframes(bytes(frames))


class BrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.inst = Installation({
            "playback": {"ttl_seconds": 2},
            "page": {"site_name": "Studio Nord", "embed_origins": ["https://blog.example.org"]},
            "rate_limit": {"requests_per_minute": 100000, "burst": 100000, "misses_per_minute": 100000,
                           "media_requests_per_minute": 100000, "media_burst": 100000},
        })
        for name, seconds, frequency in [("night.wav", 12, 220.0), ("commute.wav", 12, 329.6), ("rain.wav", 8, 392.0)]:
            tone_wav(os.path.join(cls.inst.media, name), seconds, frequency)
        add = lambda title, audio, licence, duration: cls.inst.add_track(
            title, licence=licence, audio=audio, extra=["--duration", str(duration), "--mime", "audio/wav"])
        cls.night = add("Late Night Study", "night.wav", "personal_only@2026-01", 12)
        cls.commute = add("Morning Commute", "commute.wav", "commercial_cleared@2026-01", 12)
        cls.rain = add("Rainy Window", "rain.wav", "unclear@2026-01", 8)
        cls.evil = add(EVIL_TITLE, "rain.wav", "personal_only@2026-01", 8)
        cls.collection = cls.inst.add_collection("Focus Sessions", [cls.night, cls.commute, cls.rain],
                                                 description="Three sketches for late work.")
        cls.daemon = Daemon(cls.inst)

        options = Options()
        options.binary_location = CHROMIUM
        cls.profile = tempfile.mkdtemp(prefix="sharelink-chromium-")
        for arg in ["--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--user-data-dir=" + cls.profile, "--window-size=900,1000"]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        cls.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_RECORDER})

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.daemon.stop()
        cls.inst.cleanup()
        shutil.rmtree(cls.profile, ignore_errors=True)

    # --- helpers -----------------------------------------------------------------
    def open(self, token, scheme="light"):
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                    {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
        self.driver.get_log("browser")  # drop what earlier pages logged
        self.driver.get(self.daemon.base_url + "/s/" + token)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def assert_no_csp_violation(self):
        logs = self.driver.get_log("browser")
        violations = [e["message"] for e in logs if "Content Security Policy" in e["message"] or "Refused" in e["message"]]
        self.assertEqual(violations, [])
        self.assertEqual(self.js("return window.__csp"), [])
        # A playback URL that expired between the page's refreshes (the 2 s TTL here) answers 410, and
        # the page recovers by design (its error handler fetches fresh URLs and resumes; the tests
        # check that playback goes on). The browser logs that answer as an error: it is the one
        # failed load allowed.
        severe = [e["message"] for e in logs if e["level"] == "SEVERE"
                  and not re.search(r"/v1/music/media/\S+ - Failed to load resource: .* 410 \(Gone\)$", e["message"])]
        self.assertEqual(severe, [])

    def screenshot(self, name, width=900):
        for _ in range(2):  # the height depends on the width
            height = self.js("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, max(700, height + 200))
        path = os.path.join(ARTIFACTS, name + ".png")
        self.assertTrue(self.driver.save_screenshot(path), path)
        self.driver.set_window_size(900, 1000)

    def press_play(self, audio):
        """Clicks the play button of the native controls (their left end), as a person would. The
        player is brought to the middle of the window first, and a click that landed while the
        layout was still settling (after a resize) is made again, as a person would."""
        from selenium.webdriver.common.action_chains import ActionChains
        self.js("arguments[0].scrollIntoView({block: 'center'})", audio)
        for _ in range(3):
            width = audio.size["width"]
            ActionChains(self.driver).move_to_element_with_offset(audio, -width // 2 + 22, 0).click().perform()
            deadline = time.time() + 3
            while time.time() < deadline:
                if not self.js("return arguments[0].paused", audio):
                    return
                time.sleep(0.1)

    def wait_playing_past(self, audio, seconds, timeout=15):
        deadline = time.time() + timeout
        current = 0
        while time.time() < deadline:
            current = self.js("return arguments[0].currentTime", audio)
            if current > seconds:
                return current
            time.sleep(0.1)
        error = self.js("return arguments[0].error && arguments[0].error.code", audio)
        self.fail("currentTime stayed at %.2f (wanted > %s); media error %s; src %s" % (
            current, seconds, error, audio.get_attribute("src")))

    # --- tests -----------------------------------------------------------------------
    def test_track_page_plays_past_the_url_ttl(self):
        _, token = self.inst.share(self.night)
        self.open(token)
        audio = self.driver.find_element("css selector", "audio")
        served = audio.get_attribute("src")
        self.assertIn("/v1/music/media/" + self.night, served)
        self.screenshot("track-light")
        time.sleep(3)  # the URL the page was served with has expired (ttl 2 s)
        self.assertEqual(self.daemon.get(served[len(self.daemon.base_url):]).status, 410)
        refreshed = audio.get_attribute("src")
        self.assertNotEqual(refreshed, served)  # the script swapped in a fresh URL
        self.press_play(audio)
        first = self.wait_playing_past(audio, 0.5)
        self.assertFalse(self.js("return arguments[0].paused", audio))
        # Keeps playing beyond the TTL of any one URL.
        later = self.wait_playing_past(audio, first + 2.5)
        self.assertGreater(later, 3)
        self.assert_no_csp_violation()
        self.js("arguments[0].pause()", audio)

    def test_collection_page_plays_its_second_track(self):
        _, token = self.inst.share(self.collection, "--visibility", "public")
        self.open(token)
        titles = [h.text for h in self.driver.find_elements("css selector", "li.track h2")]
        self.assertEqual(titles, ["Late Night Study", "Morning Commute", "Rainy Window"])
        players = self.driver.find_elements("css selector", "audio")
        self.assertEqual(len(players), 3)
        self.screenshot("collection-light")
        self.screenshot("collection-phone-light", width=390)
        self.driver.set_window_size(390, 800)
        inner = self.js("return window.innerWidth")
        self.assertLessEqual(inner, 400)
        self.assertLessEqual(self.js("return document.documentElement.scrollWidth"), inner)  # no sideways scrolling
        self.driver.set_window_size(900, 1000)
        self.press_play(players[1])
        self.wait_playing_past(players[1], 1.0)
        self.assertTrue(self.js("return arguments[0].paused", players[0]))
        self.js("arguments[0].pause()", players[1])
        self.assert_no_csp_violation()
        self.open(token, "dark")
        self.assertEqual(self.js("return matchMedia('(prefers-color-scheme: dark)').matches"), True)
        background = self.js("return getComputedStyle(document.body).backgroundColor")
        self.assertEqual(background, "rgb(18, 18, 18)")
        self.screenshot("collection-dark")
        self.assert_no_csp_violation()

    def test_dark_track_page(self):
        _, token = self.inst.share(self.rain, "--expires-in-days", "7", "--max-views", "3")
        self.open(token, "dark")
        self.assertIn("It can be opened 2 more times.", self.driver.find_element("css selector", "main").text)
        self.screenshot("track-dark")
        self.assert_no_csp_violation()

    def test_a_title_made_of_markup_shows_as_text_and_runs_nothing(self):
        _, token = self.inst.share(self.evil)
        self.open(token)
        self.assertEqual(self.driver.find_element("css selector", "h1").text, EVIL_TITLE)
        self.assertEqual(self.driver.title, EVIL_TITLE + " · Studio Nord")
        self.assertIsNone(self.js("return window.__pwned === undefined ? null : window.__pwned"))
        self.assertEqual(self.js("return document.images.length"), 0)
        self.assertEqual(self.js("return document.scripts.length"), 1)
        self.assert_no_csp_violation()

    def test_playback_stops_with_a_message_when_the_link_is_revoked(self):
        sid, token = self.inst.share(self.commute)
        self.open(token)
        status = self.driver.find_element("id", "playback-status")
        self.assertEqual(status.text, "")
        self.inst.sharectl("share", "revoke", sid)
        deadline = time.time() + 10
        while time.time() < deadline and not status.text:
            time.sleep(0.1)
        self.assertEqual(status.text, "This share link has been revoked.")
        self.assertEqual(self.js("return document.activeElement.tagName"), "BODY")

    def test_embed_player(self):
        _, token = self.inst.share(self.collection)
        self.open(token + "/embed")
        self.assertEqual(len(self.driver.find_elements("css selector", "audio")), 3)
        self.assertEqual(self.driver.find_element("css selector", "footer").text, "Shared via Studio Nord")
        self.assertEqual(self.driver.find_elements("css selector", ".card"), [])
        self.screenshot("embed-light", width=480)
        self.open(token + "/embed", "dark")
        self.screenshot("embed-dark", width=480)
        self.assert_no_csp_violation()

    def test_keyboard_focus_is_visible(self):
        from selenium.webdriver.common.keys import Keys
        _, token = self.inst.share(self.night)
        self.open(token)
        self.driver.find_element("css selector", "body").send_keys(Keys.TAB)
        focused = self.js("return document.activeElement.tagName")
        self.assertEqual(focused, "AUDIO")
        outline = self.js("return getComputedStyle(document.activeElement).outlineStyle")
        self.assertEqual(outline, "solid")

    def test_error_and_removed_pages(self):
        for scheme in ("light", "dark"):
            self.open("shr_" + "0" * 32, scheme)
            self.assertEqual(self.driver.find_element("css selector", "h1").text, "This link does not lead anywhere")
            self.assertIn("SHARE_NOT_FOUND", self.driver.find_element("css selector", "main").text)
            self.screenshot("error-404-" + scheme)
            # Chromium logs the 404 of the page itself; nothing else may appear.
            logs = [e["message"] for e in self.driver.get_log("browser")]
            self.assertEqual([m for m in logs if "404" not in m], [])
        sid, token = self.inst.share(self.night)
        self.inst.sharectl("share", "expire", sid)
        self.open(token)
        self.assertEqual(self.driver.find_element("css selector", "h1").text, "This link has expired")
        self.screenshot("error-410-light")
        _, token = self.inst.share(self.rain)
        self.inst.sharectl("track", "remove", self.rain)
        try:
            self.open(token)
            self.assertEqual(self.driver.find_element("css selector", "h1").text, "This music is no longer available")
            self.assertEqual(self.driver.find_elements("css selector", "audio"), [])
            self.screenshot("removed-light")
            self.assert_no_csp_violation()
        finally:
            self.inst.sharectl("track", "restore", self.rain)


if __name__ == "__main__":
    reason = missing_browser()
    if reason:
        print("SKIP: the browser test needs %s" % reason)
        sys.exit(77)
    unittest.main(verbosity=2)
