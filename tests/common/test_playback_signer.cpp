// Unit tests of common/playback_signer.hpp: minting and verifying signed playback URLs (SPEC 5).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/playback_signer.hpp"
#include "common/s3_presigner.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr const char* k_track = "mtrack_b4d9e1c6a72f";
constexpr const char* k_share = "mslink_3a7f2c9e8b14";
constexpr std::int64_t k_exp = 1785234600;  // 2026-07-28T10:30:00Z
const TimePoint k_now = from_unix_seconds(k_exp - 300);
constexpr const char* k_base = "https://music.example.org";

// HMAC key 0x00..0x1f; k_vector_sig is base64url_nopad(HMAC-SHA256(key, "v1\n" k_track "\n" k_share "\n" k_exp)),
// computed independently with Python's hmac module and with `openssl dgst -sha256 -mac HMAC`.
const std::string k_secret_1 = [] {
  std::string s;
  for (int i = 0; i < 32; ++i) s += static_cast<char>(i);
  return s;
}();
constexpr const char* k_vector_sig = "VI-oV2TY0H4r1WJhdbjfnAjR4YmwBULjcMgoxwy9258";

SigningKey key_1() { return {"k1", k_secret_1, std::nullopt}; }
SigningKey key_2() { return {"k2", std::string(32, '\x42'), std::nullopt}; }

PlaybackSigner signer_with(std::vector<SigningKey> keys, PlaybackMode mode = PlaybackMode::builtin) {
  PlaybackConfig config;
  config.mode = mode;
  config.ttl_seconds = 300;
  return PlaybackSigner(config, k_base, SigningKeys(std::move(keys)));
}

std::string expected_sig(const std::string& secret, std::string_view track, std::string_view share,
                         std::string_view exp) {
  return base64url_encode(hmac_sha256(secret, "v1\n" + std::string(track) + "\n" + std::string(share) + "\n" +
                                                  std::string(exp)));
}

// The value of one query parameter of a URL (no decoding: minted values need none).
std::string query_value(const std::string& url, const std::string& name) {
  auto start = url.find('?' + name + '=');
  if (start == std::string::npos) start = url.find('&' + name + '=');
  if (start == std::string::npos) return {};
  const auto value_start = start + name.size() + 2;
  const auto end = url.find('&', value_start);
  return url.substr(value_start, end == std::string::npos ? std::string::npos : end - value_start);
}

PlaybackConfig s3_config() {
  PlaybackConfig config;
  config.mode = PlaybackMode::s3;
  config.s3.endpoint = "http://127.0.0.1:9000";
  config.s3.bucket = "music";
  config.s3.region = "eu-central-1";
  config.s3.access_key_id = "AKIDEXAMPLE";
  return config;
}

}  // namespace

TEST_CASE("PlaybackSigner: signing input", "[playback_signer]") {
  CHECK(playback_signing_input(k_track, k_share, k_exp) == "v1\nmtrack_b4d9e1c6a72f\nmslink_3a7f2c9e8b14\n1785234600");
  CHECK(playback_signing_input("mtrack_x", "mslink_000000000000", 0) == "v1\nmtrack_x\nmslink_000000000000\n0");
}

TEST_CASE("PlaybackSigner: builtin URL matches a hard-coded vector", "[playback_signer]") {
  const auto signer = signer_with({key_1()});
  CHECK(signer.mint(k_track, "ignored/in/builtin.mp3", k_share, k_exp, k_now) ==
        std::string("https://music.example.org/v1/music/media/mtrack_b4d9e1c6a72f?share=mslink_3a7f2c9e8b14"
                    "&exp=1785234600&kid=k1&sig=") +
            k_vector_sig);
}

