// The one resolver: share token -> outcome and read-only view (SPEC 3 and 4), used by shared-linkd and sharectl.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/catalog_store.hpp"
#include "common/public_errors.hpp"
#include "common/time_format.hpp"

namespace sharelink {

class PlaybackSigner;
class ViewCounter;

enum class ResolveOutcome { ok, unavailable, not_found, revoked, expired, limit_reached };
const char* to_string(ResolveOutcome outcome);  // audit outcome: ok, unavailable, not_found, ...
// The error answer of a non-200 outcome (ok and unavailable answer 200).
PublicError public_error(ResolveOutcome outcome);

struct LicenceFacts {
  std::string licence_class;
  std::string licence_version;
  bool commercial_use = false;
  bool requires_attribution = true;
};

// Licence truth: registry facts narrowed by the track, never widened. An
// unknown (class, version) or the class "unclear" gives commercial_use false
// and requires_attribution true.
LicenceFacts licence_facts(const std::optional<Licence>& registry_entry, std::string_view licence_class,
                           std::string_view licence_version, bool track_no_commercial);

struct TrackView {
  std::string id;
  std::string title;
  std::string engine;
  std::string mode;
  std::optional<double> measured_duration_seconds;
  bool instrumental = false;
  std::optional<std::string> playback_url;
  LicenceFacts licence;
};

struct CollectionView {
  std::string id;
  std::string name;
  std::optional<std::string> description;
};

struct ResolveResult {
  ResolveOutcome outcome = ResolveOutcome::not_found;
  // Set when the token matched a link (every outcome but not_found).
  std::string share_id;
  std::string target_type;  // "track" | "collection"
  std::string visibility;
  std::optional<TimePoint> expires_at;
  // The link's view limit, and its view count as of this answer (including
  // the view this answer counted; see ResolveOptions::exact_view_count).
  std::optional<std::int64_t> max_views;
  std::int64_t view_count = 0;
  // ok: the track (track share) or collection + tracks (collection share).
  std::optional<TrackView> track;
  std::optional<CollectionView> collection;
  std::optional<std::vector<TrackView>> tracks;
  bool view_counted = false;
  // First 12 hex of the token's SHA-256 (token_fingerprint), set when the
  // token was well-formed: the lookup computes the digest anyway.
  std::string token_fp;
};

struct ResolveOptions {
  // Count one view on an ok answer (atomically with the max_views check).
  // False for sharectl resolve, HEAD and link-preview fetchers.
  bool count_view = true;
  // Mint playback URLs; false gives null playback_url (link-preview fetchers).
  bool mint_playback = true;
  // Where views are counted: the daemon's shared ViewCounter (exact for
  // max_views links, batched for the rest), or null for an UPDATE on this
  // Resolver's own connection.
  ViewCounter* views = nullptr;
  // After counting a view of a link with max_views, read its view count
  // again, so view_count includes views that concurrent requests counted
  // meanwhile (the share page's "can be opened N more times" is then never
  // overstated). One more indexed read, for max_views links only.
  bool exact_view_count = false;
};

// One SQLite connection with its prepared statements. Not thread-safe: the
// daemon lends them out from a small ResolverPool. Each resolve reads in one
// fresh read transaction, so it sees the latest committed changes (sharectl
// revoke, remove...).
// Database failures throw Error; every domain answer is a ResolveOutcome.
class Resolver {
 public:
  // Opens db_file (which must have the current schema; throws Error otherwise).
  explicit Resolver(const std::filesystem::path& db_file);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Resolves a raw token. A malformed token is not_found without a lookup.
  // signer may be null only when options.mint_playback is false.
  // Database failures throw DatabaseUnavailable.
  ResolveResult resolve(std::string_view token, const ResolveOptions& options, TimePoint now,
                        const PlaybackSigner* signer);

  // Fresh playback URLs for a link already opened (the share page's refresh):
  // the link by id, its status, its content now, URLs minted as resolve()
  // mints them. Never counts a view. Outcomes: ok (an exhausted link too:
  // exhaustion stops new views, not the playback of a view already counted),
  // not_found (unknown id), revoked, expired, unavailable (content removed).
  // Database failures throw DatabaseUnavailable.
  ResolveResult playback_for_share(std::string_view share_id, TimePoint now, const PlaybackSigner& signer);

  // Runs a trivial query; throws DatabaseUnavailable if the database cannot answer.
  void ping();

 private:
  ResolveResult resolve_unguarded(std::string_view token, const ResolveOptions& options, TimePoint now,
                                  const PlaybackSigner* signer);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The 200 body (available true or false) with SPEC 4's field order; nulls written.
std::string render_view(const ResolveResult& result);

// The message of an available:false answer.
inline constexpr std::string_view k_unavailable_message =
    "The creator has removed the content behind this share link.";

}  // namespace sharelink
