#include "daemon/audit_gate.hpp"

#include <utility>

#include "daemon/routes.hpp"

namespace sharelink {

AuditGate::AuditGate(ServerState& state)
    : state_(state),
      deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(state.config().audit.queue_wait_ms)),
      reservation_(state.audit().reserve(deadline_)) {}

bool AuditGate::commit(AuditRecord record) {
  const std::uint64_t ticket = reservation_.commit(std::move(record));
  if (!state_.config().audit.synchronous) return true;
  return state_.audit().wait_committed(ticket, deadline_);
}

void send_unaudited(ServerState& state, const httplib::Request& req, httplib::Response& res,
                    const std::string& request_id, bool html) {
  for (const char* header : {"X-Request-Id", "X-Robots-Tag", "Content-Security-Policy", "Content-Range",
                             "Accept-Ranges", "X-Accel-Redirect", "Content-Type", "Content-Length"}) {
    res.headers.erase(header);
  }
  res.body.clear();
  if (html) {
    send_page_error(state, req, res, PublicError::service_unavailable, request_id);
  } else {
    send_error(res, PublicError::service_unavailable, request_id);
  }
}

bool finish_audited(ServerState& state, const httplib::Request& req, httplib::Response& res, const RequestContext& ctx,
                    AuditGate& gate, AuditRecord record, MetricRoute route, MetricOutcome outcome, bool html) {
  record.outcome = to_string(outcome);
  record.status = res.status;
  const bool committed = gate.commit(std::move(record));
  if (!committed) {
    send_unaudited(state, req, res, ctx.request_id, html);
    outcome = k_unaudited_outcome;
  }
  state.metrics().observe(route, outcome, ctx.elapsed_seconds());
  return committed;
}

void refuse_unaudited(ServerState& state, const httplib::Request& req, httplib::Response& res,
                      const RequestContext& ctx, MetricRoute route, RateLimiter& limiter, bool html) {
  set_rate_limit_headers(res, limiter, limiter.peek(ctx.client_key, ServerState::monotonic_seconds()));
  send_unaudited(state, req, res, ctx.request_id, html);
  state.metrics().observe(route, k_unaudited_outcome, ctx.elapsed_seconds());
}

}  // namespace sharelink
