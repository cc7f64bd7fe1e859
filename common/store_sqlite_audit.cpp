// The SQLite backend's audit log: batched inserts, retention steps, and sharectl's queries over the audit
// file.
#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <string_view>
#include <tuple>
#include <variant>

#include "common/error.hpp"
#include "common/store_sqlite_rows.hpp"

namespace sharelink {
namespace {

// Rows deleted and rows aged per retention transaction: small enough that the
// daemon's writer (and a concurrent sharectl) never waits long for the lock.
constexpr int k_prune_step_rows = 2000;
// Rows read per round when --ip filters in C++.
constexpr int k_ip_scan_page_rows = 512;
// The writer's page cache. Inserts into the share_id and token_fp indexes
// land at random places, and a flood of distinct links and unknown tokens
// filled a 16 MB cache (it counts in the daemon's resident memory, which
// must stay under 64 MB whatever strangers send). 4 MB: 15 MB less resident
// memory after a 200,000-address flood, and no insert cost measurable next
// to the run-to-run spread, on an empty log or on a 20M-record one
// (tests/bench/README.md). The pages a batch rewrites are in the OS cache.
constexpr int k_writer_cache_kib = 4096;
// WAL pages between the writer's checkpoints (SQLite's default is 1000). A
// checkpoint copies each page once however often it was rewritten since the
// last one, and under load the same index pages are rewritten by every batch:
// fewer, larger checkpoints copy far fewer pages. 8192 pages is a WAL of
// 32 MB at most between checkpoints.
constexpr int k_writer_checkpoint_pages = 8192;

constexpr const char* k_insert_sql =
    "INSERT INTO audit_records (ts, event, outcome, status, client_ip, share_id, token_fp, "
    "request_id, user_agent, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

void bind_text(SQLite::Statement& statement, int index, const std::string& text) {
  if (text.empty()) {
    statement.bind(index);
  } else {
    statement.bind(index, text);
  }
}

// A column's text, valid until the statement steps again.
std::string_view text_of(const SQLite::Column& column) {
  const char* text = column.getText();
  return {text, static_cast<std::size_t>(column.getBytes())};
}

// Counts per client address text for audit stats: open addressing (linear
// probing, at most 70% full) over 16-byte slots, the texts appended to one
// byte arena: 40-60 bytes per distinct address. A node-based hash map
// chased several pointers per record, scattered over twice the memory, and
// that dominated stats on a long log (one day of a 20M-record log holds
// about 650,000 addresses). Addresses are counted in batches: the slots of
// a whole batch are prefetched first, so that their cache misses overlap
// instead of coming one after the other (the table is far larger than the
// CPU's caches; those misses were most of what was left).
class AddressCounts {
 public:
  // limit: the most distinct addresses counted.
  explicit AddressCounts(std::size_t limit) : limit_(limit) {}

  // Counts one more record of text. False once the counts are incomplete:
  // a new address past the limit, or a count or the arena past what a slot
  // holds (then nothing more is counted).
  bool add(std::string_view text) {
    if (failed_) return false;
    if (10 * (size_ + pending_count_ + 1) > 7 * slots_.size()) grow();
    Pending& p = pending_[pending_count_++];
    p.text.assign(text);
    p.hash = std::hash<std::string_view>{}(text);
    __builtin_prefetch(&slots_[p.hash & (slots_.size() - 1)]);
    if (pending_count_ == pending_.size()) drain();
    return !failed_;
  }

  // Counts what add() has queued; false when the counts are incomplete.
  bool finish() {
    drain();
    return !failed_;
  }

