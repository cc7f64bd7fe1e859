// Unit tests of common/crypto.hpp (digests, HMAC, base64url, CSPRNG) and common/ids.hpp.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>

#include "common/crypto.hpp"
#include "common/ids.hpp"

namespace sharelink {
namespace {

std::string bytes_from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

bool matches(const std::string& text, const char* pattern) { return std::regex_match(text, std::regex(pattern)); }

}  // namespace

TEST_CASE("Crypto: SHA-256 known vectors", "[crypto]") {
  struct Case {
    std::string input;
    const char* hex;
  };
  const auto c = GENERATE(values<Case>({
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  }));
  CAPTURE(c.input.size());
  CHECK(sha256_hex(c.input) == c.hex);
  CHECK(sha256(c.input) == bytes_from_hex(c.hex));
  CHECK(sha256(c.input).size() == 32);
}

TEST_CASE("Crypto: HMAC-SHA256 RFC 4231 test cases", "[crypto]") {
  struct Case {
    const char* name;
    std::string key;
    std::string data;
    const char* hex;
  };
  const auto c = GENERATE(values<Case>({
      {"1", std::string(20, '\x0b'), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"6 (key longer than a block)", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  }));
  CAPTURE(c.name);
  CHECK(hex_encode(hmac_sha256(c.key, c.data)) == c.hex);
  const HmacSha256Key prepared(c.key);
  CHECK(hex_encode(prepared.mac(c.data)) == c.hex);
  CHECK(hex_encode(prepared.mac(c.data)) == c.hex);  // the prepared state is not used up
}

TEST_CASE("Crypto: a prepared HMAC key gives hmac_sha256's MAC for every key and data length", "[crypto]") {
  // Keys shorter than, exactly and longer than a SHA-256 block; data across block boundaries.
  for (const std::size_t key_length : {0, 1, 32, 63, 64, 65, 200}) {
    std::string key;
    for (std::size_t i = 0; i < key_length; ++i) key += static_cast<char>((i * 37 + 11) & 0xff);
    const HmacSha256Key prepared(key);
    const HmacSha256Key copy = prepared;
    for (const std::size_t data_length : {0, 1, 55, 56, 64, 119, 120, 1000}) {
      CAPTURE(key_length, data_length);
      const std::string data(data_length, static_cast<char>('a' + data_length % 26));
      CHECK(prepared.mac(data) == hmac_sha256(key, data));
      CHECK(copy.mac(data) == hmac_sha256(key, data));
    }
  }
}

TEST_CASE("Crypto: hex_encode is lowercase, two digits per byte", "[crypto]") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
}

TEST_CASE("Crypto: base64url RFC 4648 vectors, no padding", "[crypto]") {
  struct Case {
    std::string bytes;
    const char* text;
  };
  const auto c = GENERATE(values<Case>({
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
      {"\xfb\xff", "-_8"},  // '+' and '/' of standard base64 become '-' and '_'
      {"\xff\xfe\xfd", "__79"},
  }));
  CAPTURE(c.text);
  CHECK(base64url_encode(c.bytes) == c.text);
  const auto decoded = base64url_decode(c.text);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == c.bytes);
}

TEST_CASE("Crypto: base64url decode accepts '=' padding", "[crypto]") {
  CHECK(base64url_decode("Zg==") == std::optional<std::string>("f"));
  CHECK(base64url_decode("Zm8=") == std::optional<std::string>("fo"));
}

TEST_CASE("Crypto: base64url round trips every byte value and length", "[crypto]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 1 + n / 8) {
    const std::string bytes = all.substr(all.size() - n);
    const std::string text = base64url_encode(bytes);
    CAPTURE(n, text);
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(base64url_decode(text) == std::optional<std::string>(bytes));
  }
  const std::string random = random_bytes(1000);
  CHECK(base64url_decode(base64url_encode(random)) == std::optional<std::string>(random));
}

TEST_CASE("Crypto: base64url decode rejects invalid input", "[crypto]") {
  const auto text = GENERATE(as<std::string>{},
                             "Z",          // impossible length (4n + 1)
                             "Zm9vY",      // impossible length
                             "Zm9v+A",     // standard-alphabet '+'
                             "Zm9v/A",     // standard-alphabet '/'
                             "Zm 9v",      // space
                             "Zm9v\n",     // newline
                             "Zg=a",       // '=' inside
                             "Zh",         // non-zero leftover bits (not canonical)
                             "Zm9vYmFy!",  // punctuation
                             "\xc3\xa9");  // non-ASCII
  CAPTURE(text);
  CHECK_FALSE(base64url_decode(text).has_value());
}

TEST_CASE("Crypto: constant_time_equal", "[crypto]") {
  struct Case {
    std::string a;
    std::string b;
    bool equal;
  };
  const auto c = GENERATE(values<Case>({
      {"", "", true},
      {"secret", "secret", true},
      {std::string("a\0b", 3), std::string("a\0b", 3), true},
      {"secret", "secreT", false},
      {"secret", "Secret", false},
      {"secret", "secret2", false},  // prefix
      {"secret", "", false},
      {std::string("a\0b", 3), std::string("a\0c", 3), false},
  }));
  CAPTURE(c.a, c.b);
  CHECK(constant_time_equal(c.a, c.b) == c.equal);
  CHECK(constant_time_equal(c.b, c.a) == c.equal);
}

TEST_CASE("Crypto: random bytes have the asked length and differ", "[crypto]") {
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(1).size() == 1);
  CHECK(random_bytes(32).size() == 32);
  CHECK(random_bytes(32) != random_bytes(32));
  const std::string hex = random_hex(16);
  CHECK(matches(hex, "^[0-9a-f]{32}$"));
  CHECK(random_hex(16) != hex);
}

