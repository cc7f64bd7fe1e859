// The audit log (SPEC 7): records, the batched single-writer queue, queries, stats and retention.
#pragma once

#include <chrono>
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

// One audit record (SPEC 7). Empty strings are stored as NULL and read back
// as empty strings.
struct AuditRecord {
  std::int64_t id = 0;  // assigned by the database, increasing
  TimePoint ts;         // stored in milliseconds
  std::string event;    // resolve | page | media | admin; required
  std::string outcome;  // see SPEC 7; required
  std::optional<int> status;  // HTTP status; nullopt for admin
  std::string client_ip;
  std::string share_id;
  std::string token_fp;
  std::string request_id;
  // Pass through sanitize_user_agent first; text that is not already clean
  // (over 256 bytes, control characters, malformed UTF-8) is sanitized again
  // on the way in, so a stranger's header can never be stored raw.
  std::string user_agent;
  std::string actor;   // OS user, admin events; cleaned like user_agent
  std::string action;  // share.create, ...
  std::string detail;  // short text, admin only; cleaned the same way, at most 1024 bytes
};

// The user agent as stored: at most 256 bytes; control characters (C0, DEL and
// C1), backslash and bytes that are not well-formed UTF-8 escaped as \xNN
// (lowercase hex); never splits an escape or a UTF-8 sequence. The result is
// valid UTF-8 and safe to print on a terminal. Thread-safe.
std::string sanitize_user_agent(std::string_view user_agent);

// Tuning of AuditWriter; the defaults suit the daemon, tests shorten them.
struct AuditWriterOptions {
  // Records the queue holds before append() blocks. At least 1, default 16384.
  std::size_t queue_capacity = 16384;
  // Most records written in one transaction. At least 1, default 4096.
  std::size_t batch_limit = 4096;
  // How long one write waits for another connection's lock before the batch
  // counts as failed and is retried. Default 5000 ms.
  std::chrono::milliseconds busy_timeout{5000};
  // How long stop() keeps retrying a database that refuses writes before it
  // gives the remaining records up (counted in records_lost()). Default 30 s.
  std::chrono::milliseconds stop_deadline{30000};
  // Time between retention runs once set_retention() is called. Default 1 h.
  std::chrono::minutes prune_interval{60};
};

// Writes records off the request path: one writer thread drains a bounded
// queue in batched transactions (one prepared INSERT, one transaction per
// batch) on its own connection.
//
// Threading: every method may be called from any thread. append() blocks while
// the queue is full: backpressure slows requests down rather than dropping
// records. A batch that fails (database locked past the busy timeout, disk
// full) is kept and retried with backoff, counted in write_errors(); the thread
// never throws. Retention runs on the same thread between batches, in small
// transactions, so the audit database has a single writer in the daemon.
class AuditWriter {
 public:
  // Opens an existing audit database with the current schema (throws Error
  // otherwise, naming the fix) and starts the writer thread.
  explicit AuditWriter(const std::filesystem::path& audit_db, std::size_t queue_capacity = 16384);
  AuditWriter(const std::filesystem::path& audit_db, const AuditWriterOptions& options);
  // Calls stop().
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Queues one record; blocks while the queue is full. Throws Error if event
  // or outcome is empty (a caller bug, caught before it can poison a batch).
  // After stop() the record cannot be written: it is counted in records_lost().
  void append(AuditRecord record);
  // Blocks until every record appended before the call is committed (or, after
  // stop() gave up on a failing database, abandoned). While the database
  // refuses writes, that means until it accepts them again.
  void flush();
  // Writes every queued record, then ends the writer thread. Idempotent. If the
  // database keeps refusing writes for options.stop_deadline, the remaining
  // records are abandoned and counted in records_lost().
  void stop();

