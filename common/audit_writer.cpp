// The audit writer: one thread, a bounded queue of reserved places, batched transactions.
#include "common/audit_writer.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/blocking_wait.hpp"
#include "common/error.hpp"
#include "common/log_throttle.hpp"
#include "common/thread_annotations.hpp"

namespace sharelink {
namespace {

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
// malloc_trim under load at most this often and after this many records, or
// once the queue is empty after this many (give_back_free_memory).
constexpr auto k_trim_interval = std::chrono::seconds(2);
constexpr std::size_t k_trim_records = 16384;
constexpr std::size_t k_idle_trim_records = 1024;
constexpr auto k_first_backoff = std::chrono::milliseconds(10);
constexpr auto k_max_backoff = std::chrono::milliseconds(2000);
// A failed retention run is retried after this long (by the retention clock).
constexpr auto k_prune_retry = std::chrono::minutes(1);
// A request waiting for a place looks again at least this often.
constexpr auto k_room_recheck = std::chrono::milliseconds(10);
// The same write failure is logged at most this often; a new reason at once.
constexpr auto k_failure_log_interval = std::chrono::milliseconds(60000);
// Refused requests are logged at most this often (with the count held back).
constexpr auto k_refusal_log_interval = std::chrono::milliseconds(10000);

}  // namespace

// What a reservation needs from its writer.
struct AuditReservation::Owner {
  virtual std::uint64_t commit_reserved(AuditRecord record) = 0;
  virtual void release_reserved() noexcept = 0;

 protected:
  ~Owner() = default;
};

AuditReservation::AuditReservation(AuditReservation&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}

AuditReservation& AuditReservation::operator=(AuditReservation&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->release_reserved();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

AuditReservation::~AuditReservation() {
  if (owner_ != nullptr) owner_->release_reserved();
}

std::uint64_t AuditReservation::commit(AuditRecord record) {
  if (owner_ == nullptr) throw Error("audit record committed without a reserved place");
  const std::uint64_t ticket = owner_->commit_reserved(std::move(record));
  owner_ = nullptr;
  return ticket;
}

struct AuditWriter::Impl final : AuditReservation::Owner {
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
    if (!options_.steady_now) options_.steady_now = [] { return std::chrono::steady_clock::now(); };
    thread_ = std::thread([this] { run(); });
  }

  ~Impl() { stop_by(std::chrono::steady_clock::now() + options_.stop_deadline); }

  void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
    const std::span<const LogField> span(fields.begin(), fields.size());
    if (options_.log) {
      options_.log(level, message, span);
    } else {
      log_event(level, message, span);
    }
  }

  // One place of the queue, if there is one: the queue's records and the
  // places reserved for records to come never exceed queue_capacity.
  bool try_take_place() {
    if (occupancy_.fetch_add(1, std::memory_order_acq_rel) < options_.queue_capacity) return true;
    occupancy_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }

  // A place for one record, waiting until deadline; closed reports why there was none.
  AuditReservation reserve_place(SteadyTime deadline, bool& closed) SHARELINK_EXCLUDES(mutex_) {
    closed = false;
    if (!closed_flag_.load(std::memory_order_acquire) && try_take_place()) return AuditReservation(this);
    UniqueLock lock(mutex_);
    for (;;) {
      if (closed_) {
        closed = true;
        return {};
      }
      if (try_take_place()) return AuditReservation(this);
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return {};
      // The writer frees places under mutex_ and then wakes us; a place given
      // back by a reservation (without the lock) is seen at the next look.
      const BlockingWait waiting;
      room_.wait_until(lock.native(), std::min(deadline, now + k_room_recheck));
    }
  }

  AuditReservation reserve(SteadyTime deadline) SHARELINK_EXCLUDES(mutex_) {
    bool closed = false;
    AuditReservation reservation = reserve_place(deadline, closed);
    if (!reservation) note_refusal();
    return reservation;
  }