TEST_CASE("PlaybackSigner: a share's minter appends the URLs mint returns, in every mode",
          "[playback_signer]") {
  const PlaybackSigner builtin = signer_with({key_1()});
  const PlaybackSigner s3(s3_config(), k_base, SigningKeys({key_1()}), "secret");
  for (const PlaybackSigner* signer : {&builtin, &s3}) {
    // Two URLs back to back after text already there, as a collection's share one buffer.
    const auto minter = signer->minter(k_share, k_exp, k_now);
    std::string urls = "before|";
    minter.mint_to(urls, k_track, "a.mp3");
    minter.mint_to(urls, "mtrack_000000000002", "b.mp3");
    CHECK(urls == "before|" + signer->mint(k_track, "a.mp3", k_share, k_exp, k_now) +
                      signer->mint("mtrack_000000000002", "b.mp3", k_share, k_exp, k_now));
  }
  // The size hint covers a builtin URL, also of ids that are percent-encoded throughout.
  CHECK(builtin.mint(k_track, "", k_share, k_exp, k_now).size() <=
        builtin.minter(k_share, k_exp, k_now).size_hint(k_track));
  const std::int64_t far = 9223372036854775807;
  CHECK(builtin.mint("??", "", "&&", far, k_now).size() == builtin.minter("&&", far, k_now).size_hint("??"));
}

TEST_CASE("PlaybackSigner: signature is base64url HMAC-SHA256 of the signing input", "[playback_signer]") {
  struct Case {
    const char* name;
    SigningKey key;
    std::string track;
    std::string share;
    std::int64_t exp;
  };
  const auto c = GENERATE(values<Case>({
      {"spec example", key_1(), k_track, k_share, k_exp},
      {"other key", key_2(), k_track, k_share, k_exp},
      {"key longer than a SHA-256 block", {"long", std::string(100, '\x07'), {}}, k_track, k_share, k_exp},
      {"key exactly one block", {"block", std::string(64, '\x09'), {}}, k_track, k_share, k_exp},
      {"imported track id", key_1(), "mtrack_Imported-Track_01", "mslink_000000000000", 1},
      {"far expiry", key_1(), k_track, k_share, 9223372036854775807},
  }));
  CAPTURE(c.name);
  const auto signer = signer_with({c.key});
  const std::string url = signer.mint(c.track, "", c.share, c.exp, k_now);
  const std::string exp = std::to_string(c.exp);
  CHECK(url == std::string(k_base) + "/v1/music/media/" + c.track + "?share=" + c.share + "&exp=" + exp +
                   "&kid=" + c.key.kid + "&sig=" + expected_sig(c.key.secret, c.track, c.share, exp));
  CHECK(query_value(url, "sig").size() == 43);
}

TEST_CASE("PlaybackSigner: the first key signs", "[playback_signer]") {
  const auto signer = signer_with({key_2(), key_1()});
  const std::string url = signer.mint(k_track, "", k_share, k_exp, k_now);
  CHECK(query_value(url, "kid") == "k2");
  CHECK(query_value(url, "sig") == expected_sig(key_2().secret, k_track, k_share, std::to_string(k_exp)));
}

TEST_CASE("PlaybackSigner: base URL trailing slash and x_accel mode", "[playback_signer]") {
  PlaybackConfig config;
  config.mode = GENERATE(PlaybackMode::builtin, PlaybackMode::x_accel);
  config.ttl_seconds = 120;
  const PlaybackSigner signer(config, "http://127.0.0.1:8787/", SigningKeys({key_1()}));
  CHECK(signer.mode() == config.mode);
  CHECK(signer.ttl_seconds() == 120);
  CHECK(signer.keys().current().kid == "k1");
  CHECK(signer.mint(k_track, "a.mp3", k_share, k_exp, k_now) ==
        std::string("http://127.0.0.1:8787/v1/music/media/mtrack_b4d9e1c6a72f?share=mslink_3a7f2c9e8b14"
                    "&exp=1785234600&kid=k1&sig=") +
            k_vector_sig);
}

