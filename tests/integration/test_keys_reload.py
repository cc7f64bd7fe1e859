"""Signing key rotation: SIGHUP reloads keys without dropping connections; key file permissions (SPEC 5 and 9)."""

import base64
import datetime
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import time
import unittest
import urllib.parse

from sharelink_testlib import SHARED_LINKD, Daemon, Installation, check_answer

GENEROUS_LIMITS = {"rate_limit": {"requests_per_minute": 1000000, "burst": 1000000,
                                  "media_requests_per_minute": 1000000, "media_burst": 1000000}}

KEY_LINE = re.compile(r"^([A-Za-z0-9_-]{1,32})\s+(\S+)$")


def read_keys(path):
    """[(kid, secret text)] in file order."""
    keys = []
    with open(path) as f:
        for line in f:
            m = KEY_LINE.match(line.strip())
            if m and not line.lstrip().startswith("#"):
                keys.append((m.group(1), m.group(2)))
    return keys


def write_keys(path, keys):
    """Writes the key file as the library does: 0600, a "# created" line above each key, atomically."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = "# shared-link playback signing keys, written by test_keys_reload.py\n"
    for kid, secret in keys:
        text += "# created %s %s\n%s %s\n" % (kid, now, kid, secret)
    temp = path + ".tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.rename(temp, path)


def new_secret():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def kid_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["kid"]


class KeepAlive:
    """One HTTP/1.1 connection to the daemon, used for every request and checked never to be replaced."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.connect()
        self.local = self.conn.sock.getsockname()

    def get(self, path):
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        body = resp.read()
        check_answer("GET", path, resp.status, resp.getheaders(), body)
        if resp.getheader("connection", "").lower() == "close" or self.conn.sock is None:
            raise AssertionError("the daemon closed the keep-alive connection")
        if self.conn.sock.getsockname() != self.local:
            raise AssertionError("the connection was replaced")
        return resp.status, body

    def close(self):
        self.conn.close()


class KeyReloadTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation(GENEROUS_LIMITS)
        self.key_file = self.inst.path("signing.keys")
        self.daemon = Daemon(self.inst)
        self.tid = self.inst.add_track()
        self.sid, self.token = self.inst.share(self.tid)

    def tearDown(self):
        self.daemon.stop()
        self.inst.cleanup()

    def playback_path(self, conn):
        status, body = conn.get("/v1/music/shared/" + self.token)
        self.assertEqual(status, 200, body)
        url = json.loads(body)["track"]["playback_url"]
        return url[url.index("/v1/music/media/"):]

    def reload(self):
        """SIGHUP, then wait for the daemon to report the reload (or its failure)."""
        before = len(self.daemon.stderr_lines)
        self.daemon.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in self.daemon.stderr_lines[before:]:
                if "reload" in line:
                    return line
            time.sleep(0.02)
        self.fail("no reload reported:\n" + self.daemon.log())

    def rotate(self):
        """sharectl keys rotate when sharectl has it, else the same change made to the file by hand."""
        proc = self.inst.sharectl("keys", "rotate", check=False)
        if proc.returncode == 0:
            return read_keys(self.key_file)[0][0]
        self.assertIn('unknown command "keys"', proc.stderr)  # only a sharectl without keys commands falls back
        kid = "krotated%s" % secrets.token_hex(3)
        write_keys(self.key_file, [(kid, new_secret())] + read_keys(self.key_file))
        return kid

    def retire(self, kid):
        proc = self.inst.sharectl("keys", "retire", kid, check=False)
        if proc.returncode == 0:
            return
        self.assertIn('unknown command "keys"', proc.stderr)
        write_keys(self.key_file, [k for k in read_keys(self.key_file) if k[0] != kid])

    def test_rotation_and_retirement_apply_on_sighup_without_dropping_connections(self):
        conn = KeepAlive(self.daemon.port)
        try:
            old_kid = read_keys(self.key_file)[0][0]
            old_path = self.playback_path(conn)
            self.assertEqual(kid_of(old_path), old_kid)
            self.assertEqual(conn.get(old_path)[0], 200)

            # Rotate: a new first key signs, every listed key still verifies.
            new_kid = self.rotate()
            self.assertNotEqual(new_kid, old_kid)
            self.assertEqual([k for k, _ in read_keys(self.key_file)][:2], [new_kid, old_kid])
            self.assertEqual(kid_of(self.playback_path(conn)), old_kid, "no reload before SIGHUP")
            self.assertIn("reloaded", self.reload())
            new_path = self.playback_path(conn)
            self.assertEqual(kid_of(new_path), new_kid)
            self.assertEqual(conn.get(new_path)[0], 200)
            self.assertEqual(conn.get(old_path)[0], 200, "URLs signed with the old key still verify")

            # Retire the old key: its URLs are refused, the new ones still play.
            self.retire(old_kid)
            self.assertEqual(conn.get(old_path)[0], 200, "no reload before SIGHUP")
            self.assertIn("reloaded", self.reload())
            status, body = conn.get(old_path)
            self.assertEqual(status, 403)
            self.assertIn(b"SIGNATURE_INVALID", body)
            self.assertEqual(conn.get(new_path)[0], 200)
            self.assertEqual(kid_of(self.playback_path(conn)), new_kid)
        finally:
            conn.close()
        self.assertNotIn(read_keys(self.key_file)[0][1], self.daemon.log(), "no secret in the log")

    def test_a_bad_key_file_on_sighup_keeps_the_previous_keys(self):
        conn = KeepAlive(self.daemon.port)
        try:
            path = self.playback_path(conn)
            good = read_keys(self.key_file)
            for broken in ("garbage", "group-readable", "missing"):
                with self.subTest(broken=broken):
                    if broken == "garbage":
                        with open(self.key_file, "w") as f:
                            f.write("this is not a key file\n")
                    elif broken == "group-readable":
                        write_keys(self.key_file, [("kother", new_secret())])
                        os.chmod(self.key_file, 0o640)
                    else:
                        os.remove(self.key_file)
                    line = self.reload()
                    self.assertIn("reload failed", line)
                    self.assertEqual(conn.get(path)[0], 200, "the previous keys still verify")
                    self.assertEqual(kid_of(self.playback_path(conn)), good[0][0])
                    write_keys(self.key_file, good)
        finally:
            conn.close()


class KeyFilePermissionTest(unittest.TestCase):
    def test_daemon_refuses_a_group_or_world_readable_key_file(self):
        inst = Installation()
        try:
            key_file = inst.path("signing.keys")
            for mode in (0o640, 0o604, 0o660):
                with self.subTest(mode=oct(mode)):
                    os.chmod(key_file, mode)
                    proc = subprocess.run([SHARED_LINKD, "--config", inst.config_path], capture_output=True,
                                          text=True, timeout=30)
                    self.assertEqual(proc.returncode, 1, proc.stderr)
                    self.assertIn("chmod 600", proc.stderr)
                    self.assertIn(key_file, proc.stderr)
                    self.assertNotIn("listening", proc.stderr)
            os.chmod(key_file, 0o600)
            daemon = Daemon(inst)
            self.assertEqual(daemon.stop(), 0)
        finally:
            inst.cleanup()


if __name__ == "__main__":
    unittest.main()
