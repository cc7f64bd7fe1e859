// Mints and verifies the short-TTL signed playback URLs of SPEC 5 (builtin, x_accel and s3 modes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.hpp"
#include "common/signing_keys.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// The string the builtin/x_accel signature covers: "v1\n" track "\n" share "\n" exp.
std::string playback_signing_input(std::string_view track_id, std::string_view share_id, std::int64_t exp_unix);

enum class PlaybackCheck { ok, bad_signature, expired };

// Immutable after construction; thread-safe. The daemon builds a new one on SIGHUP.
class PlaybackSigner {
 public:
  // s3_secret is the content of playback.s3.secret_access_key_file (s3 mode only).
  PlaybackSigner(const PlaybackConfig& config, std::string public_base_url, SigningKeys keys,
                 std::string s3_secret = {});

  // The URL for one track of a share, valid until exp_unix. builtin/x_accel:
  // {base}/v1/music/media/{track}?share=&exp=&kid=&sig=; s3: a SigV4 presigned
  // GET of {endpoint}/{bucket}/{audio_path} expiring exp_unix - now.
  std::string mint(std::string_view track_id, std::string_view audio_path, std::string_view share_id,
                   std::int64_t exp_unix, TimePoint now) const;

  // Checks a media request's parameters: unknown kid, malformed exp or a
  // signature mismatch (compared in constant time) is bad_signature; a valid
  // signature past exp is expired.
  PlaybackCheck verify(std::string_view track_id, std::string_view share_id, std::string_view exp,
                       std::string_view kid, std::string_view sig, TimePoint now) const;

  int ttl_seconds() const { return ttl_seconds_; }
  const SigningKeys& keys() const { return keys_; }

 private:
  PlaybackConfig config_;
  std::string base_url_;
  SigningKeys keys_;
  std::string s3_secret_;
  int ttl_seconds_;
};

}  // namespace sharelink