  // Turns on retention (SPEC 7): at once and then every options.prune_interval
  // by clock, records older than retention_days are deleted and client_ip of
  // records older than ip_retention_days is truncated (IPv4 /24, IPv6 /48).
  // A run starts before the next batch is written and proceeds in
  // transactions of at most 2000 rows each, interleaved with batches, so it
  // never holds the write lock for long. clock is called on the writer thread.
  // Throws Error unless both counts are >= 1.
  void set_retention(int retention_days, int ip_retention_days, Clock clock = system_clock_now);

  // Metrics (lock-free reads).
  std::size_t queue_depth() const;
  std::uint64_t records_written() const;
  // Failed batch attempts and failed retention runs (each retried).
  std::uint64_t write_errors() const;
  // Records that could not be written: appended after stop(), or given up at
  // stop() after options.stop_deadline of failures.
  std::uint64_t records_lost() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What AuditStore::query selects; every set field must match.
struct AuditFilter {
  // Records whose client_ip lies inside (a truncated address is its network
  // address, so 203.0.113.0/24 still finds records aged to 203.0.113.0). A bare
  // address is a /32 or /128.
  std::optional<Cidr> ip;
  std::optional<std::string> share_id;
  // Records of the token with this fingerprint. Records that name a share
  // link are indexed by their link only, so a token that belongs to a link
  // also needs token_share_id; without it, only the records that name no
  // link match (unknown tokens, requests refused before the lookup).
  std::optional<std::string> token_fp;
  std::optional<std::string> token_share_id;  // the link of token_fp's token, if it has one
  std::optional<std::string> event;
  std::optional<std::string> outcome;
  std::optional<TimePoint> since;  // inclusive
  std::optional<TimePoint> until;  // exclusive
  std::optional<std::int64_t> after_id;  // only records with a larger id (for --follow)
  std::size_t limit = 100;  // 0 = no limit
};

// Counts for sharectl audit stats.
struct AuditStats {
  std::vector<std::pair<std::string, std::int64_t>> by_outcome;  // "event/outcome" -> count, sorted
  std::vector<std::pair<std::string, std::int64_t>> top_clients;  // ip -> count, most first
  std::int64_t total = 0;
};

// share inspect's audit summary of one link.
struct ShareAuditSummary {
  std::optional<TimePoint> last_resolve;
  std::map<std::string, std::int64_t> resolves_by_outcome;
};

// What a retention run changed.
struct PruneReport {
  std::int64_t deleted = 0;
  std::int64_t ips_truncated = 0;
};

// Synchronous access to the audit database for sharectl and maintenance, on
// its own connection. Not thread-safe: one per thread. Database failures throw
// Error.
class AuditStore {
 public:
  // Opens an existing audit database with the current schema (throws Error
  // otherwise, naming the fix).
  explicit AuditStore(const std::filesystem::path& audit_db);
  ~AuditStore();
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  // Writes one record at once (sharectl's admin events). Throws Error if event
  // or outcome is empty.
  void append(const AuditRecord& record);
  // Records matching every field of filter, newest first (id descending), at
  // most filter.limit.
  std::vector<AuditRecord> query(const AuditFilter& filter);
  // Counts per event/outcome and the top_clients most frequent client_ip
  // values, over records with ts >= since (all records when nullopt).
  AuditStats stats(std::optional<TimePoint> since, std::size_t top_clients = 10);
  // share inspect: the last successful opening of one share link (event
  // resolve or page: the API and the share page, outcome ok) and the
  // openings by outcome; empty when it has none.
  ShareAuditSummary share_summary(std::string_view share_id);
  // Deletes records older than now - retention_days and truncates client_ip
  // (IPv4 /24, IPv6 /48) of records older than now - ip_retention_days, in
  // transactions of at most 2000 rows. Already truncated records are not
  // counted again. Throws Error unless both counts are >= 1.
  PruneReport prune(TimePoint now, int retention_days, int ip_retention_days);
  // The same with explicit cutoffs (sharectl audit prune --older-than):
  // records with ts < cutoff are deleted, client_ip of records with
  // ts < ip_cutoff is truncated.
  PruneReport prune_before(TimePoint cutoff, TimePoint ip_cutoff);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sharelink
