// Unit tests of common/crypto.hpp (digests, HMAC, CSPRNG, constant-time compare).
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "common/crypto.hpp"
#include "common/text.hpp"

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

TEST_CASE("Crypto: a prepared HMAC key's mac_to MACs the parts as if joined", "[crypto]") {
  const std::string key = "playback key";
  const HmacSha256Key prepared(key);
  const auto mac_to = [&](std::initializer_list<std::string_view> parts) {
    HmacSha256Key::Digest out{};
    out.fill(0xee);
    prepared.mac_to(parts, out);
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
  };
  const std::string long_part(150, 'x');  // crosses SHA-256 blocks
  CHECK(mac_to({}) == hmac_sha256(key, ""));
  CHECK(mac_to({"abc"}) == hmac_sha256(key, "abc"));
  CHECK(mac_to({"", "v1\n", "", "t", "\n", ""}) == hmac_sha256(key, "v1\nt\n"));
  CHECK(mac_to({"a", long_part, "b"}) == hmac_sha256(key, "a" + long_part + "b"));
  CHECK(mac_to({"ab", "c"}) != hmac_sha256(key, "ab"));
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

}  // namespace sharelink
