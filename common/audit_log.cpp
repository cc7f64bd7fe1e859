#include "common/audit_log.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "common/sqlite_connection.hpp"
#include "common/utf8.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_user_agent_max_bytes = 256;
constexpr std::size_t k_actor_max_bytes = 256;
constexpr std::size_t k_detail_max_bytes = 1024;
// Rows deleted and rows aged per retention transaction: small enough that the
// daemon's writer (and a concurrent sharectl) never waits long for the lock.
constexpr int k_prune_step_rows = 2000;
// Rows read per round when --ip filters in C++.
constexpr int k_ip_scan_page_rows = 512;
// The writer's page cache: inserts into the share_id and token_fp indexes
// land at random places, and a cache that holds their working set avoids
// re-reading pages at every batch (about a third less system time, measured).
// 16 MB holds a batch's pages at full load; it counts in the daemon's
// resident memory, which must stay under 100 MB whatever strangers send.
constexpr int k_writer_cache_kib = 16384;
// WAL pages between the writer's checkpoints (SQLite's default is 1000). A
// checkpoint copies each page once however often it was rewritten since the
// last one, and under load the same index pages are rewritten by every batch:
// fewer, larger checkpoints copy far fewer pages. 8192 pages is a WAL of
// 32 MB at most between checkpoints.
constexpr int k_writer_checkpoint_pages = 8192;
// The idle writer wakes this often to see whether retention is due.
constexpr auto k_idle_wake = std::chrono::seconds(1);
// Under load, a batch starts at most this long after the previous one, so
// records gather into fewer, larger transactions: a commit writes every page
// the batch touched (the table and three indexes), whatever its size, and
// cost more than the inserts themselves when batches were a few records each.
// The records are gathered outside the transaction, which lasts only as long
// as their inserts (a few ms at full load), so sharectl never waits long for
// the lock. The first record after a quiet spell is written at once.
constexpr auto k_batch_interval = std::chrono::milliseconds(50);
constexpr auto k_first_backoff = std::chrono::milliseconds(10);
constexpr auto k_max_backoff = std::chrono::milliseconds(2000);
// A failed retention run is retried after this long (by the retention clock).
constexpr auto k_prune_retry = std::chrono::minutes(1);

constexpr const char* k_insert_sql =
    "INSERT INTO audit_records (ts, event, outcome, status, client_ip, share_id, token_fp, "
    "request_id, user_agent, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* k_record_columns =
    "id, ts, event, outcome, status, client_ip, share_id, token_fp, request_id, user_agent, actor, "
    "action, detail";

// A sequence a terminal may act on: C0 controls, DEL, and C1 controls (U+0080..U+009F).
bool is_control(std::string_view text, std::size_t i, std::size_t length) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (length == 1) return lead < 0x20 || lead == 0x7F;
  return length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr char k_hex[] = "0123456789abcdef";
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += "\\x";
    out += k_hex[byte >> 4];
    out += k_hex[byte & 0x0F];
  }
}

// At most max_bytes of text with controls, backslash and malformed UTF-8
// escaped; stops before the first unit (a character or an escape) that does
// not fit whole.
std::string sanitize_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_sequence_length(text, i);
    const std::size_t consumed = length == 0 ? 1 : length;
    const bool escape = length == 0 || is_control(text, i, length) || text[i] == '\\';
    const std::size_t produced = escape ? 4 * consumed : consumed;
    if (out.size() + produced > max_bytes) break;
    if (escape) {
      append_escaped(out, text.substr(i, consumed));
    } else {
      out.append(text.substr(i, consumed));
    }
    i += consumed;
  }
  return out;
}

// True when text would be stored as given: short enough, well-formed UTF-8,
// no controls. Already sanitized text passes (its backslashes are escapes).
bool is_clean(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) return false;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0 || is_control(text, i, length)) return false;
    i += length;
  }
  return true;
}

void clean_field(std::string& text, std::size_t max_bytes) {
  if (!is_clean(text, max_bytes)) text = sanitize_text(text, max_bytes);
}

// Checks and bounds a record before it is queued or written, so that no batch
// can fail on a malformed record and no stranger-controlled text is stored raw.
void prepare_record(AuditRecord& record) {
  if (record.event.empty() || record.outcome.empty()) {
    throw Error("audit record without event or outcome (event \"" + record.event + "\", outcome \"" +
                record.outcome + "\")");
  }
  clean_field(record.user_agent, k_user_agent_max_bytes);
  clean_field(record.actor, k_actor_max_bytes);
  clean_field(record.detail, k_detail_max_bytes);
}

