#include "daemon/share_access.hpp"

#include <exception>

#include "common/logfmt.hpp"

namespace sharelink {
namespace {

MetricOutcome metric_outcome(ResolveOutcome outcome) {
  switch (outcome) {
    case ResolveOutcome::ok: return MetricOutcome::ok;
    case ResolveOutcome::unavailable: return MetricOutcome::unavailable;
    case ResolveOutcome::not_found: return MetricOutcome::not_found;
    case ResolveOutcome::revoked: return MetricOutcome::revoked;
    case ResolveOutcome::expired: return MetricOutcome::expired;
    case ResolveOutcome::limit_reached: return MetricOutcome::limit_reached;
  }
  return MetricOutcome::error;
}

}  // namespace

ShareAccess access_share(ServerState& state, const RequestContext& ctx, const httplib::Request& req,
                         std::string_view token, ShareOpening opening) {
  ShareAccess access;
  access.head = req.method == "HEAD";
  access.preview = state.is_preview_agent(req.get_header_value("User-Agent"));

  // 1. Rate limits, before any database work. A client whose miss bucket is
  //    empty is refused without taking a request token.
  const double now_mono = ServerState::monotonic_seconds();
  const RateDecision miss = state.miss_limiter().peek(ctx.client_key, now_mono);
  if (!miss.allowed) {
    access.kind = ShareAccess::Kind::rate_limited;
    access.limiter = &state.miss_limiter();
    access.decision = miss;
    access.outcome = MetricOutcome::rate_limited;
    return access;
  }
  access.limiter = &state.resolve_limiter();
  access.decision = state.resolve_limiter().acquire(ctx.client_key, now_mono);
  if (!access.decision.allowed) {
    access.kind = ShareAccess::Kind::rate_limited;
    access.outcome = MetricOutcome::rate_limited;
    return access;
  }

  // 2-6. The resolver: syntax, lookup, status, removed content, view counting.
  ResolveOptions options;
  // A preview fetcher's HEAD is a preview: the same answer as its GET, without a body.
  options.requester = opening == ShareOpening::look_up ? Requester::look_up
                      : access.preview                 ? Requester::preview_fetcher
                      : access.head                    ? Requester::head_request
                                                       : Requester::visitor;
  options.views = &state.views();
  options.exact_view_count = opening == ShareOpening::page;
  try {
    auto reader = state.readers().acquire();
    try {
      access.result = resolve(*reader, token, options, system_clock_now(), ctx.settings->signer.get());
    } catch (...) {
      reader.discard();  // the next request reopens the connection
      throw;
    }
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "resolve failed", {{"request_id", ctx.request_id}, {"error", e.what()}});
    access.kind = ShareAccess::Kind::failed;
    access.failure = failure_error(e);
    access.outcome = MetricOutcome::error;
    return access;
  }
  access.kind = ShareAccess::Kind::answered;
  const ResolveOutcome outcome = access.result.outcome;
  // Guessing is throttled: every miss also drains the client's miss bucket.
  if (outcome == ResolveOutcome::not_found) state.miss_limiter().acquire(ctx.client_key, now_mono);
  const bool previewed = access.preview || opening == ShareOpening::look_up;
  access.outcome =
      outcome == ResolveOutcome::ok && previewed ? MetricOutcome::preview : metric_outcome(outcome);
  return access;
}

void set_rate_limit_headers(httplib::Response& res, const ShareAccess& access) {
  if (access.limiter != nullptr) set_rate_limit_headers(res, *access.limiter, access.decision);
}

}  // namespace sharelink