TEST_CASE("PlaybackSigner: ids outside the URL-safe set are percent-encoded, signed raw", "[playback_signer]") {
  const auto signer = signer_with({key_1()});
  const std::string url = signer.mint("mtrack_a b/c", "", "mslink_?&", k_exp, k_now);
  CHECK_THAT(url, Catch::StartsWith(std::string(k_base) + "/v1/music/media/mtrack_a%20b%2Fc?share=mslink_%3F%26&exp="));
  const std::string sig = query_value(url, "sig");
  CHECK(sig == expected_sig(k_secret_1, "mtrack_a b/c", "mslink_?&", std::to_string(k_exp)));
  CHECK(signer.verify("mtrack_a b/c", "mslink_?&", std::to_string(k_exp), "k1", sig, k_now) == PlaybackCheck::ok);
}

TEST_CASE("PlaybackSigner: verify accepts what mint made until exp", "[playback_signer]") {
  const auto signer = signer_with({key_1()});
  const std::string url = signer.mint(k_track, "", k_share, k_exp, k_now);
  const std::string exp = query_value(url, "exp");
  const std::string sig = query_value(url, "sig");
  CHECK(signer.verify(k_track, k_share, exp, "k1", sig, k_now) == PlaybackCheck::ok);
  CHECK(signer.verify(k_track, k_share, exp, "k1", k_vector_sig, k_now) == PlaybackCheck::ok);
  CHECK(signer.verify(k_track, k_share, exp, "k1", sig, from_unix_seconds(k_exp - 1)) == PlaybackCheck::ok);
  CHECK(signer.verify(k_track, k_share, exp, "k1", sig,
                      from_unix_seconds(k_exp - 1) + std::chrono::milliseconds(999)) == PlaybackCheck::ok);
}

TEST_CASE("PlaybackSigner: expired once now reaches exp", "[playback_signer]") {
  const auto signer = signer_with({key_1()});
  const std::string exp = std::to_string(k_exp);
  const auto now = GENERATE(from_unix_seconds(k_exp), from_unix_seconds(k_exp + 1), from_unix_seconds(k_exp + 86400));
  CHECK(signer.verify(k_track, k_share, exp, "k1", k_vector_sig, now) == PlaybackCheck::expired);
}

TEST_CASE("PlaybackSigner: tampering with any parameter is bad_signature", "[playback_signer]") {
  const auto signer = signer_with({key_1(), key_2()});
  const std::string exp = std::to_string(k_exp);
  const std::string sig = k_vector_sig;
  struct Case {
    const char* name;
    std::string track;
    std::string share;
    std::string exp;
    std::string kid;
    std::string sig;
  };
  const auto c = GENERATE_COPY(values<Case>({
      {"other track", "mtrack_b4d9e1c6a72e", k_share, exp, "k1", sig},
      {"track prefix", "mtrack_b4d9e1c6a72", k_share, exp, "k1", sig},
      {"other share", k_track, "mslink_3a7f2c9e8b15", exp, "k1", sig},
      {"later exp", k_track, k_share, std::to_string(k_exp + 1), "k1", sig},
      {"past exp (not reported as expired)", k_track, k_share, std::to_string(k_exp - 3600), "k1", sig},
      {"other known kid", k_track, k_share, exp, "k2", sig},
      {"unknown kid", k_track, k_share, exp, "k3", sig},
      {"empty kid", k_track, k_share, exp, "", sig},
      {"sig first char", k_track, k_share, exp, "k1", "W" + sig.substr(1)},
      {"sig last char", k_track, k_share, exp, "k1", sig.substr(0, 42) + "9"},
      {"sig truncated", k_track, k_share, exp, "k1", sig.substr(0, 42)},
      {"sig extended", k_track, k_share, exp, "k1", sig + "A"},
      {"sig padded", k_track, k_share, exp, "k1", sig + "="},
      {"sig standard base64", k_track, k_share, exp, "k1", "VI+oV2TY0H4r1WJhdbjfnAjR4YmwBULjcMgoxwy9258"},
      {"sig empty", k_track, k_share, exp, "k1", ""},
      {"sig of track swapped with share", k_share, k_track, exp, "k1", sig},
  }));
  CAPTURE(c.name);
  // Still bad_signature long after exp: the signature is checked before the expiry.
  const auto now = GENERATE(k_now, from_unix_seconds(k_exp + 86400));
  CHECK(signer.verify(c.track, c.share, c.exp, c.kid, c.sig, now) == PlaybackCheck::bad_signature);
}

