#include "common/pg_migrations.hpp"

#include <string>

#include "common/error.hpp"
#include "common/postgres_url.hpp"
#include "common/schema.hpp"

namespace sharelink {
namespace {

// The advisory lock every migration transaction holds: "shlkschm".
constexpr std::int64_t k_migration_lock = 0x73686c6b7363686d;

constexpr const char* k_create_version_table =
    "CREATE TABLE schema_migrations ("
    " version    integer PRIMARY KEY,"
    " name       text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

std::string shown(const PgConnection& connection) {
  return "database " + redact_postgres_url(connection.options().url);
}

// Opens a migration transaction: no statement timeout (an index build may take
// long), and the lock that serialises every migrating session.
void lock_for_migration(PgConnection& connection) {
  connection.exec("SET LOCAL statement_timeout = 0");
  connection.exec("SELECT pg_advisory_xact_lock($1)", PgParams(k_migration_lock));
}

[[noreturn]] void newer_than_known(const PgConnection& connection, int version, int latest) {
  throw Error(shown(connection) + " has schema version " + std::to_string(version) +
              ", newer than this build knows (" + std::to_string(latest) + "); upgrade shared-link");
}

}  // namespace

std::optional<int> postgres_schema_version(PgConnection& connection) {
  const PgResult table = connection.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!table.row(0).boolean(0)) return std::nullopt;
  const PgResult version = connection.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  return static_cast<int>(version.row(0).int64(0));
}

SchemaMigration migrate_postgres(PgConnection& connection) {
  const int latest = latest_schema_version(SchemaKind::postgresql);
  SchemaMigration report;
  {
    PgTransaction transaction(connection);
    lock_for_migration(connection);
    auto version = postgres_schema_version(connection);
    if (!version) {
      connection.exec(k_create_version_table);
      version = 0;
    }
    transaction.commit();
    report.from_version = report.to_version = *version;
  }
  if (report.from_version > latest) newer_than_known(connection, report.from_version, latest);

  for (const auto& migration : migrations(SchemaKind::postgresql)) {
    if (migration.version <= report.to_version) continue;
    PgTransaction transaction(connection);
    lock_for_migration(connection);
    // Re-read under the lock: another session may have migrated meanwhile.
    const int current = postgres_schema_version(connection).value_or(0);
    if (current >= migration.version) {
      transaction.commit();
      report.to_version = current;
      continue;
    }
    try {
      connection.exec(migration.sql);
    } catch (const PgError& e) {
      throw PgError("cannot migrate " + shown(connection) + " (" + migration.name + "): " + e.what(),
                    e.sqlstate());
    }
    connection.exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    PgParams(migration.version, migration.name));
    transaction.commit();
    report.to_version = migration.version;
  }
  return report;
}

void require_current_postgres_schema(PgConnection& connection) {
  const int latest = latest_schema_version(SchemaKind::postgresql);
  const auto version = postgres_schema_version(connection);
  if (!version) throw Error(shown(connection) + " has no shared-link tables (run \"sharectl init\")");
  if (*version < latest) {
    throw Error(shown(connection) + " has schema version " + std::to_string(*version) +
                ", this build needs " + std::to_string(latest) + " (run \"sharectl init\" to migrate it)");
  }
  if (*version > latest) newer_than_known(connection, *version, latest);
}

}  // namespace sharelink
