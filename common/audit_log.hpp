// The audit log (SPEC 7): records, the batched single-writer queue, queries, stats and retention.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/client_address.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// One audit record. Empty strings are stored as NULL.
struct AuditRecord {
  std::int64_t id = 0;  // assigned by the database
  TimePoint ts;
  std::string event;    // resolve | media | admin
  std::string outcome;  // see SPEC 7
  std::optional<int> status;  // HTTP status; nullopt for admin
  std::string client_ip;
  std::string share_id;
  std::string token_fp;
  std::string request_id;
  std::string user_agent;  // pass through sanitize_user_agent first
  std::string actor;       // OS user, admin events
  std::string action;      // share.create, ...
  std::string detail;      // short text, admin only
};

// At most 256 bytes, control characters (and backslash) escaped as \xNN, never
// splitting an escape or a UTF-8 sequence.
std::string sanitize_user_agent(std::string_view user_agent);

// Writes records off the request path: one writer thread drains a bounded
// queue in batched transactions. append() blocks while the queue is full
// (backpressure: records are never dropped). stop() (and the destructor)
// writes every queued record before returning. Thread-safe.
class AuditWriter {
 public:
  AuditWriter(const std::filesystem::path& audit_db, std::size_t queue_capacity = 16384);
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  void append(AuditRecord record);
  // Blocks until every record appended before the call is committed.
  void flush();
  void stop();

  std::size_t queue_depth() const;
  std::uint64_t records_written() const;
  std::uint64_t write_errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct AuditFilter {
  std::optional<Cidr> ip;  // a bare address is a /32 or /128
  std::optional<std::string> share_id;
  std::optional<std::string> token_fp;
  std::optional<std::string> event;
  std::optional<std::string> outcome;
  std::optional<TimePoint> since;  // inclusive
  std::optional<TimePoint> until;  // exclusive
  std::optional<std::int64_t> after_id;  // only records with a larger id (for --follow)
  std::size_t limit = 100;
};

struct AuditStats {
  std::vector<std::pair<std::string, std::int64_t>> by_outcome;  // "event/outcome" -> count, sorted
  std::vector<std::pair<std::string, std::int64_t>> top_clients;  // ip -> count, most first
  std::int64_t total = 0;
};

struct ShareAuditSummary {
  std::optional<TimePoint> last_resolve;
  std::map<std::string, std::int64_t> resolves_by_outcome;
};

struct PruneReport {
  std::int64_t deleted = 0;
  std::int64_t ips_truncated = 0;
};

// Synchronous access to the audit database for sharectl and maintenance.
// Not thread-safe: one per thread.
class AuditStore {
 public:
  explicit AuditStore(const std::filesystem::path& audit_db);
  ~AuditStore();
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  void append(const AuditRecord& record);
  // Newest first.
  std::vector<AuditRecord> query(const AuditFilter& filter);
  AuditStats stats(std::optional<TimePoint> since, std::size_t top_clients = 10);
  ShareAuditSummary share_summary(std::string_view share_id);
  // Deletes records older than now - retention_days, truncates client_ip of
  // records older than now - ip_retention_days.
  PruneReport prune(TimePoint now, int retention_days, int ip_retention_days);
  // Deletes records older than cutoff (sharectl audit prune --older-than).
  PruneReport prune_before(TimePoint cutoff, TimePoint ip_cutoff);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sharelink