  // The n addresses counted most, most first, ties by address text as SQLite's BINARY order.
  std::vector<std::pair<std::string, std::int64_t>> top(std::size_t n) const {
    const auto before = [this](const Slot* a, const Slot* b) {
      return a->count != b->count ? a->count > b->count : text_of(*a) < text_of(*b);
    };
    // A heap of the best n so far, its worst on top.
    std::vector<const Slot*> best;
    for (const Slot& slot : slots_) {
      if (slot.count == 0) continue;
      if (best.size() < n) {
        best.push_back(&slot);
        std::push_heap(best.begin(), best.end(), before);
      } else if (n > 0 && before(&slot, best.front())) {
        std::pop_heap(best.begin(), best.end(), before);
        best.back() = &slot;
        std::push_heap(best.begin(), best.end(), before);
      }
    }
    std::sort_heap(best.begin(), best.end(), before);
    std::vector<std::pair<std::string, std::int64_t>> out;
    out.reserve(best.size());
    for (const Slot* slot : best) out.emplace_back(std::string(text_of(*slot)), slot->count);
    return out;
  }

 private:
  static constexpr std::uint32_t k_max = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::size_t k_batch = 32;

  struct Slot {
    std::uint32_t hash = 0;  // high half of the text's hash; the low bits chose the slot
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t count = 0;  // 0: empty
  };
  struct Pending {
    std::string text;
    std::uint64_t hash = 0;
  };

  std::string_view text_of(const Slot& slot) const { return std::string_view(arena_).substr(slot.offset, slot.length); }

  void drain() {
    for (std::size_t k = 0; k < pending_count_ && !failed_; ++k) failed_ = !count(pending_[k].text, pending_[k].hash);
    pending_count_ = 0;
    if (failed_) {  // incomplete counts are of no use: their memory goes back at once
      std::vector<Slot>().swap(slots_);
      std::string().swap(arena_);
      size_ = 0;
    }
  }

  bool count(std::string_view text, std::uint64_t full_hash) {
    const auto hash = static_cast<std::uint32_t>(full_hash >> 32);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = full_hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.count == 0) {
        if (size_ >= limit_ || arena_.size() + text.size() > k_max) return false;
        slot = {hash, static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(text.size()), 1};
        arena_.append(text);
        ++size_;
        return true;
      }
      if (slot.hash == hash && text_of(slot) == text) {
        if (slot.count == k_max) return false;
        ++slot.count;
        return true;
      }
    }
  }

  void grow() {
    std::vector<Slot> old(std::max<std::size_t>(1024, 2 * slots_.size()));
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.count == 0) continue;
      std::size_t i = std::hash<std::string_view>{}(text_of(slot)) & mask;
      while (slots_[i].count != 0) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  const std::size_t limit_;
  std::array<Pending, k_batch> pending_;
  std::size_t pending_count_ = 0;
  bool failed_ = false;
  std::vector<Slot> slots_;  // size a power of two
  std::string arena_;
  std::size_t size_ = 0;
};

// A client_ip inside the filter. Aged addresses are stored as their network
// address; should one carry a "/prefix", its network address is what counts.
bool ip_matches(const Cidr& filter, const std::string& client_ip) {
  if (client_ip.empty()) return false;
  const auto stored = parse_cidr(client_ip);
  return stored && filter.contains(stored->network);
}

using SqlValue = std::variant<std::int64_t, std::string>;

void bind_all(SQLite::Statement& statement, const std::vector<SqlValue>& values) {
  int index = 1;
  for (const auto& value : values) {
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
      statement.bind(index++, static_cast<std::int64_t>(*number));
    } else {
      statement.bind(index++, std::get<std::string>(value));
    }
  }
}

// " AND ..." conditions for every filter field SQL can check (all but ip).
void add_sql_conditions(const AuditFilter& filter, std::string& sql, std::vector<SqlValue>& values) {
  const auto text_condition = [&](const std::optional<std::string>& value, const char* condition) {
    if (!value) return;
    sql += condition;
    values.emplace_back(*value);
  };
  text_condition(filter.share_id, " AND share_id = ?");
  if (filter.token_fp) {
    // Matches schema/audit/0002: the token_fp index holds only records
    // without a share, the share index the others.
    if (filter.token_share_id) {
      sql += " AND ((token_fp = ? AND share_id IS NULL) OR (share_id = ? AND token_fp = ?))";
      values.emplace_back(*filter.token_fp);
      values.emplace_back(*filter.token_share_id);
      values.emplace_back(*filter.token_fp);
    } else {
      sql += " AND token_fp = ? AND share_id IS NULL";
      values.emplace_back(*filter.token_fp);
    }
  }
  text_condition(filter.event, " AND event = ?");
  text_condition(filter.outcome, " AND outcome = ?");
  if (filter.since) {
    sql += " AND ts >= ?";
    values.emplace_back(to_unix_millis(*filter.since));
  }
  if (filter.until) {
    sql += " AND ts < ?";
    values.emplace_back(to_unix_millis(*filter.until));
  }
  if (filter.after_id) {
    sql += " AND id > ?";
    values.emplace_back(*filter.after_id);
  }
}

