// The signed media route of SPEC 5: checks a playback URL, then streams the file or hands it to nginx.
#include <algorithm>
#include <exception>
#include <optional>
#include <vector>

#include "common/byte_range.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/logfmt.hpp"
#include "common/media_access.hpp"
#include "common/x_accel.hpp"
#include "daemon/audit_gate.hpp"
#include "daemon/http_common.hpp"
#include "daemon/routes.hpp"

namespace sharelink {
namespace {

// Bytes read from the file per write to the socket: the memory one stream holds.
constexpr std::size_t k_chunk_bytes = 64 * 1024;

// What a browser player may read from a cross-origin answer besides the
// CORS-safelisted headers.
constexpr const char* k_exposed_headers =
    "Accept-Ranges, Content-Length, Content-Range, X-Request-Id, RateLimit, RateLimit-Policy, Retry-After";

// The one place a media check's outcome becomes an HTTP error.
PublicError public_error(MediaOutcome outcome) {
  switch (outcome) {
    case MediaOutcome::revoked:
      return PublicError::share_revoked;
    case MediaOutcome::expired:
      return PublicError::share_expired;
    case MediaOutcome::ok:
    case MediaOutcome::not_found:
      break;
  }
  return PublicError::not_found;
}

// A query parameter given exactly once; a missing or repeated one is nullopt
// (a second copy would let a tampered value ride next to the signed one).
std::optional<std::string> single_param(const httplib::Request& req, const char* name) {
  if (req.get_param_value_count(name) != 1) return std::nullopt;
  return req.get_param_value(name);
}

// The stored MIME type if it is safe as a header value, else a neutral one.
std::string content_type_of(const std::string& mime_type) {
  const bool printable =
      !mime_type.empty() && mime_type.size() <= 255 &&
      std::all_of(mime_type.begin(), mime_type.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  return printable ? mime_type : "application/octet-stream";
}

// 416 is not one of SPEC 4's error codes; it still answers in the same JSON
// shape (and must carry a body, or the server's error handler rewrites it).
// The request headers are set already (once: an error is noindex).
void send_range_not_satisfiable(httplib::Response& res, const std::string& request_id, std::uint64_t size) {
  res.status = 416;
  res.set_header("Content-Range", "bytes */" + std::to_string(size));
  res.set_content(R"({"success":false,"error":{"code":"RANGE_NOT_SATISFIABLE",)"
                  R"("message":"The requested range lies outside the file.","request_id":")" +
                      request_id + "\"}}",
                  k_json_content_type);
}

// Streams [range.first, range.first + range.length) of file: httplib asks for
// the next piece when the socket takes more, so memory stays at one chunk
// however large the file is. HEAD answers never call the provider.
void stream_file(httplib::Response& res, std::shared_ptr<const MediaFile> file, const ByteRange& range,
                 const std::string& content_type, const std::string& request_id) {
  if (range.length == 0) {
    res.set_content(std::string(), content_type);
    return;
  }
  auto buffer = std::make_shared<std::vector<char>>(k_chunk_bytes);
  const std::uint64_t first = range.first;
  res.set_content_provider(
      static_cast<std::size_t>(range.length), content_type,
      [file = std::move(file), buffer, first, request_id](std::size_t offset, std::size_t length,
                                                          httplib::DataSink& sink) {
        // Runs after the handler returned, outside the server's exception
        // handler: nothing may escape. false ends the connection.
        try {
          const std::size_t n =
              file->read_at(first + offset, buffer->data(), std::min(length, buffer->size()));
          if (n == 0) {
            log_event(LogLevel::warn, "media file shrank while streaming", {{"request_id", request_id}});
            return false;
          }
          return sink.write(buffer->data(), n);
        } catch (const std::exception& e) {
          log_event(LogLevel::error, "media stream failed",
                    {{"request_id", request_id}, {"error", e.what()}});
          return false;
        }
      });
}

}  // namespace

void handle_media(ServerState& state, const httplib::Request& req, httplib::Response& res,
                  std::string_view track) {
  const RequestContext ctx(req, state);
  AuditGate gate(state);
  if (!gate.admitted()) {
    return refuse_unaudited(state, req, res, ctx, MetricRoute::media, state.media_limiter(), false);
  }
  // This route answers Range itself (range_field: httplib never sees it).

  const std::string track_id(track);
  AuditRecord record = ctx.audit_record(req, AuditEvent::media);
  res.set_header("Access-Control-Expose-Headers", k_exposed_headers);

  // The answer, the audit record and the metrics leave through here, once.
  // Media requests never count views. False: the answer became a 503 (the
  // record was not committed in time), so no file may follow.
  auto finish = [&](MetricOutcome outcome) {
    return finish_audited(state, req, res, ctx, gate, std::move(record), MetricRoute::media, outcome, false);
  };

  // 1. The media bucket, before any other work.
  const RateDecision decision =
      state.media_limiter().acquire(ctx.client_key, ServerState::monotonic_seconds());
  set_rate_limit_headers(res, state.media_limiter(), decision);
  auto fail = [&](PublicError error, MetricOutcome outcome) {
    send_error(res, error, ctx.request_id);
    finish(outcome);
  };
  if (!decision.allowed) return fail(PublicError::rate_limited, MetricOutcome::rate_limited);

  // In s3 mode playback URLs point at the object store; this route is not used.
  const PlaybackConfig& playback = state.config().playback;
  if (playback.mode == PlaybackMode::s3) return fail(PublicError::not_found, MetricOutcome::not_found);

  // 2. Signature and expiry, over exactly the parameters given once each.
  const auto share_id = single_param(req, "share");
  const auto exp = single_param(req, "exp");
  const auto kid = single_param(req, "kid");
  const auto sig = single_param(req, "sig");
  if (share_id && is_share_id(*share_id)) record.share_id = *share_id;
  if (!share_id || !exp || !kid || !sig) {
    return fail(PublicError::signature_invalid, MetricOutcome::bad_signature);
  }
  const TimePoint now = system_clock_now();
  switch (ctx.settings->signer->verify(track_id, *share_id, *exp, *kid, *sig, now)) {
    case PlaybackCheck::ok:
      break;
    case PlaybackCheck::bad_signature:
      return fail(PublicError::signature_invalid, MetricOutcome::bad_signature);
    case PlaybackCheck::expired:
      return fail(PublicError::playback_url_expired, MetricOutcome::url_expired);
  }
  record.share_id = *share_id;

  // 3. The share is still active and includes the track; the track is not removed.
  MediaGrant grant;
  try {
    auto reader = state.readers().acquire();
    try {
      grant = check_media(*reader, *share_id, track_id, now);
    } catch (...) {
      reader.discard();  // the next request reopens the connection
      throw;
    }
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "media check failed", {{"request_id", ctx.request_id}, {"error", e.what()}});
    return fail(failure_error(e), MetricOutcome::error);
  }
  if (grant.outcome != MediaOutcome::ok)
    return fail(public_error(grant.outcome), audit_outcome(grant.outcome));

