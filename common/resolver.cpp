#include "common/resolver.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/playback_signer.hpp"
#include "common/store.hpp"
#include "common/text.hpp"
#include "common/view_counter.hpp"

namespace sharelink {
namespace {

// Fills v with a catalogue track as a view shows it; the strings are moved, not copied.
void fill_view(TrackView& v, CatalogTrack& t) {
  v.licence = licence_facts(t.registry, std::move(t.licence_class), std::move(t.licence_version), t.no_commercial);
  v.id = std::move(t.id);
  v.title = std::move(t.title);
  v.engine = std::move(t.engine);
  v.mode = std::move(t.mode);
  v.measured_duration_seconds = t.measured_duration_seconds;
  v.instrumental = t.instrumental;
}

// Fills result's share fields from share.
void fill_share(ResolveResult& result, const ShareRecord& share) {
  result.share_id = share.id;
  result.target_type = share.target_type;
  result.visibility = share.visibility;
  result.expires_at = share.expires_at;
  result.max_views = share.max_views;
  result.view_count = share.view_count;
}

// Fills result with share's target (track or collection, with playback URLs
// when mint), inside the caller's read snapshot; result.outcome is ok on
// entry and becomes unavailable for removed content.
void read_target(CatalogReader& reader, const ShareRecord& share, ResolveResult& result, bool mint, TimePoint now,
                 const PlaybackSigner* signer) {
  mint = mint && signer != nullptr;
  const std::int64_t playback_exp =
      mint ? to_unix_seconds(playback_expiry(now, std::chrono::seconds(signer->ttl_seconds()), share.expires_at)) : 0;
  auto fill = [&](TrackView& view, CatalogTrack& track) {
    fill_view(view, track);
    if (mint) view.playback_url = signer->mint(view.id, track.audio_path, share.id, playback_exp, now);
  };

  if (share.target_type == TargetType::track) {
    auto track = reader.track(share.target_id);
    if (!content_available(track)) {
      result.outcome = ResolveOutcome::unavailable;
      return;
    }
    fill(result.track.emplace(), *track);
    return;
  }

  auto collection = reader.collection(share.target_id);
  if (!content_available(collection)) {
    result.outcome = ResolveOutcome::unavailable;
    return;
  }
  result.collection = CollectionView{std::move(collection->id), std::move(collection->name),
                                     std::move(collection->description)};
  std::vector<TrackView>& tracks = result.tracks.emplace();
  reader.collection_tracks(share.target_id, [&](CatalogTrack& member) {
    if (listed_in_collection(member)) fill(tracks.emplace_back(), member);
  });
}

}  // namespace

PublicError public_error(ResolveOutcome outcome) {
  switch (outcome) {
    case ResolveOutcome::revoked: return PublicError::share_revoked;
    case ResolveOutcome::expired: return PublicError::share_expired;
    case ResolveOutcome::limit_reached: return PublicError::share_limit_reached;
    default: return PublicError::share_not_found;
  }
}

ResolveResult resolve(CatalogReader& reader, std::string_view token, const ResolveOptions& options, TimePoint now,
                      const PlaybackSigner* signer) {
  if (options.views == nullptr && counts_view(options.requester, ResolveOutcome::ok)) {
    throw Error("resolve: a visitor's resolve needs a view counter");
  }
  ResolveResult result;
  if (!is_share_token(token)) return result;  // not_found, no lookup

  const std::string digest = token_digest(token);
  result.token_fp = digest.substr(0, 12);  // token_fingerprint(token), without hashing twice
  std::optional<ShareRecord> share;
  {
    ReadSnapshot snapshot(reader);
    share = reader.share_by_digest(digest);
    if (share) {
      fill_share(result, *share);
      result.outcome = resolve_outcome(share_status(*share, now));
      if (result.outcome == ResolveOutcome::ok) {
        read_target(reader, *share, result, mints_playback(options.requester), now, signer);
      }
    }
    snapshot.end();
  }
  if (!share || !counts_view(options.requester, result.outcome)) return result;

  // The view is counted after the snapshot has ended: a backend's write never
  // waits inside a read transaction of the same request.
  if (!options.views->count(*share, now)) {
    // Lost a race: answer with the link's status as it is now.
    ResolveResult lost;
    lost.share_id = result.share_id;
    lost.target_type = result.target_type;
    lost.visibility = result.visibility;
    lost.token_fp = result.token_fp;
    if (const auto current = reader.share_by_digest(digest)) {
      lost.expires_at = current->expires_at;
      lost.max_views = current->max_views;
      lost.view_count = current->view_count;
      lost.outcome = resolve_outcome(share_status(*current, now));
    }
    if (lost.outcome == ResolveOutcome::ok) lost.outcome = ResolveOutcome::limit_reached;
    return lost;
  }
  result.view_counted = true;
  result.view_count = share->view_count + 1;
  if (options.exact_view_count && share->max_views) {
    // Views that concurrent requests counted since the snapshot (never fewer than ours).
    if (const auto current = reader.share_by_digest(digest)) {
      result.view_count = std::max(result.view_count, current->view_count);
    }
  }
  return result;
}

ResolveResult playback_for_share(CatalogReader& reader, std::string_view share_id, TimePoint now,
                                 const PlaybackSigner& signer) {
  ResolveResult result;
  if (!is_share_id(share_id)) return result;  // not_found, no lookup
  ReadSnapshot snapshot(reader);
  if (const auto share = reader.share_by_id(std::string(share_id))) {
    fill_share(result, *share);
    const ShareStatus status = share_status(*share, now);
    result.outcome = playback_continues(status) ? ResolveOutcome::ok : resolve_outcome(status);
    if (result.outcome == ResolveOutcome::ok) read_target(reader, *share, result, true, now, &signer);
  }
  snapshot.end();
  return result;
}

namespace {

// The 200 body is written by hand into one string: building a JSON tree first
// cost more than the rest of a collection resolve (one allocation per value,
// an ordered map per object). Output matches nlohmann's dump(): compact, UTF-8
// passed through, only '"', '\' and control characters escaped.

// A JSON string. A byte that starts no well-formed UTF-8 sequence becomes
// U+FFFD, so a stored title can never make the answer invalid JSON.
// Bytes copied as they are: printable ASCII except '"' and '\'.
constexpr std::array<bool, 256> k_plain_json_byte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

void append_json_string(std::string& out, std::string_view text) {
  static constexpr const char* k_hex = k_hex_lower;
  out += '"';
  std::size_t run = 0;  // start of the bytes copied as they are
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && k_plain_json_byte[static_cast<unsigned char>(text[i])]) ++i;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length > 0) {
        i += length;
        continue;
      }
    }
    out.append(text.substr(run, i - run));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += k_hex[c >> 4];
          out += k_hex[c & 0x0F];
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD
        }
    }
    run = ++i;
  }
  out.append(text.substr(run));
  out += '"';
}