// One connection on the audit database with its prepared statements. Used by
// one thread at a time (AuditStorage's contract).
class SqliteAuditStorage final : public AuditStorage {
 public:
  SqliteAuditStorage(const std::filesystem::path& file, AuditUse use, const StorageOptions& options)
      : what_("audit database " + file.string()),
        lock_wait_(options.lock_wait),
        clients_in_memory_(options.audit_stats_clients_in_memory) {
    try {
      // One thread at a time (AuditStorage's contract): SQLite skips its per-call lock.
      db_ = open_current_database(file, SchemaKind::audit, ConnectionThreading::one_thread_at_a_time, lock_wait_);
      if (use == AuditUse::writer) {
        db_->exec("PRAGMA cache_size = -" + std::to_string(k_writer_cache_kib));
        db_->exec("PRAGMA wal_autocheckpoint = " + std::to_string(k_writer_checkpoint_pages));
      }
      insert_.emplace(*db_, k_insert_sql);
      delete_old_.emplace(*db_,
                          "DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records "
                          "WHERE ip_truncated IN (0, 1) AND ts < ? LIMIT ?)");
      select_unaged_.emplace(
          *db_, "SELECT id, client_ip FROM audit_records WHERE ip_truncated = 0 AND ts < ? LIMIT ?");
      age_ip_.emplace(*db_, "UPDATE audit_records SET client_ip = ?, ip_truncated = 1 WHERE id = ?");
    } catch (const SQLite::Exception& e) {
      close();
      throw_storage_failure(e, "cannot prepare " + what_, lock_wait_);
    }
  }
  ~SqliteAuditStorage() override { close(); }

  // Every record in one transaction: all or none.
  void insert_batch(std::span<const AuditRecord> records) override {
    guarded([&] {
      with_write_transaction(*db_, [&] {
        for (const auto& record : records) insert(record);
      });
    });
  }

  bool prune_step(const PruneCutoffs& cutoffs, PruneReport& report) override {
    return guarded([&] { return prune_step_unguarded(cutoffs, report); });
  }

  std::vector<AuditRecord> query(const AuditFilter& filter) override {
    return guarded([&] {
      std::string base = std::string("SELECT ") + k_sqlite_audit_columns + " FROM audit_records WHERE 1";
      std::vector<SqlValue> values;
      add_sql_conditions(filter, base, values);
      std::vector<AuditRecord> records;
      const auto limit = static_cast<std::int64_t>(filter.limit);

      if (!filter.ip) {
        SQLite::Statement statement(*db_, base + " ORDER BY id DESC LIMIT ?");
        values.emplace_back(filter.limit == 0 ? std::int64_t{-1} : limit);
        bind_all(statement, values);
        while (statement.executeStep()) records.push_back(sqlite_audit_record(statement));
        return records;
      }

      // --ip: walk newest first in pages and test each address in C++ (there is
      // no address index; see schema/audit/0001_audit.sql). One read
      // transaction keeps the pages consistent with each other.
      SQLite::Transaction snapshot(*db_);
      SQLite::Statement statement(*db_, base + " AND id < ? ORDER BY id DESC LIMIT ?");
      std::int64_t below = INT64_MAX;
      for (;;) {
        std::vector<SqlValue> page_values = values;
        page_values.emplace_back(below);
        page_values.emplace_back(std::int64_t{k_ip_scan_page_rows});
        statement.reset();
        bind_all(statement, page_values);
        int rows = 0;
        while (statement.executeStep()) {
          ++rows;
          AuditRecord record = sqlite_audit_record(statement);
          below = record.id;
          if (!ip_matches(*filter.ip, record.client_ip)) continue;
          records.push_back(std::move(record));
          if (filter.limit != 0 && records.size() >= filter.limit) return records;
        }
        if (rows < k_ip_scan_page_rows) return records;
      }
    });
  }

