// Page sessions (SPEC 12): the signed pass an open share page shows to get fresh playback URLs.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crypto.hpp"
#include "common/signing_keys.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// A page session is handed out with one counted page view and names it: the
// share link and the request id of that view. It proves that this page was
// opened and counted, so the refresh route can mint playback URLs for it
// without counting, and without the token: a session never opens the link
// again, and it dies with the link (the refresh checks the link every time).
//
// Text form: "ps1.{kid}.{share_id}.{view_id}.{exp}.{sig}" (at most
// k_max_page_session_bytes), with
//   sig = base64url_nopad(HMAC-SHA256(session_key(kid),
//                         "ps1\n" kid "\n" share_id "\n" view_id "\n" exp))
// and session_key(kid) = HMAC-SHA256(playback key[kid], "shared-link page session key v1").
// The session key is derived from the playback signing keys rather than kept
// in a file of its own: nothing new to create, protect, back up or rotate,
// and "sharectl keys rotate|retire" plus SIGHUP apply to sessions as to
// playback URLs. The derivation separates the domains: no page-session
// signature is ever a valid playback signature, or the other way round.
struct PageSession {
  std::string share_id;  // mslink_...
  std::string view_id;   // req_...: the request id of the page view
  TimePoint expires_at;  // whole seconds
};

enum class PageSessionCheck {
  ok,
  invalid,  // malformed, too long, unknown kid, or a signature mismatch
  expired,  // well signed, but expires_at <= now
};

struct PageSessionVerdict {
  PageSessionCheck check = PageSessionCheck::invalid;
  PageSession session;  // set for ok and expired
};

inline constexpr std::size_t k_max_page_session_bytes = 256;

// Immutable after construction; thread-safe. The daemon builds a new one
// with the playback signer on SIGHUP.
class PageSessionSigner {
 public:
  // Derives one session key per signing key. Throws Error if OpenSSL fails.
  explicit PageSessionSigner(const SigningKeys& keys);

  // The session text, signed with the current (first) key. share_id must be
  // a share id and view_id a request id (else Error: a caller bug).
  std::string issue(std::string_view share_id, std::string_view view_id, TimePoint expires_at) const;

  // Checks a session text: syntax first (no key work for junk), then the
  // kid, then the signature in constant time, then the expiry.
  PageSessionVerdict verify(std::string_view text, TimePoint now) const;

 private:
  std::vector<std::pair<std::string, HmacSha256Key>> keys_;  // kid -> derived key, current first
};

}  // namespace sharelink
