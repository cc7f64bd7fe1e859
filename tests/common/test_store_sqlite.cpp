// Unit tests of the SQLite backend itself: what each read answers, snapshots, view writes, error translation.
#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "common/admin.hpp"
#include "common/config.hpp"
#include "common/installation.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/store_sqlite.hpp"
#include "tests/common/raw_sqlite.hpp"
#include "tests/common/store_fixtures.hpp"

namespace sharelink {
namespace {

using sharelink::testing::make_track;
using sharelink::testing::new_share;
using sharelink::testing::SqliteFixture;
using sharelink::testing::TempDir;
using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

// Holds an exclusive lock, as a process in locking_mode=EXCLUSIVE does: no
// other connection can open the database meanwhile.
class ExclusiveLockHolder {
 public:
  explicit ExclusiveLockHolder(const std::filesystem::path& file) {
    REQUIRE(sqlite3_open(file.c_str(), &db_) == SQLITE_OK);
    REQUIRE(sqlite3_exec(
                db_, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (x)",
                nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~ExclusiveLockHolder() {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  ExclusiveLockHolder(const ExclusiveLockHolder&) = delete;
  ExclusiveLockHolder& operator=(const ExclusiveLockHolder&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

DatabaseConfig files_in(const TempDir& dir) {
  DatabaseConfig config;
  config.path = dir / "shared-link.db";
  config.audit_path = dir / "shared-link-audit.db";
  return config;
}

}  // namespace

TEST_CASE("SQLite backend: the reader answers each question as stored", "[store_sqlite]") {
  SqliteFixture f;
  f.add_track(make_track("mtrack_000000000001", "commercial_cleared", true));
  f.add_track(
      make_track("mtrack_000000000002", "commercial_cleared", false, "2099-09"));  // not in the registry
  f.add_track(make_track("mtrack_000000000003"));
  CollectionRecord c;
  c.id = "mcoll_000000000001";
  c.name = "Focus";
  c.description = "Late work";
  c.created_at = k_now;
  f.add_collection(c, {"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"});
  f.set_track_removed("mtrack_000000000001", k_now);
  const auto created =
      f.share(new_share(TargetType::collection, c.id, k_now + 1h, 5, Visibility::public_link), k_now);
  f.revoke(created.share.id, k_now + 1s);
  const auto reader = f.storage().open_reader();

  const auto share = reader->share_by_digest(token_digest(created.token));
  REQUIRE(share);
  CHECK(share->id == created.share.id);
  CHECK(share->target_type == TargetType::collection);
  CHECK(share->target_id == c.id);
  CHECK(share->visibility == Visibility::public_link);
  CHECK(share->expires_at == k_now + 1h);
  CHECK(share->max_views == 5);
  CHECK(share->view_count == 0);
  CHECK(share->revoked_at == k_now + 1s);
  const auto by_id = reader->share_by_id(created.share.id);
  REQUIRE(by_id);
  CHECK(by_id->target_id == c.id);
  CHECK_FALSE(reader->share_by_digest(token_digest("shr_00000000000000000000000000000000")));
  CHECK_FALSE(reader->share_by_id("mslink_000000000000"));

  const auto track = reader->track("mtrack_000000000001");
  REQUIRE(track);
  CHECK(track->title == "Title of mtrack_000000000001");
  CHECK(track->licence_class == "commercial_cleared");
  CHECK(track->no_commercial);
  CHECK(track->audio_path == "album/mtrack_000000000001.ogg");
  CHECK(track->removed_at == k_now);
  CHECK(track->measured_duration_seconds == 120.4);
  REQUIRE(track->registry);
  CHECK(track->registry->commercial_use);
  CHECK_FALSE(track->registry->requires_attribution);
  CHECK_FALSE(reader->track("mtrack_000000000002")->registry);
  CHECK_FALSE(reader->track("mtrack_00000000dead"));

  const auto collection = reader->collection(c.id);
  REQUIRE(collection);
  CHECK(collection->name == "Focus");
  CHECK(collection->description == "Late work");
  CHECK_FALSE(collection->removed_at);
  CHECK_FALSE(reader->collection("mcoll_00000000dead"));

  // In order, removed tracks included: leaving them out is the domain's rule.
  std::vector<std::string> ids;
  std::vector<bool> removed;
  const CollectionRows rows = reader->collection_tracks(c.id);
  for (const CatalogTrack& t : *rows) {
    ids.push_back(t.id);
    removed.push_back(t.removed_at.has_value());
    CHECK(t.audio_path == "album/" + t.id + ".ogg");
  }
  CHECK(ids == std::vector<std::string>{"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"});
  CHECK(removed == std::vector<bool>{false, true, false});
  const CollectionRows unknown_rows = reader->collection_tracks("mcoll_00000000dead");
  REQUIRE(unknown_rows);
  CHECK(unknown_rows->empty());

  const auto media = reader->track_media("mtrack_000000000001");
  REQUIRE(media);
  CHECK(media->audio_path == "album/mtrack_000000000001.ogg");
  CHECK(media->mime_type == "audio/ogg");
  CHECK(media->removed_at == k_now);
  CHECK_FALSE(reader->track_media("mtrack_00000000dead"));
  CHECK(reader->collection_contains(c.id, "mtrack_000000000001"));
  CHECK_FALSE(reader->collection_contains(c.id, "mtrack_00000000dead"));
  CHECK_FALSE(reader->collection_contains("mcoll_00000000dead", "mtrack_000000000001"));
  CHECK_NOTHROW(reader->ping());
}

TEST_CASE("SQLite backend: a snapshot sees one state, the next one sees later commits", "[store_sqlite]") {
  SqliteFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto created = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto reader = f.storage().open_reader();
  {
    ReadSnapshot snapshot(*reader);
    CHECK_FALSE(reader->share_by_id(created.share.id)->revoked_at);
    f.revoke(created.share.id, k_now);  // committed by another connection meanwhile
    CHECK_FALSE(reader->share_by_id(created.share.id)->revoked_at);
    snapshot.end();
  }
  CHECK(reader->share_by_id(created.share.id)->revoked_at == k_now);
  ReadSnapshot next(*reader);
  CHECK(reader->share_by_id(created.share.id)->revoked_at == k_now);
}

TEST_CASE("SQLite backend: a collection's rows read again are never older than the snapshot",
          "[store_sqlite]") {
  // The reader keeps the rows of the collections it read last (CollectionCache):
  // every commit of another connection, whatever it changed, is seen by the
  // next snapshot, and a snapshot keeps seeing its own state.
  SqliteFixture f;
  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    ids.push_back("mtrack_00000000000" + std::to_string(i));
    f.add_track(make_track(ids.back()));
  }
  // More collections than a reader keeps, so some reads miss and evict.
  std::vector<std::string> collections;
  for (int i = 1; i <= 12; ++i) {
    CollectionRecord c;
    c.id = "mcoll_0000000000" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    c.name = "Set " + std::to_string(i);
    c.created_at = k_now;
    f.add_collection(c, {ids[static_cast<std::size_t>(i) % 3], ids[static_cast<std::size_t>(i + 1) % 3]});
    collections.push_back(c.id);
  }
  const auto reader = f.storage().open_reader();
  const auto rows_of = [&](const std::string& collection_id) {
    std::vector<std::string> seen;
    const CollectionRows rows = reader->collection_tracks(collection_id);
    for (const CatalogTrack& t : *rows) {
      seen.push_back(t.id + " " + t.title + (t.removed_at ? " removed" : "") + (t.registry ? "" : " unregistered"));
    }
    return seen;
  };
  const auto expected = [&](std::size_t i, const std::string& suffix) {
    return std::vector<std::string>{ids[(i + 1) % 3] + " Title of " + ids[(i + 1) % 3] + suffix,
                                    ids[(i + 2) % 3] + " Title of " + ids[(i + 2) % 3] + suffix};
  };
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < collections.size(); ++i) {
      ReadSnapshot snapshot(*reader);
      CHECK(rows_of(collections[i]) == expected(i, ""));
      CHECK(rows_of(collections[i]) == expected(i, ""));
      snapshot.end();
    }
  }

  // A commit while a snapshot is open: invisible inside it, visible to the next.
  CollectionRows held;
  {
    ReadSnapshot snapshot(*reader);
    CHECK(rows_of(collections[0]) == expected(0, ""));
    held = reader->collection_tracks(collections[0]);
    f.exec("UPDATE tracks SET title = 'Renamed'");
    CHECK(rows_of(collections[0]) == expected(0, ""));
    CHECK(reader->collection_tracks(collections[0]) == held);  // the kept rows themselves, not a copy
    snapshot.end();
  }
  {
    ReadSnapshot snapshot(*reader);
    CHECK(rows_of(collections[0]) == std::vector<std::string>{ids[1] + " Renamed", ids[2] + " Renamed"});
    snapshot.end();
  }
  // Rows handed out before the change outlive the reader's cache of them, unchanged.
  REQUIRE(held);
  REQUIRE(held->size() == 2);
  CHECK(held->front().title == "Title of " + ids[1]);
  // Outside a snapshot too; a change of another table the rows join (the licence registry).
  f.exec("DELETE FROM licences");
  CHECK(rows_of(collections[0]) ==
        std::vector<std::string>{ids[1] + " Renamed unregistered", ids[2] + " Renamed unregistered"});
  f.set_track_removed(ids[1], k_now);
  CHECK(rows_of(collections[0]) ==
        std::vector<std::string>{ids[1] + " Renamed removed unregistered", ids[2] + " Renamed unregistered"});
  f.set_collection_tracks(collections[0], {ids[0]});
  CHECK(rows_of(collections[0]) == std::vector<std::string>{ids[0] + " Renamed unregistered"});
  CHECK(rows_of("mcoll_00000000dead").empty());
}

TEST_CASE("SQLite backend: connections refuse a database without the current schema, with the fix",
          "[store_sqlite]") {
  const TempDir dir;
  const auto storage = open_storage(files_in(dir));
  CHECK_THROWS_AS(storage->open_reader(), DatabaseUnavailable);
  CHECK_THROWS_WITH(storage->open_reader(),
                    Catch::Contains("sharectl init") && Catch::Contains("shared-link.db"));
  CHECK_THROWS_AS(storage->open_view_store(), DatabaseUnavailable);
  CHECK_THROWS_WITH(storage->open_view_store(), Catch::Contains("sharectl init"));
  CHECK_FALSE(std::filesystem::exists(dir / "shared-link.db"));  // nothing created

  const auto problems = storage->schema_problems();
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], Catch::Contains("database " + (dir / "shared-link.db").string()) &&
                              Catch::Contains("does not exist (run \"sharectl init\")"));
  CHECK_THAT(problems[1], Catch::StartsWith("audit database " + (dir / "shared-link-audit.db").string()));
  CHECK_THROWS_WITH(storage->require_current_schema(), problems[0]);

