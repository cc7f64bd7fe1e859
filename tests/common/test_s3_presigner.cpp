// Unit tests of common/s3_presigner.hpp: SigV4 query-string presigning against AWS's and botocore's answers.
#include <catch2/catch.hpp>

#include <string>

#include "common/error.hpp"
#include "common/s3_presigner.hpp"

namespace sharelink {
namespace {

constexpr const char* k_aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::int64_t k_2026_11_24_10h = 1795514400;  // 2026-11-24T10:00:00Z

// The example of AWS "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
S3PresignRequest aws_example() {
  S3PresignRequest request;
  request.scheme = "https";
  request.host = "examplebucket.s3.amazonaws.com";
  request.canonical_uri = "/test.txt";
  request.region = "us-east-1";
  request.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  request.secret_access_key = k_aws_secret;
  request.now = from_unix_seconds(1369353600);  // 2013-05-24T00:00:00Z
  request.expires_seconds = 86400;
  return request;
}

S3PresignRequest path_style(const std::string& endpoint, const std::string& key, const std::string& region) {
  auto request = s3_path_style_request(endpoint, "music", key);
  request.region = region;
  request.access_key_id = "AKIDEXAMPLE";
  request.secret_access_key = k_aws_secret;
  request.now = from_unix_seconds(k_2026_11_24_10h);
  request.expires_seconds = 300;
  return request;
}

std::string error_of(const S3PresignRequest& request) {
  try {
    s3_presign_get(request);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("S3Presigner: AWS documentation example", "[s3_presigner]") {
  const auto request = aws_example();
  CHECK(s3_presign_signature(request) == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  CHECK(s3_presign_get(request) ==
        "https://examplebucket.s3.amazonaws.com/test.txt"
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST_CASE("S3Presigner: sub-second time is truncated to the second", "[s3_presigner]") {
  auto request = aws_example();
  request.now += std::chrono::milliseconds(999);
  CHECK(s3_presign_signature(request) == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// Expected URLs printed by botocore 1.29 (tests/tools/botocore_presign.py) for the same inputs.
TEST_CASE("S3Presigner: path style matches botocore for keys needing encoding", "[s3_presigner]") {
  struct Case {
    const char* endpoint;
    const char* key;
    const char* region;
    const char* url;
  };
  const auto c = GENERATE(values<Case>({
      {"http://127.0.0.1:9000", "albums/My Song (live) \xc3\xa9+&=~.mp3", "eu-central-1",
       "http://127.0.0.1:9000/music/albums/My%20Song%20%28live%29%20%C3%A9%2B%26%3D~.mp3"
       "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
       "&X-Amz-Credential=AKIDEXAMPLE%2F20261124%2Feu-central-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20261124T100000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
       "&X-Amz-Signature=40116d439c66a730a8e1968fe2304868634382415e867b883cde8b87cde44ef9"},
      {"http://[::1]:9000", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe6\x9b\xb2.ogg", "garage",
       "http://[::1]:9000/music/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E6%9B%B2.ogg"
       "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
       "&X-Amz-Credential=AKIDEXAMPLE%2F20261124%2Fgarage%2Fs3%2Faws4_request"
       "&X-Amz-Date=20261124T100000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
       "&X-Amz-Signature=0d17825ba3ab1846492814793823d53e340d3a2eeb02dd39ee1b5a97d408daad"},
  }));
  CAPTURE(c.key);
  CHECK(s3_presign_get(path_style(c.endpoint, c.key, c.region)) == c.url);
}

TEST_CASE("S3Presigner: default ports, case and endpoint prefix match botocore's signature", "[s3_presigner]") {
  struct Case {
    const char* endpoint;
    const char* key;
    int expires;
    const char* url_start;
    const char* signature;
  };
  const auto c = GENERATE(values<Case>({
      {"https://S3.Example.org:8443/prefix", "a/b//c/./../d.flac", 86400,
       "https://s3.example.org:8443/prefix/music/a/b//c/./../d.flac?",
       "41471276587d9fa84cfda8803eaecfbb78ab098e100d80ae55131719f474b9e6"},
      {"http://localhost:80", "x.mp3", 1, "http://localhost/music/x.mp3?",
       "ab8a22fe11c8f65f30157244ff5869296a3bada40bec76af7f227aec851370f7"},
      {"https://minio.example.org:443", "x?y#z%41;:@,$!'*[]{}|^`\"<>.mp3", 604800,
       "https://minio.example.org/music/x%3Fy%23z%2541%3B%3A%40%2C%24%21%27%2A%5B%5D%7B%7D%7C%5E%60%22%3C%3E.mp3?",
       "077fae2991f3b586aeb20ae89ba7a7b1854528e2c12619c98aea21b21358b65a"},
  }));
  CAPTURE(c.endpoint, c.key);
  auto request = path_style(c.endpoint, c.key, "us-east-1");
  request.expires_seconds = c.expires;
  const std::string url = s3_presign_get(request);
  CHECK_THAT(url, Catch::StartsWith(c.url_start));
  CHECK_THAT(url, Catch::EndsWith(std::string("&X-Amz-Signature=") + c.signature));
  CHECK_THAT(url, Catch::Contains("&X-Amz-Expires=" + std::to_string(c.expires) + "&"));
}

TEST_CASE("S3Presigner: path-style request from an endpoint", "[s3_presigner]") {
  struct Case {
    const char* endpoint;
    const char* scheme;
    const char* host;
    const char* uri;
  };
  const auto c = GENERATE(values<Case>({
      {"http://127.0.0.1:9000", "http", "127.0.0.1:9000", "/music/a/b.mp3"},
      {"http://127.0.0.1:9000/", "http", "127.0.0.1:9000", "/music/a/b.mp3"},
      {"https://S3.Example.ORG", "https", "s3.example.org", "/music/a/b.mp3"},
      {"HTTPS://s3.example.org", "https", "s3.example.org", "/music/a/b.mp3"},
      {"http://host:80", "http", "host", "/music/a/b.mp3"},
      {"https://host:443", "https", "host", "/music/a/b.mp3"},
      {"http://host:443", "http", "host:443", "/music/a/b.mp3"},
      {"https://host:80", "https", "host:80", "/music/a/b.mp3"},
      {"http://host:09000", "http", "host:9000", "/music/a/b.mp3"},
      {"https://example.org/storage/", "https", "example.org", "/storage/music/a/b.mp3"},
      {"https://example.org/a/b", "https", "example.org", "/a/b/music/a/b.mp3"},
      {"http://[::1]:9000", "http", "[::1]:9000", "/music/a/b.mp3"},
      {"http://[::1]:80", "http", "[::1]", "/music/a/b.mp3"},
      {"http://[FD00::1]", "http", "[fd00::1]", "/music/a/b.mp3"},
  }));
  CAPTURE(c.endpoint);
  const auto request = s3_path_style_request(c.endpoint, "music", "a/b.mp3");
  CHECK(request.scheme == c.scheme);
  CHECK(request.host == c.host);
  CHECK(request.canonical_uri == c.uri);
}

TEST_CASE("S3Presigner: invalid endpoints are refused with the endpoint named", "[s3_presigner]") {
  struct Case {
    const char* endpoint;
    const char* why;
  };
  const auto c = GENERATE(values<Case>({
      {"127.0.0.1:9000", "has no scheme"},
      {"ftp://host", "is not an http or https URL"},
      {"http://", "has no host"},
      {"http://:9000", "has no host"},
      {"http://host:", "has an invalid port"},
      {"http://host:0", "has an invalid port"},
      {"http://host:65536", "has an invalid port"},
      {"http://host:9x", "has an invalid port"},
      {"http://user:pw@host", "carries user info"},
      {"http://host/?a=b", "carries a query or fragment"},
      {"http://host/#x", "carries a query or fragment"},
      {"http://[::1", "has an unterminated IPv6 address"},
      {"http://[::1]x", "has text after the IPv6 address"},
      {"http://[]:9000", "has no host"},
  }));
  CAPTURE(c.endpoint);
  CHECK_THROWS_WITH(s3_path_style_request(c.endpoint, "music", "k"),
                    Catch::StartsWith(std::string("S3 endpoint \"") + c.endpoint + "\" " + c.why));
}

TEST_CASE("S3Presigner: empty bucket is refused", "[s3_presigner]") {
  CHECK_THROWS_WITH(s3_path_style_request("http://host", "", "k"), Catch::Contains("bucket name is empty"));
}

TEST_CASE("S3Presigner: incomplete or out-of-range requests are refused", "[s3_presigner]") {
  struct Case {
    const char* name;
    void (*change)(S3PresignRequest&);
    const char* message;
  };
  const auto c = GENERATE(values<Case>({
      {"scheme", [](S3PresignRequest& r) { r.scheme = "ftp"; }, "scheme \"ftp\" is not http or https"},
      {"host", [](S3PresignRequest& r) { r.host.clear(); }, "the host is empty"},
      {"uri", [](S3PresignRequest& r) { r.canonical_uri = "test.txt"; }, "must start with \"/\""},
      {"region", [](S3PresignRequest& r) { r.region.clear(); }, "the region is empty"},
      {"access key", [](S3PresignRequest& r) { r.access_key_id.clear(); }, "the access key id is empty"},
      {"secret", [](S3PresignRequest& r) { r.secret_access_key.clear(); }, "the secret access key is empty"},
      {"expires 0", [](S3PresignRequest& r) { r.expires_seconds = 0; }, "X-Amz-Expires 0 is outside 1..604800"},
      {"expires 604801", [](S3PresignRequest& r) { r.expires_seconds = 604801; }, "X-Amz-Expires 604801"},
  }));
  CAPTURE(c.name);
  auto request = aws_example();
  c.change(request);
  CHECK_THAT(error_of(request), Catch::Contains(c.message));
  CHECK_THROWS_AS(s3_presign_signature(request), Error);
}

TEST_CASE("S3Presigner: expiry bounds 1 and 604800 are accepted", "[s3_presigner]") {
  auto request = aws_example();
  request.expires_seconds = 1;
  CHECK_THAT(s3_presign_get(request), Catch::Contains("&X-Amz-Expires=1&"));
  request.expires_seconds = 604800;
  CHECK_THAT(s3_presign_get(request), Catch::Contains("&X-Amz-Expires=604800&"));
}

TEST_CASE("S3Presigner: every input changes the signature", "[s3_presigner]") {
  // Run in this order on one thread so a cached signing key that ignored the
  // secret, date or region would show up as a repeated signature.
  const std::string base = s3_presign_signature(aws_example());
  struct Case {
    const char* name;
    void (*change)(S3PresignRequest&);
  };
  const auto c = GENERATE(values<Case>({
      {"secret", [](S3PresignRequest& r) { r.secret_access_key += "X"; }},
      {"day", [](S3PresignRequest& r) { r.now += std::chrono::hours(24); }},
      {"second", [](S3PresignRequest& r) { r.now += std::chrono::seconds(1); }},
      {"region", [](S3PresignRequest& r) { r.region = "eu-west-1"; }},
      {"access key", [](S3PresignRequest& r) { r.access_key_id = "AKIAOTHER"; }},
      {"host", [](S3PresignRequest& r) { r.host = "otherbucket.s3.amazonaws.com"; }},
      {"path", [](S3PresignRequest& r) { r.canonical_uri = "/test.txu"; }},
      {"expiry", [](S3PresignRequest& r) { r.expires_seconds = 86399; }},
  }));
  CAPTURE(c.name);
  auto request = aws_example();
  c.change(request);
  CHECK(s3_presign_signature(request) != base);
  // And back: the original inputs give the original signature again.
  CHECK(s3_presign_signature(aws_example()) == base);
}

}  // namespace sharelink
