#include "common/public_errors.hpp"

#include <iterator>
#include <nlohmann/json.hpp>

namespace sharelink {
namespace {

struct ErrorEntry {
  int status;
  const char* code;
  const char* message;
};

// The one table of public error answers (SPEC 4, 5).
constexpr ErrorEntry k_errors[] = {
    {404, "SHARE_NOT_FOUND", "This share link does not exist."},
    {410, "SHARE_REVOKED", "This share link has been revoked."},
    {410, "SHARE_EXPIRED", "This share link has expired."},
    {410, "SHARE_LIMIT_REACHED", "This share link has reached its view limit."},
    {429, "RATE_LIMITED", "Too many requests. Please retry later."},
    {400, "BAD_REQUEST", "The request could not be understood."},
    {404, "NOT_FOUND", "No such resource."},
    {405, "METHOD_NOT_ALLOWED", "This method is not allowed on this resource."},
    {500, "INTERNAL_ERROR", "An unexpected error occurred."},
    {503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Please retry later."},
    {403, "SIGNATURE_INVALID", "The playback URL signature is invalid."},
    {410, "PLAYBACK_URL_EXPIRED", "This playback URL has expired; open the share link again."},
    {403, "PAGE_SESSION_INVALID", "The page session is missing or invalid; open the share link again."},
    {410, "PAGE_SESSION_EXPIRED", "This page has been open too long; open the share link again."},
};

static_assert(std::size(k_errors) == static_cast<std::size_t>(PublicError::page_session_expired) + 1,
              "one table entry per PublicError");

const ErrorEntry& entry(PublicError error) { return k_errors[static_cast<int>(error)]; }

}  // namespace

int http_status(PublicError error) { return entry(error).status; }
const char* error_code(PublicError error) { return entry(error).code; }
const char* error_message(PublicError error) { return entry(error).message; }

std::string error_body(PublicError error, std::string_view request_id) {
  nlohmann::ordered_json body;
  body["success"] = false;
  body["error"]["code"] = error_code(error);
  body["error"]["message"] = error_message(error);
  body["error"]["request_id"] = request_id;
  return body.dump();
}

}  // namespace sharelink
