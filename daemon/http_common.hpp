// shared-linkd's HTTP vocabulary: per-request context, public headers, JSON error answers.
#pragma once

#include <httplib.h>

#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include "common/audit_record.hpp"
#include "common/client_address.hpp"
#include "common/public_errors.hpp"
#include "common/rate_limiter.hpp"
#include "daemon/server_state.hpp"

namespace sharelink {

// The socket peer of a request: the connection's, known before anything was
// parsed (so also for a request httplib could not parse), else httplib's.
// Valid while the request is being handled.
std::string_view peer_address(const httplib::Request& req);

// The Range field of a request as the client sent it (httplib never sees it:
// ConnectionStream withholds it). nullopt when there is none, or more than
// one (RFC 9110: Range is not a list field; two make it invalid, so ignored).
std::optional<std::string> range_field(const httplib::Request& req);

// Everything a handler learns about one request before doing any work.
struct RequestContext {
  std::string request_id;
  std::chrono::steady_clock::time_point started;
  IpAddress client;      // after the trusted-proxy walk
  IpAddress client_key;  // what the rate limiters key on
  std::shared_ptr<const RuntimeSettings> settings;

  RequestContext(const httplib::Request& req, const ServerState& state);
  double elapsed_seconds() const;
  // An audit record pre-filled with ts, client, request id and user agent.
  AuditRecord audit_record(const httplib::Request& req, AuditEvent event) const;
};

// std::string, as httplib takes it: a const char* would become a new string per answer.
inline const std::string k_json_content_type = "application/json; charset=utf-8";

// res.set_content(body, content_type) without copying the body: cpp-httplib
// 0.11 takes the body only by const reference, and a collection's JSON or a
// share page is tens of kilobytes.
void set_body(httplib::Response& res, std::string body, const std::string& content_type);

// Headers every answer of a public route carries (SPEC 4) besides the
// static ones installed as server defaults.
void set_request_headers(httplib::Response& res, const std::string& request_id, bool noindex);

// Writes the JSON error answer with its status and headers.
void send_error(httplib::Response& res, PublicError error, const std::string& request_id);

// The one place where a failure of the work behind a route becomes an answer:
// DatabaseUnavailable (the database cannot be reached, is locked, full...)
// is 503 SERVICE_UNAVAILABLE, any other exception 500 INTERNAL_ERROR.
PublicError failure_error(const std::exception& failure);

// RateLimit-Policy and RateLimit headers; Retry-After on refusals.
void set_rate_limit_headers(httplib::Response& res, const RateLimiter& limiter, const RateDecision& decision);

}  // namespace sharelink