  void append(AuditRecord record) SHARELINK_EXCLUDES(mutex_) {
    prepare_audit_record(record);
    bool closed = false;
    AuditReservation reservation =
        reserve_place(std::chrono::steady_clock::now() + std::chrono::hours(24 * 365), closed);
    if (!reservation) {
      lost_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    reservation.commit(std::move(record));
  }

  std::uint64_t commit_reserved(AuditRecord record) override SHARELINK_EXCLUDES(mutex_) {
    prepare_audit_record(record);
    UniqueLock lock(mutex_);
    if (closed_) {
      lock.unlock();
      occupancy_.fetch_sub(1, std::memory_order_acq_rel);
      lost_.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    queue_.push_back(std::move(record));
    const std::uint64_t ticket = ++appended_;
    depth_.store(queue_.size(), std::memory_order_relaxed);
    const bool wake = queue_.size() == 1 || queue_.size() == options_.batch_limit;
    lock.unlock();
    // The writer waits for a first record, or gathers until a batch is full
    // or k_batch_interval has passed; otherwise it comes back for this record
    // after its current batch.
    if (wake) work_ready_.notify_one();
    return ticket;
  }

  void release_reserved() noexcept override {
    occupancy_.fetch_sub(1, std::memory_order_acq_rel);
    room_.notify_one();
  }

  bool wait_committed(std::uint64_t ticket, SteadyTime deadline) SHARELINK_EXCLUDES(mutex_) {
    bool committed = false;
    if (ticket != 0) {
      UniqueLock lock(mutex_);
      if (committed_ >= ticket) return true;
      ++committers_;
      work_ready_.notify_one();  // no gathering while a request waits for its commit
      const BlockingWait waiting;
      while (committed_ < ticket && done_ < ticket && !closed_) {
        if (progress_.wait_until(lock.native(), deadline) == std::cv_status::timeout) break;
      }
      --committers_;
      committed = committed_ >= ticket;
    }
    if (!committed) commit_timeouts_.fetch_add(1, std::memory_order_relaxed);
    return committed;
  }

  void flush() SHARELINK_EXCLUDES(mutex_) {
    UniqueLock lock(mutex_);
    const std::uint64_t target = appended_;
    ++flushers_;
    work_ready_.notify_one();  // no gathering while someone waits
    const BlockingWait waiting;
    while (done_ < target && !closed_) progress_.wait(lock.native());
    --flushers_;
  }

  void stop_by(SteadyTime give_up_at) SHARELINK_EXCLUDES(mutex_, join_mutex_) {
    {
      const MutexLock lock(mutex_);
      if (!stopping_) give_up_at_ = give_up_at;
      stopping_ = true;
    }
    work_ready_.notify_all();
    const MutexLock join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

  void set_retention(int retention_days, int ip_retention_days, Clock clock) SHARELINK_EXCLUDES(mutex_) {
    require_retention_days(retention_days, ip_retention_days);
    if (!clock) throw Error("audit retention needs a clock");
    {
      const MutexLock lock(mutex_);
      retention_ = Retention{retention_days, ip_retention_days, std::move(clock), TimePoint::min()};
    }
    work_ready_.notify_all();
  }

  bool retention_due_locked() const SHARELINK_REQUIRES(mutex_) { return retention_ && retention_->clock() >= retention_->next_run; }

  // A refused request: counted, and logged at most once per k_refusal_log_interval.
  void note_refusal() SHARELINK_EXCLUDES(refusal_mutex_) {
    const std::uint64_t refused = refused_.fetch_add(1, std::memory_order_relaxed) + 1;
    std::optional<std::uint64_t> held_back;
    {
      const MutexLock lock(refusal_mutex_);
      held_back = refusal_log_.admit("refused", options_.steady_now());
    }
    if (!held_back) return;
    const std::string total = std::to_string(refused);
    const std::string held = std::to_string(*held_back);
    const std::string depth = std::to_string(depth_.load(std::memory_order_relaxed));
    log(LogLevel::error, "audit queue full: request refused with 503 SERVICE_UNAVAILABLE",
        {{"requests_refused_total", total}, {"held_back", held}, {"queue_depth", depth}});
  }

  // Writer thread only: a batch failed with reason.
  void note_failure(const std::string& reason) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    const auto now = options_.steady_now();
    if (!failing_.exchange(true, std::memory_order_acq_rel)) {
      failing_since_ = now;
      failed_attempts_ = 0;
    }
    ++failed_attempts_;
    const auto held_back = failure_log_.admit(reason, now);
    if (!held_back) return;
    const std::string held = std::to_string(*held_back);
    const std::string depth = std::to_string(depth_.load(std::memory_order_relaxed));
    log(LogLevel::error, "audit database refuses writes; records wait in the queue, requests answer 503 when it is full",
        {{"error", reason}, {"queue_depth", depth}, {"held_back", held}});
  }

  // Writer thread only: a batch was committed.
  void note_success() {
    if (!failing_.exchange(false, std::memory_order_acq_rel)) return;
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(options_.steady_now() - failing_since_).count();
    const std::string attempts = std::to_string(failed_attempts_);
    const std::string failing_seconds = std::to_string(seconds);
    log(LogLevel::info, "audit database accepts writes again",
        {{"failed_attempts", attempts}, {"failing_seconds", failing_seconds}});
    failure_log_.reset();
  }

  // The writer thread. Order per round: take a batch (under the lock, together
  // with the retention decision, so a flush() after a clock step sees the
  // retention run), run one retention step, write the batch. Never throws.
  void run() SHARELINK_EXCLUDES(mutex_) {
    std::vector<AuditRecord> batch;
    std::optional<PruneCutoffs> prune;
    auto backoff = k_first_backoff;
    auto last_batch = std::chrono::steady_clock::time_point::min();
    for (;;) {
      if (batch.empty() && depth_.load(std::memory_order_relaxed) == 0) give_back_free_memory(true);
      bool stopping = false;
      SteadyTime give_up_at;
      {
        UniqueLock lock(mutex_);
        if (batch.empty()) {
          if (!prune) {
            const auto idle_until = std::chrono::steady_clock::now() + k_idle_wake;
            while (queue_.empty() && !stopping_ && !retention_due_locked()) {
              if (work_ready_.wait_until(lock.native(), idle_until) == std::cv_status::timeout) break;
            }
            if (!queue_.empty() && last_batch != std::chrono::steady_clock::time_point::min()) {
              const auto gather_until = last_batch + k_batch_interval;
              while (queue_.size() < options_.batch_limit && !stopping_ && flushers_ == 0 && committers_ == 0) {
                if (work_ready_.wait_until(lock.native(), gather_until) == std::cv_status::timeout) break;
              }
            }
          }
          if (queue_.empty() && stopping_) {
            closed_ = true;
            closed_flag_.store(true, std::memory_order_release);
            lock.unlock();
            progress_.notify_all();
            room_.notify_all();
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
          if (take > 0) {
            occupancy_.fetch_sub(take, std::memory_order_acq_rel);
            room_.notify_all();  // room for waiting requests
          }
        }
        stopping = stopping_;
        give_up_at = give_up_at_;
        if (!prune && !stopping && retention_due_locked()) {
          const TimePoint now = retention_->clock();
          prune = retention_cutoffs(now, retention_->retention_days, retention_->ip_retention_days);
          retention_->next_run = now + options_.prune_interval;
        }
      }

      if (prune) run_prune_step(prune);
      if (batch.empty()) continue;

      try {
        last_batch = std::chrono::steady_clock::now();
        db_->insert_batch(batch);
        note_success();  // before the batch's waiters wake: they see failing() false
        finish_batch(batch);
        backoff = k_first_backoff;
        continue;
      } catch (const std::exception& e) {
        note_failure(e.what());
      } catch (...) {
        note_failure("unknown error");
      }
      // The batch stays in hand and is retried: records are never dropped
      // while the daemon runs. Only a stop() facing a database that keeps
      // refusing writes past its deadline gives up, spilling what is left.
      if (stopping) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= give_up_at) {
          give_up(batch);
          return;
        }
        UniqueLock lock(mutex_);
        work_ready_.wait_for(lock.native(), std::min<std::chrono::steady_clock::duration>(backoff, give_up_at - now));
      } else {
        const auto retry_at = std::chrono::steady_clock::now() + backoff;
        UniqueLock lock(mutex_);
        while (!stopping_) {
          if (work_ready_.wait_until(lock.native(), retry_at) == std::cv_status::timeout) break;
        }
      }
      backoff = std::min(backoff * 2, k_max_backoff);
    }
  }

  // At stop, past the deadline, with the database refusing writes: the batch
  // in hand and every queued record go to the spill (or are lost), and the
  // writer closes.
  void give_up(std::vector<AuditRecord>& batch) SHARELINK_EXCLUDES(mutex_) {
    std::vector<AuditRecord> left = std::move(batch);
    batch.clear();
    {
      const MutexLock lock(mutex_);
      std::move(queue_.begin(), queue_.end(), std::back_inserter(left));
      occupancy_.fetch_sub(queue_.size(), std::memory_order_acq_rel);
      queue_.clear();
      depth_.store(0, std::memory_order_relaxed);
      closed_ = true;
      closed_flag_.store(true, std::memory_order_release);
    }
    room_.notify_all();
    const std::string count = std::to_string(left.size());
    bool kept = false;
    if (left.empty()) {
      kept = true;
    } else if (options_.spill) {
      try {
        options_.spill(left);
        kept = true;
        log(LogLevel::warn, "audit database refused writes until the shutdown deadline; records spilled",
            {{"records", count}});
      } catch (const std::exception& e) {
        log(LogLevel::error, "audit records lost: the spill file could not be written",
            {{"records", count}, {"error", e.what()}});
      }
    } else {
      log(LogLevel::error, "audit records lost: the database refused writes until the shutdown deadline",
          {{"records", count}});
    }
    (kept ? spilled_ : lost_).fetch_add(left.size(), std::memory_order_relaxed);
    {
      const MutexLock lock(mutex_);
      done_ += left.size();
    }
    progress_.notify_all();
  }

  void run_prune_step(std::optional<PruneCutoffs>& prune) SHARELINK_EXCLUDES(mutex_) {
    try {
      PruneReport ignored;
      if (db_->prune_step(*prune, ignored)) prune.reset();
    } catch (...) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      prune.reset();
      const MutexLock lock(mutex_);
      if (retention_) retention_->next_run = retention_->clock() + k_prune_retry;
    }
  }

