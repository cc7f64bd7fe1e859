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

}  // namespace sharelink