TEST_CASE("PlaybackSigner: a non-canonical exp is bad_signature even when correctly signed", "[playback_signer]") {
  const auto signer = signer_with({key_1()});
  const std::string exp = GENERATE(as<std::string>{}, "+1785234600", "-1", "01785234600", "00", " 1785234600",
                                   "1785234600 ", "", "1e9", "0x10", "1785234600.0", "17852346OO",
                                   "12345678901234567890",   // 20 digits
                                   "9223372036854775808");   // 19 digits, past int64
  CAPTURE(exp);
  // A valid HMAC over the odd text, as a key holder could make: still refused.
  CHECK(signer.verify(k_track, k_share, exp, "k1", expected_sig(k_secret_1, k_track, k_share, exp), k_now) ==
        PlaybackCheck::bad_signature);
}

TEST_CASE("PlaybackSigner: canonical exp edge values", "[playback_signer]") {
  const auto signer = signer_with({key_1()});
  const auto sig = [&](const std::string& exp) { return expected_sig(k_secret_1, k_track, k_share, exp); };
  CHECK(signer.verify(k_track, k_share, "0", "k1", sig("0"), k_now) == PlaybackCheck::expired);
  CHECK(signer.verify(k_track, k_share, "9223372036854775807", "k1", sig("9223372036854775807"), k_now) ==
        PlaybackCheck::ok);
}

TEST_CASE("PlaybackSigner: rotated keys keep old URLs valid, retired keys do not", "[playback_signer]") {
  const auto before_rotation = signer_with({key_1()});
  const std::string old_url = before_rotation.mint(k_track, "", k_share, k_exp, k_now);
  const std::string old_sig = query_value(old_url, "sig");

  const auto rotated = signer_with({key_2(), key_1()});
  CHECK(rotated.verify(k_track, k_share, std::to_string(k_exp), "k1", old_sig, k_now) == PlaybackCheck::ok);
  const std::string new_url = rotated.mint(k_track, "", k_share, k_exp, k_now);
  CHECK(query_value(new_url, "kid") == "k2");
  CHECK(rotated.verify(k_track, k_share, std::to_string(k_exp), "k2", query_value(new_url, "sig"), k_now) ==
        PlaybackCheck::ok);

  const auto retired = signer_with({key_2()});
  CHECK(retired.verify(k_track, k_share, std::to_string(k_exp), "k1", old_sig, k_now) ==
        PlaybackCheck::bad_signature);
  CHECK(retired.verify(k_track, k_share, std::to_string(k_exp), "k2", query_value(new_url, "sig"), k_now) ==
        PlaybackCheck::ok);
}

TEST_CASE("PlaybackSigner: copies share the prepared keys and outlive the original", "[playback_signer]") {
  std::optional<PlaybackSigner> original(signer_with({key_1()}));
  const PlaybackSigner copy = *original;
  original.reset();
  CHECK(copy.verify(k_track, k_share, std::to_string(k_exp), "k1", k_vector_sig, k_now) == PlaybackCheck::ok);
  CHECK(query_value(copy.mint(k_track, "", k_share, k_exp, k_now), "sig") == k_vector_sig);
}

TEST_CASE("PlaybackSigner: mint and verify from many threads at once", "[playback_signer]") {
  const auto signer = signer_with({key_2(), key_1()});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string track = "mtrack_" + std::to_string(t) + "_" + std::to_string(i);
        const std::string url = signer.mint(track, "", k_share, k_exp, k_now);
        if (signer.verify(track, k_share, std::to_string(k_exp), "k2", query_value(url, "sig"), k_now) !=
                PlaybackCheck::ok ||
            signer.verify(k_track, k_share, std::to_string(k_exp), "k1", k_vector_sig, k_now) != PlaybackCheck::ok) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
}

