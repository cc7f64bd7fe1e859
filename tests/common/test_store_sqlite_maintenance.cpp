// Unit tests of the SQLite backend's online backups and integrity checks (sharectl db backup / db check).
#include "tests/common/temp_dir.hpp"
#include "tests/common/raw_sqlite.hpp"
#include "common/store_sqlite.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace sharelink {
namespace {

using sharelink::testing::RawDb;
using sharelink::testing::TempDir;

void add_track(RawDb& db, const std::string& id) {
  db.exec("INSERT INTO tracks (id, title, engine, mode, licence_class, licence_version, mime_type, audio_path, "
          "created_at) VALUES ('" + id + "', 'Title', 'studio', 'creation', 'personal_only', '2026-01', "
          "'audio/mpeg', 'a.mp3', 1785234600)");
}

void add_collection(RawDb& db, const std::string& id) {
  db.exec("INSERT INTO collections (id, name, created_at) VALUES ('" + id + "', 'Name', 1785234600)");
}

// A main database holding n tracks and n collections, plus an audit database.
struct Installation {
  explicit Installation(int n = 10) : main_db(dir.path() / "shared-link.db"), audit_db(dir.path() / "audit.db") {
    migrate_database(main_db, SchemaKind::main);
    migrate_database(audit_db, SchemaKind::audit);
    RawDb db(main_db);
    db.exec("BEGIN");
    for (int i = 0; i < n; ++i) {
      add_track(db, "mtrack_seed" + std::to_string(i));
      add_collection(db, "mcoll_seed" + std::to_string(i));
    }
    db.exec("COMMIT");
    RawDb audit(audit_db);
    audit.exec("INSERT INTO audit_records (ts, event, outcome) VALUES (1785234600000, 'admin', 'ok')");
  }
  TempDir dir;
  std::filesystem::path main_db;
  std::filesystem::path audit_db;
};

bool contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("SQLite maintenance: backup copies every row into a private, self-contained file",
          "[store_sqlite][maintenance]") {
  Installation installation;
  const auto copy = installation.dir.path() / "backup.db";
  const BackupResult result = backup_database(installation.main_db, copy);

  CHECK(result.source == installation.main_db.string());
  CHECK(result.copy == copy);
  CHECK(result.schema_version == latest_schema_version(SchemaKind::main));
  CHECK(result.bytes == std::filesystem::file_size(copy));
  struct stat st {};
  REQUIRE(::stat(copy.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // Rollback-journal mode: the copy alone is the whole database.
  CHECK_FALSE(std::filesystem::exists(copy.string() + "-wal"));
  RawDb db(copy, SQLITE_OPEN_READONLY);
  CHECK(db.text("PRAGMA journal_mode") == "delete");
  CHECK(db.integer("SELECT count(*) FROM tracks") == 10);
  CHECK(db.integer("SELECT count(*) FROM collections") == 10);
  // No temporary file is left beside it.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(installation.dir.path())) {
    if (entry.path().filename().string().rfind("backup.db", 0) == 0) ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("SQLite maintenance: backup while another thread writes is one consistent snapshot",
          "[store_sqlite][maintenance]") {
  Installation installation(2000);
  std::atomic<bool> stop{false};
  std::atomic<int> committed{0};
  std::atomic<bool> writer_failed{false};
  // Each transaction adds one track and one collection: any consistent
  // snapshot holds as many of one as of the other. (No Catch2 assertions on
  // this thread: they are not thread-safe.)
  std::thread writer([&] {
    sqlite3* db = nullptr;
    sqlite3_open_v2(installation.main_db.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_busy_timeout(db, 5000);
    for (int i = 0; !stop.load(); ++i) {
      const std::string n = std::to_string(i);
      const std::string sql =
          "BEGIN IMMEDIATE;"
          "INSERT INTO tracks (id, title, engine, mode, licence_class, licence_version, mime_type, audio_path, "
          "created_at) VALUES ('mtrack_load" + n + "', 'T', 'studio', 'creation', 'personal_only', '2026-01', "
          "'audio/mpeg', 'a.mp3', 1785234600);"
          "INSERT INTO collections (id, name, created_at) VALUES ('mcoll_load" + n + "', 'N', 1785234600);"
          "COMMIT;";
      if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        writer_failed.store(true);
        break;
      }
      committed.fetch_add(1);
    }
    sqlite3_close(db);
  });
  while (committed.load() < 50 && !writer_failed.load()) std::this_thread::yield();

  const int before_backups = committed.load();
  std::vector<std::filesystem::path> copies;
  for (int round = 0; round < 5; ++round) {
    copies.push_back(installation.dir.path() / ("backup-" + std::to_string(round) + ".db"));
    backup_database(installation.main_db, copies.back());
  }
  const int after_backups = committed.load();
  stop.store(true);
  writer.join();
  REQUIRE_FALSE(writer_failed.load());
  CHECK(after_backups > before_backups);  // the writer kept committing while the copies were taken

  for (const auto& copy : copies) {
    INFO(copy.string());
    const DatabaseCheck check = check_database(copy, SchemaKind::main);
    CHECK(check.ok());
    RawDb db(copy, SQLITE_OPEN_READONLY);
    const auto tracks = db.integer("SELECT count(*) FROM tracks");
    CHECK(tracks >= 2000 + 50);
    CHECK(tracks == db.integer("SELECT count(*) FROM collections"));
    CHECK(db.text("PRAGMA integrity_check") == "ok");
  }
}

TEST_CASE("SQLite maintenance: backup refuses an existing destination and leaves it alone",
          "[store_sqlite][maintenance]") {
  Installation installation;
  const auto existing = installation.dir.path() / "existing.db";
  { std::ofstream(existing) << "keep me"; }

  CHECK_THROWS_WITH(backup_database(installation.main_db, existing),
                    Catch::Contains("already exists") && Catch::Contains("existing.db"));
  std::ifstream in(existing);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "keep me");

  // Backing a database up onto itself is the same case: the live file is never touched.
  CHECK_THROWS_WITH(backup_database(installation.main_db, installation.main_db), Catch::Contains("already exists"));
  CHECK(check_database(installation.main_db, SchemaKind::main).ok());
}

TEST_CASE("SQLite maintenance: backup errors name the file and leave nothing behind", "[store_sqlite][maintenance]") {
  Installation installation;

  SECTION("missing source") {
    const auto missing = installation.dir.path() / "missing.db";
    CHECK_THROWS_AS(backup_database(missing, installation.dir.path() / "b.db"), Error);
    CHECK_THROWS_WITH(backup_database(missing, installation.dir.path() / "b.db"),
                      Catch::Contains("missing.db") && Catch::Contains("does not exist"));
    CHECK_FALSE(std::filesystem::exists(installation.dir.path() / "b.db"));
  }
  SECTION("source that is not a database") {
    const auto junk = installation.dir.path() / "junk.db";
    { std::ofstream(junk) << std::string(8192, 'x'); }
    CHECK_THROWS_WITH(backup_database(junk, installation.dir.path() / "b.db"),
                      Catch::Contains("cannot back up") && Catch::Contains("junk.db"));
  }
  SECTION("destination directory missing") {
    CHECK_THROWS_WITH(backup_database(installation.main_db, installation.dir.path() / "no-such-dir" / "b.db"),
                      Catch::Contains("cannot create backup file") && Catch::Contains("no-such-dir"));
  }
  // Whatever failed, no partial copy is left in the directory.
  for (const auto& entry : std::filesystem::directory_iterator(installation.dir.path())) {
    CHECK(entry.path().filename().string().find(".partial") == std::string::npos);
    CHECK(entry.path().filename() != "b.db");
  }
}

TEST_CASE("SQLite maintenance: backup_databases writes FILE and FILE-audit", "[store_sqlite][maintenance]") {
  Installation installation;
  const auto file = installation.dir.path() / "nightly.db";
  const auto results = backup_databases(installation.main_db, installation.audit_db, file);

  REQUIRE(results.size() == 2);
  CHECK(results[0].copy == file);
  CHECK(results[1].copy == installation.dir.path() / "nightly.db-audit");
  CHECK(audit_backup_path(file) == results[1].copy);
  CHECK(check_database(results[0].copy, SchemaKind::main).ok());
  CHECK(check_database(results[1].copy, SchemaKind::audit).ok());
  RawDb audit(results[1].copy, SQLITE_OPEN_READONLY);
  CHECK(audit.integer("SELECT count(*) FROM audit_records") == 1);
}

TEST_CASE("SQLite maintenance: backup_databases is all or nothing", "[store_sqlite][maintenance]") {
  Installation installation;
  const auto file = installation.dir.path() / "nightly.db";

  SECTION("an existing audit copy stops it before anything is written") {
    { std::ofstream(audit_backup_path(file)) << "old"; }
    CHECK_THROWS_WITH(backup_databases(installation.main_db, installation.audit_db, file),
                      Catch::Contains("nightly.db-audit") && Catch::Contains("already exists"));
    CHECK_FALSE(std::filesystem::exists(file));
  }
  SECTION("a failing audit copy removes the main copy") {
    CHECK_THROWS_WITH(backup_databases(installation.main_db, installation.dir.path() / "gone-audit.db", file),
                      Catch::Contains("gone-audit.db"));
    CHECK_FALSE(std::filesystem::exists(file));
    CHECK_FALSE(std::filesystem::exists(audit_backup_path(file)));
  }
}

TEST_CASE("SQLite maintenance: check of healthy databases", "[store_sqlite][maintenance]") {
  Installation installation;
  for (const auto& [file, kind] : {std::pair{installation.main_db, SchemaKind::main},
                                   std::pair{installation.audit_db, SchemaKind::audit}}) {
    const DatabaseCheck check = check_database(file, kind);
    INFO(file.string());
    CHECK(check.ok());
    CHECK(check.exists);
    CHECK(check.location == file.string());
    CHECK(check.kind == (kind == SchemaKind::main ? "main" : "audit"));
    CHECK(check.schema_version == latest_schema_version(kind));
    CHECK(check.expected_schema_version == latest_schema_version(kind));
  }
}

TEST_CASE("SQLite maintenance: check reports a missing file", "[store_sqlite][maintenance]") {
  TempDir dir;
  const DatabaseCheck check = check_database(dir.path() / "absent.db", SchemaKind::audit);
  CHECK_FALSE(check.ok());
  CHECK_FALSE(check.exists);
  CHECK(check.schema_version == -1);
  REQUIRE(check.problems.size() == 1);
  CHECK(check.problems[0].find("audit database") != std::string::npos);
  CHECK(check.problems[0].find("absent.db does not exist") != std::string::npos);
  CHECK(check.problems[0].find("sharectl init") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "absent.db"));  // never created by a check
}

TEST_CASE("SQLite maintenance: check reports a schema version other than this build's", "[store_sqlite][maintenance]") {
  struct Case {
    int offset;
    const char* expected;
  };
  const Case cases[] = {{-1, "run \"sharectl init\" to migrate it"}, {1, "newer than this build knows"}};
  for (const auto& c : cases) {
    Installation installation;
    const int version = latest_schema_version(SchemaKind::main) + c.offset;
    { RawDb(installation.main_db).exec("PRAGMA user_version = " + std::to_string(version)); }
    const DatabaseCheck check = check_database(installation.main_db, SchemaKind::main);
    INFO(c.expected);
    CHECK(check.schema_version == version);
    REQUIRE(check.problems.size() == 1);
    CHECK(check.problems[0].find(c.expected) != std::string::npos);
  }
}

TEST_CASE("SQLite maintenance: check reports rows that reference nothing", "[store_sqlite][maintenance]") {
  Installation installation;
  {
    RawDb db(installation.main_db);
    db.exec("PRAGMA foreign_keys = OFF");
    db.exec("INSERT INTO collection_tracks (collection_id, position, track_id) "
            "VALUES ('mcoll_seed0', 0, 'mtrack_nowhere')");
  }
  const DatabaseCheck check = check_database(installation.main_db, SchemaKind::main);
  REQUIRE(check.problems.size() == 1);
  CHECK(check.problems[0] ==
        "foreign key check: a row of table collection_tracks refers to a missing row of tracks");
}

TEST_CASE("SQLite maintenance: check reports batched views of a link that does not exist",
          "[store_sqlite][maintenance]") {
  Installation installation;
  {
    RawDb db(installation.main_db);
    db.exec("PRAGMA foreign_keys = OFF");
    db.exec("INSERT INTO share_views (share_id, views, viewed_at) VALUES ('mslink_nowhere', 3, 1000)");
  }
  const DatabaseCheck check = check_database(installation.main_db, SchemaKind::main);
  REQUIRE(check.problems.size() == 1);
  CHECK(check.problems[0] == "foreign key check: a row of table share_views refers to a missing row of shares");
}

TEST_CASE("SQLite maintenance: check reports corruption", "[store_sqlite][maintenance]") {
  Installation installation(500);
  std::int64_t page_size = 0;
  std::int64_t index_root = 0;
  {
    RawDb db(installation.main_db);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    page_size = db.integer("PRAGMA page_size");
    index_root = db.integer("SELECT rootpage FROM sqlite_schema WHERE name = 'sqlite_autoindex_tracks_1'");
  }
  // Scribble over the cell area of the tracks primary-key index's root page.
  {
    std::fstream file(installation.main_db, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp((index_root - 1) * page_size + page_size / 2);
    const std::string garbage(static_cast<std::size_t>(page_size / 2), '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  const DatabaseCheck check = check_database(installation.main_db, SchemaKind::main);
  CHECK_FALSE(check.ok());
  for (const auto& problem : check.problems) UNSCOPED_INFO(problem);
  CHECK(contains(check.problems, "integrity check"));
  CHECK(check.problems.size() <= k_max_check_problems + 1);

  // A corrupt source is not copied into a backup that looks good.
  CHECK_THROWS_AS(backup_database(installation.main_db, installation.dir.path() / "copy.db"), Error);
  CHECK_FALSE(std::filesystem::exists(installation.dir.path() / "copy.db"));
}

TEST_CASE("SQLite maintenance: check reports a file that is not a database", "[store_sqlite][maintenance]") {
  TempDir dir;
  const auto junk = dir.path() / "junk.db";
  { std::ofstream(junk) << std::string(8192, 'x'); }
  const DatabaseCheck check = check_database(junk, SchemaKind::main);
  CHECK(check.exists);
  REQUIRE(check.problems.size() == 1);
  CHECK(check.problems[0].find("junk.db cannot be read") != std::string::npos);
  CHECK(check.problems[0].find("sharectl db backup") != std::string::npos);
}

TEST_CASE("SQLite maintenance: check bounds the problems it lists", "[store_sqlite][maintenance]") {
  Installation installation;
  {
    RawDb db(installation.main_db);
    db.exec("PRAGMA foreign_keys = OFF");
    db.exec("BEGIN");
    for (int i = 0; i < 300; ++i) {
      db.exec("INSERT INTO collection_tracks (collection_id, position, track_id) VALUES ('mcoll_seed0', " +
              std::to_string(i) + ", 'mtrack_missing" + std::to_string(i) + "')");
    }
    db.exec("COMMIT");
  }
  const DatabaseCheck check = check_database(installation.main_db, SchemaKind::main);
  REQUIRE(check.problems.size() == k_max_check_problems + 1);
  CHECK(check.problems.back() == "... more problems not shown");
}

}  // namespace
}  // namespace sharelink
