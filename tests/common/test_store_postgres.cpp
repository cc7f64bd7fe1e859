// Unit tests of the PostgreSQL backend itself, against the test cluster: what it stores and answers,
// exact views across daemons, the audit log, reconnection, db copy both ways, db check, backup, secrets.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "common/audit_store.hpp"
#include "common/client_address.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/pg_connection.hpp"
#include "tests/common/store_fixtures.hpp"

namespace sharelink {
namespace {

using sharelink::testing::make_track;
using sharelink::testing::new_share;
using sharelink::testing::PostgresFixture;
using sharelink::testing::SqliteFixture;
using sharelink::testing::TempDir;
using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

AuditRecord record_of(std::string request_id, TimePoint ts, std::string ip, std::string share_id = "") {
  AuditRecord record;
  record.ts = ts;
  record.event = "resolve";
  record.outcome = "ok";
  record.status = 200;
  record.client_ip = std::move(ip);
  record.share_id = std::move(share_id);
  record.request_id = std::move(request_id);
  return record;
}

std::vector<AuditRecord> all_records(StorageBackend& storage) {
  AuditStore store(storage.open_audit(AuditUse::queries));
  AuditFilter filter;
  filter.limit = 0;
  return store.query(filter);
}

// A second daemon: another StorageBackend on the same database.
std::unique_ptr<StorageBackend> another_daemon(const PostgresFixture& f) {
  return open_storage(f.config(), StorageOptions{});
}

}  // namespace

TEST_CASE("PostgreSQL backend: the reader answers each question as stored", "[store_postgres][postgres]") {
  PostgresFixture f;
  f.add_track(make_track("mtrack_000000000001", "commercial_cleared", true));
  Track unknown_licence = make_track("mtrack_000000000002", "personal_only", false, "1999-01");
  unknown_licence.measured_duration_seconds.reset();
  f.add_track(unknown_licence);
  CollectionRecord collection{"mcoll_000000000001", "Demo", std::string("Desc"), std::nullopt, k_now};
  f.add_collection(collection, {"mtrack_000000000002", "mtrack_000000000001"});
  const auto created =
      f.share(new_share(TargetType::collection, "mcoll_000000000001", k_now + 1h, 3, Visibility::public_link), k_now);

  const auto reader = f.storage().open_reader();
  ReadSnapshot snapshot(*reader);
  const auto share = reader->share_by_digest(token_digest(created.token));
  REQUIRE(share);
  CHECK(share->id == created.share.id);
  CHECK(share->target_type == TargetType::collection);
  CHECK(share->visibility == Visibility::public_link);
  CHECK(share->expires_at == k_now + 1h);
  CHECK(share->max_views == 3);
  CHECK(share->view_count == 0);
  CHECK_FALSE(share->revoked_at);
  CHECK(reader->share_by_id(created.share.id)->target_id == "mcoll_000000000001");
  CHECK_FALSE(reader->share_by_digest(std::string(64, '0')));

  const auto track = reader->track("mtrack_000000000001");
  REQUIRE(track);
  CHECK(track->licence_class == "commercial_cleared");
  CHECK(track->no_commercial);
  CHECK(track->measured_duration_seconds == Approx(120.4));
  REQUIRE(track->registry);
  CHECK(track->registry->commercial_use);
  const auto unregistered = reader->track("mtrack_000000000002");
  REQUIRE(unregistered);
  CHECK_FALSE(unregistered->registry);  // no registry entry for 1999-01
  CHECK_FALSE(unregistered->measured_duration_seconds);
  CHECK_FALSE(reader->track("mtrack_999999999999"));

  const auto media = reader->track_media("mtrack_000000000001");
  REQUIRE(media);
  CHECK(media->audio_path == "album/mtrack_000000000001.ogg");
  CHECK(media->mime_type == "audio/ogg");

  const auto stored = reader->collection("mcoll_000000000001");
  REQUIRE(stored);
  CHECK(stored->name == "Demo");
  CHECK(stored->description == "Desc");
  CHECK(stored->created_at == k_now);
  std::vector<std::string> order;
  const CollectionRows rows = reader->collection_tracks("mcoll_000000000001");
  for (const CatalogTrack& t : *rows) order.push_back(t.id);
  CHECK(order == std::vector<std::string>{"mtrack_000000000002", "mtrack_000000000001"});
  CHECK(reader->collection_contains("mcoll_000000000001", "mtrack_000000000001"));
  CHECK_FALSE(reader->collection_contains("mcoll_000000000001", "mtrack_999999999999"));
  reader->ping();
  snapshot.end();
}

TEST_CASE("PostgreSQL backend: a snapshot sees one state, the next one sees later commits",
          "[store_postgres][postgres]") {
  PostgresFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto created = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto reader = f.storage().open_reader();
  {
    ReadSnapshot snapshot(*reader);
    CHECK_FALSE(reader->share_by_id(created.share.id)->revoked_at);
    f.revoke(created.share.id, k_now);  // another process commits meanwhile
    CHECK_FALSE(reader->share_by_id(created.share.id)->revoked_at);
    snapshot.end();
  }
  ReadSnapshot next(*reader);
  CHECK(reader->share_by_id(created.share.id)->revoked_at == k_now);
  next.end();
  // Outside a snapshot too: no caching.
  f.set_track_removed("mtrack_000000000001", k_now);
  CHECK(reader->track_media("mtrack_000000000001")->removed_at == k_now);
}

TEST_CASE("PostgreSQL backend: take_view_under_limit is exact across daemons", "[store_postgres][postgres]") {
  PostgresFixture f{StorageOptions{}};
  f.add_track(make_track("mtrack_000000000001"));
  const auto limited = f.share(new_share(TargetType::track, "mtrack_000000000001", {}, 10), k_now);
  const auto unlimited = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto other = another_daemon(f);
  const std::unique_ptr<ViewStore> stores[] = {f.storage().open_view_store(), other->open_view_store()};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        if (stores[t % 2]->take_view_under_limit(limited.share.id, k_now)) ++taken;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(taken == 10);
  CHECK(f.find(limited.share.id)->view_count == 10);
  CHECK(f.find(limited.share.id)->last_viewed_at == k_now);
  for (int i = 0; i < 3; ++i) CHECK(stores[1]->take_view_under_limit(unlimited.share.id, k_now));
  CHECK(f.find(unlimited.share.id)->view_count == 3);
  CHECK_FALSE(stores[0]->take_view_under_limit("mslink_000000000000", k_now));
}

TEST_CASE("PostgreSQL backend: add_views adds counts, keeps the latest view time, all or nothing",
          "[store_postgres][postgres]") {
  PostgresFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto a = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto b = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto views = f.storage().open_view_store();
  const std::vector<ViewIncrement> first = {{b.share.id, 3, k_now + 10s}, {"mslink_000000000000", 2, k_now},
                                            {a.share.id, 1, k_now}};
  views->add_views(first);
  const std::vector<ViewIncrement> second = {{b.share.id, 2, k_now + 5s}};
  views->add_views(second);
  views->add_views({});
  CHECK(f.find(b.share.id)->view_count == 5);
  CHECK(f.find(b.share.id)->last_viewed_at == k_now + 10s);
  CHECK(f.find(a.share.id)->view_count == 1);
  {
    auto block = f.block_writes();
    CHECK_THROWS_AS(views->add_views(second), DatabaseUnavailable);
    CHECK_THROWS_AS(views->take_view_under_limit(a.share.id, k_now), DatabaseUnavailable);
  }
  CHECK(f.find(b.share.id)->view_count == 5);
  views->add_views(second);
  CHECK(f.find(b.share.id)->view_count == 7);
}

TEST_CASE("PostgreSQL backend: sessions refuse a database without the current schema, with the fix",
          "[store_postgres][postgres]") {
  SHARELINK_PG_TEST_DATABASE(db);
  DatabaseConfig config;
  config.backend = DatabaseBackend::postgresql;
  config.url = db.url();
  const auto storage = open_storage(config);
  const auto problems = storage->schema_problems();
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("has no shared-link tables") && Catch::Contains("sharectl init"));
  CHECK_THROWS_AS(storage->open_reader(), DatabaseUnavailable);
  CHECK_THROWS_WITH(storage->require_current_schema(), Catch::Contains("sharectl init"));
  const auto migration = storage->migrate();
  CHECK(migration.catalogue.from_version == 0);
  CHECK(migration.catalogue.to_version == storage->schema_version());
  CHECK(storage->schema_problems().empty());
  CHECK(storage->migrate().catalogue.from_version == storage->schema_version());  // idempotent
  storage->open_reader()->ping();
}

