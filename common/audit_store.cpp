// sharectl's access to the audit log: records cleaned as the writer cleans them, queries, retention steps.
#include "common/audit_store.hpp"

#include <utility>

#include "common/error.hpp"

namespace sharelink {

AuditStore::AuditStore(std::unique_ptr<AuditStorage> storage) : storage_(std::move(storage)) {
  if (!storage_) throw Error("audit store needs an audit storage");
}

AuditStore::~AuditStore() = default;
AuditStore::AuditStore(AuditStore&&) noexcept = default;

void AuditStore::append(const AuditRecord& record) {
  AuditRecord prepared = record;
  prepare_audit_record(prepared);
  storage_->insert_batch({&prepared, 1});
}

void AuditStore::append_all(std::span<const AuditRecord> records) {
  std::vector<AuditRecord> prepared(records.begin(), records.end());
  for (auto& record : prepared) prepare_audit_record(record);
  storage_->insert_batch(prepared);
}

std::vector<AuditRecord> AuditStore::query(const AuditFilter& filter) { return storage_->query(filter); }

AuditStats AuditStore::stats(std::optional<TimePoint> since, std::size_t top_clients) {
  return storage_->stats(since, top_clients);
}

ShareAuditSummary AuditStore::share_summary(const std::string& share_id) { return storage_->share_summary(share_id); }

PruneReport AuditStore::prune(TimePoint now, int retention_days, int ip_retention_days) {
  const PruneCutoffs cutoffs = retention_cutoffs(now, retention_days, ip_retention_days);
  return prune_before(cutoffs.delete_before, cutoffs.age_ip_before);
}

PruneReport AuditStore::prune_before(TimePoint cutoff, TimePoint ip_cutoff) {
  PruneReport report;
  const PruneCutoffs cutoffs{cutoff, ip_cutoff};
  while (!storage_->prune_step(cutoffs, report)) {
  }
  return report;
}

}  // namespace sharelink
