// The audit log's values (SPEC 7): one record, what a query selects, counts, and what a retention run
// changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/client_address.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// One audit record (SPEC 7). Empty strings are stored as NULL and read back
// as empty strings.
struct AuditRecord {
  std::int64_t id = 0;        // assigned by the database, increasing
  TimePoint ts;               // stored in milliseconds
  std::string event;          // resolve | page | media | admin; required
  std::string outcome;        // see SPEC 7; required
  std::optional<int> status;  // HTTP status; nullopt for admin
  std::string client_ip;
  std::string share_id;
  std::string token_fp;
  std::string request_id;
  // Pass through sanitize_user_agent first; text that is not already clean
  // (over 256 bytes, control characters, malformed UTF-8) is sanitized again
  // on the way in, so a stranger's header can never be stored raw.
  std::string user_agent;
  std::string actor;   // OS user, admin events; cleaned like user_agent
  std::string action;  // share.create, ...
  std::string detail;  // short text, admin only; cleaned the same way, at most 1024 bytes
};

// What an audit query selects; every set field must match.
struct AuditFilter {
  // Records whose client_ip lies inside (a truncated address is its network
  // address, so 203.0.113.0/24 still finds records aged to 203.0.113.0). A bare
  // address is a /32 or /128.
  std::optional<Cidr> ip;
  std::optional<std::string> share_id;
  // Records of the token with this fingerprint. Records that name a share
  // link are indexed by their link only, so a token that belongs to a link
  // also needs token_share_id; without it, only the records that name no
  // link match (unknown tokens, requests refused before the lookup).
  std::optional<std::string> token_fp;
  std::optional<std::string> token_share_id;  // the link of token_fp's token, if it has one
  std::optional<std::string> event;
  std::optional<std::string> outcome;
  std::optional<TimePoint> since;        // inclusive
  std::optional<TimePoint> until;        // exclusive
  std::optional<std::int64_t> after_id;  // only records with a larger id (for --follow)
  std::size_t limit = 100;               // 0 = no limit
};

// Counts for sharectl audit stats.
struct AuditStats {
  std::vector<std::pair<std::string, std::int64_t>> by_outcome;   // "event/outcome" -> count, sorted
  std::vector<std::pair<std::string, std::int64_t>> top_clients;  // ip -> count, most first
  std::int64_t total = 0;
};

// share inspect's audit summary of one link.
struct ShareAuditSummary {
  std::optional<TimePoint> last_resolve;
  std::map<std::string, std::int64_t> resolves_by_outcome;
};

// What a retention run changed.
struct PruneReport {
  std::int64_t deleted = 0;
  std::int64_t ips_truncated = 0;
};

// The cutoffs of one retention run: records with ts < delete_before are
// deleted; client_ip of records with ts < age_ip_before is truncated.
struct PruneCutoffs {
  TimePoint delete_before;
  TimePoint age_ip_before;
};

}  // namespace sharelink
