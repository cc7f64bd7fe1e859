// The PostgreSQL backend's audit log: batches by COPY, retention steps safe from several daemons, and
// sharectl's queries.
#include "common/client_address.hpp"
#include "common/error.hpp"
#include "common/store_postgres.hpp"

namespace sharelink {
namespace {

// Rows deleted and rows aged per retention transaction, as on SQLite: short
// transactions, so no writer waits long behind one.
constexpr std::int64_t k_prune_step_rows = 2000;

const PgStatement k_insert_lock{"audit_insert_lock", "SELECT pg_advisory_xact_lock($1)"};

// Deletes up to $2 records older than $1. Rows another daemon's retention
// holds are skipped (it deletes them), so two pruners never wait on each other.
const PgStatement k_delete_old{
    "audit_delete_old",
    "WITH batch AS (SELECT id FROM audit_records WHERE ip_truncated IN (false, true) AND ts < $1 "
    "LIMIT $2 FOR UPDATE SKIP LOCKED) "
    "DELETE FROM audit_records a USING batch WHERE a.id = batch.id"};

// Ages up to $2 addresses of records older than $1: IPv4 to its /24, IPv6
// to its /48, kept with a full-length mask (host() reads the network
// address, as truncate_ip_text writes it on SQLite). Answers the rows aged
// and how many of them had an address.
const PgStatement k_age_ips{
    "audit_age_ips",
    "WITH batch AS (SELECT id FROM audit_records WHERE NOT ip_truncated AND ts < $1 "
    "LIMIT $2 FOR UPDATE SKIP LOCKED), "
    "aged AS (UPDATE audit_records a SET ip_truncated = true, client_ip = CASE "
    "WHEN a.client_ip IS NULL THEN NULL "
    "WHEN family(a.client_ip) = 4 THEN set_masklen(network(set_masklen(a.client_ip, 24)), 32) "
    "ELSE set_masklen(network(set_masklen(a.client_ip, 48)), 128) END "
    "FROM batch WHERE a.id = batch.id RETURNING a.client_ip IS NOT NULL AS had_address) "
    "SELECT count(*), count(*) FILTER (WHERE had_address) FROM aged"};

// " AND ..." conditions for every field of filter, numbered from $1.
void add_conditions(const AuditFilter& filter, std::string& sql, PgParams& params) {
  const auto next = [&] { return "$" + std::to_string(params.size() + 1); };
  const auto text_condition = [&](const std::optional<std::string>& value, const char* column) {
    if (!value) return;
    sql += std::string(" AND ") + column + " = " + next();
    params.add(*value);
  };
  text_condition(filter.share_id, "share_id");
  if (filter.token_fp) {
    // As on SQLite (schema/audit/0002): the token_fp index holds only the
    // records without a share, the share index the others.
    if (filter.token_share_id) {
      const std::string fp = next();
      params.add(*filter.token_fp);
      const std::string share = next();
      params.add(*filter.token_share_id);
      sql += " AND ((token_fp = " + fp + " AND share_id IS NULL) OR (share_id = " + share + " AND token_fp = " + fp +
             "))";
    } else {
      sql += " AND token_fp = " + next() + " AND share_id IS NULL";
      params.add(*filter.token_fp);
    }
  }
  text_condition(filter.event, "event");
  text_condition(filter.outcome, "outcome");
  if (filter.since) {
    sql += " AND ts >= " + next();
    params.add(to_unix_millis(*filter.since));
  }
  if (filter.until) {
    sql += " AND ts < " + next();
    params.add(to_unix_millis(*filter.until));
  }
  if (filter.after_id) {
    sql += " AND id > " + next();
    params.add(*filter.after_id);
  }
  if (filter.ip) {
    // An aged address is its network address (full mask): inside the filter
    // exactly when that address is.
    sql += " AND client_ip <<= " + next() + "::inet";
    params.add(filter.ip->network.to_string() + "/" + std::to_string(filter.ip->prefix));
  }
}

// One session, reopened by itself after it is lost (the daemon's writer keeps
// this object through an outage and retries its batch).
class PgAuditStorage final : public AuditStorage {
 public:
  explicit PgAuditStorage(const PgSettings& settings) : session_(settings) { session_.session(); }

  // One COPY in one transaction: all or none. The transaction holds an
  // advisory lock from before the first id is drawn until its commit, so
  // batches of several daemons commit in id order: a reader that follows the
  // log by "id > last seen" (sharectl audit --follow) never skips a record
  // that commits late.
  void insert_batch(std::span<const AuditRecord> records) override {
    if (records.empty()) return;
    session_.with([&](PgConnection& c) {
      PgTransaction transaction(c);
      c.exec(k_insert_lock, PgParams(k_pg_audit_insert_lock));
      PgCopyIn copy(c,
                    "COPY audit_records (ts, event, outcome, status, client_ip, share_id, token_fp, request_id, "
                    "user_agent, actor, action, detail) FROM STDIN");
      for (const auto& record : records) {
        PgParams row;
        add_pg_audit_fields(row, record);
        copy.row(row);
      }
      copy.finish();
      transaction.commit();
    });
  }