  // One pass over the range, read from the age index alone (it holds event,
  // outcome and client_ip: schema/audit/0003), counted in C++: SQLite's GROUP
  // BY sorted every record of the range (about 650,000 a day on a log of 20M
  // records) once per query. Beyond clients_in_memory_ distinct addresses the
  // top clients come from SQLite's GROUP BY instead, in the same snapshot.
  AuditStats stats(std::optional<TimePoint> since, std::size_t top_clients) override {
    return guarded([&] {
      // The (ip_truncated, ts, ...) index serves the time range.
      const std::string range = since ? " AND ip_truncated IN (0, 1) AND ts >= ?" : "";
      const auto bind_since = [&](SQLite::Statement& statement) {
        if (since) statement.bind(1, static_cast<std::int64_t>(to_unix_millis(*since)));
      };
      SQLite::Transaction snapshot(*db_);

      struct OutcomeCount {
        std::string event, outcome;
        std::int64_t count = 0;
      };
      std::vector<OutcomeCount> outcomes;  // a handful: events and outcomes are fixed words
      std::size_t last = 0;
      AddressCounts clients(clients_in_memory_);
      bool count_clients = top_clients > 0;

      SQLite::Statement rows(*db_, "SELECT event, outcome, client_ip FROM audit_records WHERE 1" + range);
      bind_since(rows);
      while (rows.executeStep()) {
        const std::string_view event = text_of(rows.getColumn(0));
        const std::string_view outcome = text_of(rows.getColumn(1));
        if (last >= outcomes.size() || outcomes[last].event != event || outcomes[last].outcome != outcome) {
          last = 0;
          while (last < outcomes.size() && (outcomes[last].event != event || outcomes[last].outcome != outcome)) {
            ++last;
          }
          if (last == outcomes.size()) outcomes.push_back({std::string(event), std::string(outcome), 0});
        }
        ++outcomes[last].count;
        if (!count_clients) continue;
        const SQLite::Column ip = rows.getColumn(2);
        if (ip.isNull()) continue;
        count_clients = clients.add(text_of(ip));
      }
      const bool clients_counted = top_clients > 0 && clients.finish();

      // As "ORDER BY event, outcome" (BINARY: bytes compared unsigned, as std::string does).
      std::sort(outcomes.begin(), outcomes.end(), [](const OutcomeCount& a, const OutcomeCount& b) {
        return std::tie(a.event, a.outcome) < std::tie(b.event, b.outcome);
      });
      AuditStats stats;
      for (const auto& o : outcomes) {
        stats.by_outcome.emplace_back(o.event + "/" + o.outcome, o.count);
        stats.total += o.count;
      }

      if (top_clients > 0 && !clients_counted) {
        SQLite::Statement grouped(
            *db_, "SELECT client_ip, COUNT(*) AS n FROM audit_records WHERE client_ip IS NOT NULL" + range +
                      " GROUP BY client_ip ORDER BY n DESC, client_ip LIMIT ?");
        bind_since(grouped);
        grouped.bind(since ? 2 : 1, static_cast<std::int64_t>(top_clients));
        while (grouped.executeStep()) {
          stats.top_clients.emplace_back(grouped.getColumn(0).getString(), grouped.getColumn(1).getInt64());
        }
      } else {
        stats.top_clients = clients.top(top_clients);  // as "ORDER BY n DESC, client_ip LIMIT ?"
      }
      snapshot.commit();
      return stats;
    });
  }

