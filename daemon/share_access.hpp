// Opening a share link by token, shared by every route that does it: the rate limits, then the one resolver.
#pragma once

#include <httplib.h>

#include <string_view>

#include "common/resolver.hpp"
#include "daemon/http_common.hpp"
#include "daemon/server_state.hpp"

namespace sharelink {

// Which route opens the link; decides the view rule in one place.
enum class ShareOpening {
  api,      // GET/HEAD /v1/music/shared/{token}: counts a view (not for HEAD or preview fetchers)
  page,     // GET/HEAD /s/{token}[/embed]: the same, and an exact view count for "opened N more times"
  look_up,  // GET /oembed: never counts a view, mints no playback URL
};

struct ShareAccess {
  enum class Kind {
    answered,      // result holds the resolver's answer
    rate_limited,  // refused by the miss bucket or the request bucket (decision says when to retry)
    failed,        // the resolver threw: failure is service_unavailable or internal_error (logged)
  };
  Kind kind = Kind::failed;
  PublicError failure = PublicError::internal_error;
  // The bucket whose fields (RateLimit, RateLimit-Policy, Retry-After) the answer carries.
  const RateLimiter* limiter = nullptr;
  RateDecision decision;
  ResolveResult result;
  bool head = false;     // a HEAD request
  bool preview = false;  // a link-preview fetcher (User-Agent in shares.preview_user_agents)
  // The audit and metrics outcome (SPEC 7 resolve outcomes).
  MetricOutcome outcome = MetricOutcome::error;
};

// SPEC 4 steps 1-6 for one request, identical for every route that opens a
// link: 1. the client's miss bucket (peeked) and request bucket (one token),
// shared by the resolve API, the page and oEmbed; no database work when
// refused. 2-6. the resolver (token syntax, lookup, status precedence,
// removed content), counting one view for an ok answer unless the request is
// HEAD, comes from a link-preview fetcher, or is a look-up; playback URLs are
// minted for a visitor's GET and for HEAD (so that HEAD's Content-Length is
// GET's), never for a preview fetcher or a look-up. A not_found answer also takes a
// token from the miss bucket. Never throws for a database failure (kind
// failed, logged with the request id). Thread-safe.
ShareAccess access_share(ServerState& state, const RequestContext& ctx, const httplib::Request& req,
                         std::string_view token, ShareOpening opening);

// Sets the rate-limit fields of access on res.
void set_rate_limit_headers(httplib::Response& res, const ShareAccess& access);

}  // namespace sharelink