  // Marks a committed batch as done and wakes flushers and waiting requests.
  void finish_batch(std::vector<AuditRecord>& batch) SHARELINK_EXCLUDES(mutex_) {
    const auto count = batch.size();
    written_.fetch_add(count, std::memory_order_relaxed);
    batch.clear();
    // The buffer goes back to the queue at the next swap. One that a backlog
    // grew past a batch (up to queue_capacity records, about 6 MB at the
    // default) has just been drained: it is given back instead of being kept
    // for good.
    if (batch.capacity() > options_.batch_limit) std::vector<AuditRecord>().swap(batch);
    written_since_trim_ += count;
    give_back_free_memory(false);
    {
      const MutexLock lock(mutex_);
      done_ += count;
      committed_ += count;
    }
    progress_.notify_all();
  }

  // Writer thread only. Requests free what they allocate, but malloc keeps
  // the free pages of its arenas resident: after a flood from a million
  // addresses (every record, every request's strings, on 16 worker threads)
  // that was a third of the daemon's memory (tests/bench/README.md).
  // malloc_trim gives those pages back: under load after every
  // k_trim_records written and at most every k_trim_interval (it walks each
  // arena under its lock), and once the writer has caught up (the queue is
  // empty, as when a flood ends) after k_idle_trim_records.
  void give_back_free_memory(bool caught_up) {
    if (written_since_trim_ < (caught_up ? k_idle_trim_records : k_trim_records)) return;
    const auto now = std::chrono::steady_clock::now();
    if (!caught_up && now - last_trim_ < k_trim_interval) return;
    last_trim_ = now;
    written_since_trim_ = 0;
    ::malloc_trim(0);
  }

