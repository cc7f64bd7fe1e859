// Numbered SQL migrations of each database, embedded at build time from schema/.
#pragma once

#include <span>

namespace sharelink {

// main and audit: the two SQLite files (schema/main, schema/audit), versioned
// by PRAGMA user_version. postgresql: the one PostgreSQL database that holds
// both (schema/postgresql), versioned in its schema_migrations table
// (common/pg_migrations.hpp).
enum class SchemaKind { main, audit, postgresql };

struct Migration {
  int version;       // the NNNN of schema/<kind>/NNNN_name.sql: the schema version once it is applied
  const char* name;  // file name, for messages
  const char* sql;
};

// Migrations of one database in ascending version order.
std::span<const Migration> migrations(SchemaKind kind);

// The schema version this build knows: the last migration's version.
int latest_schema_version(SchemaKind kind);

}  // namespace sharelink
