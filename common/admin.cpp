#include "common/admin.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "common/ids.hpp"

namespace sharelink {

CreatedShare create_share(AdminStore& store, const NewShare& request, TimePoint now) {
  CreatedShare created;
  created.token = new_share_token();
  Share& s = created.share;
  s.id = new_share_id();
  s.target_type = request.target_type;
  s.target_id = request.target_id;
  s.visibility = request.visibility;
  s.created_at = std::chrono::floor<std::chrono::seconds>(now);
  s.expires_at = request.expires_at;
  s.max_views = request.max_views;
  s.note = request.note;
  s.created_by = request.created_by;
  const std::string digest = token_digest(created.token);
  s.token_fp = digest.substr(0, 12);
  store.insert_share(s, digest);
  return created;
}

std::optional<Share> find_share_by_token(AdminStore& store, std::string_view token) {
  if (!is_share_token(token)) return std::nullopt;
  return store.share_by_digest(token_digest(token));
}

bool target_removed(AdminStore& store, const ShareRecord& share) {
  if (share.target_type == TargetType::track) return !content_available(store.track(share.target_id));
  return !content_available(store.collection(share.target_id));
}

namespace {

// Loads the collection's track list in one write transaction, lets change
// edit it (naming the offending id, if any, in offender) and stores the list
// it leaves when it answers ok; nothing is written otherwise.
template <typename Change>
MembershipChange change_members(AdminStore& store, const std::string& collection_id, Change&& change) {
  MembershipChange result = MembershipChange::ok;
  store.write_transaction([&] {
    auto collection = store.collection(collection_id);
    if (!collection) {
      result = MembershipChange::unknown_collection;
      return;
    }
    result = change(collection->track_ids);
    if (result == MembershipChange::ok) store.set_collection_tracks(collection_id, collection->track_ids);
  });
  return result;
}

}  // namespace

MembershipChange append_tracks(AdminStore& store, const std::string& collection_id,
                               const std::vector<std::string>& track_ids, std::string* offender) {
  return change_members(store, collection_id, [&](std::vector<std::string>& members) {
    std::unordered_set<std::string> present(members.begin(), members.end());
    for (const auto& id : track_ids) {
      MembershipChange problem = MembershipChange::ok;
      if (!store.track(id)) {
        problem = MembershipChange::unknown_track;
      } else if (!present.insert(id).second) {
        problem = MembershipChange::duplicate_track;
      }
      if (problem != MembershipChange::ok) {
        if (offender) *offender = id;
        return problem;
      }
      members.push_back(id);
    }
    return MembershipChange::ok;
  });
}

MembershipChange drop_tracks(AdminStore& store, const std::string& collection_id,
                             const std::vector<std::string>& track_ids, std::string* offender) {
  return change_members(store, collection_id, [&](std::vector<std::string>& members) {
    for (const auto& id : track_ids) {
      const auto it = std::find(members.begin(), members.end(), id);
      if (it == members.end()) {
        if (offender) *offender = id;
        return MembershipChange::not_member;
      }
      members.erase(it);
    }
    return MembershipChange::ok;
  });
}

}  // namespace sharelink
