// shared-link's domain values and rules (SPEC 3-5): plain types and functions, written once, above any store.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_format.hpp"

namespace sharelink {

// ---------------------------------------------------------------------------
// Typed values. Each to_string gives the spelling of the spec (JSON, the
// database, the CLI); each parse_* accepts exactly those spellings.

enum class TargetType { track, collection };
const char* to_string(TargetType type);
std::optional<TargetType> parse_target_type(std::string_view text);

enum class Visibility { link_only, public_link };  // "link_only" | "public"
const char* to_string(Visibility visibility);
std::optional<Visibility> parse_visibility(std::string_view text);

// The four licence classes of SPEC 4.
enum class LicenceClass { commercial_cleared, commercial_enterprise, personal_only, unclear };
const char* to_string(LicenceClass licence_class);
std::optional<LicenceClass> parse_licence_class(std::string_view text);

// SPEC 3's status of a share link.
enum class ShareStatus { active, revoked, expired, exhausted };
const char* to_string(ShareStatus status);
std::optional<ShareStatus> parse_share_status(std::string_view text);

// ---------------------------------------------------------------------------
// Records, as stored. Times of the catalogue and of share links are whole
// seconds.

// What the licence registry says about one (class, version).
struct LicenceTerms {
  bool commercial_use = false;
  bool requires_attribution = false;
};

// One licence registry entry, keyed by (class, version).
struct Licence {
  LicenceClass licence_class = LicenceClass::unclear;
  std::string licence_version;
  bool commercial_use = false;
  bool requires_attribution = false;

