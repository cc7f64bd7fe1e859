"""playback.mode = "s3" against a real S3-compatible server on loopback (s3rver from npm).

s3rver and AWS's JavaScript SigV4 signer come from tests/package.json, pinned by its lockfile and
installed once with `npm ci --prefix tests` (.ci/bootstrap does); the test never installs anything.
It skips with a message when node is missing, and fails when node is there but the packages are
not installed (the fix is that one command).
"""

import calendar
import datetime
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from clock_offset import ClockOffset
from sharelink_testlib import Daemon, Installation, stop_process

# Where npm ci --prefix tests puts the packages of tests/package.json.
TESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
S3RVER_PACKAGES = ("s3rver", "@smithy/signature-v4")
BUCKET = "music"
REGION = "us-east-1"

# Run by node: s3rver serving one bucket on a free loopback port, with the
# test's own key pair. s3rver checks access key ids and expiry of presigned
# URLs but not SigV4 signatures themselves ("Signature version 4 calculation
# is unimplemented" in its authentication middleware), so a middleware in
# front recomputes every presigned signature with AWS's own JavaScript signer
# (@smithy/signature-v4, as used by the AWS SDK) and refuses mismatches, as S3
# does. That signer is first checked against the AWS documentation example.
S3RVER_MAIN = r"""
const path = require('path');
const crypto = require('crypto');
const modules = path.join(process.env.S3RVER_DIR, 'node_modules');
const S3rver = require(path.join(modules, 's3rver'));
const AWSAccount = require(path.join(modules, 's3rver', 'lib', 'models', 'account'));
const { SignatureV4 } = require(path.join(modules, '@smithy', 'signature-v4'));

class Sha256 {
  constructor(secret) {
    this.hash = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256');
  }
  update(data) { this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

const awsEncode = (text) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

// The signature AWS's signer gives a presigned request (UNSIGNED-PAYLOAD,
// SignedHeaders=host), or null when the query is not such a request.
async function expectedSignature(method, host, rawPath, query, accessKeyId, secretAccessKey) {
  const [keyId, day, region, service, terminator] = String(query['X-Amz-Credential'] || '').split('/');
  const date = String(query['X-Amz-Date'] || '');
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m || keyId !== accessKeyId || day !== date.slice(0, 8) || service !== 's3' || terminator !== 'aws4_request' ||
      query['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256' || query['X-Amz-SignedHeaders'] !== 'host' ||
      !/^[0-9]+$/.test(String(query['X-Amz-Expires']))) {
    return null;
  }
  const otherQuery = {};
  for (const [k, v] of Object.entries(query)) if (!k.startsWith('X-Amz-')) otherQuery[k] = v;
  const canonicalPath = rawPath.split('/').map((s) => awsEncode(decodeURIComponent(s))).join('/');
  const signer = new SignatureV4({service: 's3', region, sha256: Sha256, uriEscapePath: false, applyChecksum: false,
                                  credentials: {accessKeyId, secretAccessKey}});
  const presigned = await signer.presign(
      {method, protocol: 'http:', hostname: host.replace(/:\d+$/, ''), path: canonicalPath, query: otherQuery,
       headers: {host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'}},
      {signingDate: new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])),
       expiresIn: Number(query['X-Amz-Expires']), signingRegion: region,
       unhoistableHeaders: new Set(['x-amz-content-sha256']), unsignableHeaders: new Set(['x-amz-content-sha256'])});
  return presigned.query['X-Amz-Signature'];
}

async function main() {
  const example = await expectedSignature('GET', 'examplebucket.s3.amazonaws.com', '/test.txt', {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256', 'X-Amz-Credential': 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request',
    'X-Amz-Date': '20130524T000000Z', 'X-Amz-Expires': '86400', 'X-Amz-SignedHeaders': 'host'},
    'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  if (example !== 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404') {
    throw new Error('the SigV4 verifier does not reproduce the AWS documentation example: ' + example);
  }
  const accessKeyId = process.env.S3_ACCESS_KEY_ID;
  const secretAccessKey = process.env.S3_SECRET_ACCESS_KEY;
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const server = new S3rver({
    address: '127.0.0.1', port: 0, silent: true, directory: process.env.S3_DATA_DIR,
    vhostBuckets: false, configureBuckets: [{name: process.env.S3_BUCKET, configs: []}],
  });
  server.middleware.unshift(async (ctx, next) => {
    if (!('X-Amz-Algorithm' in ctx.query)) return next();
    let expected = null;
    try {
      expected = await expectedSignature(ctx.method, ctx.get('host'), ctx.url.split('?')[0], ctx.query, accessKeyId,
                                         secretAccessKey);
    } catch (e) {
      expected = null;
    }
    const given = Buffer.from(String(ctx.query['X-Amz-Signature'] || ''));
    if (!expected || given.length !== expected.length || !crypto.timingSafeEqual(given, Buffer.from(expected))) {
      ctx.status = 403;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>' +
                 '<Message>The request signature we calculated does not match the signature you provided.</Message></Error>';
      return;
    }
    return next();
  });
  const address = await server.run();
  console.log(JSON.stringify({port: address.port}));
}
main().catch((error) => { console.error(error); process.exit(1); });
"""


