// The share page of SPEC 12: /s/{token} (and /embed), the page's playback refresh, and /oembed.
#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>

#include "common/ids.hpp"
#include "common/logfmt.hpp"
#include "common/share_page.hpp"
#include "common/text.hpp"
#include "daemon/audit_gate.hpp"
#include "daemon/http_common.hpp"
#include "daemon/routes.hpp"
#include "daemon/share_access.hpp"

namespace sharelink {
namespace {

const std::string k_html_content_type = "text/html; charset=utf-8";

// A reader of the pool the resolve route uses (a worker's own would cost a
// connection per thread).
ResolveResult refresh_playback(ServerState& state, const std::string& share_id, TimePoint now,
                               const PlaybackSigner& signer) {
  auto reader = state.readers().acquire();
  try {
    return playback_for_share(*reader, share_id, now, signer);
  } catch (...) {
    reader.discard();  // the next request reopens the connection
    throw;
  }
}

std::string page_url(const RuntimeSettings& settings, std::string_view token) {
  return settings.public_base_url + "/s/" + std::string(token);
}

PageContext page_context(const ServerState& state, const RuntimeSettings& settings, std::string_view token, bool embed) {
  PageContext context;
  context.site_name = state.config().page.site_name;
  context.page_url = page_url(settings, token);
  context.embed = embed;
  context.now = system_clock_now();
  if (!state.config().page.embed_origins.empty()) {
    context.oembed_url =
        settings.public_base_url + "/oembed?url=" + percent_encode(context.page_url) + "&format=json";
  }
  context.refresh_url = settings.public_base_url + std::string(k_page_refresh_path);
  return context;
}

// Where playback URLs point, as a CSP source: the media route of this
// daemon, or the bucket on the S3 endpoint.
std::string media_source(const Config& config, const RuntimeSettings& settings) {
  if (config.playback.mode == PlaybackMode::s3) {
    return config.playback.s3.endpoint + "/" + config.playback.s3.bucket + "/";
  }
  return settings.public_base_url + "/v1/music/media/";
}

void send_html(httplib::Response& res, int status, std::string body, const std::string& csp,
               const std::string& request_id, bool noindex) {
  res.status = status;
  set_request_headers(res, request_id, noindex);
  res.set_header("Content-Security-Policy", csp);
  set_body(res, std::move(body), k_html_content_type);
}

void send_error_page(httplib::Response& res, PublicError error, const RequestContext& ctx,
                     const PageContext& context, const std::vector<std::string>& frame_ancestors, int retry_after) {
  CspSources sources;
  sources.frame_ancestors = frame_ancestors;
  send_html(res, http_status(error), render_error_page(error, ctx.request_id, retry_after, context),
            content_security_policy(sources), ctx.request_id, true);
  if (error == PublicError::method_not_allowed) res.set_header("Allow", "GET, HEAD, OPTIONS");
}

// maxwidth / maxheight: absent, or a whole number 1..100000.
bool read_dimension(const httplib::Request& req, const char* name, std::optional<int>& out) {
  if (!req.has_param(name)) return true;
  if (req.get_param_value_count(name) != 1) return false;
  const std::string text = req.get_param_value(name);
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 100000) return false;
  out = value;
  return true;
}

}  // namespace

void send_page_error(ServerState& state, const httplib::Request& req, httplib::Response& res, PublicError error,
                     const std::string& request_id) {
  const auto settings = state.settings();
  const bool embed = req.path.ends_with("/embed");
  PageContext context = page_context(state, *settings, "", embed);
  CspSources sources;
  if (embed) sources.frame_ancestors = state.config().page.embed_origins;
  send_html(res, http_status(error), render_error_page(error, request_id, 0, context),
            content_security_policy(sources), request_id, true);
  if (error == PublicError::method_not_allowed) res.set_header("Allow", "GET, HEAD, OPTIONS");
}

