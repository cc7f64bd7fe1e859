#include "daemon/http_common.hpp"

#include "common/error.hpp"
#include "common/ids.hpp"
#include "daemon/connection_stream.hpp"

namespace sharelink {
namespace {

// Every X-Forwarded-For line of the request as one comma list (a proxy chain
// may send the header more than once; httplib keeps the lines apart).
std::string forwarded_for(const httplib::Request& req) {
  const auto count = req.get_header_value_count("X-Forwarded-For");
  if (count <= 1) return req.get_header_value("X-Forwarded-For");
  std::string joined;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) joined += ',';
    joined += req.get_header_value("X-Forwarded-For", i);
  }
  return joined;
}

}  // namespace

std::string_view peer_address(const httplib::Request& req) {
  if (const ConnectionStream* connection = current_connection()) return connection->peer_ip();
  return req.remote_addr;
}

std::optional<std::string> range_field(const httplib::Request& req) {
  if (const ConnectionStream* connection = current_connection()) {
    const RequestHead& head = connection->head();
    if (head.range_repeated) return std::nullopt;
    return head.range;
  }
  if (req.get_header_value_count("Range") != 1) return std::nullopt;
  return req.get_header_value("Range");
}

RequestContext::RequestContext(const httplib::Request& req, const ServerState& state)
    : request_id(new_request_id()), started(std::chrono::steady_clock::now()), settings(state.settings()) {
  const auto peer = parse_ip(peer_address(req)).value_or(IpAddress{});
  client = client_address(peer, forwarded_for(req), settings->trusted_proxies);
  client_key = sharelink::client_key(client, settings->ipv6_prefix_length);
}

double RequestContext::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

AuditRecord RequestContext::audit_record(const httplib::Request& req, AuditEvent event) const {
  AuditRecord record;
  record.ts = system_clock_now();
  record.event = to_string(event);
  record.client_ip = client.to_string();
  record.request_id = request_id;
  record.user_agent = sanitize_user_agent(req.get_header_value("User-Agent"));
  return record;
}

void set_body(httplib::Response& res, std::string body, const std::string& content_type) {
  res.set_content("", 0, content_type);  // the Content-Type field, as set_content sets it
  res.body = std::move(body);
}

void set_request_headers(httplib::Response& res, const std::string& request_id, bool noindex) {
  res.set_header("X-Request-Id", request_id);
  if (noindex) res.set_header("X-Robots-Tag", "noindex");
}

void send_error(httplib::Response& res, PublicError error, const std::string& request_id) {
  res.status = http_status(error);
  set_request_headers(res, request_id, true);
  if (error == PublicError::method_not_allowed) res.set_header("Allow", "GET, HEAD, OPTIONS");
  set_body(res, error_body(error, request_id), k_json_content_type);
}

PublicError failure_error(const std::exception& failure) {
  return dynamic_cast<const DatabaseUnavailable*>(&failure) != nullptr ? PublicError::service_unavailable
                                                                      : PublicError::internal_error;
}

void set_rate_limit_headers(httplib::Response& res, const RateLimiter& limiter, const RateDecision& decision) {
  res.set_header("RateLimit-Policy", limiter.policy_header());
  res.set_header("RateLimit", rate_limit_header(decision));
  if (!decision.allowed) res.set_header("Retry-After", std::to_string(decision.retry_after));
}

}  // namespace sharelink
