"""Cross-checks shared-link's S3 presigner (common/s3_presigner.cpp) against botocore.

tests/tools/presign_tool (path in $PRESIGN_TOOL, set by tests/CMakeLists.txt)
prints our presigned GET URL; tests/tools/botocore_presign.py prints botocore's
for the same endpoint, bucket, key, region, credentials, time and expiry. They
must agree on everything that is signed: scheme, host, port, path and query
string, signature included. botocore keeps a default port or an uppercase host
as written in the endpoint URL while signing the normalised Host header; we
write the normalised form, so the authority is compared after normalising.
"""
import os
import subprocess
import unittest
import urllib.parse

SYSTEM_PYTHON = "/usr/bin/python3"
TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
BOTOCORE_PRESIGN = os.path.join(TOOLS, "botocore_presign.py")

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
T_2026 = 1795514400  # 2026-11-24T10:00:00Z
T_LEAP = 1709251199  # 2024-02-29T23:59:59Z

# endpoint, bucket, key, region, access key id, unix time, expires
CASES = [
    ("http://127.0.0.1:9000", "music", "track.mp3", "us-east-1", "AKIDEXAMPLE", T_2026, 300),
    ("http://127.0.0.1:9000", "music", "albums/My Song (live) \u00e9.mp3", "eu-central-1", "AKIDEXAMPLE", T_2026, 300),
    ("http://127.0.0.1:9000", "music", "\u65e5\u672c\u8a9e/\u66f2 \U0001f3b5.ogg", "garage", "AKIDEXAMPLE", T_2026, 1),
    ("https://minio.example.org", "audio-files", "x?y#z%41;:@,$!'*[]{}|^`\"<>+&=~.mp3", "us-east-1", "AKIDEXAMPLE",
     T_LEAP, 604800),
    ("https://S3.Example.org:8443/prefix", "music", "a/b//c/./../d.flac", "us-west-2", "AKIDEXAMPLE", T_2026, 86400),
    ("http://localhost:80", "music", "/leading-slash.wav", "us-east-1", "AKIDEXAMPLE", T_LEAP, 60),
    ("https://s3.example.org:443", "music", "trailing space .mp3", "ap-southeast-1", "AKID+EXAMPLE/1", T_2026, 300),
    ("http://[::1]:9000", "music.bucket", "dir/sub dir/file.m4a", "garage", "GK31c2f218a2e44f485b94239e", 0, 900),
]


def botocore_available():
    try:
        result = subprocess.run([SYSTEM_PYTHON, "-c", "import botocore"], capture_output=True, timeout=60)
    except OSError:
        return False
    return result.returncode == 0


def normalised(url):
    """(scheme, host, port, path, query) with the default port made explicit."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}[parts.scheme]
    return (parts.scheme, parts.hostname, port, parts.path, parts.query)


class S3PresignerMatchesBotocore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tool = os.environ.get("PRESIGN_TOOL")
        if not cls.tool or not os.path.exists(cls.tool):
            raise unittest.SkipTest("PRESIGN_TOOL is not set to the built presign_tool (run this test through ctest)")
        if not botocore_available():
            raise unittest.SkipTest(
                f"{SYSTEM_PYTHON} cannot import botocore (apt-get install python3-botocore); "
                "S3 presigner cross-check skipped")

    def presign(self, program, case):
        endpoint, bucket, key, region, access_key, unix_time, expires = case
        args = program + [endpoint, bucket, key, region, access_key, SECRET, str(unix_time), str(expires)]
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, f"{args[0]} failed: {result.stderr}")
        return result.stdout.strip()

    def test_urls_match(self):
        for case in CASES:
            with self.subTest(endpoint=case[0], key=case[2]):
                ours = self.presign([self.tool], case)
                theirs = self.presign([SYSTEM_PYTHON, BOTOCORE_PRESIGN], case)
                self.assertEqual(normalised(ours), normalised(theirs), f"\n ours: {ours}\n boto: {theirs}")
                self.assertIn("&X-Amz-Signature=", ours)
                self.assertEqual(ours.rsplit("&X-Amz-Signature=", 1)[1], theirs.rsplit("&X-Amz-Signature=", 1)[1])

    def test_invalid_endpoint_is_refused(self):
        result = subprocess.run([self.tool, "ftp://host", "music", "k", "us-east-1", "AKID", SECRET, "0", "60"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1)
        self.assertIn('S3 endpoint "ftp://host" is not an http or https URL', result.stderr)
        self.assertNotIn(SECRET, result.stderr)


if __name__ == "__main__":
    unittest.main()
