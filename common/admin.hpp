// What sharectl changes that carries a rule: share creation, collection membership, removed targets (over
// AdminStore).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/domain.hpp"
#include "common/store.hpp"

namespace sharelink {

struct NewShare {
  TargetType target_type = TargetType::track;
  std::string target_id;
  Visibility visibility = Visibility::link_only;
  std::optional<TimePoint> expires_at;
  std::optional<std::int64_t> max_views;
  std::optional<std::string> note;
  std::string created_by;
};

struct CreatedShare {
  Share share;
  std::string token;  // the raw token: shown once, never stored
};

// Creates a link with a fresh id and token (SPEC 2: 128 bits from the
// CSPRNG); only the token's digest is stored. created_at is now in whole
// seconds. The caller has checked that the target exists. Throws as
// AdminStore::insert_share.
CreatedShare create_share(AdminStore& store, const NewShare& request, TimePoint now);

// The link behind a raw token (looked up by digest); nullopt for an unknown
// or malformed token.
std::optional<Share> find_share_by_token(AdminStore& store, std::string_view token);

// The removed-content rule for sharectl (share list/inspect): true when the
// link's track or collection is removed by its creator or missing.
bool target_removed(AdminStore& store, const ShareRecord& share);

enum class MembershipChange { ok, unknown_collection, unknown_track, duplicate_track, not_member };

// Appends tracks to the collection in the given order, all or nothing, in one
// write transaction: refused (nothing changed) when the collection or a track
// is unknown, or a track is in it already or twice in track_ids. On refusal,
// offender (if not null) names the first offending track.
MembershipChange append_tracks(AdminStore& store, const std::string& collection_id,
                               const std::vector<std::string>& track_ids, std::string* offender);
// Removes tracks from the collection, keeping the order of the rest; all or
// nothing: refused when the collection is unknown or a track is not in it.
MembershipChange drop_tracks(AdminStore& store, const std::string& collection_id,
                             const std::vector<std::string>& track_ids, std::string* offender);

}  // namespace sharelink
