// The audit writer (SPEC 7): the daemon's single writer thread, its bounded queue with reservations,
// batches, group commit, failure reporting, retention between batches and the spill hand-off at stop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/audit_record.hpp"
#include "common/logfmt.hpp"
#include "common/store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

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

}  // namespace sharelink
