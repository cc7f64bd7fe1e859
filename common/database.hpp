// Opening, creating and migrating the two SQLite databases (WAL, busy timeout, user_version).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "common/schema.hpp"

namespace sharelink {

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
};

// Creates the database file if missing and applies every pending migration,
// each in its own transaction. Throws Error when the file cannot be opened or
// its schema is newer than this build knows. Safe while a daemon runs.
MigrationReport migrate_database(const std::filesystem::path& file, SchemaKind kind);

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
// it changes nothing). Not thread-safe: call at the start of main.
void configure_sqlite_for_threads();

}  // namespace sharelink
