#include <exception>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/logfmt.hpp"
#include "common/resolver.hpp"
#include "daemon/http_common.hpp"
#include "daemon/routes.hpp"

namespace sharelink {
namespace {

// Audit outcome and metric label for a resolver answer.
const char* outcome_label(ResolveOutcome outcome, bool preview) {
  if (outcome == ResolveOutcome::ok && preview) return "preview";
  return to_string(outcome);
}

}  // namespace

void handle_resolve(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const RequestContext ctx(req, state);
  const std::string token = req.matches.size() > 1 ? req.matches[1].str() : std::string();
  AuditRecord record = ctx.audit_record(req, "resolve");

  // The answer, the audit record and the metrics leave through here, once.
  auto finish = [&](const char* outcome) {
    // The resolver hands back the fingerprint of a well-formed token; any
    // other token (or a refused request) is fingerprinted here.
    if (record.token_fp.empty() && !token.empty()) record.token_fp = token_fingerprint(token);
    record.outcome = outcome;
    record.status = res.status;
    state.audit().append(std::move(record));
    state.metrics().observe(MetricRoute::resolve, outcome, ctx.elapsed_seconds());
  };

  // 1. Rate limits, before any database work. A client whose miss bucket is
  //    empty is refused without taking a request token.
  const double now_mono = ServerState::monotonic_seconds();
  const RateDecision miss = state.miss_limiter().peek(ctx.client_key, now_mono);
  if (!miss.allowed) {
    send_error(res, PublicError::rate_limited, ctx.request_id);
    set_rate_limit_headers(res, state.miss_limiter(), miss);
    return finish("rate_limited");
  }
  const RateDecision decision = state.resolve_limiter().acquire(ctx.client_key, now_mono);
  if (!decision.allowed) {
    send_error(res, PublicError::rate_limited, ctx.request_id);
    set_rate_limit_headers(res, state.resolve_limiter(), decision);
    return finish("rate_limited");
  }

  // 2-6. The resolver: syntax, lookup, status, removed content, view counting.
  const bool head = req.method == "HEAD";
  const bool preview = state.is_preview_agent(req.get_header_value("User-Agent"));
  ResolveOptions options;
  options.requester = head ? Requester::head_request : preview ? Requester::preview_fetcher : Requester::visitor;
  options.views = &state.views();
  ResolveResult result;
  try {
    auto reader = state.readers().acquire();
    try {
      result = resolve(*reader, token, options, system_clock_now(), ctx.settings->signer.get());
    } catch (...) {
      reader.discard();  // the next request reopens the connection
      throw;
    }
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "resolve failed",
              {{"request_id", ctx.request_id}, {"error", e.what()}});
    send_error(res, failure_error(e), ctx.request_id);
    set_rate_limit_headers(res, state.resolve_limiter(), decision);
    return finish("error");
  }
  record.share_id = result.share_id;
  record.token_fp = std::move(result.token_fp);

  if (result.outcome == ResolveOutcome::ok || result.outcome == ResolveOutcome::unavailable) {
    res.status = 200;
    set_request_headers(res, ctx.request_id, result.visibility != Visibility::public_link);
    res.set_content(render_view(result), k_json_content_type);
  } else {
    send_error(res, public_error(result.outcome), ctx.request_id);
    // Guessing is throttled: every miss also drains the client's miss bucket.
    if (result.outcome == ResolveOutcome::not_found) state.miss_limiter().acquire(ctx.client_key, now_mono);
  }
  set_rate_limit_headers(res, state.resolve_limiter(), decision);
  finish(outcome_label(result.outcome, preview && result.outcome == ResolveOutcome::ok));
}

}  // namespace sharelink
