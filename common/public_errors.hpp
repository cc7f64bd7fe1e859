// The public error contract (SPEC 4 and 5): status, code and message of every error answer.
#pragma once

#include <string>
#include <string_view>

namespace sharelink {

enum class PublicError {
  share_not_found,
  share_revoked,
  share_expired,
  share_limit_reached,
  rate_limited,
  bad_request,
  not_found,
  method_not_allowed,
  internal_error,
  service_unavailable,
  signature_invalid,
  playback_url_expired,
  page_session_invalid,
  page_session_expired,
};

int http_status(PublicError error);
const char* error_code(PublicError error);     // "SHARE_EXPIRED"
const char* error_message(PublicError error);  // "This share link has expired."

// {"success": false, "error": {"code", "message", "request_id"}}
std::string error_body(PublicError error, std::string_view request_id);

}  // namespace sharelink
