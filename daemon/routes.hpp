// The handlers of shared-linkd's routes, each turning one HTTP request into library calls.
#pragma once

#include <httplib.h>

#include <filesystem>

#include "daemon/server_state.hpp"

namespace sharelink {

// GET/HEAD /v1/music/shared/{token} (SPEC 4).
void handle_resolve(ServerState& state, const httplib::Request& req, httplib::Response& res);

// GET/HEAD /v1/music/media/{track_id}?share=&exp=&kid=&sig= (SPEC 5): rate
// limit, signature and expiry, share and track checks, then the file (builtin,
// with single ranges) or an X-Accel-Redirect (x_accel); 404 in s3 mode. Never
// counts a view; appends one audit record and one metrics observation.
void handle_media(ServerState& state, const httplib::Request& req, httplib::Response& res);

}  // namespace sharelink