def s3rver_missing():
    """None when node and the packages are there; else (skip, why)."""
    if not shutil.which("node"):
        return True, "node is needed for the s3rver test server (Debian package nodejs)"
    missing = [name for name in S3RVER_PACKAGES
               if not os.path.exists(os.path.join(TESTS_DIR, "node_modules", name, "package.json"))]
    if missing:
        return False, "%s not installed: run `npm ci --prefix tests` (.ci/bootstrap does)" % ", ".join(missing)
    return None


def sigv4_presign(method, port, key, access_key_id, secret, expires=60):
    """A presigned URL for the test's own uploads (path style, UNSIGNED-PAYLOAD)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)
    query = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": "%s/%s" % (access_key_id, scope),
             "X-Amz-Date": amz_date, "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": "host"}
    canonical_query = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                               for k, v in sorted(query.items()))
    canonical_uri = urllib.parse.quote("/%s/%s" % (BUCKET, key), safe="/-_.~")
    host = "127.0.0.1:%d" % port
    canonical_request = "\n".join([method, canonical_uri, canonical_query, "host:%s\n" % host, "host",
                                   "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical_request.encode()).hexdigest()])
    signing_key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], REGION, "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    return "%s?%s&X-Amz-Signature=%s" % (canonical_uri, canonical_query, signature)


def fetch(port, method, target, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class S3rverProcess:
    def __init__(self, access_key_id, secret):
        self.dir = tempfile.mkdtemp(prefix="sharelink-s3rver-")
        main = os.path.join(self.dir, "main.js")
        with open(main, "w") as f:
            f.write(S3RVER_MAIN)
        env = dict(os.environ, S3RVER_DIR=TESTS_DIR, S3_DATA_DIR=os.path.join(self.dir, "data"), S3_BUCKET=BUCKET,
                   S3_ACCESS_KEY_ID=access_key_id, S3_SECRET_ACCESS_KEY=secret)
        self.proc = subprocess.Popen(["node", main], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.port = None
        ready = threading.Event()

        def read_port():
            line = self.proc.stdout.readline()
            try:
                self.port = json.loads(line)["port"]
            except (ValueError, KeyError):
                pass
            ready.set()

        threading.Thread(target=read_port, daemon=True).start()
        ready.wait(30)
        if self.port is None:
            self.stop()
            raise AssertionError("s3rver did not start: " + self.proc.stderr.read())

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class S3PlaybackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        problem = s3rver_missing()
        if problem:
            skip, why = problem
            raise unittest.SkipTest(why) if skip else AssertionError(why)
        cls.access_key_id = "SHARELINKTEST" + secrets.token_hex(4).upper()
        cls.secret = "s3-secret-" + secrets.token_urlsafe(24)
        cls.s3 = S3rverProcess(cls.access_key_id, cls.secret)
        try:
            cls.inst = Installation({
                "playback": {"mode": "s3", "ttl_seconds": 300},
                "playback.s3": {"endpoint": "http://127.0.0.1:%d" % cls.s3.port, "bucket": BUCKET, "region": REGION,
                                "access_key_id": cls.access_key_id, "secret_access_key_file": "s3.secret"},
                "rate_limit": {"requests_per_minute": 1000000, "burst": 1000000},
            }, init=False)
            secret_file = cls.inst.path("s3.secret")
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(cls.secret + "\n")
            cls.inst.sharectl("init")
            os.makedirs(cls.inst.media, exist_ok=True)
            cls.clock = ClockOffset(cls.inst.dir)
            cls.daemon = Daemon(cls.inst, env=cls.clock.env())
        except Exception:
            cls.s3.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.s3.stop()
        cls.inst.cleanup()

    def upload(self, key, data):
        status, body = fetch(self.s3.port, "PUT",
                             sigv4_presign("PUT", self.s3.port, key, self.access_key_id, self.secret), body=data)
        self.assertEqual(status, 200, body[:300])

    def shared_object(self, key, size=5000, *share_args):
        data = hashlib.sha256(key.encode()).digest() * (size // 32) + os.urandom(size % 32)
        self.upload(key, data)
        tid = self.add_track_without_file(key)
        sid, token = self.inst.share(tid, *share_args)
        resp = self.daemon.resolve(token)
        self.assertEqual(resp.status, 200, resp.body)
        url = resp.json()["track"]["playback_url"]
        return tid, sid, url, data

    def add_track_without_file(self, key):
        # In s3 mode the audio lives in the bucket; media_root holds no copy.
        args = ["track", "add", "--title", "S3 " + key, "--engine", "studio", "--mode", "creation",
                "--licence", "personal_only@2026-01", "--audio", key]
        return self.inst.sharectl_json(*args)["id"]

    def get(self, url):
        parts = urllib.parse.urlsplit(url)
        self.assertEqual((parts.scheme, parts.hostname, parts.port), ("http", "127.0.0.1", self.s3.port), url)
        return fetch(self.s3.port, "GET", parts.path + "?" + parts.query)

    def test_presigned_playback_url_fetches_the_object(self):
        for key in ("album/track.ogg", "album two/Late Night (live).mp3"):
            with self.subTest(key=key):
                _, _, url, data = self.shared_object(key)
                parts = urllib.parse.urlsplit(url)
                self.assertEqual(urllib.parse.unquote(parts.path), "/%s/%s" % (BUCKET, key))
                query = dict(urllib.parse.parse_qsl(parts.query))
                self.assertEqual(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256")
                self.assertTrue(query["X-Amz-Credential"].startswith(self.access_key_id + "/"))
                self.assertTrue(1 <= int(query["X-Amz-Expires"]) <= 300)
                self.assertNotIn(self.secret, url)
                status, body = self.get(url)
                self.assertEqual(status, 200, body[:300])
                self.assertEqual(body, data)

    def test_tampered_presigned_url_is_refused(self):
        _, _, url, data = self.shared_object("tamper/original.ogg")
        self.upload("tamper/other.ogg", b"OTHER OBJECT")
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(parts.query)

        def with_param(name, value):
            return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(
                [(k, value if k == name else v) for k, v in query])))

        values = dict(query)
        signature = values["X-Amz-Signature"]
        cases = {
            "signature": with_param("X-Amz-Signature", ("0" if signature[0] != "0" else "1") + signature[1:]),
            "expires": with_param("X-Amz-Expires", str(int(values["X-Amz-Expires"]) + 3600)),
            "date": with_param("X-Amz-Date", values["X-Amz-Date"][:-3] + ("00Z" if values["X-Amz-Date"][-3:] != "00Z"
                                                                           else "01Z")),
            "object": urllib.parse.urlunsplit(parts._replace(path=parts.path.replace("original", "other"))),
            "credential": with_param("X-Amz-Credential", values["X-Amz-Credential"].replace(self.access_key_id,
                                                                                         "AKIDOTHERKEY0000")),
            "signature missing": urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(
                [(k, v) for k, v in query if k != "X-Amz-Signature"]))),
        }
        status, _ = self.get(url)
        self.assertEqual(status, 200)
        for name, target in cases.items():
            with self.subTest(name):
                status, body = self.get(target)
                self.assertEqual(status, 403, body[:300])
                self.assertNotIn(data, body)
                self.assertNotIn(b"OTHER OBJECT", body)

    def test_expired_presigned_url_is_refused(self):
        # The URL's X-Amz-Expires ends with the share, well before the playback TTL (300 s).
        span = 30 if self.clock.enabled else 2
        _, _, url, data = self.shared_object("expiry/soon.ogg", 5000, "--expires-at", "%ds" % span)
        expires = int(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["X-Amz-Expires"])
        self.assertLessEqual(expires, span)
        status, body = self.get(url)
        self.assertEqual((status, body), (200, data))
        if self.clock.enabled:
            # s3rver judges expiry by its own clock: with the daemon's set back past the
            # playback TTL, the URL it signs now ended before it is fetched.
            self.addCleanup(self.clock.reset)
            self.clock.set_back(300 + 5)
            _, _, url, _ = self.shared_object("expiry/past.ogg", 5000)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
            signed_at = calendar.timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
            self.assertLess(signed_at + int(query["X-Amz-Expires"]), time.time())
        else:
            time.sleep(expires + 1.5)
        status, body = self.get(url)
        self.assertEqual(status, 403, body[:300])
        self.assertIn(b"expired", body)

    def test_media_route_is_not_used_in_s3_mode(self):
        tid, sid, _, _ = self.shared_object("route/unused.ogg")
        resp = self.daemon.get("/v1/music/media/%s?share=%s&exp=%d&kid=k1&sig=x" % (tid, sid, time.time() + 60))
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.json()["error"]["code"], "NOT_FOUND")

    def test_secret_never_reaches_logs_or_other_files(self):
        _, sid, _, _ = self.shared_object("secret/check.ogg")
        token = self.inst.share(self.add_track_without_file("secret/offline.ogg"))[1]
        proc = self.inst.sharectl("resolve", token, json_output=True)
        self.assertNotIn(self.secret, proc.stdout + proc.stderr)
        self.assertNotIn(self.secret, self.daemon.log())
        self.assertNotIn(self.secret, "".join(self.daemon.stdout_lines))
        secret = self.secret.encode()
        for directory, _, files in os.walk(self.inst.dir):
            for name in files:
                path = os.path.join(directory, name)
                if path == self.inst.path("s3.secret"):
                    continue
                with open(path, "rb") as f:
                    self.assertNotIn(secret, f.read(), path)

if __name__ == "__main__":
    unittest.main()