void bind_text(SQLite::Statement& statement, int index, const std::string& text) {
  if (text.empty()) {
    statement.bind(index);
  } else {
    statement.bind(index, text);
  }
}

// As bind_text, without SQLite copying the text: text must stay unchanged
// until the statement has run (the caller's record outlives exec()).
void bind_text_no_copy(SQLite::Statement& statement, int index, const std::string& text) {
  if (text.empty()) {
    statement.bind(index);
  } else {
    statement.bindNoCopy(index, text);
  }
}

std::string text_or_empty(const SQLite::Column& column) {
  return column.isNull() ? std::string() : column.getString();
}

// Reads the columns of k_record_columns, in that order.
AuditRecord read_record(SQLite::Statement& row) {
  AuditRecord record;
  record.id = row.getColumn(0).getInt64();
  record.ts = from_unix_millis(row.getColumn(1).getInt64());
  record.event = text_or_empty(row.getColumn(2));
  record.outcome = text_or_empty(row.getColumn(3));
  if (!row.getColumn(4).isNull()) record.status = row.getColumn(4).getInt();
  record.client_ip = text_or_empty(row.getColumn(5));
  record.share_id = text_or_empty(row.getColumn(6));
  record.token_fp = text_or_empty(row.getColumn(7));
  record.request_id = text_or_empty(row.getColumn(8));
  record.user_agent = text_or_empty(row.getColumn(9));
  record.actor = text_or_empty(row.getColumn(10));
  record.action = text_or_empty(row.getColumn(11));
  record.detail = text_or_empty(row.getColumn(12));
  return record;
}

// A client_ip inside the filter. Aged addresses are stored as their network
// address; should one carry a "/prefix", its network address is what counts.
bool ip_matches(const Cidr& filter, const std::string& client_ip) {
  if (client_ip.empty()) return false;
  const auto stored = parse_cidr(client_ip);
  return stored && filter.contains(stored->network);
}

std::chrono::hours days(int count) { return std::chrono::hours(24) * count; }

void require_retention_days(int retention_days, int ip_retention_days) {
  if (retention_days < 1 || ip_retention_days < 1) {
    throw Error("audit retention must be at least 1 day (got retention_days " + std::to_string(retention_days) +
                ", ip_retention_days " + std::to_string(ip_retention_days) + ")");
  }
}

struct PruneCutoffs {
  std::int64_t delete_before_ms;
  std::int64_t age_ip_before_ms;
};

// One connection on the audit database with its prepared statements. Used by
// one thread at a time (AuditStore's caller, or AuditWriter's thread).
class AuditDb {
 public:
  // Throws Error when the file is missing, not current, or cannot be prepared.
  explicit AuditDb(const std::filesystem::path& file) try
      : db_(open_connection(file, SchemaKind::audit)),
        insert_(*db_, k_insert_sql),
        delete_old_(*db_,
                    "DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records "
                    "WHERE ip_truncated IN (0, 1) AND ts < ? LIMIT ?)"),
        select_unaged_(*db_, "SELECT id, client_ip FROM audit_records WHERE ip_truncated = 0 AND ts < ? LIMIT ?"),
        age_ip_(*db_, "UPDATE audit_records SET client_ip = ?, ip_truncated = 1 WHERE id = ?") {
  } catch (const SQLite::Exception& e) {
    throw Error("cannot open audit database " + file.string() + ": " + e.what());
  }

  SQLite::Database& db() { return *db_; }

  // One INSERT, in the caller's transaction (or autocommit). The record's
  // text is bound without copies: it lives until exec() has run.
  void insert(const AuditRecord& record) {
    insert_.tryReset();
    insert_.bind(1, static_cast<std::int64_t>(to_unix_millis(record.ts)));
    insert_.bindNoCopy(2, record.event);
    insert_.bindNoCopy(3, record.outcome);
    if (record.status) {
      insert_.bind(4, *record.status);
    } else {
      insert_.bind(4);
    }
    bind_text_no_copy(insert_, 5, record.client_ip);
    bind_text_no_copy(insert_, 6, record.share_id);
    bind_text_no_copy(insert_, 7, record.token_fp);
    bind_text_no_copy(insert_, 8, record.request_id);
    bind_text_no_copy(insert_, 9, record.user_agent);
    bind_text_no_copy(insert_, 10, record.actor);
    bind_text_no_copy(insert_, 11, record.action);
    bind_text_no_copy(insert_, 12, record.detail);
    insert_.exec();
    insert_.reset();
  }