  LicenceTerms terms() const { return {commercial_use, requires_attribution}; }
};

struct Track {
  std::string id;
  std::string title;
  std::string engine;
  std::string mode;
  std::optional<double> measured_duration_seconds;
  bool instrumental = false;
  // As stored. sharectl accepts only the four classes (to_string of
  // LicenceClass), but the catalogue does not constrain the column, so
  // licence_facts() must hold for any text: one outside the four is shown
  // as it is, with the facts of an unknown licence.
  std::string licence_class;
  std::string licence_version;
  bool no_commercial = false;  // narrows the registry's commercial_use, never widens it
  std::string mime_type = "audio/mpeg";
  std::string audio_path;  // relative to playback.media_root
  std::optional<TimePoint> removed_at;
  TimePoint created_at;
};

// A track as a share's view needs it: the fields a view shows, its audio
// path (for the playback URL), its removal, and the registry's terms for its
// (class, version), nullopt when the registry has no such entry. (No mime
// type or created_at: the resolver reads every track of a collection, and
// reads nothing it does not show.)
struct CatalogTrack {
  std::string id;
  std::string title;
  std::string engine;
  std::string mode;
  std::optional<double> measured_duration_seconds;
  bool instrumental = false;
  std::string licence_class;  // as stored (see Track::licence_class)
  std::string licence_version;
  bool no_commercial = false;
  std::string audio_path;
  std::optional<TimePoint> removed_at;
  std::optional<LicenceTerms> registry;
};

// What the media check needs of a track: its file and whether it is removed.
struct TrackMedia {
  std::string audio_path;  // relative to playback.media_root
  std::string mime_type;
  std::optional<TimePoint> removed_at;
};

// A collection without its track list.
struct CollectionRecord {
  std::string id;
  std::string name;
  std::optional<std::string> description;
  std::optional<TimePoint> removed_at;
  TimePoint created_at;
};

struct Collection : CollectionRecord {
  std::vector<std::string> track_ids;  // in the collection's order
};

// What the rules and the resolver need of a share link.
struct ShareRecord {
  std::string id;
  TargetType target_type = TargetType::track;
  std::string target_id;
  Visibility visibility = Visibility::link_only;
  std::optional<TimePoint> expires_at;
  std::optional<std::int64_t> max_views;
  std::int64_t view_count = 0;
  std::optional<TimePoint> revoked_at;
};

// A share link with every field of SPEC 3 (what sharectl shows).
struct Share : ShareRecord {
  TimePoint created_at;
  std::optional<TimePoint> last_viewed_at;
  std::optional<std::string> revoke_reason;
  std::optional<std::string> note;
  std::string created_by;
  std::string token_fp;  // first 12 hex of SHA-256(token); the token itself is never stored
};

// ---------------------------------------------------------------------------
// Rules

// The status precedence of SPEC 3: revoked, then expired (expires_at <= now),
// then exhausted (max_views set and view_count >= max_views), else active.
ShareStatus share_status(const ShareRecord& share, TimePoint now);

// What a view says about a track's licence (SPEC 4). The text is the
// track's own: it points into the row the facts were made from, which must
// outlive them.
struct LicenceFacts {
  std::string_view licence_class;
  std::string_view licence_version;
  bool commercial_use = false;
  bool requires_attribution = true;
};

// Licence truth, "never overstated": the registry's facts narrowed by the
// track, never widened (commercial_use = registry's AND NOT no_commercial).
// A (class, version) the registry lacks (registry nullopt), the class
// "unclear", or a class outside the four gives commercial_use false and
// requires_attribution true.
LicenceFacts licence_facts(const std::optional<LicenceTerms>& registry, std::string_view licence_class,
                           std::string_view licence_version, bool no_commercial);
// The same for a catalogue track and the registry entry of its (class, version).
LicenceFacts licence_facts(const Track& track, const std::optional<Licence>& registry_entry);

// SPEC 5: a playback URL minted at now lives until min(now + ttl, the
// share's expires_at), in whole seconds (now's fraction dropped).
TimePoint playback_expiry(TimePoint now, std::chrono::seconds ttl,
                          const std::optional<TimePoint>& share_expires_at);

// The removed-content rule (SPEC 4): a share's target (a track, or the
// collection itself) that is missing or removed by its creator makes the
// share unavailable. Content is any record with removed_at (Track,
// CatalogTrack, TrackMedia, CollectionRecord, Collection).
template <typename Content>
bool content_available(const std::optional<Content>& content) {
  return content.has_value() && !content->removed_at.has_value();
}
// ... and a removed track is left out of a collection's tracks (a collection
// whose tracks are all removed is still available, with no tracks). Track is
// Track or CatalogTrack.
template <typename Track>
bool listed_in_collection(const Track& track) {
  return !track.removed_at.has_value();
}

// What a resolve answers (SPEC 4). ok and unavailable answer 200; the
// others are the errors of SPEC 4's table.
enum class ResolveOutcome { ok, unavailable, not_found, revoked, expired, limit_reached };
const char* to_string(ResolveOutcome outcome);  // the audit outcome: ok, unavailable, not_found, ...

// A share's status as a resolve outcome: active is ok (unless its content is
// removed: see content_available), the others their 410s.
ResolveOutcome resolve_outcome(ShareStatus status);

// SPEC 5: whether playback continues for a view already counted (the media
// route, the share page's refresh): for an active link and an exhausted one
// (used-up views stop new views, not the playback of one counted), not for
// a revoked or expired one.
bool playback_continues(ShareStatus status);

// Who asks for a share link's view, as far as the view rule cares.
enum class Requester {
  visitor,          // a GET from a client: the view with playback URLs
  head_request,     // HEAD: same status and headers (the URLs are minted, never sent), no view
  preview_fetcher,  // a link-preview fetcher (shares.preview_user_agents): no playback URLs
  operator_check,   // sharectl resolve: the view with playback URLs
  look_up,          // what a link shows, for a description of it (oEmbed): no playback URLs
};

// Whether the view carries playback URLs (SPEC 4: not for link-preview
// fetchers, so pretending to be a bot gains nothing playable). HEAD mints
// them as GET would, so that its Content-Length is GET's; no body is sent.
bool mints_playback(Requester requester);

// The view rule (SPEC 3-4): a resolve counts one view exactly when it answers
// available content (outcome ok) to a visitor's GET. HEAD, link-preview
// fetchers, look-ups and an operator's look never use up a view. The count itself is
// atomic with the max_views check (ViewCounter).
bool counts_view(Requester requester, ResolveOutcome outcome);

}  // namespace sharelink
