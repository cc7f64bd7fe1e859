// Share links (SPEC 3): creation with a fresh token, listing, inspection, revocation, expiry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/domain.hpp"

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

// Share links over one SQLite connection of its own. Not thread-safe: one per
// thread. Database failures throw Error; unknown ids are return values.
class ShareStore {
 public:
  explicit ShareStore(const std::filesystem::path& db_file);
  ~ShareStore();
  ShareStore(const ShareStore&) = delete;
  ShareStore& operator=(const ShareStore&) = delete;

  // Creates a link with a fresh token; the caller has checked the target exists.
  CreatedShare create(const NewShare& request, TimePoint now);
  std::optional<Share> find(std::string_view id);
  std::optional<Share> find_by_token(std::string_view token);
  // Newest first. status filters by share_status at now; target by target_id.
  std::vector<Share> list(std::optional<ShareStatus> status, std::optional<std::string> target, TimePoint now);
  // Idempotent: a revoked link keeps its first revoked_at and reason. False if unknown.
  bool revoke(std::string_view id, std::optional<std::string> reason, TimePoint now);
  // Sets expires_at = at. False if unknown.
  bool expire(std::string_view id, TimePoint at);
  // True when the target track/collection is removed (or missing).
  bool target_removed(const Share& share);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sharelink
