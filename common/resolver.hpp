// The one resolver: share token -> outcome and read-only view (SPEC 3 and 4), used by shared-linkd and sharectl.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/domain.hpp"
#include "common/public_errors.hpp"
#include "common/time_format.hpp"

namespace sharelink {

class CatalogReader;
class PlaybackSigner;
class ViewCounter;

// The error answer of a non-200 outcome (ok and unavailable answer 200).
PublicError public_error(ResolveOutcome outcome);

// A track as a view shows it. Its text points into the catalogue row it was
// made from (a collection's 100 rows are read once per catalogue change and
// shared, not copied per request) and into one buffer of the request's
// playback URLs: the ResolveResult that holds a view keeps both alive
// (ResolveResult::text).
struct TrackView {
  std::string_view id;
  std::string_view title;
  std::string_view engine;
  std::string_view mode;
  std::optional<double> measured_duration_seconds;
  bool instrumental = false;
  std::optional<std::string_view> playback_url;
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
  // The link's view limit, and its view count as of this answer (including
  // the view this answer counted; see ResolveOptions::exact_view_count).
  std::optional<std::int64_t> max_views;
  std::int64_t view_count = 0;
  // ok: the track (track share) or collection + tracks (collection share).
  std::optional<TrackView> track;
  std::optional<CollectionView> collection;
  std::optional<std::vector<TrackView>> tracks;
  // What track and tracks point into (rows, playback URLs); shared by copies.
  std::shared_ptr<const void> text;
  bool view_counted = false;
  // First 12 hex of the token's SHA-256 (token_fingerprint), set when the
  // token was well-formed: the lookup computes the digest anyway.
  std::string token_fp;
};

struct ResolveOptions {
  // Who asks: decides playback URLs (mints_playback) and whether an ok
  // answer counts a view (counts_view).
  Requester requester = Requester::visitor;
  // Where a view is counted (exact for max_views links, batched for the
  // rest). Required when the requester counts views.
  ViewCounter* views = nullptr;
  // After counting a view of a link with max_views, read its view count
  // again, so view_count includes views that concurrent requests counted
  // meanwhile (the share page's "can be opened N more times" is then never
  // overstated). One more indexed read, for max_views links only.
  bool exact_view_count = false;
};

// The one resolver (SPEC 4 steps 2-6): token syntax, lookup by digest,
// status by SPEC 3 precedence, removed content, the view and its playback
// URLs, and the view count. A malformed token is not_found without a lookup.
// The reads take one snapshot of reader, so the answer reflects every change
// committed before the call (sharectl revoke, remove...). When the view is
// counted and the count loses a race (another request took the last view,
// or the link changed meanwhile), the answer is the link's status read
// afresh, limit_reached if it still looks active.
//
// signer may be null: then no playback URLs are minted. Throws Error if the
// requester counts views and options.views is null; storage failures
// propagate (DatabaseUnavailable, Error); every domain answer is a
// ResolveOutcome. Thread-safe as far as its arguments are (reader: one
// thread at a time).
ResolveResult resolve(CatalogReader& reader, std::string_view token, const ResolveOptions& options, TimePoint now,
                      const PlaybackSigner* signer);

// Fresh playback URLs for a link already opened (the share page's refresh):
// the link by id, its status, its content now, URLs minted as resolve()
// mints them, in one snapshot of reader. Never counts a view. Outcomes: ok
// (an exhausted link too: playback_continues), not_found (malformed or
// unknown id, without a lookup for a malformed one), revoked, expired,
// unavailable (content removed). Storage failures propagate
// (DatabaseUnavailable, Error). reader: one thread at a time.
ResolveResult playback_for_share(CatalogReader& reader, std::string_view share_id, TimePoint now,
                                 const PlaybackSigner& signer);

}  // namespace sharelink