TEST_CASE("PostgreSQL backend: a lost session is replaced by itself", "[store_postgres][postgres]") {
  PostgresFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto created = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const auto reader = f.storage().open_reader();
  const auto audit = f.storage().open_audit(AuditUse::writer);
  reader->ping();
  audit->insert_batch(std::vector<AuditRecord>{record_of("before", k_now, "203.0.113.7")});
  // The server ends every session of this database (as a restart would).
  f.database().admin().exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      PgParams(f.database().name()));
  std::this_thread::sleep_for(200ms);  // the sessions' sockets report the end
  // The next call notices the lost session and opens a new one.
  CHECK(reader->share_by_id(created.share.id));
  audit->insert_batch(std::vector<AuditRecord>{record_of("after", k_now, "203.0.113.8")});
  CHECK(all_records(f.storage()).size() == 2);
}

TEST_CASE("PostgreSQL backend: a server that cannot be reached is DatabaseUnavailable, without the password",
          "[store_postgres][postgres]") {
  const TempDir dir;
  const auto password_file = dir / "password";
  {
    std::ofstream out(password_file);
    out << "s3cret-pw-never-shown\n";
  }
  ::chmod(password_file.c_str(), 0600);
  DatabaseConfig config;
  config.backend = DatabaseBackend::postgresql;
  config.url = "postgresql://shared_link@127.0.0.1:1/nowhere?connect_timeout=2";
  config.password_file = password_file;
  const auto storage = open_storage(config);
  const auto fields = storage->describe();
  CHECK(fields == std::vector<std::pair<std::string, std::string>>{
                      {"backend", "postgresql"}, {"database", "postgresql://shared_link@127.0.0.1:1/nowhere?connect_timeout=2"}});
  try {
    storage->open_reader();
    FAIL("a reader opened without a server");
  } catch (const DatabaseUnavailable& e) {
    CHECK_THAT(e.what(), !Catch::Contains("s3cret-pw-never-shown"));
  }
  const auto problems = storage->schema_problems();
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("cannot reach database postgresql://shared_link@127.0.0.1:1/nowhere") &&
                              !Catch::Contains("s3cret-pw-never-shown"));
  const auto checks = storage->check();
  REQUIRE(checks.size() == 2);
  CHECK_FALSE(checks[0].ok());
  CHECK_FALSE(checks[0].exists);

  // A group-readable password file is refused before any connection.
  ::chmod(password_file.c_str(), 0640);
  CHECK_THROWS_WITH(open_storage(config), Catch::Contains(password_file.string()) &&
                                              !Catch::Contains("s3cret-pw-never-shown"));
  // A URL with a password is refused without repeating it.
  config.password_file.clear();
  config.url = "postgresql://shared_link:hunter2-in-url@127.0.0.1/db";
  CHECK_THROWS_WITH(open_storage(config), !Catch::Contains("hunter2-in-url"));
}

