// Creating, migrating and checking the schema of a PostgreSQL database (schema/postgresql,
// schema_migrations).
#pragma once

#include <optional>

#include "common/pg_connection.hpp"
#include "common/store.hpp"

namespace sharelink {

// Applies every pending migration of schema/postgresql, each in its own
// transaction, and records it in schema_migrations (created first if
// missing). Safe when several run at once (two "sharectl init", or one beside
// running daemons): each transaction takes a transaction-level advisory lock
// and re-reads the version under it, so every migration is applied exactly
// once. Migrations run without a statement timeout. Throws Error when the
// schema is newer than this build knows, PgError when a migration fails (it
// is rolled back), DatabaseUnavailable when the server is lost. The tables go
// into the first schema of the connection's search_path.
SchemaMigration migrate_postgres(PgConnection& connection);

// The schema version recorded in schema_migrations, 0 when the table is
// empty, nullopt when there is no such table (nothing was ever migrated).
// Throws as PgConnection::exec.
std::optional<int> postgres_schema_version(PgConnection& connection);

// Throws Error, with the command that fixes it, unless the schema version is
// exactly the one this build knows; the messages have the shapes of
// require_current_schema's for SQLite, naming the database by its URL
// (without a password).
void require_current_postgres_schema(PgConnection& connection);

}  // namespace sharelink