  // 4. The file, never outside media_root (x_accel mode checks it too, so
  //    nginx is only ever sent to a file that passed).
  MediaFileOpen opened;
  try {
    opened = open_media_file(playback.media_root, grant.audio_path);
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "media_root unusable", {{"request_id", ctx.request_id}, {"error", e.what()}});
    return fail(PublicError::internal_error, MetricOutcome::error);
  }
  if (opened.status != MediaFileStatus::ok) {
    const bool escape =
        opened.status == MediaFileStatus::outside_root || opened.status == MediaFileStatus::invalid_path;
    log_event(LogLevel::warn, escape ? "media path escapes media_root; refused" : "media file unavailable",
              {{"request_id", ctx.request_id},
               {"track_id", track_id},
               {"audio_path", grant.audio_path},
               {"reason", to_string(opened.status)}});
    return fail(PublicError::not_found, MetricOutcome::not_found);
  }

  const std::string content_type = content_type_of(grant.mime_type);
  const bool noindex = grant.visibility != Visibility::public_link;
  if (playback.mode == PlaybackMode::x_accel) {
    // nginx serves the file (and its ranges) from the internal location.
    set_request_headers(res, ctx.request_id, noindex);
    res.status = 200;
    res.set_header("X-Accel-Redirect", x_accel_redirect_uri(playback.x_accel_prefix, grant.audio_path));
    res.set_content(std::string(), content_type);
    finish(MetricOutcome::ok);
    return;
  }

  // 5. builtin: the whole file or one range of it (RFC 9110: an invalid
  //    Range is ignored). If-Range names a validator this server never hands
  //    out, so it never matches: whole file.
  const std::uint64_t size = opened.file->size();
  const std::optional<std::string> range_header = req.has_header("If-Range") ? std::nullopt : range_field(req);
  const ByteRange range = parse_byte_range(range_header.value_or(""), size);
  set_request_headers(res, ctx.request_id, noindex || range.kind == ByteRange::Kind::unsatisfiable);
  res.set_header("Accept-Ranges", "bytes");
  switch (range.kind) {
    case ByteRange::Kind::unsatisfiable:
      send_range_not_satisfiable(res, ctx.request_id, size);
      finish(MetricOutcome::ok);
      return;
    case ByteRange::Kind::partial:
      res.status = 206;
      res.set_header("Content-Range", content_range(range, size));
      break;
    case ByteRange::Kind::full:
      res.status = 200;
      break;
  }
  // The record goes first: with audit.synchronous, a file leaves only once
  // its record is committed.
  if (finish(MetricOutcome::ok)) stream_file(res, opened.file, range, content_type, ctx.request_id);
}

}  // namespace sharelink