TEST_CASE("PostgreSQL backend: the audit log stores, filters and counts as SQLite does",
          "[store_postgres][postgres]") {
  PostgresFixture f;
  const auto writer = f.storage().open_audit(AuditUse::writer);
  AuditRecord admin;
  admin.ts = k_now - 1h;
  admin.event = "admin";
  admin.outcome = "ok";
  admin.actor = "tester";
  admin.action = "share.create";
  admin.detail = "with \"quotes\", tabs\tand a backslash \\";
  admin.share_id = "mslink_aaaaaaaaaaaa";
  writer->insert_batch(std::vector<AuditRecord>{
      record_of("r1", k_now - 5h, "203.0.113.7", "mslink_aaaaaaaaaaaa"),
      record_of("r2", k_now - 4h, "2001:db8:1:2::5"),
      record_of("r3", k_now - 3h, "not an address"),
      admin,
  });
  const auto records = all_records(f.storage());
  REQUIRE(records.size() == 4);
  CHECK(records[0].id > records[1].id);  // newest first
  CHECK(records[0].detail == admin.detail);
  CHECK_FALSE(records[0].status);
  CHECK(records[0].client_ip.empty());
  CHECK(records[0].actor == "tester");
  CHECK(records[1].client_ip.empty());  // not an address: stored as absent
  CHECK(records[2].client_ip == "2001:db8:1:2::5");
  CHECK(records[3].client_ip == "203.0.113.7");
  CHECK(records[3].ts == k_now - 5h);
  CHECK(records[3].status == 200);

  AuditStore store(f.storage().open_audit(AuditUse::queries));
  AuditFilter by_ip;
  by_ip.ip = parse_cidr("203.0.113.0/24");
  by_ip.limit = 0;
  CHECK(store.query(by_ip).size() == 1);
  AuditFilter v6;
  v6.ip = parse_cidr("2001:db8::/32");
  CHECK(store.query(v6).size() == 1);
  AuditFilter share;
  share.share_id = "mslink_aaaaaaaaaaaa";
  share.event = "resolve";
  CHECK(store.query(share).size() == 1);
  AuditFilter after;
  after.after_id = records[1].id;
  CHECK(store.query(after).size() == 1);
  AuditFilter limited;
  limited.limit = 2;
  CHECK(store.query(limited).size() == 2);

  const auto stats = store.stats(std::nullopt, 10);
  CHECK(stats.total == 4);
  CHECK(stats.by_outcome ==
        std::vector<std::pair<std::string, std::int64_t>>{{"admin/ok", 1}, {"resolve/ok", 3}});
  CHECK(stats.top_clients.size() == 2);
  const auto recent = store.stats(k_now - 3h - 1s, 10);
  CHECK(recent.total == 2);
  const auto summary = store.share_summary("mslink_aaaaaaaaaaaa");
  CHECK(summary.resolves_by_outcome == std::map<std::string, std::int64_t>{{"ok", 1}});
  CHECK(summary.last_resolve == k_now - 5h);
}

