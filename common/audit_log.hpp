// The audit log (SPEC 7): records, the batched single-writer queue, queries, stats and retention.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit_record.hpp"
#include "common/logfmt.hpp"
#include "common/store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// The user agent as stored: at most 256 bytes; control characters (C0, DEL and
// C1), backslash and bytes that are not well-formed UTF-8 escaped as \xNN
// (lowercase hex); never splits an escape or a UTF-8 sequence. The result is
// valid UTF-8 and safe to print on a terminal. Thread-safe.
std::string sanitize_user_agent(std::string_view user_agent);

// Where AuditWriter reports what an operator must know: a database that
// refuses writes (with the reason), its recovery, requests refused, records
// spilled or lost. The default writes logfmt lines to stderr (log_event).
// Called from the writer thread and from request threads (refusals), so it
// must be thread-safe. Fields never hold a token.
using AuditLogSink = std::function<void(LogLevel, std::string_view message, std::span<const LogField> fields)>;

// Tuning of AuditWriter; the defaults suit the daemon, tests shorten them.
struct AuditWriterOptions {
  // Records the queue holds (reserved places included) before reserve()
  // waits. At least 1, default 16384.
  std::size_t queue_capacity = 16384;
  // Most records written in one transaction. At least 1, default 4096.
  std::size_t batch_limit = 4096;
  // How long stop() keeps retrying a database that refuses writes before it
  // gives the remaining records up (to spill, else counted in
  // records_lost()). Default 30 s; the daemon uses stop_by() with its
  // audit.shutdown_grace_seconds instead.
  std::chrono::milliseconds stop_deadline{30000};
  // Time between retention runs once set_retention() is called. Default 1 h.
  std::chrono::minutes prune_interval{60};
  // Log lines (see AuditLogSink); null: log_event.
  AuditLogSink log;
  // The clock of the log's rate limits; null: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> steady_now;
  // Called once, on the writer thread, with the records given up at stop
  // (in order); they count as records_spilled() when it returns, as
  // records_lost() when it throws (the exception's text is logged) or when
  // there is no spill.
  std::function<void(std::span<const AuditRecord>)> spill;
};

// A request's place in the audit queue, taken before the work whose record
// it will hold (AuditWriter::reserve). Move-only; a reservation destroyed
// without commit() gives its place back.
class AuditReservation {
 public:
  AuditReservation() = default;
  AuditReservation(AuditReservation&& other) noexcept;
  AuditReservation& operator=(AuditReservation&& other) noexcept;
  AuditReservation(const AuditReservation&) = delete;
  AuditReservation& operator=(const AuditReservation&) = delete;
  ~AuditReservation();

  // True when a place is held.
  explicit operator bool() const { return owner_ != nullptr; }
  // Queues the record in the reserved place (never waits) and returns its
  // ticket, for AuditWriter::wait_committed (0: the writer had already
  // stopped; the record is counted in records_lost()). Throws Error if event
  // or outcome is empty (the place stays reserved until destruction) or if
  // no place is held.
  std::uint64_t commit(AuditRecord record);

 private:
  friend class AuditWriter;
  struct Owner;
  explicit AuditReservation(Owner* owner) : owner_(owner) {}
  Owner* owner_ = nullptr;
};

// Writes records off the request path: one writer thread drains a bounded
// queue into its own AuditStorage connection, one transaction per batch.
//
// Threading: every method may be called from any thread. A request reserves
// its record's place before its work (reserve), waiting at most until a
// deadline while the queue is full: the daemon answers 503 rather than serve
// content it cannot audit, and no request waits without bound. A batch that
// fails (database locked past the storage's lock_wait, disk full, read-only,
// unreachable) is kept and retried with backoff, counted in write_errors();
// while it fails, failing() is true and the reason is logged (each distinct
// reason once, then at most once a minute), and a line says when writes
// succeed again. The thread never throws. Retention runs on the same thread
// between batches, one short step at a time, so the audit log has a single
// writer in the daemon.
class AuditWriter {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // Takes the writer's connection (StorageBackend::open_audit(AuditUse::writer))
  // and starts the writer thread. Throws Error if storage is null or an
  // option is out of range.
  explicit AuditWriter(std::unique_ptr<AuditStorage> storage, const AuditWriterOptions& options = {});
  // Calls stop().
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // A place for one record, waiting until deadline at most while the queue
  // is full. An empty reservation when the deadline passed first (counted in
  // requests_refused() and logged, rate-limited) or the writer has stopped.
  // Never waits when there is room.
  AuditReservation reserve(SteadyTime deadline);
  // Queues one record; blocks while the queue is full (reserve without a
  // deadline, then commit). Throws Error if event or outcome is empty (a
  // caller bug, caught before it can poison a batch). After stop() the record
  // cannot be written: it is counted in records_lost().
  void append(AuditRecord record);
  // Blocks until the record of ticket (AuditReservation::commit) is committed
  // (true), or until deadline, or until stop() gave it up (false: it stays
  // queued and is written later, or spilled; counted in commit_timeouts()).
  // While it waits the writer does not gather records into larger batches:
  // it commits what is queued at once (group commit).
  bool wait_committed(std::uint64_t ticket, SteadyTime deadline);
  // Blocks until every record appended before the call is committed (or, after
  // stop() gave up on a failing database, abandoned). While the database
  // refuses writes, that means until it accepts them again.
  void flush();
  // Writes every queued record, then ends the writer thread. Idempotent. If the
  // database refuses writes past give_up_at, the remaining records go to
  // options.spill (records_spilled()), or are counted in records_lost()
  // without one; either way it is logged. A database that accepts writes is
  // drained whatever the time.
  void stop_by(SteadyTime give_up_at);
  // stop_by(now + options.stop_deadline).
  void stop();

  // Turns on retention (SPEC 7): at once and then every options.prune_interval
  // by clock, records older than retention_days are deleted and client_ip of
  // records older than ip_retention_days is truncated (IPv4 /24, IPv6 /48).
  // A run starts before the next batch is written and proceeds in
  // transactions of at most 2000 rows each, interleaved with batches, so it
  // never holds the write lock for long. clock is called on the writer thread.
  // Throws Error unless both counts are >= 1.
  void set_retention(int retention_days, int ip_retention_days, Clock clock = system_clock_now);

  // True from a failed batch until the next successful one (/readyz).
  bool failing() const;

  // Metrics (lock-free reads).
  std::size_t queue_depth() const;
  std::uint64_t records_written() const;
  // Failed batch attempts and failed retention runs (each retried).
  std::uint64_t write_errors() const;
  // Records that could not be kept: appended after stop(), or given up at
  // stop() with no spill or a failing one.
  std::uint64_t records_lost() const;
  // Records given up at stop() and handed to options.spill.
  std::uint64_t records_spilled() const;
  // reserve() calls that found no room before their deadline (their request
  // was refused, so it has no record).
  std::uint64_t requests_refused() const;
  // wait_committed() calls whose deadline passed first.
  std::uint64_t commit_timeouts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Synchronous access to the audit log for sharectl and maintenance, over its
// own AuditStorage connection: checks and cleans records as AuditWriter does,
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