  // Every record of batch in one transaction: all or none.
  void insert_batch(const std::vector<AuditRecord>& batch) {
    with_write_transaction(*db_, [&] {
      for (const auto& record : batch) insert(record);
    });
  }

  // One retention transaction: deletes up to k_prune_step_rows expired rows,
  // or, when none are left, ages up to k_prune_step_rows client addresses. Adds what it committed to
  // report; returns true when nothing is left to do for these cutoffs.
  bool prune_step(const PruneCutoffs& cutoffs, PruneReport& report) {
    int deleted = 0;
    int aged_rows = 0;
    int aged_ips = 0;
    with_write_transaction(*db_, [&] {
      delete_old_.tryReset();
      delete_old_.bind(1, static_cast<std::int64_t>(cutoffs.delete_before_ms));
      delete_old_.bind(2, k_prune_step_rows);
      deleted = delete_old_.exec();
      delete_old_.reset();
      // Age addresses only once the expired rows are gone, so that no row is
      // aged (and counted) just before it is deleted.
      if (deleted == k_prune_step_rows) return;

      std::vector<std::pair<std::int64_t, std::string>> unaged;
      select_unaged_.tryReset();
      select_unaged_.bind(1, static_cast<std::int64_t>(cutoffs.age_ip_before_ms));
      select_unaged_.bind(2, k_prune_step_rows);
      while (select_unaged_.executeStep()) {
        unaged.emplace_back(select_unaged_.getColumn(0).getInt64(), text_or_empty(select_unaged_.getColumn(1)));
      }
      select_unaged_.reset();

      for (const auto& [id, client_ip] : unaged) {
        age_ip_.tryReset();
        bind_text(age_ip_, 1, client_ip.empty() ? client_ip : truncate_ip_text(client_ip));
        age_ip_.bind(2, static_cast<std::int64_t>(id));
        age_ip_.exec();
        age_ip_.reset();
        if (!client_ip.empty()) ++aged_ips;
      }
      aged_rows = static_cast<int>(unaged.size());
    });
    report.deleted += deleted;
    report.ips_truncated += aged_ips;
    return deleted < k_prune_step_rows && aged_rows < k_prune_step_rows;
  }

 private:
  // Declared first: the statements below must be destroyed before it.
  std::unique_ptr<SQLite::Database> db_;
  SQLite::Statement insert_;
  SQLite::Statement delete_old_;
  SQLite::Statement select_unaged_;
  SQLite::Statement age_ip_;
};

PruneCutoffs cutoffs_for(TimePoint now, int retention_days, int ip_retention_days) {
  return {to_unix_millis(now - days(retention_days)), to_unix_millis(now - days(ip_retention_days))};
}

}  // namespace

std::string sanitize_user_agent(std::string_view user_agent) {
  return sanitize_text(user_agent, k_user_agent_max_bytes);
}

// ---------------------------------------------------------------------------
// AuditWriter

struct AuditWriter::Impl {
  struct Retention {
    int retention_days;
    int ip_retention_days;
    Clock clock;
    TimePoint next_run;
  };

  Impl(const std::filesystem::path& file, const AuditWriterOptions& options)
      : options_(options), db_(file) {
    if (options_.queue_capacity == 0 || options_.batch_limit == 0) {
      throw Error("audit writer needs a queue capacity and a batch limit of at least 1");
    }
    try {
      db_.db().exec("PRAGMA cache_size = -" + std::to_string(k_writer_cache_kib));
      db_.db().exec("PRAGMA wal_autocheckpoint = " + std::to_string(k_writer_checkpoint_pages));
      db_.db().setBusyTimeout(static_cast<int>(options_.busy_timeout.count()));
    } catch (const SQLite::Exception& e) {
      throw Error("cannot set up audit database " + file.string() + ": " + e.what());
    }
    thread_ = std::thread([this] { run(); });
  }

