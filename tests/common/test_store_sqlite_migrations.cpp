// Unit tests of the SQLite backend's migration runner (migrate_database, require_current_schema,
// schema_version): a new file, an older, the current and a newer schema, for both databases.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "common/admin.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "common/schema.hpp"
#include "common/store.hpp"
#include "common/store_sqlite.hpp"
#include "common/time_format.hpp"
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

TEST_CASE("main schema 2: a version-1 database keeps its view counts, batched views add to them",
          "[store_sqlite][migrations]") {
  const TempDir dir;
  DatabaseConfig config;
  config.path = dir / "shared-link.db";
  config.audit_path = dir / "shared-link-audit.db";
  create_at_version(config.path, SchemaKind::main, 1);
  const std::string shares_sql =
      "SELECT group_concat(id || '|' || view_count || '|' || coalesce(last_viewed_at, '-'), char(10)) "
      "FROM (SELECT * FROM shares ORDER BY id)";
  std::string before;
  {
    RawDb db(config.path);
    db.exec(
        "INSERT INTO shares (id, token_digest, target_type, target_id, created_at, view_count, last_viewed_at, "
        "created_by) VALUES ('mslink_000000000001', 'aa', 'track', 'mtrack_000000000001', 100, 7, 1000, 'test'), "
        "('mslink_000000000002', 'bb', 'track', 'mtrack_000000000001', 100, 0, NULL, 'test')");
    before = db.text(shares_sql);
  }
  const auto storage = open_storage(config);
  CHECK(storage->migrate().catalogue.from_version == 1);
  {
    RawDb db(config.path);
    CHECK(db.text(shares_sql) == before);
    CHECK(db.integer("SELECT count(*) FROM share_views") == 0);
    CHECK(db.text("PRAGMA integrity_check") == "ok");
  }

  const auto admin = storage->open_admin();
  const auto views = storage->open_view_store();
  CHECK(admin->share("mslink_000000000001")->view_count == 7);
  // A count is shares.view_count + the batched views; the last view is the later of the two times.
  const std::vector<ViewIncrement> earlier = {{"mslink_000000000001", 3, from_unix_seconds(500)},
                                              {"mslink_000000000002", 2, from_unix_seconds(600)}};
  views->add_views(earlier);
  auto first = admin->share("mslink_000000000001");
  CHECK(first->view_count == 10);
  CHECK(first->last_viewed_at == from_unix_seconds(1000));
  auto second = admin->share("mslink_000000000002");
  CHECK(second->view_count == 2);
  CHECK(second->last_viewed_at == from_unix_seconds(600));
  const std::vector<ViewIncrement> later = {{"mslink_000000000001", 1, from_unix_seconds(2000)}};
  views->add_views(later);
  first = admin->share("mslink_000000000001");
  CHECK(first->view_count == 11);
  CHECK(first->last_viewed_at == from_unix_seconds(2000));
  // The list and the resolver's reader read the same counts.
  const auto listed = admin->shares(std::nullopt);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].view_count + listed[1].view_count == 13);
  const auto reader = storage->open_reader();
  CHECK(reader->share_by_digest("aa")->view_count == 11);
  CHECK(reader->share_by_id("mslink_000000000002")->view_count == 2);
}

}  // namespace sharelink
