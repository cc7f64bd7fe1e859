// Mints and verifies the short-TTL signed playback URLs of SPEC 5 (builtin, x_accel and s3 modes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/config.hpp"
#include "common/signing_keys.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// The string the builtin/x_accel signature covers: "v1\n" track "\n" share "\n" exp,
// exp in canonical decimal. The signature is
// base64url_nopad(HMAC-SHA256(key[kid], playback_signing_input(...))).
std::string playback_signing_input(std::string_view track_id, std::string_view share_id, std::int64_t exp_unix);

enum class PlaybackCheck { ok, bad_signature, expired };

// Immutable after construction; thread-safe (mint and verify may run on any
// number of threads at once; copies share the prepared key state). The daemon
// builds a new one on SIGHUP.
class PlaybackSigner {
 public:
  // s3_secret is the content of playback.s3.secret_access_key_file (s3 mode
  // only); surrounding whitespace (a trailing newline) is ignored. A trailing
  // '/' of public_base_url is ignored. Throws Error in s3 mode when the
  // endpoint is not a valid http(s) URL, or the bucket, region, access key id
  // or secret is empty; Error if OpenSSL cannot prepare the keys.
  PlaybackSigner(const PlaybackConfig& config, std::string public_base_url, SigningKeys keys,
                 std::string_view s3_secret = {});

  // The URL for one track of a share, valid until exp_unix, signed with the
  // current (first) key. builtin/x_accel:
  // {base}/v1/music/media/{track}?share={share}&exp={exp}&kid={kid}&sig={sig}
  // (track and share percent-encoded outside A-Za-z0-9-._~, which valid ids
  // never need); s3: a SigV4 presigned GET of {endpoint}/{bucket}/{audio_path}
  // with X-Amz-Expires = exp_unix - now clamped to 1..604800. audio_path is
  // used by s3 mode only. Throws Error only if OpenSSL fails.
  std::string mint(std::string_view track_id, std::string_view audio_path, std::string_view share_id,
                   std::int64_t exp_unix, TimePoint now) const;
  // The URLs of one share's tracks at one expiry (a collection's 100): what
  // they have in common (the share, expiry and key part of the query) is
  // prepared once. Used while its signer and share_id live.
  class ShareMinter {
   public:
    // mint(track_id, audio_path, share_id, exp_unix, now), appended to url.
    void mint_to(std::string& url, std::string_view track_id, std::string_view audio_path) const;
    // About the length of one builtin/x_accel URL of track_id, for reserving
    // a buffer (an s3 URL is longer).
    std::size_t size_hint(std::string_view track_id) const;

   private:
    friend class PlaybackSigner;
    ShareMinter(const PlaybackSigner& signer, std::string_view share_id, std::int64_t exp_unix,
                TimePoint now);

    const PlaybackSigner& signer_;
    std::string_view share_id_;
    std::int64_t exp_unix_;
    TimePoint now_;
    std::string query_;       // builtin/x_accel: "?share=..&exp=..&kid=..&sig="
    std::size_t exp_at_ = 0;  // where the exp digits are in query_, and how many
    std::size_t exp_size_ = 0;
  };
  ShareMinter minter(std::string_view share_id, std::int64_t exp_unix, TimePoint now) const;

  // Checks a media request's (already URL-decoded) parameters, in this order:
  // unknown kid, exp not a canonical decimal (digits only, no sign, no leading
  // zero, at most 19 digits, fits int64) or a signature mismatch (compared in
  // constant time over the full base64url text) is bad_signature; a valid
  // signature with exp <= now is expired; else ok. Builds no string: cheap
  // enough for every media request.
  PlaybackCheck verify(std::string_view track_id, std::string_view share_id, std::string_view exp,
                       std::string_view kid, std::string_view sig, TimePoint now) const;

  int ttl_seconds() const { return ttl_seconds_; }
  PlaybackMode mode() const { return config_.mode; }
  const SigningKeys& keys() const { return keys_; }

 private:
  struct State;  // the prepared HMAC key of each kid and the s3 request template

  PlaybackConfig config_;
  std::string base_url_;
  SigningKeys keys_;
  int ttl_seconds_;
  std::shared_ptr<const State> state_;
};

// The signer a configuration asks for: reads playback.key_file (SigningKeys::load
// rules) and, in s3 mode, playback.s3.secret_access_key_file. Used by the daemon
// (at start and on SIGHUP) and by sharectl resolve, so both mint alike. Throws
// Error naming the file and the fix.
std::shared_ptr<const PlaybackSigner> load_playback_signer(const Config& config);

}  // namespace sharelink