void handle_page(ServerState& state, const httplib::Request& req, httplib::Response& res, std::string_view token,
                 bool embed) {
  const RequestContext ctx(req, state);
  AuditGate gate(state);
  if (!gate.admitted()) {
    return refuse_unaudited(state, req, res, ctx, MetricRoute::page, state.resolve_limiter(), true);
  }
  AuditRecord record = ctx.audit_record(req, AuditEvent::page);
  const RuntimeSettings& settings = *ctx.settings;
  const PageConfig& page = state.config().page;
  const std::vector<std::string> frame_ancestors = embed ? page.embed_origins : std::vector<std::string>{};

  ShareAccess access = access_share(state, ctx, req, token, ShareOpening::page);
  PageContext context = page_context(state, settings, token, embed);
  switch (access.kind) {
    case ShareAccess::Kind::rate_limited:
      send_error_page(res, PublicError::rate_limited, ctx, context, frame_ancestors, access.decision.retry_after);
      break;
    case ShareAccess::Kind::failed:
      send_error_page(res, access.failure, ctx, context, frame_ancestors, 0);
      break;
    case ShareAccess::Kind::answered: {
      ResolveResult& result = access.result;
      record.share_id = result.share_id;
      record.token_fp = result.token_fp;
      if (result.outcome != ResolveOutcome::ok && result.outcome != ResolveOutcome::unavailable) {
        send_error_page(res, public_error(result.outcome), ctx, context, frame_ancestors, 0);
        break;
      }
      context.preview = access.preview || access.head;
      const auto now = context.now;
      if (result.view_counted) {
        // The page session continues this view: it lasts session_hours, never past the link.
        TimePoint session_end = now + std::chrono::hours(page.session_hours);
        if (result.expires_at) session_end = std::min(session_end, *result.expires_at);
        context.session = settings.sessions->issue(result.share_id, ctx.request_id, session_end);
        std::int64_t expires_in = settings.signer->ttl_seconds();
        if (result.expires_at) expires_in = std::min(expires_in, to_unix_seconds(*result.expires_at) - to_unix_seconds(now));
        context.playback_expires_in = static_cast<int>(std::max<std::int64_t>(expires_in, 1));
      }
      // The policy of the page a browser gets, also for HEAD (same headers as GET).
      CspSources sources;
      sources.frame_ancestors = frame_ancestors;
      if (result.outcome == ResolveOutcome::ok && !access.preview) {
        sources.script = true;
        sources.media = {media_source(state.config(), settings)};
        sources.connect = {context.refresh_url};
      }
      send_html(res, 200, render_share_page(result, context), content_security_policy(sources), ctx.request_id,
                result.visibility != Visibility::public_link);
      break;
    }
  }
  set_rate_limit_headers(res, access);

  if (record.token_fp.empty() && !token.empty()) record.token_fp = token_fingerprint(token);
  finish_audited(state, req, res, ctx, gate, std::move(record), MetricRoute::page, access.outcome, true);
}

void handle_page_refresh(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const RequestContext ctx(req, state);
  AuditGate gate(state);
  if (!gate.admitted()) {
    return refuse_unaudited(state, req, res, ctx, MetricRoute::page_refresh, state.media_limiter(), false);
  }
  AuditRecord record = ctx.audit_record(req, AuditEvent::media);

  auto finish = [&](MetricOutcome outcome) {
    finish_audited(state, req, res, ctx, gate, std::move(record), MetricRoute::page_refresh, outcome, false);
  };
  auto fail = [&](PublicError error, MetricOutcome outcome) {
    send_error(res, error, ctx.request_id);
    finish(outcome);
  };

  // 1. The media bucket: refreshes come at the pace of playback, like range requests.
  const RateDecision decision = state.media_limiter().acquire(ctx.client_key, ServerState::monotonic_seconds());
  set_rate_limit_headers(res, state.media_limiter(), decision);
  if (!decision.allowed) return fail(PublicError::rate_limited, MetricOutcome::rate_limited);

  // 2. The page session: signature and expiry, no database work for junk.
  const TimePoint now = system_clock_now();
  const PageSessionVerdict verdict = ctx.settings->sessions->verify(req.get_header_value("X-Page-Session"), now);
  if (verdict.check == PageSessionCheck::invalid) {
    return fail(PublicError::page_session_invalid, MetricOutcome::bad_signature);
  }
  record.share_id = verdict.session.share_id;
  if (verdict.check == PageSessionCheck::expired) {
    return fail(PublicError::page_session_expired, MetricOutcome::url_expired);
  }

  // 3. The link as it is now: revoked or expired stops the page at once;
  //    used-up views do not (the view this page continues was counted).
  ResolveResult result;
  try {
    result = refresh_playback(state, verdict.session.share_id, now, *ctx.settings->signer);
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "playback refresh failed", {{"request_id", ctx.request_id}, {"error", e.what()}});
    return fail(failure_error(e), MetricOutcome::error);
  }
  switch (result.outcome) {
    case ResolveOutcome::revoked:
      return fail(PublicError::share_revoked, MetricOutcome::share_inactive);
    case ResolveOutcome::expired:
      return fail(PublicError::share_expired, MetricOutcome::share_inactive);
    case ResolveOutcome::ok:
      break;
    default:
      return fail(PublicError::not_found, MetricOutcome::not_found);
  }
  std::int64_t expires_in = ctx.settings->signer->ttl_seconds();
  if (result.expires_at) expires_in = std::min(expires_in, to_unix_seconds(*result.expires_at) - to_unix_seconds(now));
  res.status = 200;
  set_request_headers(res, ctx.request_id, result.visibility != Visibility::public_link);
  set_body(res, render_playback_refresh(result, static_cast<int>(std::max<std::int64_t>(expires_in, 1))),
           k_json_content_type);
  finish(MetricOutcome::ok);
}

