#include "common/ids.hpp"

#include <algorithm>

#include "common/crypto.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_request_id_bytes = 8;
constexpr std::size_t k_random_refill_bytes = 4096;

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// prefix followed by 1..64 characters of [A-Za-z0-9_-].
bool has_imported_id_form(std::string_view id, std::string_view prefix) {
  if (!id.starts_with(prefix)) return false;
  const auto rest = id.substr(prefix.size());
  return !rest.empty() && rest.size() <= 64 && std::all_of(rest.begin(), rest.end(), is_id_char);
}

}  // namespace

std::string new_track_id() { return "mtrack_" + random_hex(6); }
std::string new_collection_id() { return "mcoll_" + random_hex(6); }
std::string new_share_id() { return "mslink_" + random_hex(6); }

std::string new_request_id() {
  thread_local std::string pool;
  thread_local std::size_t used = 0;
  if (used + k_request_id_bytes > pool.size()) {
    pool = random_bytes(k_random_refill_bytes);
    used = 0;
  }
  std::string id = "req_";
  id.reserve(4 + 2 * k_request_id_bytes);
  for (std::size_t i = 0; i < k_request_id_bytes; ++i) {
    append_hex_byte(id, static_cast<unsigned char>(pool[used + i]));
  }
  // Each byte is handed out once: wiped so no later id can repeat it.
  std::fill_n(pool.begin() + static_cast<std::ptrdiff_t>(used), k_request_id_bytes, '\0');
  used += k_request_id_bytes;
  return id;
}

bool is_request_id(std::string_view id) {
  return id.size() == 4 + 2 * k_request_id_bytes && id.starts_with("req_") && is_lower_hex(id.substr(4));
}

bool is_track_id(std::string_view id) { return has_imported_id_form(id, "mtrack_"); }
bool is_collection_id(std::string_view id) { return has_imported_id_form(id, "mcoll_"); }

bool is_share_id(std::string_view id) {
  return id.size() == 7 + 12 && id.starts_with("mslink_") && is_lower_hex(id.substr(7));
}

std::string new_share_token() { return "shr_" + random_hex(16); }

bool is_share_token(std::string_view token) {
  return token.size() == 4 + 32 && token.starts_with("shr_") && is_lower_hex(token.substr(4));
}

std::string token_digest(std::string_view token) { return sha256_hex(token); }

std::string token_fingerprint(std::string_view token) { return sha256_hex(token).substr(0, 12); }

}  // namespace sharelink