  ~Impl() { stop(); }

  void append(AuditRecord record) {
    prepare_record(record);
    std::unique_lock lock(mutex_);
    progress_.wait(lock, [&] { return queue_.size() < options_.queue_capacity || closed_; });
    if (closed_) {
      lost_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(record));
    ++appended_;
    depth_.store(queue_.size(), std::memory_order_relaxed);
    const bool wake = queue_.size() == 1 || queue_.size() == options_.batch_limit;
    lock.unlock();
    // The writer waits for a first record, or gathers until a batch is full
    // or k_batch_interval has passed; otherwise it comes back for this record
    // after its current batch.
    if (wake) work_ready_.notify_one();
  }

  void flush() {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = appended_;
    ++flushers_;
    work_ready_.notify_one();  // no gathering while someone waits
    progress_.wait(lock, [&] { return done_ >= target || closed_; });
    --flushers_;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    std::lock_guard join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

  void set_retention(int retention_days, int ip_retention_days, Clock clock) {
    require_retention_days(retention_days, ip_retention_days);
    if (!clock) throw Error("audit retention needs a clock");
    {
      std::lock_guard lock(mutex_);
      retention_ = Retention{retention_days, ip_retention_days, std::move(clock), TimePoint::min()};
    }
    work_ready_.notify_all();
  }

  bool retention_due_locked() const { return retention_ && retention_->clock() >= retention_->next_run; }

  // The writer thread. Order per round: take a batch (under the lock, together
  // with the retention decision, so a flush() after a clock step sees the
  // retention run), run one retention step, write the batch. Never throws.
  void run() {
    std::vector<AuditRecord> batch;
    std::optional<PruneCutoffs> prune;
    auto backoff = k_first_backoff;
    // When the first failure after stop() was seen; time_point::max() = none yet.
    auto failing_since_stop = std::chrono::steady_clock::time_point::max();
    bool abandon = false;
    auto last_batch = std::chrono::steady_clock::time_point::min();
    for (;;) {
      bool stopping = false;
      {
        std::unique_lock lock(mutex_);
        if (batch.empty()) {
          if (!prune) {
            work_ready_.wait_for(lock, k_idle_wake,
                                 [&] { return !queue_.empty() || stopping_ || retention_due_locked(); });
            if (!queue_.empty() && last_batch != std::chrono::steady_clock::time_point::min()) {
              work_ready_.wait_until(lock, last_batch + k_batch_interval, [&] {
                return queue_.size() >= options_.batch_limit || stopping_ || flushers_ > 0;
              });
            }
          }
          if (queue_.empty() && stopping_) {
            closed_ = true;
            lock.unlock();
            progress_.notify_all();
            return;
          }
          // Every request thread appends under this lock, so it is held for
          // as little as possible: the usual whole-queue take is a swap (the
          // queue gets the last batch's emptied buffer back).
          const std::size_t take = std::min(queue_.size(), options_.batch_limit);
          if (take == queue_.size()) {
            batch.swap(queue_);
          } else {
            std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take), std::back_inserter(batch));
            queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
          }
          depth_.store(queue_.size(), std::memory_order_relaxed);
          if (take > 0) progress_.notify_all();  // room for blocked appenders
        }
        stopping = stopping_;
        if (!prune && !stopping && retention_due_locked()) {
          const TimePoint now = retention_->clock();
          prune = cutoffs_for(now, retention_->retention_days, retention_->ip_retention_days);
          retention_->next_run = now + options_.prune_interval;
        }
      }

      if (prune) run_prune_step(prune);
      if (batch.empty()) continue;

      if (abandon) {
        finish_batch(batch, false);
        continue;
      }
      try {
        last_batch = std::chrono::steady_clock::now();
        db_.insert_batch(batch);
        finish_batch(batch, true);
        backoff = k_first_backoff;
        failing_since_stop = std::chrono::steady_clock::time_point::max();
        continue;
      } catch (...) {
        errors_.fetch_add(1, std::memory_order_relaxed);
      }
      // The batch stays in hand and is retried: records are never dropped
      // while the daemon runs. Only a stop() facing a database that keeps
      // refusing writes gives up, after options_.stop_deadline.
      if (stopping) {
        const auto now = std::chrono::steady_clock::now();
        failing_since_stop = std::min(failing_since_stop, now);
        if (now - failing_since_stop >= options_.stop_deadline) {
          abandon = true;
          continue;
        }
      }
      std::unique_lock lock(mutex_);
      if (stopping) {
        work_ready_.wait_for(lock, backoff);
      } else {
        work_ready_.wait_for(lock, backoff, [&] { return stopping_; });
      }
      backoff = std::min(backoff * 2, k_max_backoff);
    }
  }

  void run_prune_step(std::optional<PruneCutoffs>& prune) {
    try {
      PruneReport ignored;
      if (db_.prune_step(*prune, ignored)) prune.reset();
    } catch (...) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      prune.reset();
      std::lock_guard lock(mutex_);
      if (retention_) retention_->next_run = retention_->clock() + k_prune_retry;
    }
  }

  // Marks batch as done (written, or abandoned at stop) and wakes flushers.
  void finish_batch(std::vector<AuditRecord>& batch, bool written) {
    const auto count = batch.size();
    (written ? written_ : lost_).fetch_add(count, std::memory_order_relaxed);
    batch.clear();
    {
      std::lock_guard lock(mutex_);
      done_ += count;
    }
    progress_.notify_all();
  }

  const AuditWriterOptions options_;
  AuditDb db_;  // used by the writer thread only, once started

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;  // writer waits: records queued, stop, retention due
  std::condition_variable progress_;    // appenders wait for room, flushers for done_
  std::vector<AuditRecord> queue_;      // guarded by mutex_
  std::uint64_t appended_ = 0;          // guarded by mutex_: records ever queued
  std::uint64_t done_ = 0;              // guarded by mutex_: of those, committed or abandoned
  int flushers_ = 0;                    // guarded by mutex_: threads waiting in flush()
  bool stopping_ = false;               // guarded by mutex_
  bool closed_ = false;                 // guarded by mutex_: the writer has ended
  std::optional<Retention> retention_;  // guarded by mutex_

  std::atomic<std::size_t> depth_{0};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> lost_{0};

  std::mutex join_mutex_;
  std::thread thread_;  // started last, in the constructor body
};