void append_json_nullable(std::string& out, const std::optional<std::string>& text) {
  if (text) {
    append_json_string(out, *text);
  } else {
    out += "null";
  }
}

// The shortest text that reads back as the same double; integral values keep
// a ".0" and non-finite ones are null (as nlohmann writes them).
void append_json_number(std::string& out, const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) {
    out += "null";
    return;
  }
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, *value).ptr;
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_json_bool(std::string& out, bool value) { out += value ? "true" : "false"; }

void append_track(std::string& out, const TrackView& t) {
  out += R"({"id":)";
  append_json_string(out, t.id);
  out += R"(,"title":)";
  append_json_string(out, t.title);
  out += R"(,"engine":)";
  append_json_string(out, t.engine);
  out += R"(,"mode":)";
  append_json_string(out, t.mode);
  out += R"(,"measured_duration_seconds":)";
  append_json_number(out, t.measured_duration_seconds);
  out += R"(,"instrumental":)";
  append_json_bool(out, t.instrumental);
  out += R"(,"playback_url":)";
  append_json_nullable(out, t.playback_url);
  out += R"(,"licence":{"licence_class":)";
  append_json_string(out, t.licence.licence_class);
  out += R"(,"licence_version":)";
  append_json_string(out, t.licence.licence_version);
  out += R"(,"commercial_use":)";
  append_json_bool(out, t.licence.commercial_use);
  out += R"(,"requires_attribution":)";
  append_json_bool(out, t.licence.requires_attribution);
  out += "}}";
}

// Bytes of one track view besides its strings, for reserving the body once.
constexpr std::size_t k_track_overhead = 256;

std::size_t track_size_hint(const TrackView& t) {
  return k_track_overhead + t.id.size() + t.title.size() + t.engine.size() + t.mode.size() +
         (t.playback_url ? t.playback_url->size() : 0) + t.licence.licence_class.size() +
         t.licence.licence_version.size();
}

}  // namespace

std::string render_view(const ResolveResult& result) {
  const bool available = result.outcome == ResolveOutcome::ok;
  const bool with_tracks = available && result.tracks;
  std::size_t size = 512;
  if (available && result.track) size += track_size_hint(*result.track);
  if (with_tracks) {
    for (const auto& t : *result.tracks) size += track_size_hint(t);
  }
  std::string out;
  out.reserve(size);

  out += R"({"kind":)";
  out += '"';
  out += to_string(result.target_type);
  out += '"';
  out += R"(,"available":)";
  append_json_bool(out, available);
  out += R"(,"message":)";
  if (available) {
    out += "null";
  } else {
    append_json_string(out, k_unavailable_message);
  }
  out += R"(,"share":{"target_type":")";
  out += to_string(result.target_type);
  out += R"(","visibility":")";
  out += to_string(result.visibility);
  out += '"';
  out += R"(,"expires_at":)";
  if (result.expires_at) {
    append_json_string(out, format_rfc3339(*result.expires_at));
  } else {
    out += "null";
  }
  out += R"(},"track":)";
  if (available && result.track) {
    append_track(out, *result.track);
  } else {
    out += "null";
  }
  out += R"(,"collection":)";
  if (available && result.collection) {
    out += R"({"id":)";
    append_json_string(out, result.collection->id);
    out += R"(,"name":)";
    append_json_string(out, result.collection->name);
    out += R"(,"description":)";
    append_json_nullable(out, result.collection->description);
    out += '}';
  } else {
    out += "null";
  }
  out += R"(,"tracks":)";
  if (with_tracks) {
    out += '[';
    for (std::size_t i = 0; i < result.tracks->size(); ++i) {
      if (i > 0) out += ',';
      append_track(out, (*result.tracks)[i]);
    }
    out += ']';
  } else {
    out += "null";
  }
  out += '}';
  return out;
}

}  // namespace sharelink
