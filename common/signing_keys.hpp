// The playback signing key file (SPEC 5): "kid base64url-secret" per line, mode 0600.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_format.hpp"

namespace sharelink {

struct SigningKey {
  std::string kid;     // [A-Za-z0-9_-]{1,32}
  std::string secret;  // the decoded key bytes, at least 32
  std::optional<TimePoint> created_at;  // when known (recorded by sharectl)
};

// An immutable set of keys: the first signs new URLs, every one verifies.
// Thread-safe to read concurrently.
class SigningKeys {
 public:
  explicit SigningKeys(std::vector<SigningKey> keys);  // throws Error if empty

  // Reads the key file. Throws Error naming the file and the fix when it is
  // missing, group/world-readable ("chmod 600 FILE"), malformed (line number),
  // has a duplicate kid, a secret shorter than 32 bytes, or no key.
  static SigningKeys load(const std::filesystem::path& file);

  const SigningKey& current() const { return keys_.front(); }
  const SigningKey* find(std::string_view kid) const;
  const std::vector<SigningKey>& keys() const { return keys_; }

 private:
  std::vector<SigningKey> keys_;
};

// A fresh key: 32 random bytes and a new unique kid.
SigningKey generate_signing_key(const std::vector<SigningKey>& existing, TimePoint now);

// Writes keys to file atomically (temp file + rename) with mode 0600.
void write_key_file(const std::filesystem::path& file, const std::vector<SigningKey>& keys);

// Creates the file with one fresh key if it does not exist. True if created.
bool create_key_file_if_missing(const std::filesystem::path& file, TimePoint now);

}  // namespace sharelink