  SqliteFixture migrated;
  CHECK(migrated.storage().schema_problems().empty());
  CHECK_NOTHROW(migrated.storage().require_current_schema());
}

TEST_CASE("SQLite backend: a database that disappears and comes back", "[store_sqlite]") {
  SqliteFixture f;
  const auto moved = f.dir() / "moved.db";
  std::filesystem::rename(f.db(), moved);
  CHECK_THROWS_AS(f.storage().open_reader(), DatabaseUnavailable);
  std::filesystem::rename(moved, f.db());
  CHECK_NOTHROW(f.storage().open_reader()->ping());
}

TEST_CASE("SQLite backend: a lock held past lock_wait is DatabaseUnavailable, naming the file",
          "[store_sqlite]") {
  SqliteFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto created = f.share(new_share(TargetType::track, "mtrack_000000000001", {}, 3), k_now);
  const auto views = f.storage().open_view_store();
  const auto reader = f.storage().open_reader();

  SECTION("a writer holds the write lock: view writes wait, then fail; reads go on") {
    auto block = f.block_writes();
    CHECK_THROWS_AS(views->take_view_under_limit(created.share.id, k_now), DatabaseUnavailable);
    const ViewIncrement one{created.share.id, 1, k_now};
    CHECK_THROWS_AS(views->add_views({&one, 1}), DatabaseUnavailable);
    CHECK_THROWS_WITH(views->take_view_under_limit(created.share.id, k_now),
                      Catch::Contains(f.db().string()) && Catch::Contains("try again"));
    CHECK(reader->share_by_id(created.share.id)->view_count == 0);
  }
  CHECK(views->take_view_under_limit(created.share.id, k_now));
  CHECK(reader->share_by_id(created.share.id)->view_count == 1);
}

TEST_CASE("SQLite backend: no connection opens while another process holds an exclusive lock",
          "[store_sqlite]") {
  const TempDir dir;
  const DatabaseConfig config = files_in(dir);
  migrate_database(config.path, SchemaKind::main);
  const auto storage = open_storage(config, SqliteFixture::short_lock_wait());
  {
    ExclusiveLockHolder lock(config.path);
    CHECK_THROWS_AS(storage->open_reader(), DatabaseUnavailable);
    CHECK_THROWS_AS(storage->open_view_store(), DatabaseUnavailable);
  }
  CHECK_NOTHROW(storage->open_reader()->ping());
}

TEST_CASE("SQLite backend: a damaged schema is Error, not DatabaseUnavailable", "[store_sqlite]") {
  SqliteFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto created = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto reader = f.storage().open_reader();
  const auto views = f.storage().open_view_store();
  REQUIRE(reader->track("mtrack_000000000001"));
  f.exec("DROP TABLE collection_tracks; DROP TABLE tracks");
  auto is_plain_error = [](auto&& fn) {
    try {
      fn();
    } catch (const DatabaseUnavailable&) {
      return false;
    } catch (const Error& e) {
      return std::string(e.what()).find("no such table") != std::string::npos;
    }
    return false;
  };
  CHECK(is_plain_error([&] { reader->track("mtrack_000000000001"); }));
  CHECK(is_plain_error([&] { reader->collection_tracks("mcoll_000000000001"); }));
  CHECK(is_plain_error([&] { reader->track_media("mtrack_000000000001"); }));
  f.exec("DROP TABLE shares");
  CHECK(is_plain_error([&] { views->take_view_under_limit(created.share.id, k_now); }));
}

TEST_CASE("SQLite backend: take_view_under_limit is exact across connections",
          "[store_sqlite][concurrency]") {
  SqliteFixture f{StorageOptions{}};
  f.add_track(make_track("mtrack_000000000001"));
  const auto limited = f.share(new_share(TargetType::track, "mtrack_000000000001", {}, 10), k_now);
  const auto unlimited = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  // Two view stores are two connections, as two processes would have.
  const std::unique_ptr<ViewStore> stores[] = {f.storage().open_view_store(), f.storage().open_view_store()};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (stores[t % 2]->take_view_under_limit(limited.share.id, k_now)) ++taken;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(taken == 10);
  CHECK(f.find(limited.share.id)->view_count == 10);
  CHECK(f.find(limited.share.id)->last_viewed_at == k_now);
  // No max_views: every view is taken.
  for (int i = 0; i < 3; ++i) CHECK(stores[0]->take_view_under_limit(unlimited.share.id, k_now));
  CHECK(f.find(unlimited.share.id)->view_count == 3);
  CHECK_FALSE(stores[0]->take_view_under_limit("mslink_000000000000", k_now));
}

TEST_CASE("SQLite backend: add_views adds counts and keeps the latest view time", "[store_sqlite]") {
  SqliteFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto a = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto b = f.share(new_share(TargetType::track, "mtrack_000000000001", {}, 1), k_now);
  const auto views = f.storage().open_view_store();
  const std::vector<ViewIncrement> first = {{a.share.id, 3, k_now + 10s}, {"mslink_000000000000", 2, k_now}};
  views->add_views(first);
  const std::vector<ViewIncrement> second = {{a.share.id, 2, k_now + 5s}, {b.share.id, 4, k_now}};
  views->add_views(second);
  views->add_views({});
  CHECK(f.find(a.share.id)->view_count == 5);
  CHECK(f.find(a.share.id)->last_viewed_at == k_now + 10s);  // an earlier batch time never moves it back
  CHECK(f.find(b.share.id)->view_count == 4);                // batches are for links without max_views
  // The batches went to the narrow share_views table; the wide shares rows were not rewritten.
  testing::RawDb db(f.db());
  CHECK(db.integer("SELECT view_count FROM shares WHERE id = '" + a.share.id + "'") == 0);
  CHECK(db.integer("SELECT views FROM share_views WHERE share_id = '" + a.share.id + "'") == 5);
  CHECK(db.integer("SELECT count(*) FROM share_views") == 2);  // none for the link that does not exist
}

TEST_CASE("SQLite backend: describe names both files and a reader count suits the machine",
          "[store_sqlite]") {
  const TempDir dir;
  const auto storage = open_storage(files_in(dir));
  const auto fields = storage->describe();
  REQUIRE(fields.size() == 2);
  CHECK(fields[0] == std::pair<std::string, std::string>{"database", (dir / "shared-link.db").string()});
  CHECK(fields[1] ==
        std::pair<std::string, std::string>{"audit_database", (dir / "shared-link-audit.db").string()});
  CHECK(storage->reader_connections(16) >= 4);
  CHECK(storage->schema_version() >= 1);
}

TEST_CASE("SQLite backend: db copy to new files keeps every row, an existing target is refused",
          "[store_sqlite][copy]") {
  SqliteFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  f.add_collection({"mcoll_000000000001", "Demo", std::string("d"), std::nullopt, k_now}, {"mtrack_000000000001"});
  const auto first = f.share(new_share(TargetType::track, "mtrack_000000000001", {}, 3), k_now);
  const auto second = f.share(new_share(TargetType::collection, "mcoll_000000000001"), k_now);
  f.revoke(second.share.id, k_now);
  f.set_view_count(first.share.id, 2);
  const std::vector<ViewIncrement> batched = {{second.share.id, 4, k_now + 7s}};
  f.storage().open_view_store()->add_views(batched);
  AuditRecord record;
  record.ts = k_now;
  record.event = "resolve";
  record.outcome = "ok";
  record.status = 200;
  record.client_ip = "203.0.113.7";
  f.storage().open_audit(AuditUse::writer)->insert_batch(std::vector<AuditRecord>{record, record});

  const TempDir dir;
  DatabaseConfig target_config = files_in(dir);
  const auto target = open_storage(target_config);
  auto import = target->open_import();
  CHECK_FALSE(std::filesystem::exists(target_config.path));  // nothing under the names before commit()
  f.storage().export_rows(*import);
  const CopyCounts counts = import->commit();
  CHECK(counts == CopyCounts{{"licences", static_cast<std::int64_t>(default_licences().size())},
                             {"tracks", 1},
                             {"collections", 1},
                             {"collection_tracks", 1},
                             {"shares", 2},
                             {"audit_records", 2}});
  const auto admin = target->open_admin();
  CHECK(find_share_by_token(*admin, first.token)->view_count == 2);
  CHECK(find_share_by_token(*admin, second.token)->revoked_at == k_now);
  // Batched views are copied into the link's own count.
  CHECK(find_share_by_token(*admin, second.token)->view_count == 4);
  CHECK(find_share_by_token(*admin, second.token)->last_viewed_at == k_now + 7s);
  // The list keeps the stored order (newest first, the later-stored first within a second).
  const auto listed = admin->shares(std::nullopt);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].id == second.share.id);
  for (const auto& check : target->check()) CHECK(check.ok());

  CHECK_THROWS_WITH(target->open_import(), Catch::Contains("already exists"));
  // An import dropped before commit() leaves nothing behind.
  const TempDir other;
  {
    const auto abandoned = open_storage(files_in(other))->open_import();
    f.storage().export_rows(*abandoned);
  }
  CHECK(std::filesystem::is_empty(other.path()));
}

}  // namespace sharelink