  AuditWriterOptions options_;
  std::unique_ptr<AuditStorage> db_;  // used by the writer thread only, once started

  // The condition variables are waited on with mutex_.
  mutable Mutex mutex_;
  std::condition_variable work_ready_;  // writer waits: records queued, stop, retention due, a waiter
  std::condition_variable progress_;    // flushers wait for done_, requests for committed_
  std::condition_variable room_;        // requests wait for a place
  std::vector<AuditRecord> queue_ SHARELINK_GUARDED_BY(mutex_);
  std::uint64_t appended_ SHARELINK_GUARDED_BY(mutex_) = 0;   // records ever queued (the last ticket)
  std::uint64_t done_ SHARELINK_GUARDED_BY(mutex_) = 0;       // of those, committed or given up (in order)
  std::uint64_t committed_ SHARELINK_GUARDED_BY(mutex_) = 0;  // of those, committed (a prefix: batches go in order)
  int flushers_ SHARELINK_GUARDED_BY(mutex_) = 0;             // threads waiting in flush()
  int committers_ SHARELINK_GUARDED_BY(mutex_) = 0;           // threads waiting in wait_committed()
  bool stopping_ SHARELINK_GUARDED_BY(mutex_) = false;
  SteadyTime give_up_at_ SHARELINK_GUARDED_BY(mutex_){};        // set with stopping_
  bool closed_ SHARELINK_GUARDED_BY(mutex_) = false;           // the writer has ended
  std::optional<Retention> retention_ SHARELINK_GUARDED_BY(mutex_);

