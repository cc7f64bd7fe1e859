// The audit log's values (SPEC 7): one record and its cleaning, its event and outcome words, what a
// query selects, counts, and what a retention run changes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/client_address.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// What a record is about (SPEC 7): a resolve, a share page, a media request
// or a change made by sharectl.
enum class AuditEvent { resolve, page, media, admin };
// The event words, in the enum's order.
inline constexpr std::array<std::string_view, 4> k_audit_events = {"resolve", "page", "media", "admin"};
constexpr std::string_view to_string(AuditEvent event) { return k_audit_events[static_cast<std::size_t>(event)]; }
// The event a word names; nullopt for any other text.
std::optional<AuditEvent> parse_audit_event(std::string_view text);

// The outcomes of SPEC 7: the resolve outcomes, then the media ones the
// resolve list lacks (a media request's ok, not_found, rate_limited and
// error are the same words). Admin records have outcome ok. The first values
// of MetricOutcome (common/metrics.hpp) are these, in this order.
enum class AuditOutcome {
  ok,
  preview,
  unavailable,
  not_found,
  revoked,
  expired,
  limit_reached,
  rate_limited,
  bad_request,
  error,
  bad_signature,
  url_expired,
  share_inactive,
};
// The outcome words, in the enum's order.
inline constexpr std::array<std::string_view, 13> k_audit_outcomes = {
    "ok",           "preview",     "unavailable", "not_found",     "revoked",     "expired",       "limit_reached",
    "rate_limited", "bad_request", "error",       "bad_signature", "url_expired", "share_inactive"};
static_assert(static_cast<std::size_t>(AuditOutcome::share_inactive) + 1 == k_audit_outcomes.size());
constexpr std::string_view to_string(AuditOutcome outcome) {
  return k_audit_outcomes[static_cast<std::size_t>(outcome)];
}
// The outcome a word names; nullopt for any other text.
std::optional<AuditOutcome> parse_audit_outcome(std::string_view text);

// One audit record (SPEC 7). Empty strings are stored as NULL and read back
// as empty strings.
struct AuditRecord {
  std::int64_t id = 0;        // assigned by the database, increasing
  TimePoint ts;               // stored in milliseconds
  // As stored: to_string of an AuditEvent / AuditOutcome when written by
  // this version, read back as whatever text the database holds. Required.
  std::string event;
  std::string outcome;
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

// The user agent as stored: at most 256 bytes; control characters (C0, DEL and
// C1), backslash and bytes that are not well-formed UTF-8 escaped as \xNN
// (lowercase hex); never splits an escape or a UTF-8 sequence. The result is
// valid UTF-8 and safe to print on a terminal. Thread-safe.
std::string sanitize_user_agent(std::string_view user_agent);

// Checks and bounds a record before it is queued or written, so that no
// batch can fail on a malformed record and no stranger-controlled text is
// stored raw: throws Error if event or outcome is empty; user_agent and actor
// (256 bytes) and detail (1024 bytes) that are not already clean are
// sanitized as sanitize_user_agent does. Thread-safe.
void prepare_audit_record(AuditRecord& record);

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

// Throws Error unless both retention counts (audit.retention_days,
// audit.ip_retention_days) are at least 1.
void require_retention_days(int retention_days, int ip_retention_days);
// The cutoffs of a retention run at now: now - retention_days and
// now - ip_retention_days. Throws as require_retention_days.
PruneCutoffs retention_cutoffs(TimePoint now, int retention_days, int ip_retention_days);

}  // namespace sharelink