void handle_oembed(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const RequestContext ctx(req, state);
  AuditGate gate(state);
  if (!gate.admitted()) {
    return refuse_unaudited(state, req, res, ctx, MetricRoute::oembed, state.resolve_limiter(), false);
  }
  AuditRecord record = ctx.audit_record(req, AuditEvent::page);
  const RuntimeSettings& settings = *ctx.settings;

  auto finish = [&](MetricOutcome outcome) {
    finish_audited(state, req, res, ctx, gate, std::move(record), MetricRoute::oembed, outcome, false);
  };

  std::optional<int> max_width;
  std::optional<int> max_height;
  if (!read_dimension(req, "maxwidth", max_width) || !read_dimension(req, "maxheight", max_height) ||
      req.get_param_value_count("url") > 1) {
    send_error(res, PublicError::bad_request, ctx.request_id);
    set_rate_limit_headers(res, state.resolve_limiter(),
                           state.resolve_limiter().peek(ctx.client_key, ServerState::monotonic_seconds()));
    return finish(MetricOutcome::bad_request);
  }
  // Only the page URL of a link names something to embed; anything else is
  // looked up as a malformed token (a miss, without a database lookup).
  const std::string url = req.get_param_value("url");
  const std::string prefix = settings.public_base_url + "/s/";
  const std::string token = url.starts_with(prefix) ? url.substr(prefix.size()) : std::string();
  const bool json_format = !req.has_param("format") || req.get_param_value("format") == "json";

  const ShareAccess access = access_share(state, ctx, req, json_format ? token : std::string(), ShareOpening::look_up);
  if (access.kind == ShareAccess::Kind::rate_limited) {
    send_error(res, PublicError::rate_limited, ctx.request_id);
  } else if (access.kind == ShareAccess::Kind::failed) {
    send_error(res, access.failure, ctx.request_id);
  } else if (access.result.outcome != ResolveOutcome::ok) {
    record.share_id = access.result.share_id;
    record.token_fp = access.result.token_fp;
    send_error(res, PublicError::not_found, ctx.request_id);
  } else {
    const ResolveResult& result = access.result;
    record.share_id = result.share_id;
    record.token_fp = result.token_fp;
    res.status = 200;
    set_request_headers(res, ctx.request_id, result.visibility != Visibility::public_link);
    set_body(res,
             render_oembed(result, state.config().page.site_name, settings.public_base_url + "/",
                           page_url(settings, token) + "/embed", embed_size(result, max_width, max_height)),
             k_json_content_type);
  }
  set_rate_limit_headers(res, access);
  if (record.token_fp.empty() && is_share_token(token)) record.token_fp = token_fingerprint(token);
  finish(access.outcome);
}

}  // namespace sharelink
