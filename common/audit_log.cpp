#include "common/audit_log.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_user_agent_max_bytes = 256;
constexpr std::size_t k_actor_max_bytes = 256;
constexpr std::size_t k_detail_max_bytes = 1024;
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

// A sequence a terminal may act on: C0 controls, DEL, and C1 controls (U+0080..U+009F).
bool is_control(std::string_view text, std::size_t i, std::size_t length) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (length == 1) return lead < 0x20 || lead == 0x7F;
  return length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr const char* k_hex = k_hex_lower;
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

std::chrono::hours days(int count) { return std::chrono::hours(24) * count; }

void require_retention_days(int retention_days, int ip_retention_days) {
  if (retention_days < 1 || ip_retention_days < 1) {
    throw Error("audit retention must be at least 1 day (got retention_days " + std::to_string(retention_days) +
                ", ip_retention_days " + std::to_string(ip_retention_days) + ")");
  }
}

PruneCutoffs cutoffs_for(TimePoint now, int retention_days, int ip_retention_days) {
  return {now - days(retention_days), now - days(ip_retention_days)};
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

  Impl(std::unique_ptr<AuditStorage> storage, const AuditWriterOptions& options)
      : options_(options), db_(std::move(storage)) {
    if (options_.queue_capacity == 0 || options_.batch_limit == 0) {
      throw Error("audit writer needs a queue capacity and a batch limit of at least 1");
    }
    if (!db_) throw Error("audit writer needs an audit storage");
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
        db_->insert_batch(batch);
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
      if (db_->prune_step(*prune, ignored)) prune.reset();
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
  std::unique_ptr<AuditStorage> db_;  // used by the writer thread only, once started

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

AuditWriter::AuditWriter(std::unique_ptr<AuditStorage> storage, const AuditWriterOptions& options)
    : impl_(std::make_unique<Impl>(std::move(storage), options)) {}

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

AuditStore::AuditStore(std::unique_ptr<AuditStorage> storage) : storage_(std::move(storage)) {
  if (!storage_) throw Error("audit store needs an audit storage");
}

AuditStore::~AuditStore() = default;
AuditStore::AuditStore(AuditStore&&) noexcept = default;

void AuditStore::append(const AuditRecord& record) {
  AuditRecord prepared = record;
  prepare_record(prepared);
  storage_->insert_batch({&prepared, 1});
}

std::vector<AuditRecord> AuditStore::query(const AuditFilter& filter) { return storage_->query(filter); }

AuditStats AuditStore::stats(std::optional<TimePoint> since, std::size_t top_clients) {
  return storage_->stats(since, top_clients);
}

ShareAuditSummary AuditStore::share_summary(const std::string& share_id) { return storage_->share_summary(share_id); }

PruneReport AuditStore::prune(TimePoint now, int retention_days, int ip_retention_days) {
  require_retention_days(retention_days, ip_retention_days);
  return prune_before(now - days(retention_days), now - days(ip_retention_days));
}

PruneReport AuditStore::prune_before(TimePoint cutoff, TimePoint ip_cutoff) {
  PruneReport report;
  const PruneCutoffs cutoffs{cutoff, ip_cutoff};
  while (!storage_->prune_step(cutoffs, report)) {
  }
  return report;
}

}  // namespace sharelink