TEST_CASE("Ids: generated identifiers have their SPEC form and differ", "[ids]") {
  struct Case {
    std::string (*make)();
    const char* pattern;
  };
  const auto c = GENERATE(values<Case>({
      {new_track_id, "^mtrack_[0-9a-f]{12}$"},
      {new_collection_id, "^mcoll_[0-9a-f]{12}$"},
      {new_share_id, "^mslink_[0-9a-f]{12}$"},
      {new_request_id, "^req_[0-9a-f]{16}$"},
      {new_share_token, "^shr_[0-9a-f]{32}$"},
  }));
  CAPTURE(c.pattern);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = c.make();
    CAPTURE(id);
    CHECK(matches(id, c.pattern));
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("Ids: generated ids pass their own syntax checks", "[ids]") {
  CHECK(is_track_id(new_track_id()));
  CHECK(is_collection_id(new_collection_id()));
  CHECK(is_share_id(new_share_id()));
  CHECK(is_share_token(new_share_token()));
}

TEST_CASE("Ids: is_share_token", "[ids]") {
  struct Case {
    std::string token;
    bool valid;
  };
  const auto c = GENERATE(values<Case>({
      {"shr_0123456789abcdef0123456789abcdef", true},
      {"shr_00000000000000000000000000000000", true},
      {"shr_0123456789ABCDEF0123456789ABCDEF", false},  // uppercase hex
      {"shr_0123456789abcdef0123456789abcdeF", false},
      {"SHR_0123456789abcdef0123456789abcdef", false},  // uppercase prefix
      {"shr_0123456789abcdef0123456789abcde", false},   // 31 hex: short
      {"shr_0123456789abcdef0123456789abcdef0", false}, // 33 hex: long
      {"shx_0123456789abcdef0123456789abcdef", false},  // wrong prefix
      {"0123456789abcdef0123456789abcdef", false},      // no prefix
      {"shr0123456789abcdef0123456789abcdef0", false},  // no underscore
      {"shr_0123456789abcdef0123456789abcdeg", false},  // non-hex
      {"shr_0123456789abcdef0123456789abcde ", false},
      {"shr_0123456789abcdef0123456789abcdef\n", false},
      {std::string("shr_0123456789abcdef0123456789abcde\0", 36), false},
      {"", false},
      {"shr_", false},
  }));
  CAPTURE(c.token);
  CHECK(is_share_token(c.token) == c.valid);
}

TEST_CASE("Ids: track and collection id syntax", "[ids]") {
  struct Case {
    std::string id;
    bool track;
    bool collection;
  };
  const auto c = GENERATE(values<Case>({
      {"mtrack_b4d9e1c6a72f", true, false},
      {"mtrack_A", true, false},
      {"mtrack_Imported-Track_09", true, false},
      {"mtrack_" + std::string(64, 'x'), true, false},
      {"mtrack_" + std::string(65, 'x'), false, false},  // too long
      {"mtrack_", false, false},                          // empty rest
      {"mtrack_a.b", false, false},
      {"mtrack_a b", false, false},
      {"mtrack_a/b", false, false},
      {"mtrack_caf\xc3\xa9", false, false},
      {"MTRACK_abc", false, false},
      {"xmtrack_abc", false, false},
      {"mcoll_0a1b2c3d4e5f", false, true},
      {"mcoll_Imported_Album-1", false, true},
      {"mcoll_" + std::string(64, 'Z'), false, true},
      {"mcoll_" + std::string(65, 'Z'), false, false},
      {"mcoll_", false, false},
      {"mcoll_a%20b", false, false},
      {"", false, false},
  }));
  CAPTURE(c.id);
  CHECK(is_track_id(c.id) == c.track);
  CHECK(is_collection_id(c.id) == c.collection);
}

TEST_CASE("Ids: share id syntax", "[ids]") {
  struct Case {
    std::string id;
    bool valid;
  };
  const auto c = GENERATE(values<Case>({
      {"mslink_3a7f2c9e8b14", true},
      {"mslink_000000000000", true},
      {"mslink_3A7F2C9E8B14", false},   // uppercase
      {"mslink_3a7f2c9e8b1", false},    // 11 hex
      {"mslink_3a7f2c9e8b145", false},  // 13 hex
      {"mslink_3a7f2c9e8b1g", false},   // non-hex
      {"mslink_imported", false},       // shares are never imported
      {"mslnk_3a7f2c9e8b14", false},
      {"", false},
  }));
  CAPTURE(c.id);
  CHECK(is_share_id(c.id) == c.valid);
}

TEST_CASE("Ids: token digest and fingerprint cover the whole token", "[ids]") {
  const std::string token = "shr_0123456789abcdef0123456789abcdef";
  // sha256("shr_0123456789abcdef0123456789abcdef"), computed with sha256sum.
  const std::string digest = "acbd5ccfc3cc09d33af0d4c16e4876e06200f6fdd8e41e82a78a6f3e2a0ecf11";
  CHECK(token_digest(token) == digest);
  CHECK(token_fingerprint(token) == digest.substr(0, 12));
  CHECK(token_fingerprint(token) == "acbd5ccfc3cc");
  // Not the digest of the hex part alone (3eb1bd439947...).
  CHECK(token_fingerprint(token) != sha256_hex(token.substr(4)).substr(0, 12));
  CHECK(token_digest(token) == sha256_hex(token));
  CHECK(token_fingerprint("shr_ffffffffffffffffffffffffffffffff") != token_fingerprint(token));
}

}  // namespace sharelink

TEST_CASE("base64_encode: RFC 4648 section 10 vectors and the standard alphabet", "[crypto]") {
  const auto [bytes, text] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {"\xFB\xFF", "+/8="},
  }));
  CHECK(sharelink::base64_encode(bytes) == text);
}