AuditWriter::AuditWriter(const std::filesystem::path& audit_db, std::size_t queue_capacity)
    : AuditWriter(audit_db, AuditWriterOptions{.queue_capacity = queue_capacity}) {}

AuditWriter::AuditWriter(const std::filesystem::path& audit_db, const AuditWriterOptions& options)
    : impl_(std::make_unique<Impl>(audit_db, options)) {}

AuditWriter::~AuditWriter() { stop(); }

void AuditWriter::append(AuditRecord record) { impl_->append(std::move(record)); }
void AuditWriter::flush() { impl_->flush(); }
void AuditWriter::stop() { impl_->stop(); }

void AuditWriter::set_retention(int retention_days, int ip_retention_days, Clock clock) {
  impl_->set_retention(retention_days, ip_retention_days, std::move(clock));
}

std::size_t AuditWriter::queue_depth() const { return impl_->depth_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::records_written() const { return impl_->written_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::write_errors() const { return impl_->errors_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::records_lost() const { return impl_->lost_.load(std::memory_order_relaxed); }

// ---------------------------------------------------------------------------
// AuditStore

struct AuditStore::Impl {
  explicit Impl(const std::filesystem::path& file) : path(file), db(file) {}

  // Runs fn, turning SQLite failures into Error naming the file.
  template <typename Fn>
  auto guarded(Fn&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const SQLite::Exception& e) {
      throw Error("audit database " + path.string() + ": " + e.what());
    }
  }

  std::filesystem::path path;
  AuditDb db;
};

namespace {

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

}  // namespace

AuditStore::AuditStore(const std::filesystem::path& audit_db) : impl_(std::make_unique<Impl>(audit_db)) {}

AuditStore::~AuditStore() = default;

void AuditStore::append(const AuditRecord& record) {
  AuditRecord prepared = record;
  prepare_record(prepared);
  impl_->guarded([&] { impl_->db.insert(prepared); });
}

std::vector<AuditRecord> AuditStore::query(const AuditFilter& filter) {
  return impl_->guarded([&] {
    std::string base = std::string("SELECT ") + k_record_columns + " FROM audit_records WHERE 1";
    std::vector<SqlValue> values;
    add_sql_conditions(filter, base, values);
    std::vector<AuditRecord> records;
    const auto limit = static_cast<std::int64_t>(filter.limit);

    if (!filter.ip) {
      SQLite::Statement statement(impl_->db.db(), base + " ORDER BY id DESC LIMIT ?");
      values.emplace_back(filter.limit == 0 ? std::int64_t{-1} : limit);
      bind_all(statement, values);
      while (statement.executeStep()) records.push_back(read_record(statement));
      return records;
    }

    // --ip: walk newest first in pages and test each address in C++ (there is
    // no address index; see schema/audit/0001_audit.sql). One read
    // transaction keeps the pages consistent with each other.
    SQLite::Transaction snapshot(impl_->db.db());
    SQLite::Statement statement(impl_->db.db(), base + " AND id < ? ORDER BY id DESC LIMIT ?");
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
        AuditRecord record = read_record(statement);
        below = record.id;
        if (!ip_matches(*filter.ip, record.client_ip)) continue;
        records.push_back(std::move(record));
        if (filter.limit != 0 && records.size() >= filter.limit) return records;
      }
      if (rows < k_ip_scan_page_rows) return records;
    }
  });
}

