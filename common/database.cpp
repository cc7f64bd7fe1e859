#include "common/database.hpp"

#include <sqlite3.h>

#include <system_error>

#include "common/error.hpp"
#include "common/sqlite_connection.hpp"

namespace sharelink {
namespace {

const char* describe(SchemaKind kind) { return kind == SchemaKind::audit ? "audit database" : "database"; }

void configure(SQLite::Database& db) {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=ON");
}

int user_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }

}  // namespace

int latest_schema_version(SchemaKind kind) {
  const auto all = migrations(kind);
  return all.empty() ? 0 : all.back().version;
}

MigrationReport migrate_database(const std::filesystem::path& file, SchemaKind kind) {
  try {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, k_busy_timeout_ms);
    configure(db);
    MigrationReport report;
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

}  // namespace sharelink