  ShareAuditSummary share_summary(const std::string& share_id) override {
    return guarded([&] {
      ShareAuditSummary summary;
      SQLite::Statement statement(
          *db_,
          "SELECT outcome, COUNT(*), MAX(CASE WHEN outcome = 'ok' THEN ts END) "
          "FROM audit_records WHERE share_id = ? AND event IN ('resolve', 'page') GROUP BY outcome");
      statement.bind(1, share_id);
      while (statement.executeStep()) {
        summary.resolves_by_outcome[statement.getColumn(0).getString()] = statement.getColumn(1).getInt64();
        if (!statement.getColumn(2).isNull()) {
          summary.last_resolve = from_unix_millis(statement.getColumn(2).getInt64());
        }
      }
      return summary;
    });
  }

 private:
  template <typename Fn>
  auto guarded(Fn&& fn) -> decltype(fn()) {
    return sqlite_guarded(what_, lock_wait_, std::forward<Fn>(fn));
  }

  // One INSERT, in the caller's transaction. The record's text is bound
  // without copies: it lives until exec() has run.
  void insert(const AuditRecord& record) {
    SQLite::Statement& insert = *insert_;
    insert.tryReset();
    bind_sqlite_audit_fields(insert, 1, record);
    insert.exec();
    insert.reset();
  }

  // One retention transaction: deletes up to k_prune_step_rows expired rows,
  // or, when none are left, ages up to k_prune_step_rows client addresses.
  bool prune_step_unguarded(const PruneCutoffs& cutoffs, PruneReport& report) {
    int deleted = 0;
    int aged_rows = 0;
    int aged_ips = 0;
    with_write_transaction(*db_, [&] {
      SQLite::Statement& delete_old = *delete_old_;
      delete_old.tryReset();
      delete_old.bind(1, static_cast<std::int64_t>(to_unix_millis(cutoffs.delete_before)));
      delete_old.bind(2, k_prune_step_rows);
      deleted = delete_old.exec();
      delete_old.reset();
      // Age addresses only once the expired rows are gone, so that no row is
      // aged (and counted) just before it is deleted.
      if (deleted == k_prune_step_rows) return;

      std::vector<std::pair<std::int64_t, std::string>> unaged;
      SQLite::Statement& select_unaged = *select_unaged_;
      select_unaged.tryReset();
      select_unaged.bind(1, static_cast<std::int64_t>(to_unix_millis(cutoffs.age_ip_before)));
      select_unaged.bind(2, k_prune_step_rows);
      while (select_unaged.executeStep()) {
        unaged.emplace_back(select_unaged.getColumn(0).getInt64(), text_or_empty(select_unaged.getColumn(1)));
      }
      select_unaged.reset();

      SQLite::Statement& age_ip = *age_ip_;
      for (const auto& [id, client_ip] : unaged) {
        age_ip.tryReset();
        bind_text(age_ip, 1, client_ip.empty() ? client_ip : truncate_ip_text(client_ip));
        age_ip.bind(2, static_cast<std::int64_t>(id));
        age_ip.exec();
        age_ip.reset();
        if (!client_ip.empty()) ++aged_ips;
      }
      aged_rows = static_cast<int>(unaged.size());
    });
    report.deleted += deleted;
    report.ips_truncated += aged_ips;
    return deleted < k_prune_step_rows && aged_rows < k_prune_step_rows;
  }

  // The statements go before the connection (SQLiteCpp aborts otherwise).
  void close() {
    insert_.reset();
    delete_old_.reset();
    select_unaged_.reset();
    age_ip_.reset();
    db_.reset();
  }

  const std::string what_;
  const std::chrono::milliseconds lock_wait_;
  const std::size_t clients_in_memory_;
  std::unique_ptr<SQLite::Database> db_;
  std::optional<SQLite::Statement> insert_, delete_old_, select_unaged_, age_ip_;
};

}  // namespace

std::unique_ptr<AuditStorage> open_sqlite_audit(const std::filesystem::path& audit_file, AuditUse use,
                                                const StorageOptions& options) {
  return std::make_unique<SqliteAuditStorage>(audit_file, use, options);
}

}  // namespace sharelink
