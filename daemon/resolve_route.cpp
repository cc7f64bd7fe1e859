// GET/HEAD /v1/music/shared/{token} (SPEC 4): the JSON view of a share link.
#include "common/ids.hpp"
#include "common/view_json.hpp"
#include "daemon/audit_gate.hpp"
#include "daemon/http_common.hpp"
#include "daemon/routes.hpp"
#include "daemon/share_access.hpp"

namespace sharelink {

void handle_resolve(ServerState& state, const httplib::Request& req, httplib::Response& res,
                    std::string_view token) {
  const RequestContext ctx(req, state);
  // The record's place first: no view is counted for an answer that could not be audited.
  AuditGate gate(state);
  if (!gate.admitted()) {
    return refuse_unaudited(state, req, res, ctx, MetricRoute::resolve, state.resolve_limiter(), false);
  }
  AuditRecord record = ctx.audit_record(req, AuditEvent::resolve);

  const ShareAccess access = access_share(state, ctx, req, token, ShareOpening::api);
  switch (access.kind) {
    case ShareAccess::Kind::rate_limited:
      send_error(res, PublicError::rate_limited, ctx.request_id);
      break;
    case ShareAccess::Kind::failed:
      send_error(res, access.failure, ctx.request_id);
      break;
    case ShareAccess::Kind::answered: {
      const ResolveResult& result = access.result;
      record.share_id = result.share_id;
      record.token_fp = result.token_fp;
      if (result.outcome == ResolveOutcome::ok || result.outcome == ResolveOutcome::unavailable) {
        res.status = 200;
        set_request_headers(res, ctx.request_id, result.visibility != Visibility::public_link);
        set_body(res, render_view(result), k_json_content_type);
      } else {
        send_error(res, public_error(result.outcome), ctx.request_id);
      }
      break;
    }
  }
  set_rate_limit_headers(res, access);

  // The resolver hands back the fingerprint of a well-formed token; any
  // other token (or a refused request) is fingerprinted here.
  if (record.token_fp.empty() && !token.empty()) record.token_fp = token_fingerprint(token);
  finish_audited(state, req, res, ctx, gate, std::move(record), MetricRoute::resolve, access.outcome, false);
}

}  // namespace sharelink
