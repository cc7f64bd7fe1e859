// The JSON documents of `sharectl --json` (SPEC 8 shapes, fields in the pinned order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/admin.hpp"
#include "common/audit_record.hpp"
#include "common/domain.hpp"

namespace sharelink {

// A JSON object built field by field, in insertion order (small reports).
class JsonObject {
 public:
  JsonObject& add(std::string key, std::string_view value);
  JsonObject& add(std::string key, const char* value) { return add(std::move(key), std::string_view(value)); }
  JsonObject& add(std::string key, std::int64_t value);
  JsonObject& add(std::string key, int value) {
    return add(std::move(key), static_cast<std::int64_t>(value));
  }
  JsonObject& add(std::string key, bool value);
  JsonObject& add_null(std::string key);
  // value must already be one serialised JSON document (e.g. another dump()).
  JsonObject& add_raw(std::string key, std::string value);
  std::string dump() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// A JSON array of documents that are already serialised.
std::string json_array(const std::vector<std::string>& documents);
// A JSON array of strings.
std::string json_strings(const std::vector<std::string>& texts);

// {"licence_class", "licence_version", "commercial_use", "requires_attribution"}
std::string licence_json(const Licence& licence);
// SPEC 8 `track show`: {"id", "title", ..., "removed_at", "created_at"}.
std::string track_json(const Track& track);
// SPEC 8 `collection show`: {"id", "name", "description", "track_ids", "removed_at", "created_at"}.
std::string collection_json(const Collection& collection);
// SPEC 8 `share create`: {"id", "token", "url", ...}. The only document that carries a token.
std::string created_share_json(const CreatedShare& created, std::string_view url, std::string_view page_url);

// A share link as `share inspect` / `share list` show it.
struct ShareReport {
  Share share;
  ShareStatus status = ShareStatus::active;
  bool target_removed = false;
  std::optional<ShareAuditSummary> audit;  // share inspect only
};
// The share fields of SPEC 3, then "status", "target_removed", "token_fp",
// then "audit" when present. Never the token.
std::string share_json(const ShareReport& report);

// {"status": N, "body": {...}}: body must be the JSON text the daemon would answer.
std::string resolve_json(int status, std::string_view body);
// The document re-indented by two spaces.
std::string pretty_json(std::string_view document);

// One audit record with the SPEC 7 fields in order; empty texts as null.
// compact: on one line (JSON Lines, for --follow).
std::string audit_record_json(const AuditRecord& record, bool compact = false);
// {"total", "by_outcome": {"event/outcome": n}, "top_clients": [{"client_ip", "count"}]}
std::string audit_stats_json(const AuditStats& stats);

}  // namespace sharelink
