// The playback signing key file (SPEC 5): "kid base64url-secret" per line, mode 0600.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_format.hpp"

namespace sharelink {

// File format, one item per line:
//   kid base64url-secret            a key; kid is [A-Za-z0-9_-]{1,32}, the secret
//                                   decodes (with or without '=' padding) to at
//                                   least 32 bytes, which are the HMAC key
//   # created KID 2026-11-24T10:00:00Z
//                                   records when key KID was made (read back into
//                                   SigningKey::created_at for "sharectl keys list";
//                                   write_key_file puts it just above the key)
//   # anything else, or a blank line
//                                   ignored (a "# created" comment that does not
//                                   parse, or names no key in the file, is ignored too)
// The first key signs new URLs; every key verifies. Leading and trailing
// whitespace and a trailing '\r' are ignored.

struct SigningKey {
  std::string kid;     // [A-Za-z0-9_-]{1,32}
  std::string secret;  // the decoded key bytes, at least 32
  std::optional<TimePoint> created_at;  // when known (recorded by sharectl)
};

// True for a syntactically valid key id: [A-Za-z0-9_-]{1,32}.
bool is_signing_key_id(std::string_view kid);

// The smallest accepted secret, in decoded bytes.
inline constexpr std::size_t k_min_signing_secret_bytes = 32;

// An immutable set of keys: the first signs new URLs, every one verifies.
// Thread-safe to read concurrently.
class SigningKeys {
 public:
  // Throws Error if keys is empty, or a kid is invalid or repeated, or a secret
  // is shorter than 32 bytes.
  explicit SigningKeys(std::vector<SigningKey> keys);

  // Reads the key file. Throws Error naming the file and the fix when it is
  // missing ("sharectl init"), group/world-readable or writable
  // ("chmod 600 FILE"), not a regular file, larger than 1 MiB, malformed
  // ("FILE:LINE: ..."), has a duplicate kid, a secret shorter than 32 bytes,
  // or no key. Messages never contain secret material.
  static SigningKeys load(const std::filesystem::path& file);

  const SigningKey& current() const { return keys_.front(); }
  // The key with this id, or nullptr.
  const SigningKey* find(std::string_view kid) const;
  const std::vector<SigningKey>& keys() const { return keys_; }

 private:
  std::vector<SigningKey> keys_;
};

// A fresh key: 32 bytes from random_bytes, created_at = now (whole seconds),
// and a kid "k" + YYYYMMDD of now (UTC) + the first free suffix "a".."z",
// "aa".."zz" not used by any of existing. Throws Error if the CSPRNG fails or
// every suffix of that day is taken.
SigningKey generate_signing_key(const std::vector<SigningKey>& existing, TimePoint now);

// Writes keys (first = signing key) to file atomically with mode 0600: a temp
// file in the same directory created with O_CREAT|O_EXCL and mode 0600,
// written, fsynced, renamed over file, then the directory fsynced. Throws
// Error (naming the file) on any I/O failure or if keys would not load back
// (see SigningKeys), leaving the old file untouched.
void write_key_file(const std::filesystem::path& file, const std::vector<SigningKey>& keys);

// Creates the file (and its missing parent directories) with one fresh key if
// no file exists at that path. True if created; false if it already existed,
// even if it appeared concurrently (never replaces a file). Throws Error on I/O failure.
bool create_key_file_if_missing(const std::filesystem::path& file, TimePoint now);

}  // namespace sharelink
