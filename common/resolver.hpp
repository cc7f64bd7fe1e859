// The one resolver: share token -> outcome and read-only view (SPEC 3 and 4), used by shared-linkd and sharectl.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/domain.hpp"
#include "common/public_errors.hpp"
#include "common/time_format.hpp"

namespace sharelink {

class PlaybackSigner;
class ViewCounter;

// The error answer of a non-200 outcome (ok and unavailable answer 200).
PublicError public_error(ResolveOutcome outcome);

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
  TargetType target_type = TargetType::track;
  Visibility visibility = Visibility::link_only;
  std::optional<TimePoint> expires_at;
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