TEST_CASE("PlaybackSigner: s3 mode mints a SigV4 presigned URL of the audio path", "[playback_signer]") {
  const PlaybackSigner signer(s3_config(), k_base, SigningKeys({key_1()}), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
  CHECK(signer.mode() == PlaybackMode::s3);
  struct Case {
    std::int64_t exp;
    int expires;
  };
  const auto c = GENERATE(values<Case>({
      {k_exp, 300},
      {k_exp - 299, 1},
      {k_exp - 300, 1},         // already due: the shortest S3 allows
      {k_exp - 100000, 1},
      {k_exp + 604500, 604800},
      {k_exp + 999999, 604800},  // capped at SigV4's seven days
  }));
  CAPTURE(c.exp);
  auto expected = s3_path_style_request("http://127.0.0.1:9000", "music", "albums/My Song (live).mp3");
  expected.region = "eu-central-1";
  expected.access_key_id = "AKIDEXAMPLE";
  expected.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  expected.now = k_now;
  expected.expires_seconds = c.expires;
  const std::string url = signer.mint(k_track, "albums/My Song (live).mp3", k_share, c.exp, k_now);
  CHECK(url == s3_presign_get(expected));
  CHECK_THAT(url, Catch::StartsWith("http://127.0.0.1:9000/music/albums/My%20Song%20%28live%29.mp3?"));
  CHECK_THAT(url, Catch::Contains("&X-Amz-Expires=" + std::to_string(c.expires) + "&"));
}

TEST_CASE("PlaybackSigner: s3 mode matches botocore", "[playback_signer]") {
  // URL printed by tests/tools/botocore_presign.py for the same inputs.
  auto config = s3_config();
  const PlaybackSigner signer(config, k_base, SigningKeys({key_1()}), "  wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r\n");
  const TimePoint now = from_unix_seconds(1795514400);  // 2026-11-24T10:00:00Z
  CHECK(signer.mint(k_track, "albums/My Song (live) \xc3\xa9+&=~.mp3", k_share, 1795514700, now) ==
        "http://127.0.0.1:9000/music/albums/My%20Song%20%28live%29%20%C3%A9%2B%26%3D~.mp3"
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIDEXAMPLE%2F20261124%2Feu-central-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20261124T100000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=40116d439c66a730a8e1968fe2304868634382415e867b883cde8b87cde44ef9");
}

TEST_CASE("PlaybackSigner: s3 mode refuses an incomplete configuration", "[playback_signer]") {
  struct Case {
    const char* name;
    void (*change)(PlaybackConfig&);
    std::string secret;
    const char* message;
  };
  const auto c = GENERATE(values<Case>({
      {"no secret", [](PlaybackConfig&) {}, "", "the S3 secret access key is empty"},
      {"blank secret", [](PlaybackConfig&) {}, " \n", "the S3 secret access key is empty"},
      {"no access key", [](PlaybackConfig& p) { p.s3.access_key_id.clear(); }, "secret",
       "playback.s3.access_key_id is empty"},
      {"no region", [](PlaybackConfig& p) { p.s3.region.clear(); }, "secret", "playback.s3.region is empty"},
      {"no bucket", [](PlaybackConfig& p) { p.s3.bucket.clear(); }, "secret", "S3 bucket name is empty"},
      {"bad endpoint", [](PlaybackConfig& p) { p.s3.endpoint = "minio:9000"; }, "secret",
       "S3 endpoint \"minio:9000\" has no scheme"},
  }));
  CAPTURE(c.name);
  auto config = s3_config();
  c.change(config);
  CHECK_THROWS_WITH(PlaybackSigner(config, k_base, SigningKeys({key_1()}), c.secret), Catch::Contains(c.message));
}

TEST_CASE("PlaybackSigner: builtin mode needs no S3 settings", "[playback_signer]") {
  PlaybackConfig config;
  config.s3.access_key_id.clear();
  config.s3.endpoint = "not a URL";
  CHECK_NOTHROW(PlaybackSigner(config, k_base, SigningKeys({key_1()})));
}

}  // namespace sharelink
