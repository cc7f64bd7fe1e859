// Numbered SQL migrations for the two databases, embedded at build time from schema/.
#pragma once

#include <span>

namespace sharelink {

enum class SchemaKind { main, audit };

struct Migration {
  int version;       // the NNNN of schema/<kind>/NNNN_name.sql; PRAGMA user_version after it
  const char* name;  // file name, for messages
  const char* sql;
};

// Migrations of one database in ascending version order.
std::span<const Migration> migrations(SchemaKind kind);

// The schema version this build knows: the last migration's version.
int latest_schema_version(SchemaKind kind);

}  // namespace sharelink
