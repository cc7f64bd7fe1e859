// The SQLite backend's entry points: the two-file installation behind common/store.hpp, and its file-level
// tools.
//
// Our types only (no SQLite header). Used by open_storage(), and by the
// backend's own tests; nothing else above the seam includes it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/schema.hpp"
#include "common/store.hpp"

namespace sharelink {

// The backend over db_file (licences, catalogue, share links) and audit_file
// (the audit log). Opens nothing: each connection opens its file when it is
// created. Thread-safe, as StorageBackend requires.
std::unique_ptr<StorageBackend> open_sqlite_storage(std::filesystem::path db_file,
                                                    std::filesystem::path audit_file,
                                                    const StorageOptions& options);

// Creates the database file if missing and applies every pending migration of
// kind, each in its own transaction (tracked with PRAGMA user_version). Throws
// Error when the file cannot be opened or its schema is newer than this build
// knows. Safe while a daemon runs.
SchemaMigration migrate_database(const std::filesystem::path& file, SchemaKind kind);

// Throws Error, with the command that fixes it, unless the file exists and its
// schema version is exactly the one this build knows. Waits at most
// lock_wait for a lock another connection holds.
void require_current_schema(const std::filesystem::path& file, SchemaKind kind,
                            std::chrono::milliseconds lock_wait = std::chrono::milliseconds(5000));

// PRAGMA user_version of an existing database; throws Error if it cannot be opened.
int schema_version(const std::filesystem::path& file,
                   std::chrono::milliseconds lock_wait = std::chrono::milliseconds(5000));

// Process-wide SQLite setting for a server with many threads: turns off
// SQLite's allocation statistics, whose one global mutex every allocation of
// every connection takes. Call before the first connection opens (afterwards
// it changes nothing). Not thread-safe: call at the start of main
// (prepare_storage_for_threads does).
void configure_sqlite_for_threads();

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
std::vector<BackupResult> backup_databases(const std::filesystem::path& main_db,
                                           const std::filesystem::path& audit_db,
                                           const std::filesystem::path& file);

// The copy of the audit database that backup_databases writes beside `file`.
std::filesystem::path audit_backup_path(const std::filesystem::path& file);

// Opens `file` read-only and runs PRAGMA integrity_check and PRAGMA
// foreign_key_check, and compares PRAGMA user_version with
// latest_schema_version(kind). Problems of the file itself (missing, not a
// database, corrupt, wrong version) are reported in the result, never thrown.
// Safe while the daemon runs (reads one snapshot). Thread-safe.
DatabaseCheck check_database(const std::filesystem::path& file, SchemaKind kind);

// db copy's two sides on SQLite files (common/store_sqlite_copy.cpp): every
// row of both files, each read in one read transaction; and new files
// db_file and audit_file written from another installation's rows (refused
// if either exists), renamed into place at commit(). The PostgreSQL backend's
// db backup writes its SQLite files through the import.
void export_sqlite_rows(const std::filesystem::path& db_file, const std::filesystem::path& audit_file,
                        RowSink& sink);
std::unique_ptr<RowImport> open_sqlite_import(const std::filesystem::path& db_file,
                                              const std::filesystem::path& audit_file);

}  // namespace sharelink
