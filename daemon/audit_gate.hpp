// The audit side of a request on a public route: its record's place before any work, and the answer when none is kept.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>

#include "common/audit_writer.hpp"
#include "common/metrics.hpp"
#include "common/rate_limiter.hpp"
#include "daemon/http_common.hpp"
#include "daemon/server_state.hpp"

namespace sharelink {

// The metrics outcome of a request answered 503 because its audit record
// could not be kept.
inline constexpr MetricOutcome k_unaudited_outcome = MetricOutcome::unavailable_audit;

// SPEC 7 faults and durability for one request. Constructed before the
// request's work: reserves a place in the audit queue, waiting at most
// audit.queue_wait_ms while the queue is full, so content is never served
// unaudited and no request waits without bound. commit() queues the record
// and, with audit.synchronous, waits for its commit until the same deadline
// (group commit: the writer releases every request of a batch at once).
// One per request, on its worker thread.
class AuditGate {
 public:
  explicit AuditGate(ServerState& state);

  // False: no place before the deadline (the refusal is counted and logged
  // by the writer): answer with refuse_unaudited, do no work.
  bool admitted() const { return static_cast<bool>(reservation_); }
  // Queues record in the reserved place. True when the answer may leave:
  // batched mode, or synchronous and committed in time. False (synchronous,
  // not committed before the deadline): the answer must become 503
  // (send_unaudited); the record stays queued and is written later.
  bool commit(AuditRecord record);

 private:
  ServerState& state_;
  std::chrono::steady_clock::time_point deadline_;
  AuditReservation reservation_;
};

// Replaces the answer in res by 503 SERVICE_UNAVAILABLE: JSON, or the share
// page's HTML error page when html. Keeps the rate-limit fields and the
// server's default headers; drops those of the answer it replaces.
void send_unaudited(ServerState& state, const httplib::Request& req, httplib::Response& res,
                    const std::string& request_id, bool html);

// The end of an admitted request: record gets outcome and res's status and
// is committed through gate, and the request is counted in route's metrics
// under outcome, or as k_unaudited_outcome when the answer had to become
// send_unaudited's 503 (html as there). True when the answer may leave as it
// is; false when it is that 503 (so no body of the old answer may follow).
bool finish_audited(ServerState& state, const httplib::Request& req, httplib::Response& res, const RequestContext& ctx,
                    AuditGate& gate, AuditRecord record, MetricRoute route, MetricOutcome outcome, bool html);

// The whole answer of a request refused before its work (AuditGate not
// admitted): send_unaudited with the rate-limit fields of limiter (peeked,
// no token taken), observed in route's metrics as k_unaudited_outcome. No
// audit record: there is no room for one.
void refuse_unaudited(ServerState& state, const httplib::Request& req, httplib::Response& res,
                      const RequestContext& ctx, MetricRoute route, RateLimiter& limiter, bool html);

}  // namespace sharelink
