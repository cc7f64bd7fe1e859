// The SQLite backend: the installation object, its connections' opening, and the one translation of SQLite
// errors.
#include "common/store_sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include "common/error.hpp"
#include "common/store_sqlite_connection.hpp"

namespace sharelink {
namespace {

const char* describe(SchemaKind kind) { return kind == SchemaKind::audit ? "audit database" : "database"; }

void configure(SQLite::Database& db) {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=ON");
}

int user_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }


// Reader connections per core: SQLite work is a fraction of a request, so
// two per core keep every core busy while one holder waits to be scheduled
// (4 and 8 measured alike on 2 cores); each holds a 2 MB page cache. Why few
// and pooled rather than one per worker thread: with hundreds of
// worker threads, WAL readers compete for the WAL's few read-mark slots, and the
// losers sleep inside SQLite and retry (the largest part of the tail latency
// measured), and every connection's page cache made memory grow with the
// thread count.
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
    const SchemaMigration catalogue = migrate_database(db_file_, SchemaKind::main);
    return {catalogue, migrate_database(audit_file_, SchemaKind::audit)};
  }

  std::unique_ptr<CatalogReader> open_reader() override { return open_sqlite_reader(db_file_, options_); }
  std::unique_ptr<AdminStore> open_admin() override { return open_sqlite_admin(db_file_, options_); }
  std::unique_ptr<ViewStore> open_view_store() override { return open_sqlite_view_store(db_file_, options_); }
  std::unique_ptr<AuditStorage> open_audit(AuditUse use) override {
    return open_sqlite_audit(audit_file_, use, options_);
  }

  std::vector<BackupResult> backup(const std::filesystem::path& file) override {
    return backup_databases(db_file_, audit_file_, file);
  }
  std::vector<DatabaseCheck> check() override {
    return {check_database(db_file_, SchemaKind::main), check_database(audit_file_, SchemaKind::audit)};
  }

  void export_rows(RowSink& sink) override { export_sqlite_rows(db_file_, audit_file_, sink); }
  std::unique_ptr<RowImport> open_import() override { return open_sqlite_import(db_file_, audit_file_); }

  std::size_t reader_connections(int /*server_threads*/) const override {
    return std::max<std::size_t>(k_min_readers, k_readers_per_core * std::thread::hardware_concurrency());
  }

 private:
  const std::filesystem::path db_file_;
  const std::filesystem::path audit_file_;
  const StorageOptions options_;
};

}  // namespace

SchemaMigration migrate_database(const std::filesystem::path& file, SchemaKind kind) {
  try {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, k_busy_timeout_ms);
    configure(db);
    SchemaMigration report;
    report.from_version = user_version(db);
    report.to_version = report.from_version;
    const int latest = latest_schema_version(kind);
    if (report.from_version > latest) {
      throw Error(std::string(describe(kind)) + " " + file.string() + " has schema version " +
                  std::to_string(report.from_version) + ", newer than this build knows (" +
                  std::to_string(latest) + "); upgrade shared-link");
    }
    for (const auto& migration : migrations(kind)) {
      if (migration.version <= report.from_version) continue;
      with_write_transaction(db, [&] {
        // Re-check under the write lock: another sharectl init may have migrated meanwhile.
        if (user_version(db) >= migration.version) return;
        db.exec(migration.sql);
        db.exec("PRAGMA user_version = " + std::to_string(migration.version));
      });
      report.to_version = migration.version;
    }
    return report;
  } catch (const SQLite::Exception& e) {
    throw_storage_failure(e, std::string("cannot initialise ") + describe(kind) + " " + file.string(),
                          std::chrono::milliseconds(k_busy_timeout_ms));
  }
}

int schema_version(const std::filesystem::path& file, std::chrono::milliseconds lock_wait) {
  try {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY, static_cast<int>(lock_wait.count()));
    return user_version(db);
  } catch (const SQLite::Exception& e) {
    throw_storage_failure(e, "cannot open database " + file.string(), lock_wait);
  }
}

void require_current_schema(const std::filesystem::path& file, SchemaKind kind, std::chrono::milliseconds lock_wait) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    throw Error(std::string(describe(kind)) + " " + file.string() + " does not exist (run \"sharectl init\")");
  }
  const int version = schema_version(file, lock_wait);
  const int latest = latest_schema_version(kind);
  if (version < latest) {
    throw Error(std::string(describe(kind)) + " " + file.string() + " has schema version " +
                std::to_string(version) + ", this build needs " + std::to_string(latest) +
                " (run \"sharectl init\" to migrate it)");
  }
  if (version > latest) {
    throw Error(std::string(describe(kind)) + " " + file.string() + " has schema version " +
                std::to_string(version) + ", newer than this build knows (" + std::to_string(latest) +
                "); upgrade shared-link");
  }
}

std::unique_ptr<SQLite::Database> open_connection(const std::filesystem::path& file, SchemaKind kind,
                                                  ConnectionThreading threading, std::chrono::milliseconds lock_wait) {
  require_current_schema(file, kind, lock_wait);
  try {
    const int flags = SQLite::OPEN_READWRITE |
                      (threading == ConnectionThreading::one_thread_at_a_time ? SQLite::OPEN_NOMUTEX : 0);
    auto db = std::make_unique<SQLite::Database>(file.string(), flags, static_cast<int>(lock_wait.count()));
    configure(*db);
    return db;
  } catch (const SQLite::Exception& e) {
    throw_storage_failure(e, std::string("cannot open ") + describe(kind) + " " + file.string(), lock_wait);
  }
}

void configure_sqlite_for_threads() {
  // SQLITE_MISUSE once SQLite is initialised: the setting then stays as it was.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}


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
