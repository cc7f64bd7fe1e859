// Unit tests of the SQLite backend's migration runner (migrate_database, require_current_schema,
// schema_version): a new file, an older, the current and a newer schema, for both databases.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "common/error.hpp"
#include "common/schema.hpp"
#include "common/store_sqlite.hpp"
#include "tests/common/raw_sqlite.hpp"
#include "tests/common/temp_dir.hpp"

namespace sharelink {
namespace {

using testing::RawDb;
using testing::TempDir;

// Every table, index and trigger with its SQL, as one text to compare.
std::string schema_of(const std::filesystem::path& file) {
  RawDb db(file);
  return db.text(
      "SELECT coalesce(group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), char(10)), '') "
      "FROM (SELECT * FROM sqlite_master ORDER BY type, name)");
}

// A database at schema version `version`: the migrations up to it, applied by hand.
void create_at_version(const std::filesystem::path& file, SchemaKind kind, int version) {
  RawDb db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  for (const auto& migration : migrations(kind)) {
    if (migration.version > version) break;
    db.exec(migration.sql);
  }
  db.exec("PRAGMA user_version = " + std::to_string(version));
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no Error)";
}

}  // namespace

TEST_CASE("migrations: numbered from 1 without gaps, the last one the latest version",
          "[store_sqlite][migrations]") {
  const SchemaKind kind = GENERATE(SchemaKind::main, SchemaKind::audit);
  const auto all = migrations(kind);
  REQUIRE_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    CAPTURE(all[i].name);
    CHECK(all[i].version == static_cast<int>(i) + 1);
  }
  CHECK(latest_schema_version(kind) == all.back().version);
}

TEST_CASE("migrate_database: a new file gets every migration", "[store_sqlite][migrations]") {
  const SchemaKind kind = GENERATE(SchemaKind::main, SchemaKind::audit);
  const TempDir dir;
  const auto file = dir / "new.db";
  CHECK(message_of([&] {
          require_current_schema(file, kind);
        }).find("does not exist (run \"sharectl init\")") != std::string::npos);

  const SchemaMigration report = migrate_database(file, kind);
  CHECK(report.from_version == 0);
  CHECK(report.to_version == latest_schema_version(kind));
  CHECK(schema_version(file) == latest_schema_version(kind));
  CHECK_NOTHROW(require_current_schema(file, kind));
}

TEST_CASE("migrate_database: the current schema is left as it is", "[store_sqlite][migrations]") {
  const SchemaKind kind = GENERATE(SchemaKind::main, SchemaKind::audit);
  const TempDir dir;
  const auto file = dir / "current.db";
  migrate_database(file, kind);
  const std::string before = schema_of(file);
  const SchemaMigration again = migrate_database(file, kind);
  CHECK(again.from_version == latest_schema_version(kind));
  CHECK(again.to_version == latest_schema_version(kind));
  CHECK(schema_of(file) == before);
}

TEST_CASE("migrate_database: every older version reaches the schema a new file gets",
          "[store_sqlite][migrations]") {
  const SchemaKind kind = GENERATE(SchemaKind::main, SchemaKind::audit);
  const TempDir dir;
  const auto fresh = dir / "fresh.db";
  migrate_database(fresh, kind);
  const std::string expected = schema_of(fresh);
  const int latest = latest_schema_version(kind);
  for (int version = 1; version < latest; ++version) {
    CAPTURE(version);
    const auto file = dir / ("at-" + std::to_string(version) + ".db");
    create_at_version(file, kind, version);
    const std::string refused = message_of([&] { require_current_schema(file, kind); });
    CHECK(refused == std::string(kind == SchemaKind::main ? "database " : "audit database ") + file.string() +
                         " has schema version " + std::to_string(version) + ", this build needs " +
                         std::to_string(latest) + " (run \"sharectl init\" to migrate it)");
    const SchemaMigration report = migrate_database(file, kind);
    CHECK(report.from_version == version);
    CHECK(report.to_version == latest);
    CHECK(schema_of(file) == expected);
    CHECK_NOTHROW(require_current_schema(file, kind));
  }
}

TEST_CASE("migrate_database: a newer schema is refused and left untouched", "[store_sqlite][migrations]") {
  const SchemaKind kind = GENERATE(SchemaKind::main, SchemaKind::audit);
  const TempDir dir;
  const auto file = dir / "newer.db";
  const int latest = latest_schema_version(kind);
  migrate_database(file, kind);
  { RawDb(file).exec("PRAGMA user_version = " + std::to_string(latest + 1)); }
  const std::string before = schema_of(file);
  const std::string expected = std::string(kind == SchemaKind::main ? "database " : "audit database ") +
                               file.string() + " has schema version " + std::to_string(latest + 1) +
                               ", newer than this build knows (" + std::to_string(latest) +
                               "); upgrade shared-link";
  CHECK(message_of([&] { migrate_database(file, kind); }) == expected);
  CHECK(message_of([&] { require_current_schema(file, kind); }) == expected);
  CHECK(schema_version(file) == latest + 1);
  CHECK(schema_of(file) == before);
}

TEST_CASE("audit schema 3: a version-2 log keeps every record, and audit stats reads the age index alone",
          "[store_sqlite][migrations]") {
  const TempDir dir;
  const auto file = dir / "audit-v2.db";
  create_at_version(file, SchemaKind::audit, 2);
  const std::string rows_sql =
      "SELECT group_concat(id || '|' || ts || '|' || event || '|' || outcome || '|' || coalesce(status, '-') || "
      "'|' || coalesce(client_ip, '-') || '|' || ip_truncated || '|' || coalesce(share_id, '-'), char(10)) "
      "FROM (SELECT * FROM audit_records ORDER BY id)";
  std::string before;
  {
    RawDb db(file);
    db.exec(
        "INSERT INTO audit_records (ts, event, outcome, status, client_ip, ip_truncated, share_id) VALUES "
        "(1000, 'resolve', 'ok', 200, '10.0.0.1', 0, 'mslink_000000000001'), "
        "(2000, 'resolve', 'not_found', 404, '10.0.0.2', 0, NULL), "
        "(3000, 'media', 'ok', 200, '10.0.0.0', 1, 'mslink_000000000001'), "
        "(4000, 'admin', 'ok', NULL, NULL, 1, NULL)");
    before = db.text(rows_sql);
  }
  const SchemaMigration report = migrate_database(file, SchemaKind::audit);
  CHECK(report.from_version == 2);
  CHECK(report.to_version == latest_schema_version(SchemaKind::audit));

  RawDb db(file);
  CHECK(db.text(rows_sql) == before);
  CHECK(db.text("PRAGMA integrity_check") == "ok");
  // The two queries of SqliteAuditStorage::stats with --since, as it writes them: neither reads a
  // table row (a 20M-record log has about 650,000 records a day).
  const std::string range = " AND ip_truncated IN (0, 1) AND ts >= 1500";
  const std::string by_outcome = db.query_plan("SELECT event, outcome, COUNT(*) FROM audit_records WHERE 1" + range +
                                               " GROUP BY event, outcome ORDER BY event, outcome");
  CHECK_THAT(by_outcome, Catch::Contains("USING COVERING INDEX audit_records_age (ip_truncated=? AND ts>?)"));
  const std::string clients =
      db.query_plan("SELECT client_ip, COUNT(*) AS n FROM audit_records WHERE client_ip IS NOT NULL" + range +
                    " GROUP BY client_ip ORDER BY n DESC, client_ip LIMIT 10");
  CHECK_THAT(clients, Catch::Contains("USING COVERING INDEX audit_records_age (ip_truncated=? AND ts>?)"));
}

}  // namespace sharelink
