// Private to the SQLite backend (common/store_sqlite*.cpp): SQLiteCpp connections with the project's settings.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/domain.hpp"
#include "common/error.hpp"
#include "common/schema.hpp"
#include "common/store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

inline constexpr int k_busy_timeout_ms = 5000;

// Who may use a connection: any thread (SQLite locks the connection on every
// call), or one thread at a time, which the owner guarantees (a reader lent
// by a pool, a connection behind the owner's mutex); SQLite then skips that
// per-call lock.
enum class ConnectionThreading { serialized, one_thread_at_a_time };

// A read-write connection on an existing database with the current schema of
// kind (throws Error naming the file and the fix otherwise), in WAL mode with
// synchronous=NORMAL and a busy timeout, so the daemon and sharectl can work
// on the same files at once.
std::unique_ptr<SQLite::Database> open_connection(
    const std::filesystem::path& file, SchemaKind kind, ConnectionThreading threading = ConnectionThreading::serialized,
    std::chrono::milliseconds lock_wait = std::chrono::milliseconds(k_busy_timeout_ms));

// The SQLite backend's one translation of SQLite failures into the project's
// errors (common/store.hpp): a database that cannot be opened, locked past
// lock_wait, full, read-only or failing I/O is DatabaseUnavailable;
// anything else is Error. The message is what ("database /path/file.db"),
// SQLite's text and, where one is known, the fix.
[[noreturn]] void throw_storage_failure(const SQLite::Exception& e, std::string_view what,
                                        std::chrono::milliseconds lock_wait);

// Runs fn; a SQLite::Exception it throws becomes the project's error
// through throw_storage_failure(e, what, lock_wait). What every connection
// object of the backend wraps its SQLite calls in.
template <typename Fn>
auto sqlite_guarded(std::string_view what, std::chrono::milliseconds lock_wait, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    throw_storage_failure(e, what, lock_wait);
  }
}

// A connection for the backend's readers and writers: an existing database
// with the current schema of kind, configured like open_connection, with
// lock_wait as its busy timeout. Every failure to open (a missing file,
// another schema version, an unreadable file) is DatabaseUnavailable naming
// the file and the fix: the daemon answers 503 and tries again later.
std::unique_ptr<SQLite::Database> open_current_database(const std::filesystem::path& file, SchemaKind kind,
                                                        ConnectionThreading threading,
                                                        std::chrono::milliseconds lock_wait);

// The backend's connection objects: common/store_sqlite_catalog.cpp ...
std::unique_ptr<CatalogReader> open_sqlite_reader(const std::filesystem::path& db_file, const StorageOptions& options);
std::unique_ptr<ViewStore> open_sqlite_view_store(const std::filesystem::path& db_file, const StorageOptions& options);
// ... common/store_sqlite_admin.cpp ...
std::unique_ptr<AdminStore> open_sqlite_admin(const std::filesystem::path& db_file, const StorageOptions& options);
// ... and common/store_sqlite_audit.cpp.
std::unique_ptr<AuditStorage> open_sqlite_audit(const std::filesystem::path& audit_file, AuditUse use,
                                                const StorageOptions& options);

// Files of backups and copies (common/store_sqlite_maintenance.cpp):
// creates an empty file with mode 0600 that must not exist yet; fsyncs a file
// or a directory (a completed copy survives a crash); removes a file,
// ignoring any failure. The first two throw Error naming the file.
void create_private_file(const std::filesystem::path& file);
void sync_path(const std::filesystem::path& path, bool directory);
void remove_quietly(const std::filesystem::path& file);

// Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back if it throws.
template <typename Fn>
void with_write_transaction(SQLite::Database& db, Fn&& fn) {
  db.exec("BEGIN IMMEDIATE");
  try {
    fn();
    db.exec("COMMIT");
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

// Resets a prepared statement when the scope ends. A stepped SELECT that is
// not reset keeps its read snapshot, so a long-lived connection (one per
// daemon worker) would not see newer commits, such as sharectl's revoke.
class StatementScope {
 public:
  explicit StatementScope(SQLite::Statement& st) : st_(st) {}
  ~StatementScope() { st_.tryReset(); }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;

 private:
  SQLite::Statement& st_;
};

// Binding and reading nullable columns.
inline void bind_optional(SQLite::Statement& st, int index, const std::optional<std::string>& value) {
  if (value) st.bind(index, *value); else st.bind(index);
}
inline void bind_optional(SQLite::Statement& st, int index, const std::optional<TimePoint>& value) {
  if (value) st.bind(index, static_cast<int64_t>(to_unix_seconds(*value))); else st.bind(index);
}
inline void bind_optional(SQLite::Statement& st, int index, const std::optional<std::int64_t>& value) {
  if (value) st.bind(index, static_cast<int64_t>(*value)); else st.bind(index);
}
inline void bind_optional(SQLite::Statement& st, int index, const std::optional<double>& value) {
  if (value) st.bind(index, *value); else st.bind(index);
}
inline std::optional<std::string> optional_text(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getString();
}
inline std::optional<TimePoint> optional_time(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return from_unix_seconds(column.getInt64());
}
inline std::optional<std::int64_t> optional_int(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getInt64();
}
inline std::optional<double> optional_real(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getDouble();
}

// Typed columns the schema constrains (CHECK): text outside them is a damaged row.
inline TargetType read_target_type(const SQLite::Column& column) {
  if (const auto type = parse_target_type(column.getText())) return *type;
  throw Error("a share link has an unknown target_type \"" + column.getString() + "\"");
}
inline Visibility read_visibility(const SQLite::Column& column) {
  if (const auto visibility = parse_visibility(column.getText())) return *visibility;
  throw Error("a share link has an unknown visibility \"" + column.getString() + "\"");
}

}  // namespace sharelink
