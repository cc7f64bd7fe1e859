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

MembershipChange append_tracks(AdminStore& store, const std::string& collection_id,
                               const std::vector<std::string>& track_ids, std::string* offender) {
  MembershipChange result = MembershipChange::ok;
  store.write_transaction([&] {
    auto collection = store.collection(collection_id);
    if (!collection) {
      result = MembershipChange::unknown_collection;
      return;
    }
    std::vector<std::string>& members = collection->track_ids;
    std::unordered_set<std::string> present(members.begin(), members.end());
    for (const auto& id : track_ids) {
      if (!store.track(id)) {
        result = MembershipChange::unknown_track;
      } else if (!present.insert(id).second) {
        result = MembershipChange::duplicate_track;
      }
      if (result != MembershipChange::ok) {
        if (offender) *offender = id;
        return;
      }
      members.push_back(id);
    }
    store.set_collection_tracks(collection_id, members);
  });
  return result;
}

MembershipChange drop_tracks(AdminStore& store, const std::string& collection_id,
                             const std::vector<std::string>& track_ids, std::string* offender) {
  MembershipChange result = MembershipChange::ok;
  store.write_transaction([&] {
    auto collection = store.collection(collection_id);
    if (!collection) {
      result = MembershipChange::unknown_collection;
      return;
    }
    std::vector<std::string>& members = collection->track_ids;
    for (const auto& id : track_ids) {
      const auto it = std::find(members.begin(), members.end(), id);
      if (it == members.end()) {
        result = MembershipChange::not_member;
        if (offender) *offender = id;
        return;
      }
      members.erase(it);
    }
    store.set_collection_tracks(collection_id, members);
  });
  return result;
}

}  // namespace sharelink
