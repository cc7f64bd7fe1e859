// Share links (SPEC 3): creation with a fresh token, listing, inspection, revocation, expiry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_format.hpp"

namespace sharelink {

enum class ShareStatus { active, revoked, expired, exhausted };
const char* to_string(ShareStatus status);
std::optional<ShareStatus> parse_share_status(std::string_view text);

struct Share {
  std::string id;
  std::string target_type;  // "track" | "collection"
  std::string target_id;
  std::string visibility = "link_only";  // "link_only" | "public"
  TimePoint created_at;
  std::optional<TimePoint> expires_at;
  std::optional<std::int64_t> max_views;
  std::int64_t view_count = 0;
  std::optional<TimePoint> last_viewed_at;
  std::optional<TimePoint> revoked_at;
  std::optional<std::string> revoke_reason;
  std::optional<std::string> note;
  std::string created_by;
  std::string token_fp;  // first 12 hex of SHA-256(token); the token itself is never stored
};

// Status by SPEC 3 precedence: revoked, expired (expires_at <= now), exhausted, active.
ShareStatus share_status(const Share& share, TimePoint now);

struct NewShare {
  std::string target_type;
  std::string target_id;
  std::string visibility = "link_only";
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
