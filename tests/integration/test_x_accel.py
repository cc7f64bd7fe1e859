"""playback.mode = "x_accel": the daemon's X-Accel-Redirect answers, and a real nginx with the shipped snippet (SPEC 5)."""

import hashlib
import http.client
import json
import os
import shutil
import socket
import tempfile
import unittest
import urllib.parse

from nginx_site import NGINX, directory_logs, free_port, start_nginx, temp_path_lines
from sharelink_testlib import Daemon, Installation, stop_process

SNIPPET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "nginx",
                       "shared-linkd-x-accel.conf")
PREFIX = "/protected-media"


def audio_bytes(size, seed):
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%s-%d" % (seed.encode(), counter)).digest()
        counter += 1
    return bytes(out[:size])


def fetch(port, method, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class Nginx:
    """A real nginx in the foreground with a temp prefix, serving the shipped snippet on a loopback port."""

    def __init__(self, daemon_port, media_root, port):
        self.dir = tempfile.mkdtemp(prefix="sharelink-nginx-")
        self.port = port
        with open(SNIPPET) as f:
            snippet = f.read()
        # The three values the snippet asks the operator to edit, and its log path.
        for shipped, ours in (("127.0.0.1:8787", "127.0.0.1:%d" % daemon_port),
                              ("/var/lib/shared-linkd/media/", media_root.rstrip("/") + "/"),
                              ("/var/log/nginx/", self.dir + "/")):
            if shipped not in snippet:
                raise AssertionError("the snippet no longer contains %r" % shipped)
            snippet = snippet.replace(shipped, ours)
        with open(os.path.join(self.dir, "shared-linkd-x-accel.conf"), "w") as f:
            f.write(snippet)
        temp_paths = temp_path_lines(self.dir)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's media files
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("""%sdaemon off;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 64; }
http {
  access_log %s/access.log;
  default_type application/octet-stream;
%s
  server {
    listen 127.0.0.1:%d;
    server_name localhost;
    include %s/shared-linkd-x-accel.conf;
  }
}
""" % (user, self.dir, self.dir, self.dir, temp_paths, port, self.dir))
        self.proc = start_nginx(self.dir, os.path.join(self.dir, "nginx.conf"), port, self.logs)

    def logs(self):
        return directory_logs(self.dir)

    def get(self, path, headers=None, method="GET"):
        return fetch(self.port, method, path, headers)

    def stop(self):
        stop_process(self.proc)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class XAccelTestCase(unittest.TestCase):
    @classmethod
    def make_installation(cls, public_port=None):
        config = {"playback": {"mode": "x_accel", "x_accel_prefix": PREFIX},
                  "rate_limit": {"requests_per_minute": 1000000, "burst": 1000000,
                                 "media_requests_per_minute": 1000000, "media_burst": 1000000,
                                 "trusted_proxies": ["127.0.0.1"]}}
        if public_port:
            config["server"] = {"public_base_url": "http://127.0.0.1:%d" % public_port}
        return Installation(config)

    def add_shared_track(self, inst, daemon, name, size=3000, mime=None):
        data = audio_bytes(size, name)
        inst.write_media(name, data)
        tid = inst.add_track("X", audio=name, extra=["--mime", mime] if mime else [])
        sid, token = inst.share(tid)
        resp = daemon.resolve(token)
        self.assertEqual(resp.status, 200, resp.body)
        url = resp.json()["track"]["playback_url"]
        path = url[url.index("/v1/music/media/"):]
        return tid, sid, token, url, path, data


class DaemonXAccelTest(XAccelTestCase):
    """The daemon alone: the answer nginx acts on."""

    @classmethod
    def setUpClass(cls):
        cls.inst = cls.make_installation()
        cls.daemon = Daemon(cls.inst)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.inst.cleanup()

    def test_checked_url_answers_x_accel_redirect_with_an_empty_body(self):
        for name, mime, expected in (("album/song.ogg", "audio/ogg", PREFIX + "/album/song.ogg"),
                                     ("my album/song #1?.mp3", None, PREFIX + "/my%20album/song%20%231%3F.mp3")):
            with self.subTest(name=name):
                _, _, _, _, path, _ = self.add_shared_track(self.inst, self.daemon, name, mime=mime)
                for method in ("GET", "HEAD"):
                    resp = self.daemon.request(method, path, {"Range": "bytes=0-9"})
                    self.assertEqual(resp.status, 200)
                    self.assertEqual(resp.body, b"")
                    self.assertEqual(resp.header("x-accel-redirect"), expected)
                    self.assertEqual(resp.header("content-type"), mime or "audio/mpeg")
                    self.assertEqual(resp.header("content-length"), "0")
                    self.assertIsNone(resp.header("content-range"))
                    self.assertEqual(resp.header("cache-control"), "no-store")
                    self.assertRegex(resp.header("x-request-id"), r"^req_[0-9a-f]{16}$")

    def test_refused_urls_carry_no_redirect(self):
        tid, sid, _, _, path, _ = self.add_shared_track(self.inst, self.daemon, "refused.ogg")
        outside = self.inst.path("outside.ogg")
        with open(outside, "wb") as f:
            f.write(b"SECRET")
        os.symlink(outside, os.path.join(self.inst.media, "escape.ogg"))
        escape_tid, _, _, _, escape_path, _ = self.add_shared_track(self.inst, self.daemon, "escape-target.ogg")
        self.inst.execute("UPDATE tracks SET audio_path = 'escape.ogg' WHERE id = ?", (escape_tid,))
        dotdot_tid, _, _, _, dotdot_path, _ = self.add_shared_track(self.inst, self.daemon, "dotdot-target.ogg")
        self.inst.execute("UPDATE tracks SET audio_path = '../outside.ogg' WHERE id = ?", (dotdot_tid,))

        cases = [
            (path.replace("sig=", "sig=A"), 403, "SIGNATURE_INVALID"),
            (escape_path, 404, "NOT_FOUND"),
            (dotdot_path, 404, "NOT_FOUND"),
        ]
        for target, status, code in cases:
            with self.subTest(code=code, target=target):
                resp = self.daemon.get(target)
                self.assertEqual(resp.status, status, resp.body)
                self.assertEqual(resp.json()["error"]["code"], code)
                self.assertIsNone(resp.header("x-accel-redirect"))
        self.inst.sharectl("share", "revoke", sid)
        resp = self.daemon.get(path)
        self.assertEqual((resp.status, resp.json()["error"]["code"]), (410, "SHARE_REVOKED"))
        self.assertIsNone(resp.header("x-accel-redirect"))


@unittest.skipIf(NGINX is None, "nginx is not installed (Debian package nginx-light or nginx)")
class NginxXAccelTest(XAccelTestCase):
    """A real nginx in front of the daemon, configured with the shipped snippet."""

    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.inst = cls.make_installation(public_port=port)
        # nginx's workers read the media files.
        for directory in (cls.inst.dir, cls.inst.media):
            os.chmod(directory, 0o755)
        cls.daemon = Daemon(cls.inst)
        try:
            cls.nginx = Nginx(cls.daemon.port, cls.inst.media, port)
        except Exception:
            cls.daemon.stop()
            cls.inst.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.daemon.stop()
        cls.nginx.cleanup()
        cls.inst.cleanup()

    def shared_through_nginx(self, name, size=3000, mime=None):
        data = audio_bytes(size, name)
        self.inst.write_media(name, data)
        tid = self.inst.add_track("X", audio=name, extra=["--mime", mime] if mime else [])
        sid, token = self.inst.share(tid)
        status, _, body = self.nginx.get("/v1/music/shared/" + token)
        self.assertEqual(status, 200, body + self.nginx.logs().encode())
        url = json.loads(body)["track"]["playback_url"]
        self.assertTrue(url.startswith("http://127.0.0.1:%d/v1/music/media/" % self.nginx.port), url)
        return tid, sid, token, url[len("http://127.0.0.1:%d" % self.nginx.port):], data

    def test_playback_url_through_nginx_returns_the_exact_file(self):
        for name, mime in (("nginx/song.ogg", "audio/ogg"), ("nginx/with space & more.mp3", None)):
            with self.subTest(name=name):
                _, _, _, path, data = self.shared_through_nginx(name, size=300000, mime=mime)
                status, headers, body = self.nginx.get(path)
                self.assertEqual(status, 200, self.nginx.logs())
                self.assertEqual(body, data)
                self.assertEqual(headers.get("content-type"), mime or "audio/mpeg")
                self.assertEqual(headers.get("content-length"), str(len(data)))
                self.assertEqual(headers.get("cache-control"), "no-store")
                self.assertEqual(headers.get("x-content-type-options"), "nosniff")
                self.assertEqual(headers.get("access-control-allow-origin"), "*")
                self.assertEqual(headers.get("x-robots-tag"), "noindex")
                self.assertRegex(headers.get("x-request-id", ""), r"^req_[0-9a-f]{16}$")
                self.assertRegex(headers.get("ratelimit", ""), r'^"per-ip";r=\d+;t=\d+$')
                self.assertNotIn("x-accel-redirect", headers)

    def test_a_body_is_never_forwarded_to_the_daemon(self):
        _, _, token, path, data = self.shared_through_nginx("nginx/body.ogg")
        for target, expected in (("/v1/music/shared/" + token, b'"kind"'), (path, data)):
            with self.subTest(target=target[:40]):
                with socket.create_connection(("127.0.0.1", self.nginx.port), timeout=10) as sock:
                    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                                  % target).encode())
                    answer = b""
                    while True:
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        answer += chunk
                head, _, body = answer.partition(b"\r\n\r\n")
                # nginx drops the body: the daemon answers the GET as if it had none.
                self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
                self.assertIn(expected, body)

    def test_range_and_head_through_nginx(self):
        _, _, _, path, data = self.shared_through_nginx("nginx/range.ogg", size=100000)
        status, headers, body = self.nginx.get(path, {"Range": "bytes=1000-1999"})
        self.assertEqual(status, 206, self.nginx.logs())
        self.assertEqual(body, data[1000:2000])
        self.assertEqual(headers.get("content-range"), "bytes 1000-1999/100000")
        status, headers, body = self.nginx.get(path, {"Range": "bytes=-10"})
        self.assertEqual((status, body), (206, data[-10:]))
        status, headers, _ = self.nginx.get(path, {"Range": "bytes=200000-"})
        self.assertEqual(status, 416)
        status, headers, body = self.nginx.get(path, method="HEAD")
        self.assertEqual((status, body, headers.get("content-length")), (200, b"", "100000"))

    def test_revoked_link_is_refused_through_nginx(self):
        _, sid, _, path, data = self.shared_through_nginx("nginx/revoked.ogg")
        self.assertEqual(self.nginx.get(path)[2], data)
        self.inst.sharectl("share", "revoke", sid)
        status, headers, body = self.nginx.get(path)
        self.assertEqual(status, 410)
        self.assertEqual(json.loads(body)["error"]["code"], "SHARE_REVOKED")
        self.assertNotIn(data, body)

    def test_tampered_url_is_refused_through_nginx(self):
        _, _, _, path, data = self.shared_through_nginx("nginx/tampered.ogg")
        status, _, body = self.nginx.get(path.replace("sig=", "sig=A"))
        self.assertEqual(status, 403)
        self.assertNotIn(data, body)

    def test_internal_location_is_not_reachable_directly(self):
        self.shared_through_nginx("nginx/direct.ogg")
        status, _, body = self.nginx.get(PREFIX + "/nginx/direct.ogg")
        self.assertEqual(status, 404)
        self.assertNotIn(audio_bytes(3000, "nginx/direct.ogg"), body)

    def test_no_token_or_signature_reaches_nginx_logs(self):
        _, _, token, path, _ = self.shared_through_nginx("nginx/logs.ogg")
        self.nginx.get(path)
        self.nginx.get(path.replace("sig=", "sig=A"))
        self.nginx.get("/v1/music/shared/" + token)
        sig = dict(urllib.parse.parse_qsl(path.split("?")[1]))["sig"]
        logs = self.nginx.logs()
        self.assertNotIn(token, logs)
        self.assertNotIn(sig, logs)


if __name__ == "__main__":
    unittest.main()
