// Fuzzes the identifier and token syntax of SPEC 2 against plain reference checks, and the token digests.
#include <algorithm>
#include <string>

#include "common/ids.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using sharelink::fuzz::require;

bool all_of_chars(std::string_view text, bool (*allowed)(char)) {
  return std::all_of(text.begin(), text.end(), allowed);
}
bool lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
bool has_prefix(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = sharelink::fuzz::text_of(data, size);

  // ^shr_[0-9a-f]{32}$
  const bool token = text.size() == 36 && has_prefix(text, "shr_") && all_of_chars(text.substr(4), lower_hex);
  require(sharelink::is_share_token(text) == token, "is_share_token agrees with ^shr_[0-9a-f]{32}$");
  // mslink_ + 12 lowercase hex
  const bool share_id = text.size() == 19 && has_prefix(text, "mslink_") && all_of_chars(text.substr(7), lower_hex);
  require(sharelink::is_share_id(text) == share_id, "is_share_id agrees with mslink_[0-9a-f]{12}");
  // mtrack_[A-Za-z0-9_-]{1,64}, mcoll_[A-Za-z0-9_-]{1,64}
  const bool track_id = has_prefix(text, "mtrack_") && text.size() > 7 && text.size() <= 7 + 64 &&
                        all_of_chars(text.substr(7), id_char);
  require(sharelink::is_track_id(text) == track_id, "is_track_id agrees with its pattern");
  const bool collection_id = has_prefix(text, "mcoll_") && text.size() > 6 && text.size() <= 6 + 64 &&
                             all_of_chars(text.substr(6), id_char);
  require(sharelink::is_collection_id(text) == collection_id, "is_collection_id agrees with its pattern");

  // Digest and fingerprint: SHA-256 hex of the whole text, the fingerprint its first 12 characters.
  const std::string digest = sharelink::token_digest(text);
  require(digest.size() == 64 && all_of_chars(digest, lower_hex), "token_digest is 64 lowercase hex");
  require(sharelink::token_fingerprint(text) == digest.substr(0, 12), "the fingerprint starts the digest");
  return 0;
}
