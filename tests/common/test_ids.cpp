// Unit tests of common/ids.hpp: generated identifiers, id and token syntax, token digests.
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

#include "common/crypto.hpp"
#include "common/ids.hpp"

namespace sharelink {
namespace {

bool matches(const std::string& text, const char* pattern) {
  return std::regex_match(text, std::regex(pattern));
}

}  // namespace

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
      {"SHR_0123456789abcdef0123456789abcdef", false},   // uppercase prefix
      {"shr_0123456789abcdef0123456789abcde", false},    // 31 hex: short
      {"shr_0123456789abcdef0123456789abcdef0", false},  // 33 hex: long
      {"shx_0123456789abcdef0123456789abcdef", false},   // wrong prefix
      {"0123456789abcdef0123456789abcdef", false},       // no prefix
      {"shr0123456789abcdef0123456789abcdef0", false},   // no underscore
      {"shr_0123456789abcdef0123456789abcdeg", false},   // non-hex
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
      {"mtrack_", false, false},                         // empty rest
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

TEST_CASE("Ids: request id syntax", "[ids]") {
  const auto [id, valid] = GENERATE(table<std::string, bool>({
      {"req_0123456789abcdef", true},
      {"req_0000000000000000", true},
      {"req_0123456789ABCDEF", false},   // uppercase
      {"req_0123456789abcde", false},    // 15 hex
      {"req_0123456789abcdef0", false},  // 17 hex
      {"req_0123456789abcdeg", false},   // non-hex
      {"REQ_0123456789abcdef", false},
      {"rq_0123456789abcdef0", false},
      {"req_", false},
      {"", false},
  }));
  CAPTURE(id);
  CHECK(is_request_id(id) == valid);
  CHECK(is_request_id(new_request_id()));
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
