// The handlers of shared-linkd's routes, each turning one HTTP request into library calls.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/public_errors.hpp"
#include "daemon/server_state.hpp"

namespace sharelink {

// The route handlers below take the path's {parameter} as the router found
// it (httplib's match, or PublicServer's own for the busiest routes).

// GET/HEAD /v1/music/shared/{token} (SPEC 4).
void handle_resolve(ServerState& state, const httplib::Request& req, httplib::Response& res,
                    std::string_view token);

// GET/HEAD /v1/music/media/{track_id}?share=&exp=&kid=&sig= (SPEC 5): rate
// limit, signature and expiry, share and track checks, then the file (builtin,
// with single ranges) or an X-Accel-Redirect (x_accel); 404 in s3 mode. Never
// counts a view; appends one audit record and one metrics observation.
void handle_media(ServerState& state, const httplib::Request& req, httplib::Response& res, std::string_view track);

// The share page's playback refresh: GET with the page session in X-Page-Session.
inline constexpr std::string_view k_page_refresh_path = "/v1/music/page/playback";

// GET/HEAD /s/{token} (embed false) and /s/{token}/embed (SPEC 12): the same
// checks and view rule as handle_resolve (share_access.hpp), answered as
// HTML; a counted view carries a page session for the refresh script.
void handle_page(ServerState& state, const httplib::Request& req, httplib::Response& res, std::string_view token,
                 bool embed);

// An error of a page route answered outside its handler (wrong method,
// shutting down, a request with a body): the HTML error page with its headers.
void send_page_error(ServerState& state, const httplib::Request& req, httplib::Response& res, PublicError error,
                     const std::string& request_id);

// GET k_page_refresh_path: fresh playback URLs for an open page. The media
// bucket; the page session (403 PAGE_SESSION_INVALID, 410
// PAGE_SESSION_EXPIRED); the link by id (410 SHARE_REVOKED / SHARE_EXPIRED,
// 404 NOT_FOUND for removed content; a used-up link still refreshes). Counts
// no view; one audit record (event media) and one metrics observation
// (route page_refresh).
void handle_page_refresh(ServerState& state, const httplib::Request& req, httplib::Response& res);

// GET /oembed?url=PAGE_URL&format=json[&maxwidth=W&maxheight=H] (SPEC 12):
// the resolve buckets, a look-up that counts no view; 404 NOT_FOUND unless
// url is the page URL of a link that resolves with content; 400 for a bad
// maxwidth/maxheight. Audit event page (outcome preview when answered).
void handle_oembed(ServerState& state, const httplib::Request& req, httplib::Response& res);

}  // namespace sharelink
