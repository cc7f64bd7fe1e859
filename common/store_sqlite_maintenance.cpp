// The SQLite backend's maintenance: online backups and integrity checks of the two files (db backup / db check).
#include "common/store_sqlite.hpp"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/store_sqlite_connection.hpp"

namespace sharelink {
namespace {

const char* describe(SchemaKind kind) { return kind == SchemaKind::audit ? "audit database" : "database"; }

std::string errno_text() { return std::strerror(errno); }

void require_absent(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(file, ec))) {
    throw Error("backup file " + file.string() + " already exists (remove it or choose another name)");
  }
}

// Copies every page of source into copy in one backup step: one read
// transaction on the source, hence one consistent snapshot. Only a source
// that is busy (a writer in recovery, a rollback-mode writer) makes the step
// return early; that is retried for up to the busy timeout.
void copy_pages(SQLite::Database& copy, SQLite::Database& source) {
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + milliseconds(k_busy_timeout_ms);
  for (;;) {
    SQLite::Backup backup(copy, source);
    const int rc = backup.executeStep(-1);
    if (rc == SQLITE_DONE) return;
    if (steady_clock::now() >= deadline) {
      throw Error(std::string("the database stayed locked for ") + std::to_string(k_busy_timeout_ms) +
                  " ms (try again)");
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// Up to k_max_check_problems lines of PRAGMA integrity_check, none when it says "ok".
void integrity_problems(SQLite::Database& db, std::vector<std::string>& problems) {
  SQLite::Statement st(db, "PRAGMA integrity_check(" + std::to_string(k_max_check_problems + 1) + ")");
  while (st.executeStep()) {
    const std::string line = st.getColumn(0).getString();
    if (line == "ok") continue;
    problems.push_back("integrity check: " + line);
  }
}

// Rows whose REFERENCES point at nothing (PRAGMA foreign_key_check).
void foreign_key_problems(SQLite::Database& db, std::vector<std::string>& problems) {
  SQLite::Statement st(db, "PRAGMA foreign_key_check");
  while (st.executeStep()) {
    const std::string table = st.getColumn(0).getString();
    const std::string row = st.getColumn(1).isNull() ? std::string("a row") : "row " + st.getColumn(1).getString();
    const std::string parent = st.getColumn(2).getString();
    problems.push_back("foreign key check: " + row + " of table " + table + " refers to a missing row of " + parent);
    if (problems.size() > k_max_check_problems) return;
  }
}

void bound_problems(std::vector<std::string>& problems) {
  if (problems.size() <= k_max_check_problems) return;
  problems.resize(k_max_check_problems);
  problems.push_back("... more problems not shown");
}

}  // namespace

void create_private_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("cannot create backup file " + file.string() + ": " + errno_text());
  ::close(fd);
}

void sync_path(const std::filesystem::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path.string() + " to sync it: " + errno_text());
  const int rc = ::fsync(fd);
  const std::string what = errno_text();
  ::close(fd);
  if (rc != 0 && !directory) throw Error("cannot sync backup file " + path.string() + ": " + what);
}

void remove_quietly(const std::filesystem::path& file) {
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
}

BackupResult backup_database(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(from, ec)) {
    throw Error("database " + from.string() + " does not exist (run \"sharectl init\", or check --db/--config)");
  }
  require_absent(to);

  // Written under a temporary name beside the destination, renamed when complete.
  std::filesystem::path partial = to;
  partial += ".partial-" + random_hex(6);
  create_private_file(partial);
  BackupResult result;
  result.source = from.string();
  result.copy = to;
  try {
    {
      SQLite::Database source(from.string(), SQLite::OPEN_READONLY, k_busy_timeout_ms);
      SQLite::Database copy(partial.string(), SQLite::OPEN_READWRITE, k_busy_timeout_ms);
      copy_pages(copy, source);
      // One self-contained file: no -wal/-shm needed to read it.
      copy.exec("PRAGMA journal_mode=DELETE");
      std::vector<std::string> problems;
      {
        SQLite::Statement st(copy, "PRAGMA quick_check(1)");
        while (st.executeStep()) {
          if (st.getColumn(0).getString() != "ok") problems.push_back(st.getColumn(0).getString());
        }
      }
      if (!problems.empty()) {
        throw Error("the copy of " + from.string() + " failed its check (" + problems.front() +
                    "); run \"sharectl db check\" on the source");
      }
      result.schema_version = copy.execAndGet("PRAGMA user_version").getInt();
    }
    sync_path(partial, false);
    std::filesystem::rename(partial, to);
    sync_path(to.has_parent_path() ? to.parent_path() : std::filesystem::path("."), true);
  } catch (const SQLite::Exception& e) {
    remove_quietly(partial);
    throw Error("cannot back up " + from.string() + " to " + to.string() + ": " + e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    remove_quietly(partial);
    throw Error("cannot back up " + from.string() + " to " + to.string() + ": " + e.code().message());
  } catch (const Error& e) {
    remove_quietly(partial);
    throw Error("cannot back up " + from.string() + " to " + to.string() + ": " + e.what());
  }
  result.bytes = std::filesystem::file_size(to, ec);
  return result;
}

std::filesystem::path audit_backup_path(const std::filesystem::path& file) {
  std::filesystem::path out = file;
  out += "-audit";
  return out;
}

std::vector<BackupResult> backup_databases(const std::filesystem::path& main_db, const std::filesystem::path& audit_db,
                                           const std::filesystem::path& file) {
  const auto audit_copy = audit_backup_path(file);
  require_absent(file);
  require_absent(audit_copy);
  std::vector<BackupResult> results;
  results.push_back(backup_database(main_db, file));
  try {
    results.push_back(backup_database(audit_db, audit_copy));
  } catch (...) {
    remove_quietly(file);
    throw;
  }
  return results;
}

DatabaseCheck check_database(const std::filesystem::path& file, SchemaKind kind) {
  DatabaseCheck check;
  check.location = file.string();
  check.kind = kind == SchemaKind::audit ? "audit" : "main";
  check.expected_schema_version = latest_schema_version(kind);
  const std::string name = std::string(describe(kind)) + " " + file.string();
  std::error_code ec;
  check.exists = std::filesystem::exists(file, ec);
  if (!check.exists) {
    check.problems.push_back(name + " does not exist (run \"sharectl init\", or check --db/--audit-db/--config)");
    return check;
  }
  try {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY, k_busy_timeout_ms);
    // One read transaction: every check below sees the same snapshot.
    db.exec("BEGIN");
    check.schema_version = db.execAndGet("PRAGMA user_version").getInt();
    if (check.schema_version < check.expected_schema_version) {
      check.problems.push_back(name + " has schema version " + std::to_string(check.schema_version) +
                               ", this build needs " + std::to_string(check.expected_schema_version) +
                               " (run \"sharectl init\" to migrate it)");
    } else if (check.schema_version > check.expected_schema_version) {
      check.problems.push_back(name + " has schema version " + std::to_string(check.schema_version) +
                               ", newer than this build knows (" + std::to_string(check.expected_schema_version) +
                               "); upgrade shared-link");
    }
    integrity_problems(db, check.problems);
    if (check.problems.size() <= k_max_check_problems) foreign_key_problems(db, check.problems);
    db.exec("COMMIT");
  } catch (const SQLite::Exception& e) {
    check.problems.push_back(name + " cannot be read: " + e.what() +
                             " (restore it from a backup made with \"sharectl db backup\")");
  }
  bound_problems(check.problems);
  return check;
}

}  // namespace sharelink