TEST_CASE("PostgreSQL backend: retention deletes, then ages addresses once, from several daemons at once",
          "[store_postgres][postgres]") {
  PostgresFixture f;
  const auto writer = f.storage().open_audit(AuditUse::writer);
  std::vector<AuditRecord> batch;
  for (int i = 0; i < 2500; ++i) batch.push_back(record_of("old" + std::to_string(i), k_now - 24h * 91, "203.0.113.7"));
  for (int i = 0; i < 2500; ++i) {
    batch.push_back(record_of("mid" + std::to_string(i), k_now - 24h * 31,
                              i % 2 == 0 ? "198.51.100.77" : "2001:db8:1:2::5"));
  }
  AuditRecord admin = record_of("admin", k_now - 24h * 31, "");
  admin.event = "admin";
  admin.status.reset();
  batch.push_back(admin);
  batch.push_back(record_of("fresh", k_now - 24h * 29, "198.51.100.9"));
  writer->insert_batch(batch);

  const auto other = another_daemon(f);
  PruneReport reports[2];
  std::thread threads[2];
  StorageBackend* backends[] = {&f.storage(), other.get()};
  for (int t = 0; t < 2; ++t) {
    threads[t] = std::thread([&, t] {
      AuditStore store(backends[t]->open_audit(AuditUse::queries));
      reports[t] = store.prune(k_now, 90, 30);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(reports[0].deleted + reports[1].deleted == 2500);
  CHECK(reports[0].ips_truncated + reports[1].ips_truncated == 2500);

  std::map<std::string, int> addresses;
  for (const auto& record : all_records(f.storage())) ++addresses[record.client_ip];
  CHECK(addresses == std::map<std::string, int>{
                         {"198.51.100.0", 1250}, {"2001:db8:1::", 1250}, {"", 1}, {"198.51.100.9", 1}});
  AuditStore store(f.storage().open_audit(AuditUse::queries));
  const auto again = store.prune(k_now, 90, 30);
  CHECK(again.deleted == 0);
  CHECK(again.ips_truncated == 0);
  // An aged address is still found by its network.
  AuditFilter by_ip;
  by_ip.ip = parse_cidr("198.51.100.0/24");
  by_ip.limit = 0;
  CHECK(store.query(by_ip).size() == 1251);
}

TEST_CASE("PostgreSQL backend: audit batches of several daemons commit in id order", "[store_postgres][postgres]") {
  PostgresFixture f{StorageOptions{}};
  const auto other = another_daemon(f);
  const std::unique_ptr<AuditStorage> writers[] = {f.storage().open_audit(AuditUse::writer),
                                                   other->open_audit(AuditUse::writer)};
  std::atomic<bool> done{false};
  // A follower reads "id > last seen" over and over while both write.
  std::vector<std::int64_t> seen;
  std::thread follower([&] {
    AuditStore store(f.storage().open_audit(AuditUse::queries));
    std::int64_t last = 0;
    for (;;) {
      const bool finished = done.load();
      AuditFilter filter;
      filter.after_id = last;
      filter.limit = 0;
      auto records = store.query(filter);
      for (auto it = records.rbegin(); it != records.rend(); ++it) {
        seen.push_back(it->id);
        last = it->id;
      }
      if (finished) return;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        std::vector<AuditRecord> batch;
        for (int j = 0; j < 25; ++j) batch.push_back(record_of("w" + std::to_string(t), k_now, "203.0.113.7"));
        writers[t]->insert_batch(batch);
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  follower.join();
  CHECK(seen.size() == 2000);  // none skipped, none twice
  CHECK(std::is_sorted(seen.begin(), seen.end()));
}

TEST_CASE("PostgreSQL backend: db copy SQLite to PostgreSQL to SQLite keeps every row, and tokens work",
          "[store_postgres][postgres][copy]") {
  SqliteFixture source;
  source.add_track(make_track("mtrack_000000000001", "commercial_cleared"));
  source.add_track(make_track("mtrack_000000000002"));
  source.set_track_removed("mtrack_000000000002", k_now);
  source.add_collection({"mcoll_000000000001", "Demo", std::nullopt, std::nullopt, k_now},
                        {"mtrack_000000000002", "mtrack_000000000001"});
  const auto first = source.share(new_share(TargetType::track, "mtrack_000000000001", k_now + 1h, 5), k_now);
  const auto second = source.share(new_share(TargetType::collection, "mcoll_000000000001"), k_now);
  source.revoke(second.share.id, k_now + 1s);
  source.set_view_count(first.share.id, 4);
  {
    const auto writer = source.storage().open_audit(AuditUse::writer);
    writer->insert_batch(std::vector<AuditRecord>{record_of("a", k_now, "203.0.113.7", first.share.id),
                                                  record_of("b", k_now, "2001:db8::1")});
    AuditStore store(source.storage().open_audit(AuditUse::queries));
    store.prune(k_now + 24h * 31, 90, 30);  // ages both addresses
  }

  // Into an initialised, empty PostgreSQL database.
  SHARELINK_PG_TEST_DATABASE(db);
  DatabaseConfig pg;
  pg.backend = DatabaseBackend::postgresql;
  pg.url = db.url();
  const auto target = open_storage(pg);
  target->migrate();
  {
    auto import = target->open_import();
    source.storage().export_rows(*import);
    const CopyCounts counts = import->commit();
    CHECK(counts == CopyCounts{{"licences", static_cast<std::int64_t>(default_licences().size())},
                               {"tracks", 2},
                               {"collections", 1},
                               {"collection_tracks", 2},
                               {"shares", 2},
                               {"audit_records", 2}});
  }
  const auto admin = target->open_admin();
  const auto copied = find_share_by_token(*admin, first.token);
  REQUIRE(copied);
  CHECK(copied->id == first.share.id);
  CHECK(copied->view_count == 4);
  CHECK(copied->max_views == 5);
  CHECK(copied->expires_at == k_now + 1h);
  CHECK(find_share_by_token(*admin, second.token)->revoked_at == k_now + 1s);
  CHECK(admin->collection("mcoll_000000000001")->track_ids ==
        std::vector<std::string>{"mtrack_000000000002", "mtrack_000000000001"});
  CHECK(admin->track("mtrack_000000000002")->removed_at == k_now);
  const auto source_records = all_records(source.storage());
  const auto target_records = all_records(*target);
  REQUIRE(target_records.size() == 2);
  CHECK(target_records[0].id == source_records[0].id);
  CHECK(target_records[1].client_ip == "203.0.113.0");
  CHECK(target_records[0].client_ip == "2001:db8::");
  // Aged records stay aged; new records are numbered after the copied ones.
  AuditStore target_store(target->open_audit(AuditUse::queries));
  CHECK(target_store.prune(k_now + 24h * 32, 90, 30).ips_truncated == 0);
  target->open_audit(AuditUse::writer)->insert_batch(std::vector<AuditRecord>{record_of("new", k_now, "")});
  CHECK(all_records(*target)[0].id > source_records[0].id);
  CHECK(target->check()[0].ok());
  CHECK(target->check()[1].ok());

  // A second copy into it is refused: it is not empty.
  CHECK_THROWS_WITH(target->open_import(), Catch::Contains("is not empty"));

  // Back to new SQLite files.
  const TempDir dir;
  DatabaseConfig files;
  files.path = dir / "copy.db";
  files.audit_path = dir / "copy.db-audit";
  const auto back = open_storage(files);
  {
    auto import = back->open_import();
    target->export_rows(*import);
    CHECK(import->commit()[5] == std::pair<std::string, std::int64_t>{"audit_records", 3});
  }
  const auto back_admin = back->open_admin();
  CHECK(find_share_by_token(*back_admin, first.token)->view_count == 4);
  CHECK(back_admin->shares(std::nullopt).size() == 2);
  CHECK(back->check()[0].ok());
  CHECK(back->check()[1].ok());
}

TEST_CASE("PostgreSQL backend: db backup writes SQLite files, db check finds inconsistencies",
          "[store_postgres][postgres][maintenance]") {
  PostgresFixture f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto created = f.share(new_share(TargetType::track, "mtrack_000000000001"), k_now);
  const TempDir dir;
  const auto results = f.storage().backup(dir / "backup.db");
  REQUIRE(results.size() == 2);
  CHECK(results[0].copy == dir / "backup.db");
  CHECK(results[1].copy == dir / "backup.db-audit");
  CHECK(results[0].source == f.config().url);
  struct stat info {};
  REQUIRE(::stat(results[0].copy.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  DatabaseConfig files;
  files.path = results[0].copy;
  files.audit_path = results[1].copy;
  CHECK(find_share_by_token(*open_storage(files)->open_admin(), created.token));
  CHECK_THROWS_WITH(f.storage().backup(dir / "backup.db"), Catch::Contains("already exists"));

  auto checks = f.storage().check();
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].kind == "main");
  CHECK(checks[1].kind == "audit");
  CHECK(checks[0].ok());
  CHECK(checks[1].ok());
  CHECK(checks[0].exists);
  CHECK(checks[0].schema_version == f.storage().schema_version());
  f.exec("INSERT INTO shares (id, token_digest, target_type, target_id, created_at, view_count, max_views, created_by) "
         "VALUES ('mslink_orphan000000', repeat('a', 64), 'track', 'mtrack_gone00000000', 0, 3, 2, 'x')");
  checks = f.storage().check();
  CHECK_THAT(checks[0].problems, Catch::VectorContains(std::string(
                                     "share link mslink_orphan000000 points to a missing track mtrack_gone00000000")));
  CHECK_THAT(checks[0].problems,
             Catch::VectorContains(std::string("share link mslink_orphan000000 has view_count 3 above max_views 2")));
}

TEST_CASE("PostgreSQL backend: a reader count from server.threads, bounded", "[store_postgres][postgres]") {
  PostgresFixture f;
  CHECK(f.storage().reader_connections(1) == 4);
  CHECK(f.storage().reader_connections(16) == 16);
  CHECK(f.storage().reader_connections(1000) == 32);
  CHECK(f.storage().schema_version() >= 1);
}

}  // namespace sharelink
