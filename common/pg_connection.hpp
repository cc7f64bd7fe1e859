// A small RAII layer over libpq for the PostgreSQL backend: connections, prepared statements, COPY,
// transactions, a pool.
//
// Only the PostgreSQL backend's files use it. libpq itself stays inside
// pg_connection.cpp: this header names our own types only.
//
// Errors are translated in one place (pg_connection.cpp) into the project's
// types: DatabaseUnavailable when the server cannot be used right now (no
// connection, connection lost, shut down or starting up, too many
// connections, a timeout, read-only, disk full or another resource
// exhausted), PgError (an Error carrying the SQLSTATE) for everything else.
// No message ever carries the password: libpq can echo parts of a connection
// string, so every message is scrubbed of the password and of anything
// shaped like one before it is thrown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/thread_annotations.hpp"

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace sharelink {

struct DatabaseConfig;

// A statement error reported by the server (or libpq) that is not a sign of
// unavailability: a constraint violated, a syntax error, a bad value.
// sqlstate() is the five-character SQLSTATE ("23505"), or "" when libpq
// produced the error itself.
class PgError : public Error {
 public:
  PgError(const std::string& message, std::string sqlstate)
      : Error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// True for the SQLSTATEs that mean "the database cannot be used right now"
// (DatabaseUnavailable): class 08 (connection), 53 (insufficient resources:
// disk full, out of memory, too many connections), 57 (operator
// intervention: shutdown, statement timeout, cannot connect now), 58 (system
// I/O error), 25006 (read-only transaction: a standby), 55P03 (lock timeout).
// Thread-safe.
bool is_unavailable_sqlstate(std::string_view sqlstate);

// How to reach the server. The URL never carries the password (see
// postgres_url_problem); the password travels as its own connection
// parameter. Defaults suit the daemon.
struct PgConnectOptions {
  // libpq URI, "postgresql://user@host:port/dbname?param=value". Parameters in
  // it override the defaults below, except the password and client_encoding.
  std::string url;
  // From database.password_file; nullopt: none (libpq may still use ~/.pgpass
  // or $PGPASSWORD).
  std::optional<std::string> password;
  // Reported in pg_stat_activity; default "shared-link".
  std::string application_name = "shared-link";
  // libpq connect_timeout per host; at least 2 s (libpq's minimum). Default 5 s.
  std::chrono::seconds connect_timeout{5};
  // SET statement_timeout after connecting; nullopt leaves the server's
  // (or role's) setting. Default 10 s: no request waits on one statement longer.
  std::optional<std::chrono::milliseconds> statement_timeout = std::chrono::milliseconds(10000);
  // SET lock_timeout: how long a statement waits for a lock another session
  // holds (a row another daemon is updating, a table sharectl locked) before
  // it fails (55P03, DatabaseUnavailable); nullopt leaves the server's. The
  // backend sets it from StorageOptions::lock_wait. Default nullopt.
  std::optional<std::chrono::milliseconds> lock_timeout;
  // SET idle_in_transaction_session_timeout; nullopt leaves the server's. A
  // transaction left open by a stuck client is ended by the server. Default 60 s.
  std::optional<std::chrono::milliseconds> idle_in_transaction_timeout = std::chrono::milliseconds(60000);
  // TCP keepalives on idle connections (idle time before the first probe,
  // interval, probes) and tcp_user_timeout (how long sent data may stay
  // unacknowledged), so a vanished server is noticed in well under a minute
  // rather than after the kernel's two hours. Defaults 30 s, 10 s, 3, 30 s.
  std::chrono::seconds keepalives_idle{30};
  std::chrono::seconds keepalives_interval{10};
  int keepalives_count = 3;
  std::chrono::milliseconds tcp_user_timeout{30000};
};

// Options for a DatabaseConfig with backend "postgresql": its url, and the
// password read from its password_file when one is named (read_password_file).
// Throws Error as read_password_file does.
PgConnectOptions pg_connect_options(const DatabaseConfig& database);

// The password in file: its whole content minus one trailing "\n" (or
// "\r\n"). Throws Error naming the file (never its content) when it is
// missing, not a regular file, accessible by group or others (with the chmod
// that fixes it), empty, larger than 1 KiB, or holds a NUL byte or a second line.
std::string read_password_file(const std::filesystem::path& file);

// Text query parameters: each one a value in PostgreSQL's text input syntax,
// or NULL. Values are copied. Text with a NUL byte cannot reach PostgreSQL
// (it would be cut short): add() throws Error for it.
class PgParams {
 public:
  PgParams() = default;
  template <typename... Values>
  explicit PgParams(const Values&... values) {
    values_.reserve(sizeof...(values));
    (add(values), ...);
  }

  PgParams& add(std::string_view text);
  PgParams& add(const std::string& text) { return add(std::string_view(text)); }
  PgParams& add(const char* text) { return add(std::string_view(text)); }
  PgParams& add(std::int64_t value);
  PgParams& add(int value) { return add(static_cast<std::int64_t>(value)); }
  PgParams& add(bool value);
  PgParams& add(double value);  // shortest round-trip text; NaN and infinities as PostgreSQL spells them
  PgParams& add(std::nullopt_t) { return add_null(); }
  template <typename T>
  PgParams& add(const std::optional<T>& value) {
    return value ? add(*value) : add_null();
  }
  PgParams& add_null();

  std::size_t size() const { return values_.size(); }
  // The i-th value, or nullopt for NULL.
  std::optional<std::string_view> value(std::size_t i) const;

 private:
  friend class PgConnection;
  friend class PgCopyIn;
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// A statement prepared by name. Declare each once, as a constant of the file
// that runs it; a connection prepares it the first time it runs there (and
// again on a new connection). Parameter types are inferred by the server.
struct PgStatement {
  const char* name;
  const char* sql;
};

class PgResult;

// One row of a PgResult: typed readers by column index. A reader throws
// PgError when the column does not exist or its value is NULL (except the
// optional_* ones) or does not parse as the type asked for. A row shares the
// result it comes from: it stays valid after the PgResult is gone
// (connection.exec(...).row(0) may be kept).
class PgRow {
 public:
  bool is_null(int column) const;
  std::string_view text(int column) const;  // "" for NULL; valid as long as this row
  std::string string(int column) const;
  std::optional<std::string> optional_string(int column) const;
  std::int64_t int64(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  bool boolean(int column) const;  // PostgreSQL's "t" / "f"
  std::optional<bool> optional_boolean(int column) const;
  double float64(int column) const;
  std::optional<double> optional_float64(int column) const;

 private:
  friend class PgResult;
  PgRow(std::shared_ptr<pg_result> result, int row) : result_(std::move(result)), row_(row) {}
  std::shared_ptr<pg_result> result_;
  int row_;
};

// A successful result (failures are thrown, never returned). Copies share
// libpq's result, which is freed with the last of them (and of its rows).
class PgResult {
 public:
  PgResult() = default;

  int rows() const;
  int columns() const;
  PgRow row(int row) const;  // throws PgError when row is out of range
  // Rows inserted, updated, deleted or copied by the statement (0 for others).
  std::int64_t affected_rows() const;
  // Index of the named column; throws PgError when there is none.
  int column(std::string_view name) const;
  // The server's command tag: "INSERT 0 1", "COMMIT", "ROLLBACK", ...
  std::string_view command_tag() const;

 private:
  friend class PgConnection;
  friend class PgCopyIn;
  explicit PgResult(pg_result* result);
  std::shared_ptr<pg_result> result_;
};

// One connection (one server session). Not thread-safe: one thread at a time
// (a PgConnectionPool lends each to one thread). Move-only; closing happens
// in the destructor.
class PgConnection {
 public:
  // Connects, then applies the session settings of options. Throws
  // DatabaseUnavailable (with libpq's reason, scrubbed) when no connection
  // can be made: server down or unreachable, starting or shutting down, too
  // many connections, authentication refused (wrong or missing password, no
  // pg_hba.conf entry), unknown database or role; Error when options.url is
  // not an acceptable URL (postgres_url_problem).
  explicit PgConnection(PgConnectOptions options);
  ~PgConnection();
  PgConnection(PgConnection&& other) noexcept;
  PgConnection& operator=(PgConnection&& other) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs sql with the simple query protocol: several statements separated by
  // ";" are allowed (migrations), parameters are not. Returns the last
  // statement's result.
  PgResult exec(std::string_view sql);
  // One statement with $1.. parameters, not prepared (for statements run once).
  PgResult exec(std::string_view sql, const PgParams& params);
  // Runs a prepared statement, preparing it first if this connection has not
  // yet. Throws PgError if another statement was prepared here under the same name.
  PgResult exec(const PgStatement& statement, const PgParams& params = PgParams());

  // Closes the session and opens a new one with the same options (prepared
  // statements are prepared again as they are used). Throws as the constructor.
  void reconnect();

  // False once the connection is known to be lost. Cheap: looks at the socket
  // without a round trip (a server that closed the session, for a shutdown or
  // pg_terminate_backend, has left something to read there).
  bool healthy();
  // True when no transaction is open (the state a pool hands out).
  bool idle_outside_transaction() const;
  // The server's backend process id (pg_backend_pid()).
  int backend_pid() const;
  // The value libpq uses for a connection parameter ("host", "port",
  // "keepalives_idle", ...), nullopt when unset or unknown. Never the
  // password: nullopt for "password" and "sslpassword".
  std::optional<std::string> connection_parameter(std::string_view keyword) const;
  // Statements prepared on the current session.
  std::size_t prepared_statements() const { return prepared_.size(); }
  const PgConnectOptions& options() const { return options_; }

 private:
  friend class PgCopyIn;
  struct SessionNotes;
  static void receive_notice(void* notes, const pg_result* notice);
  void connect();
  void close();
  pg_result* check(pg_result* result, std::string_view what);
  [[noreturn]] void fail(pg_result* result, std::string_view what);

  // What libpq's notice receiver learns; on the heap, so that its address
  // (given to libpq) survives a move of the connection.
  struct SessionNotes {
    bool ended_by_server = false;  // a FATAL arrived while idle: the server is closing the session
    std::string reason;            // its message and SQLSTATE, for the error that follows
  };

  PgConnectOptions options_;
  pg_conn* conn_ = nullptr;
  std::unique_ptr<SessionNotes> notes_ = std::make_unique<SessionNotes>();
  // name -> SQL of each statement prepared on conn_.
  std::unordered_map<std::string, std::string> prepared_;
};

// COPY ... FROM STDIN in text format, row by row: the fast path for batches
// (the audit writer). Rows are encoded and sent in chunks; nothing is visible
// to others before the surrounding transaction commits. Use inside a
// PgTransaction so that a failed copy leaves nothing behind.
class PgCopyIn {
 public:
  // Starts copy_sql, e.g. "COPY audit_records (ts, event) FROM STDIN".
  // Throws as PgConnection::exec.
  PgCopyIn(PgConnection& connection, std::string_view copy_sql);
  // An unfinished copy is abandoned: the server refuses it, so the open
  // transaction cannot commit it.
  ~PgCopyIn();
  PgCopyIn(const PgCopyIn&) = delete;
  PgCopyIn& operator=(const PgCopyIn&) = delete;

  // Appends one row: one value (or NULL) per column of copy_sql.
  void row(const PgParams& values);
  // Ends the copy; returns the number of rows the server stored. Throws
  // PgError for a bad row (the whole copy is refused), DatabaseUnavailable
  // for a lost connection.
  std::int64_t finish();

 private:
  void flush();
  PgConnection& connection_;
  std::string buffer_;
  bool open_ = true;
};

enum class PgIsolation { read_committed, repeatable_read, serializable };

struct PgTransactionOptions {
  PgIsolation isolation = PgIsolation::read_committed;
  bool read_only = false;
};

// BEGIN in the constructor, ROLLBACK in the destructor unless commit() ran:
// an exception leaves nothing behind. Not copyable or movable.
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& connection, PgTransactionOptions options = {});
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  // COMMIT. Throws PgError if the server rolled the transaction back instead
  // (a statement in it had failed), DatabaseUnavailable if the connection was
  // lost: then nothing of it is certain to be stored.
  void commit();

 private:
  PgConnection& connection_;
  bool done_ = false;
};

struct PgPoolOptions {
  // Connections open at most. At least 1; the daemon sizes it from server.threads.
  std::size_t max_connections = 16;
  // How long acquire() waits for a connection when all are lent out.
  std::chrono::milliseconds acquire_timeout{2000};
  // After a failed connection attempt, acquires that need a new connection
  // fail at once with that error for this long, instead of each waiting for
  // its own connect_timeout while the server is down.
  std::chrono::milliseconds retry_interval{500};
};

// A bounded set of connections shared by threads. Connections are opened
// lazily, up to max_connections; one that is lost (or returned inside a
// transaction) is closed instead of being reused, and its slot reopens on
// demand, so the pool recovers by itself when the server comes back.
// Thread-safe; the pool must outlive its leases.
class PgConnectionPool {
 public:
  PgConnectionPool(PgConnectOptions connect, PgPoolOptions pool = {});
  ~PgConnectionPool();
  PgConnectionPool(const PgConnectionPool&) = delete;
  PgConnectionPool& operator=(const PgConnectionPool&) = delete;

  // A connection lent to one thread until the lease ends.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    PgConnection& operator*() const { return *connection_; }
    PgConnection* operator->() const { return connection_.get(); }

   private:
    friend class PgConnectionPool;
    Lease(PgConnectionPool& pool, std::unique_ptr<PgConnection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    PgConnectionPool* pool_;
    std::unique_ptr<PgConnection> connection_;
  };

  // An idle, healthy connection, or a new one while fewer than
  // max_connections are open. Throws DatabaseUnavailable when none is free
  // within acquire_timeout, or when connecting fails (at once during
  // retry_interval after a failure).
  Lease acquire() SHARELINK_EXCLUDES(mutex_);

  std::size_t open_connections() const SHARELINK_EXCLUDES(mutex_);
  std::size_t idle_connections() const SHARELINK_EXCLUDES(mutex_);
  // Connection attempts so far, successful or not (for tests and metrics).
  std::uint64_t connect_attempts() const SHARELINK_EXCLUDES(mutex_);

 private:
  void give_back(std::unique_ptr<PgConnection> connection) SHARELINK_EXCLUDES(mutex_);

  const PgConnectOptions connect_;
  const PgPoolOptions options_;
  mutable Mutex mutex_;
  std::condition_variable freed_;  // a connection was given back or closed (waited on with mutex_)
  std::vector<std::unique_ptr<PgConnection>> idle_ SHARELINK_GUARDED_BY(mutex_);
  std::size_t open_ SHARELINK_GUARDED_BY(mutex_) = 0;  // idle, lent out or connecting
  std::uint64_t attempts_ SHARELINK_GUARDED_BY(mutex_) = 0;
  std::chrono::steady_clock::time_point failed_at_ SHARELINK_GUARDED_BY(mutex_);
  std::string failure_ SHARELINK_GUARDED_BY(mutex_);  // "" after a success
};

}  // namespace sharelink