  bool prune_step(const PruneCutoffs& cutoffs, PruneReport& report) override {
    return session_.with([&](PgConnection& c) {
      PgTransaction transaction(c);
      const std::int64_t deleted =
          c.exec(k_delete_old, PgParams(to_unix_millis(cutoffs.delete_before), k_prune_step_rows)).affected_rows();
      std::int64_t aged_rows = 0;
      std::int64_t aged_ips = 0;
      // Addresses are aged only once the expired rows are gone, so that no
      // row is aged (and counted) just before it is deleted.
      if (deleted < k_prune_step_rows) {
        const PgResult aged = c.exec(k_age_ips, PgParams(to_unix_millis(cutoffs.age_ip_before), k_prune_step_rows));
        aged_rows = aged.row(0).int64(0);
        aged_ips = aged.row(0).int64(1);
      }
      transaction.commit();
      report.deleted += deleted;
      report.ips_truncated += aged_ips;
      return deleted < k_prune_step_rows && aged_rows < k_prune_step_rows;
    });
  }

  std::vector<AuditRecord> query(const AuditFilter& filter) override {
    std::string sql = std::string("SELECT ") + k_pg_audit_columns + " FROM audit_records WHERE true";
    PgParams params;
    add_conditions(filter, sql, params);
    sql += " ORDER BY id DESC";
    if (filter.limit != 0) {
      sql += " LIMIT $" + std::to_string(params.size() + 1);
      params.add(static_cast<std::int64_t>(filter.limit));
    }
    const PgResult result = session_.with([&](PgConnection& c) { return c.exec(sql, params); });
    return pg_read_rows(result, pg_audit_record);
  }

  AuditStats stats(std::optional<TimePoint> since, std::size_t top_clients) override {
    return session_.with([&](PgConnection& c) {
      AuditStats stats;
      // The (ip_truncated, ts) index serves the time range.
      const std::string range = since ? " AND ip_truncated IN (false, true) AND ts >= $1" : "";
      PgParams params;
      if (since) params.add(to_unix_millis(*since));
      PgTransaction snapshot(c, {PgIsolation::repeatable_read, true});
      const PgResult by_outcome = c.exec("SELECT event, outcome, count(*) FROM audit_records WHERE true" + range +
                                             " GROUP BY event, outcome ORDER BY event, outcome",
                                         params);
      for (int i = 0; i < by_outcome.rows(); ++i) {
        const PgRow row = by_outcome.row(i);
        const std::int64_t count = row.int64(2);
        stats.by_outcome.emplace_back(row.string(0) + "/" + row.string(1), count);
        stats.total += count;
      }
      if (top_clients > 0) {
        PgParams client_params = params;
        client_params.add(static_cast<std::int64_t>(top_clients));
        const PgResult clients = c.exec(
            "SELECT host(client_ip), count(*) AS n FROM audit_records WHERE client_ip IS NOT NULL" + range +
                " GROUP BY client_ip ORDER BY n DESC, host(client_ip) COLLATE \"C\" LIMIT $" +
                std::to_string(client_params.size()),
            client_params);
        for (int i = 0; i < clients.rows(); ++i) {
          const PgRow row = clients.row(i);
          stats.top_clients.emplace_back(pg_client_ip(row, 0), row.int64(1));
        }
      }
      snapshot.commit();
      return stats;
    });
  }

  ShareAuditSummary share_summary(const std::string& share_id) override {
    const PgResult result = session_.with([&](PgConnection& c) {
      return c.exec(
          "SELECT outcome, count(*), max(CASE WHEN outcome = 'ok' THEN ts END) FROM audit_records "
          "WHERE share_id = $1 AND event IN ('resolve', 'page') GROUP BY outcome",
          PgParams(share_id));
    });
    ShareAuditSummary summary;
    for (int i = 0; i < result.rows(); ++i) {
      const PgRow row = result.row(i);
      summary.resolves_by_outcome[row.string(0)] = row.int64(1);
      if (const auto last = row.optional_int64(2)) summary.last_resolve = from_unix_millis(*last);
    }
    return summary;
  }

 private:
  PgSession session_;
};

}  // namespace

std::unique_ptr<AuditStorage> open_postgres_audit(const PgSettings& settings) {
  return std::make_unique<PgAuditStorage>(settings);
}

}  // namespace sharelink
