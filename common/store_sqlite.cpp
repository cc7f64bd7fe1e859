// The SQLite backend: the installation object, its connections' opening, and the one translation of SQLite
// errors.
#include "common/store_sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <thread>

#include "common/database.hpp"
#include "common/error.hpp"
#include "common/sqlite_connection.hpp"

namespace sharelink {
namespace {

// Reader connections per core: SQLite work is a fraction of a request, so
// two per core keep every core busy while one holder waits to be scheduled
// (4 and 8 measured alike on 2 cores); each holds a 2 MB page cache.
constexpr std::size_t k_readers_per_core = 2;
constexpr std::size_t k_min_readers = 4;

// What an operator can do about a failure, by SQLite's primary result code.
std::string hint(int code, std::chrono::milliseconds lock_wait) {
  switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      return " (another process held a lock on it for more than " + std::to_string(lock_wait.count()) +
             " ms; try again)";
    case SQLITE_READONLY:
      return " (this user cannot write the file or its directory: check their owner and permissions)";
    case SQLITE_FULL:
      return " (the disk is full)";
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return " (check the path and its permissions)";
    case SQLITE_IOERR:
      return " (the disk reported an I/O error)";
    default:
      return "";
  }
}

bool unavailable(int code) {
  switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_IOERR:
      return true;
    default:
      return false;
  }
}

// Creates dir and its parents if missing.
void ensure_directory(const std::filesystem::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create directory " + dir.string() + ": " + ec.message());
}

class SqliteStorage final : public StorageBackend {
 public:
  SqliteStorage(std::filesystem::path db_file, std::filesystem::path audit_file,
                const StorageOptions& options)
      : db_file_(std::move(db_file)), audit_file_(std::move(audit_file)), options_(options) {}

  std::vector<std::pair<std::string, std::string>> describe() const override {
    return {{"database", db_file_.string()}, {"audit_database", audit_file_.string()}};
  }

  int schema_version() const override { return latest_schema_version(SchemaKind::main); }

  std::vector<std::string> schema_problems() const override {
    std::vector<std::string> problems;
    for (const auto& [file, kind] :
         {std::pair{db_file_, SchemaKind::main}, std::pair{audit_file_, SchemaKind::audit}}) {
      try {
        sharelink::require_current_schema(file, kind, options_.lock_wait);
      } catch (const Error& e) {
        problems.emplace_back(e.what());
      }
    }
    return problems;
  }

  StorageMigration migrate() override {
    ensure_directory(db_file_.parent_path());
    ensure_directory(audit_file_.parent_path());
    const MigrationReport catalogue = migrate_database(db_file_, SchemaKind::main);
    const MigrationReport audit = migrate_database(audit_file_, SchemaKind::audit);
    return {{catalogue.from_version, catalogue.to_version}, {audit.from_version, audit.to_version}};
  }

  std::unique_ptr<CatalogReader> open_reader() override { return open_sqlite_reader(db_file_, options_); }
  std::unique_ptr<AdminStore> open_admin() override { return open_sqlite_admin(db_file_, options_); }
  std::unique_ptr<ViewStore> open_view_store() override { return open_sqlite_view_store(db_file_, options_); }
  std::unique_ptr<AuditStorage> open_audit(AuditUse use) override {
    return open_sqlite_audit(audit_file_, use, options_);
  }

  std::size_t reader_connections(int /*server_threads*/) const override {
    return std::max<std::size_t>(k_min_readers, k_readers_per_core * std::thread::hardware_concurrency());
  }

 private:
  const std::filesystem::path db_file_;
  const std::filesystem::path audit_file_;
  const StorageOptions options_;
};

}  // namespace

void throw_storage_failure(const SQLite::Exception& e, std::string_view what,
                           std::chrono::milliseconds lock_wait) {
  // -1: SQLiteCpp's own checks (a misuse), never the database's state.
  const int code = e.getErrorCode() < 0 ? -1 : (e.getErrorCode() & 0xff);
  std::string message = std::string(what) + ": " + e.what() + hint(code, lock_wait);
  if (unavailable(code)) throw DatabaseUnavailable(message);
  throw Error(message);
}

std::unique_ptr<SQLite::Database> open_current_database(const std::filesystem::path& file, SchemaKind kind,
                                                        ConnectionThreading threading,
                                                        std::chrono::milliseconds lock_wait) {
  try {
    return open_connection(file, kind, threading, lock_wait);
  } catch (const DatabaseUnavailable&) {
    throw;
  } catch (const Error& e) {
    // Missing, of another schema version, or unopenable: unavailable to this process for now.
    throw DatabaseUnavailable(e.what());
  }
}

std::unique_ptr<StorageBackend> open_sqlite_storage(std::filesystem::path db_file,
                                                    std::filesystem::path audit_file,
                                                    const StorageOptions& options) {
  return std::make_unique<SqliteStorage>(std::move(db_file), std::move(audit_file), options);
}

}  // namespace sharelink
