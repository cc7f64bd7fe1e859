// Cryptographic primitives over OpenSSL: digests, HMAC, CSPRNG, constant-time compare
// (hex and base64url, which need no key, are in common/text.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace sharelink {

// Raw 32-byte SHA-256 digest of data.
std::string sha256(std::string_view data);
// Lowercase hex of SHA-256 of data (64 characters).
std::string sha256_hex(std::string_view data);
// Raw 32-byte HMAC-SHA256(key, data).
std::string hmac_sha256(std::string_view key, std::string_view data);

// HMAC-SHA256 under one key, with the key's inner and outer pads hashed once
// up front: each MAC then costs two context copies and two short digests
// instead of a full HMAC set-up. mac(data) == hmac_sha256(key, data).
// Immutable; mac() may run on any number of threads at once, and copies
// share the prepared state. Throws Error if OpenSSL fails.
class HmacSha256Key {
 public:
  using Digest = std::array<unsigned char, 32>;

  explicit HmacSha256Key(std::string_view key);
  // Raw 32-byte HMAC-SHA256(key, data).
  std::string mac(std::string_view data) const;
  // HMAC-SHA256(key, parts[0] + parts[1] + ...) written to out, without
  // joining the parts or allocating (for hot paths that sign many inputs).
  void mac_to(std::initializer_list<std::string_view> parts, Digest& out) const;

 private:
  struct State;  // the two OpenSSL digest contexts
  std::shared_ptr<const State> state_;
};

// n bytes from OpenSSL's CSPRNG (RAND_bytes). Throws Error if it fails.
std::string random_bytes(std::size_t n);
// 2*n lowercase hex characters from n random bytes.
std::string random_hex(std::size_t n);

// True when a == b, in time that depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sharelink