AuditStats AuditStore::stats(std::optional<TimePoint> since, std::size_t top_clients) {
  return impl_->guarded([&] {
    AuditStats stats;
    // The (ip_truncated, ts) index serves the time range.
    const std::string range = since ? " AND ip_truncated IN (0, 1) AND ts >= ?" : "";
    const auto bind_since = [&](SQLite::Statement& statement) {
      if (since) statement.bind(1, static_cast<std::int64_t>(to_unix_millis(*since)));
    };
    SQLite::Transaction snapshot(impl_->db.db());

    SQLite::Statement by_outcome(impl_->db.db(), "SELECT event, outcome, COUNT(*) FROM audit_records WHERE 1" +
                                                     range + " GROUP BY event, outcome ORDER BY event, outcome");
    bind_since(by_outcome);
    while (by_outcome.executeStep()) {
      const std::int64_t count = by_outcome.getColumn(2).getInt64();
      stats.by_outcome.emplace_back(by_outcome.getColumn(0).getString() + "/" + by_outcome.getColumn(1).getString(),
                                    count);
      stats.total += count;
    }

    if (top_clients > 0) {
      SQLite::Statement clients(impl_->db.db(),
                                "SELECT client_ip, COUNT(*) AS n FROM audit_records WHERE client_ip IS NOT NULL" +
                                    range + " GROUP BY client_ip ORDER BY n DESC, client_ip LIMIT ?");
      bind_since(clients);
      clients.bind(since ? 2 : 1, static_cast<std::int64_t>(top_clients));
      while (clients.executeStep()) {
        stats.top_clients.emplace_back(clients.getColumn(0).getString(), clients.getColumn(1).getInt64());
      }
    }
    snapshot.commit();
    return stats;
  });
}

ShareAuditSummary AuditStore::share_summary(std::string_view share_id) {
  return impl_->guarded([&] {
    ShareAuditSummary summary;
    SQLite::Statement statement(impl_->db.db(),
                                "SELECT outcome, COUNT(*), MAX(CASE WHEN outcome = 'ok' THEN ts END) "
                                "FROM audit_records WHERE share_id = ? AND event IN ('resolve', 'page') GROUP BY outcome");
    statement.bind(1, std::string(share_id));
    while (statement.executeStep()) {
      summary.resolves_by_outcome[statement.getColumn(0).getString()] = statement.getColumn(1).getInt64();
      if (!statement.getColumn(2).isNull()) summary.last_resolve = from_unix_millis(statement.getColumn(2).getInt64());
    }
    return summary;
  });
}

PruneReport AuditStore::prune(TimePoint now, int retention_days, int ip_retention_days) {
  require_retention_days(retention_days, ip_retention_days);
  return prune_before(now - days(retention_days), now - days(ip_retention_days));
}

PruneReport AuditStore::prune_before(TimePoint cutoff, TimePoint ip_cutoff) {
  return impl_->guarded([&] {
    PruneReport report;
    const PruneCutoffs cutoffs{to_unix_millis(cutoff), to_unix_millis(ip_cutoff)};
    while (!impl_->db.prune_step(cutoffs, report)) {
    }
    return report;
  });
}

}  // namespace sharelink