  // Queued records plus reserved places; at most queue_capacity (lock-free
  // on the way in, decreased under mutex_ by the writer).
  std::atomic<std::size_t> occupancy_{0};
  std::atomic<bool> closed_flag_{false};  // closed_, readable without the lock
  std::atomic<std::size_t> depth_{0};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> spilled_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> commit_timeouts_{0};
  std::atomic<bool> failing_{false};

  // Writer thread only.
  SteadyTime last_trim_{};
  std::size_t written_since_trim_ = 0;
  LogThrottle failure_log_{k_failure_log_interval};
  SteadyTime failing_since_{};
  std::uint64_t failed_attempts_ = 0;

  Mutex refusal_mutex_;
  LogThrottle refusal_log_ SHARELINK_GUARDED_BY(refusal_mutex_){k_refusal_log_interval, 1};

  Mutex join_mutex_;
  std::thread thread_ SHARELINK_GUARDED_BY(join_mutex_);  // started last, in the constructor body
};

AuditWriter::AuditWriter(std::unique_ptr<AuditStorage> storage, const AuditWriterOptions& options)
    : impl_(std::make_unique<Impl>(std::move(storage), options)) {}

AuditWriter::~AuditWriter() { stop(); }

AuditReservation AuditWriter::reserve(SteadyTime deadline) { return impl_->reserve(deadline); }
void AuditWriter::append(AuditRecord record) { impl_->append(std::move(record)); }
bool AuditWriter::wait_committed(std::uint64_t ticket, SteadyTime deadline) {
  return impl_->wait_committed(ticket, deadline);
}
void AuditWriter::flush() { impl_->flush(); }
void AuditWriter::stop_by(SteadyTime give_up_at) { impl_->stop_by(give_up_at); }
void AuditWriter::stop() { impl_->stop_by(std::chrono::steady_clock::now() + impl_->options_.stop_deadline); }

void AuditWriter::set_retention(int retention_days, int ip_retention_days, Clock clock) {
  impl_->set_retention(retention_days, ip_retention_days, std::move(clock));
}

bool AuditWriter::failing() const { return impl_->failing_.load(std::memory_order_acquire); }
std::size_t AuditWriter::queue_depth() const { return impl_->depth_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::records_written() const { return impl_->written_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::write_errors() const { return impl_->errors_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::records_lost() const { return impl_->lost_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::records_spilled() const { return impl_->spilled_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::requests_refused() const { return impl_->refused_.load(std::memory_order_relaxed); }
std::uint64_t AuditWriter::commit_timeouts() const {
  return impl_->commit_timeouts_.load(std::memory_order_relaxed);
}

}  // namespace sharelink
