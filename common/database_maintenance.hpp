// Online backups and integrity checks of the two SQLite databases (sharectl db backup / db check).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/schema.hpp"

namespace sharelink {

// One database copied by backup_database.
struct BackupResult {
  std::filesystem::path source;
  std::filesystem::path copy;
  std::uintmax_t bytes = 0;  // size of the copy
  int schema_version = 0;    // PRAGMA user_version of the copy
};

// Copies the SQLite database `from` into the new file `to` with SQLite's online
// backup API. The copy is one consistent snapshot, taken in a single read
// transaction, so it is safe while the daemon and sharectl write (WAL mode:
// writers are not blocked). The copy is verified (PRAGMA quick_check), stored
// in rollback-journal mode as one self-contained file, created with mode 0600,
// synced, and only then renamed to `to`: an interrupted backup never leaves a
// partial file under that name. Throws Error, naming the file and the fix, if
// `from` does not exist or cannot be read, if `to` already exists (never
// overwritten, which also protects the live database), or if the copy cannot
// be written or verified. Thread-safe (uses its own connections).
BackupResult backup_database(const std::filesystem::path& from, const std::filesystem::path& to);

// sharectl db backup FILE: backup_database(main_db, file) and
// backup_database(audit_db, file + "-audit"). Both destinations are checked
// before anything is written; if the second copy fails, the first is removed.
// Throws Error as backup_database does.
std::vector<BackupResult> backup_databases(const std::filesystem::path& main_db, const std::filesystem::path& audit_db,
                                           const std::filesystem::path& file);

// The copy of the audit database that backup_databases writes beside `file`.
std::filesystem::path audit_backup_path(const std::filesystem::path& file);

// What check_database found in one database.
struct DatabaseCheck {
  std::filesystem::path file;
  SchemaKind kind = SchemaKind::main;
  bool exists = false;
  int schema_version = -1;          // PRAGMA user_version; -1 when it could not be read
  int expected_schema_version = 0;  // the version this build knows
  // Every problem, one human-readable line each (missing file, unreadable
  // file, schema version mismatch, integrity_check and foreign_key_check
  // findings); at most k_max_check_problems lines plus one "... more" line.
  std::vector<std::string> problems;

  bool ok() const { return problems.empty(); }
};

inline constexpr std::size_t k_max_check_problems = 100;

// Opens `file` read-only and runs PRAGMA integrity_check and PRAGMA
// foreign_key_check, and compares PRAGMA user_version with
// latest_schema_version(kind). Problems of the file itself (missing, not a
// database, corrupt, wrong version) are reported in the result, never thrown.
// Safe while the daemon runs (reads one snapshot). Thread-safe.
DatabaseCheck check_database(const std::filesystem::path& file, SchemaKind kind);

}  // namespace sharelink
