// Synchronous access to the audit log (SPEC 7) for sharectl and maintenance: appends, queries, stats
// and retention, over one AuditStorage connection.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/audit_record.hpp"
#include "common/store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// Synchronous access to the audit log for sharectl and maintenance, over its
// own AuditStorage connection: checks and cleans records as AuditWriter does
// (prepare_audit_record),
// and runs retention step by step. Not thread-safe: one per thread. Storage
// failures propagate (DatabaseUnavailable, Error).
class AuditStore {
 public:
  // Takes a connection (StorageBackend::open_audit(AuditUse::queries)).
  // Throws Error if storage is null.
  explicit AuditStore(std::unique_ptr<AuditStorage> storage);
  ~AuditStore();
  AuditStore(AuditStore&&) noexcept;
  AuditStore& operator=(AuditStore&&) = delete;
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  // Writes one record at once (sharectl's admin events). Throws Error if event
  // or outcome is empty.
  void append(const AuditRecord& record);
  // Writes the records in one transaction, in order: all or none (the spill
  // import: a segment and its marker). Throws Error if one lacks an event or
  // an outcome (nothing written).
  void append_all(std::span<const AuditRecord> records);
  // Records matching every field of filter, newest first (id descending), at
  // most filter.limit.
  std::vector<AuditRecord> query(const AuditFilter& filter);
  // Counts per event/outcome and the top_clients most frequent client_ip
  // values, over records with ts >= since (all records when nullopt).
  AuditStats stats(std::optional<TimePoint> since, std::size_t top_clients = 10);
  // share inspect: the last successful opening of one share link (event
  // resolve or page: the API and the share page, outcome ok) and the
  // openings by outcome; empty when it has none.
  ShareAuditSummary share_summary(const std::string& share_id);
  // Deletes records older than now - retention_days and truncates client_ip
  // (IPv4 /24, IPv6 /48) of records older than now - ip_retention_days, in
  // short steps (AuditStorage::prune_step). Already truncated records are not
  // counted again. Throws Error unless both counts are >= 1.
  PruneReport prune(TimePoint now, int retention_days, int ip_retention_days);
  // The same with explicit cutoffs (sharectl audit prune --older-than):
  // records with ts < cutoff are deleted, client_ip of records with
  // ts < ip_cutoff is truncated.
  PruneReport prune_before(TimePoint cutoff, TimePoint ip_cutoff);

 private:
  std::unique_ptr<AuditStorage> storage_;
};

}  // namespace sharelink
