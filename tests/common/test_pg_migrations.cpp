// Unit tests of the PostgreSQL schema and its migration runner, against the throwaway cluster ([postgres]).
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/pg_connection.hpp"
#include "common/pg_migrations.hpp"
#include "common/schema.hpp"
#include "tests/common/pg_test_database.hpp"

using namespace sharelink;

namespace {

const std::vector<std::string> k_tables = {"licences",          "tracks", "collections",
                                           "collection_tracks", "shares", "audit_records"};

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("no Error thrown");
  return {};
}

std::vector<int> recorded_versions(PgConnection& connection) {
  std::vector<int> versions;
  const PgResult result = connection.exec("SELECT version FROM schema_migrations ORDER BY version");
  for (int i = 0; i < result.rows(); ++i) versions.push_back(static_cast<int>(result.row(i).int64(0)));
  return versions;
}

std::vector<int> all_versions() {
  std::vector<int> versions;
  for (const auto& migration : migrations(SchemaKind::postgresql)) versions.push_back(migration.version);
  return versions;
}

bool table_exists(PgConnection& connection, const std::string& table) {
  return connection.exec("SELECT to_regclass($1) IS NOT NULL", PgParams(table)).row(0).boolean(0);
}

// The ```sql blocks of docs/several-daemons.md, in order.
std::vector<std::string> documented_sql() {
  const auto file = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
                    "several-daemons.md";
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> blocks;
  const std::string open = "```sql\n";
  for (std::size_t start = text.find(open); start != std::string::npos; start = text.find(open, start)) {
    start += open.size();
    const std::size_t end = text.find("```", start);
    if (end == std::string::npos) break;
    blocks.push_back(text.substr(start, end - start));
    start = end + 3;
  }
  return blocks;
}

// sql with every whole-word identifier from replaced by to.
std::string rename_identifier(const std::string& sql, const std::string& from, const std::string& to) {
  const auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  std::string out;
  std::size_t i = 0;
  while (i < sql.size()) {
    const bool starts_word = i == 0 || !word_char(sql[i - 1]);
    const std::size_t after = i + from.size();
    if (starts_word && sql.compare(i, from.size(), from) == 0 &&
        (after == sql.size() || !word_char(sql[after]))) {
      out += to;
      i = after;
    } else {
      out += sql[i++];
    }
  }
  return out;
}

// Runs each ";"-terminated statement on its own (CREATE DATABASE refuses a multi-statement string).
void run_statements(PgConnection& connection, const std::string& sql) {
  std::size_t start = 0;
  while (start < sql.size()) {
    const std::size_t end = sql.find(";\n", start);
    const std::string statement =
        sql.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (statement.find_first_not_of(" \n") != std::string::npos) connection.exec(statement);
    if (end == std::string::npos) break;
    start = end + 2;
  }
}

}  // namespace

TEST_CASE("PostgreSQL schema: migrations are embedded in order, numbered from 1", "[pg_migrations]") {
  const auto all = migrations(SchemaKind::postgresql);
  REQUIRE_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].version == static_cast<int>(i) + 1);
    CHECK(std::string(all[i].name).ends_with(".sql"));
  }
  CHECK(latest_schema_version(SchemaKind::postgresql) == all.back().version);
  CHECK(std::string(all.front().name) == "0001_catalogue_shares_and_audit.sql");
}

TEST_CASE("migrate_postgres: a fresh database gets every table and its version",
          "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  CHECK(postgres_schema_version(connection) == std::nullopt);
  CHECK(error_of([&] { require_current_postgres_schema(connection); }) ==
        "database " + db.url() + " has no shared-link tables (run \"sharectl init\")");

  const SchemaMigration report = migrate_postgres(connection);
  CHECK(report.from_version == 0);
  CHECK(report.to_version == latest_schema_version(SchemaKind::postgresql));
  CHECK(postgres_schema_version(connection) == latest_schema_version(SchemaKind::postgresql));
  CHECK(recorded_versions(connection) == all_versions());
  CHECK_NOTHROW(require_current_postgres_schema(connection));
  for (const auto& table : k_tables) {
    INFO(table);
    CHECK(table_exists(connection, table));
  }
  const PgRow names =
      connection.exec("SELECT string_agg(name, ',' ORDER BY version) FROM schema_migrations").row(0);
  CHECK(names.string(0).starts_with("0001_catalogue_shares_and_audit.sql"));
}

TEST_CASE("migrate_postgres: running it again changes nothing", "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  migrate_postgres(connection);
  connection.exec(
      "INSERT INTO licences (licence_class, licence_version, commercial_use, requires_attribution) "
      "VALUES ('personal_only', '2026-01', false, false)");
  const SchemaMigration again = migrate_postgres(connection);
  CHECK(again.from_version == latest_schema_version(SchemaKind::postgresql));
  CHECK(again.to_version == again.from_version);
  CHECK(recorded_versions(connection) == all_versions());
  CHECK(connection.exec("SELECT count(*) FROM licences").row(0).int64(0) == 1);
}

TEST_CASE("migrate_postgres: several at once apply each migration exactly once",
          "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  constexpr int k_runners = 4;
  std::vector<SchemaMigration> reports(k_runners);
  std::vector<std::string> errors(k_runners);
  std::vector<std::thread> threads;
  for (int i = 0; i < k_runners; ++i) {
    threads.emplace_back([&, i] {
      try {
        PgConnection connection(db.options());
        reports[i] = migrate_postgres(connection);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const int latest = latest_schema_version(SchemaKind::postgresql);
  int did_the_work = 0;
  for (int i = 0; i < k_runners; ++i) {
    INFO("runner " << i);
    CHECK(errors[i].empty());
    CHECK(reports[i].to_version == latest);
    if (reports[i].from_version == 0) ++did_the_work;
  }
  CHECK(did_the_work >= 1);
  PgConnection connection(db.options());
  CHECK(recorded_versions(connection) == all_versions());
}

TEST_CASE("require_current_postgres_schema: an older or a newer schema is refused with the fix",
          "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  migrate_postgres(connection);
  const int latest = latest_schema_version(SchemaKind::postgresql);
  const std::string shown = "database " + db.url();

  SECTION("older") {
    connection.exec("DELETE FROM schema_migrations WHERE version = $1", PgParams(latest));
    CHECK(error_of([&] { require_current_postgres_schema(connection); }) ==
          shown + " has schema version " + std::to_string(latest - 1) + ", this build needs " +
              std::to_string(latest) + " (run \"sharectl init\" to migrate it)");
  }
  SECTION("newer") {
    connection.exec("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')",
                    PgParams(latest + 1));
    const std::string newer = shown + " has schema version " + std::to_string(latest + 1) +
                              ", newer than this build knows (" + std::to_string(latest) +
                              "); upgrade shared-link";
    CHECK(error_of([&] { require_current_postgres_schema(connection); }) == newer);
    CHECK(error_of([&] { migrate_postgres(connection); }) == newer);
  }
}

TEST_CASE("migrate_postgres: a failing migration is rolled back whole and named",
          "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  connection.exec("CREATE TABLE shares (unrelated integer)");  // in the way of migration 1
  try {
    migrate_postgres(connection);
    FAIL("no error");
  } catch (const PgError& e) {
    CHECK(e.sqlstate() == "42P07");
    CHECK(
        std::string(e.what()).starts_with("cannot migrate database " + db.url() +
                                          " (0001_catalogue_shares_and_audit.sql): PostgreSQL error: query: "
                                          "relation \"shares\" already exists"));
  }
  CHECK(connection.idle_outside_transaction());
  CHECK(postgres_schema_version(connection) == 0);
  CHECK_FALSE(table_exists(connection, "licences"));  // created before the failure, rolled back with it
}

TEST_CASE("PostgreSQL schema: every text column compares bytewise (collation C)",
          "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  migrate_postgres(connection);
  const PgResult columns = connection.exec(
      "SELECT table_name || '.' || column_name, coalesce(collation_name, '') FROM information_schema.columns "
      "WHERE table_schema = current_schema() AND data_type = 'text' AND table_name <> 'schema_migrations'");
  REQUIRE(columns.rows() > 20);
  for (int i = 0; i < columns.rows(); ++i) {
    INFO(columns.row(i).string(0));
    CHECK(columns.row(i).string(1) == "C");
  }
}

TEST_CASE("PostgreSQL schema: constraints as on SQLite", "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  migrate_postgres(connection);
  const auto sqlstate_of = [&](const std::string& sql) {
    try {
      connection.exec(sql);
    } catch (const PgError& e) {
      return e.sqlstate();
    }
    return std::string("accepted");
  };
  connection.exec(
      "INSERT INTO tracks (id, title, engine, mode, licence_class, licence_version, mime_type, audio_path, "
      "created_at) "
      "VALUES ('mtrack_000000000001', 'T', 'studio', 'creation', 'personal_only', '2026-01', 'audio/mpeg', "
      "'t.mp3', 1)");
  connection.exec("INSERT INTO collections (id, name, created_at) VALUES ('mcoll_000000000001', 'C', 1)");
  const std::string share =
      "INSERT INTO shares (id, token_digest, target_type, target_id, created_at, created_by, max_views) "
      "VALUES ";

  CHECK(sqlstate_of("INSERT INTO licences VALUES ('free_for_all', '2026-01', true, false)") == "23514");
  CHECK(sqlstate_of(share + "('mslink_1', 'd1', 'album', 'x', 1, 'op', NULL)") == "23514");
  CHECK(sqlstate_of(share + "('mslink_1', 'd1', 'track', 'mtrack_000000000001', 1, 'op', 0)") == "23514");
  CHECK(sqlstate_of(share + "('mslink_1', 'd1', 'track', 'mtrack_000000000001', 1, 'op', 3)") == "accepted");
  CHECK(sqlstate_of(share + "('mslink_2', 'd1', 'track', 'mtrack_000000000001', 1, 'op', 3)") == "23505");
  CHECK(
      sqlstate_of("INSERT INTO collection_tracks VALUES ('mcoll_000000000001', 0, 'mtrack_000000000001')") ==
      "accepted");
  CHECK(
      sqlstate_of("INSERT INTO collection_tracks VALUES ('mcoll_000000000001', 1, 'mtrack_000000000001')") ==
      "23505");
  CHECK(sqlstate_of("INSERT INTO collection_tracks VALUES ('mcoll_000000000001', 2, 'mtrack_missing')") ==
        "23503");
  CHECK(
      sqlstate_of(
          "INSERT INTO audit_records (ts, event, outcome, client_ip) VALUES (1, 'resolve', 'ok', 'nope')") ==
      "22P02");

  const PgRow defaults =
      connection.exec("SELECT visibility, view_count, seq FROM shares WHERE id = 'mslink_1'").row(0);
  CHECK(defaults.string(0) == "link_only");
  CHECK(defaults.int64(1) == 0);
  CHECK(defaults.int64(2) >= 1);
}

TEST_CASE("PostgreSQL schema: client_ip filters by CIDR and ages in SQL", "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  migrate_postgres(connection);
  for (const char* ip : {"203.0.113.77", "2001:db8:1:2:3::1", "10.1.2.3"}) {
    connection.exec(
        "INSERT INTO audit_records (ts, event, outcome, client_ip) VALUES (1, 'resolve', 'ok', $1)",
        PgParams(ip));
  }
  connection.exec("INSERT INTO audit_records (ts, event, outcome) VALUES (2, 'admin', 'ok')");
  const auto matching = [&](const char* cidr) {
    return connection.exec("SELECT count(*) FROM audit_records WHERE client_ip <<= $1::inet", PgParams(cidr))
        .row(0)
        .int64(0);
  };
  CHECK(matching("203.0.113.0/24") == 1);
  CHECK(matching("10.0.0.0/8") == 1);
  CHECK(matching("2001:db8::/32") == 1);
  CHECK(matching("0.0.0.0/0") == 2);  // an IPv4 network holds no IPv6 address
  CHECK(matching("::/0") == 1);

  // IPv4 to /24, IPv6 to /48, kept as a host address as SQLite keeps the text.
  connection.exec(
      "UPDATE audit_records SET ip_truncated = true, client_ip = set_masklen(network(set_masklen(client_ip, "
      "CASE family(client_ip) WHEN 4 THEN 24 ELSE 48 END))::inet, CASE family(client_ip) WHEN 4 THEN 32 ELSE "
      "128 "
      "END) WHERE NOT ip_truncated AND client_ip IS NOT NULL");
  const PgResult aged =
      connection.exec("SELECT host(client_ip) FROM audit_records WHERE client_ip IS NOT NULL ORDER BY id");
  REQUIRE(aged.rows() == 3);
  CHECK(aged.row(0).string(0) == "203.0.113.0");
  CHECK(aged.row(1).string(0) == "2001:db8:1::");
  CHECK(aged.row(2).string(0) == "10.1.2.0");
  CHECK(matching("203.0.113.0/24") == 1);
}

TEST_CASE("docs/several-daemons.md: the documented roles and grants let the daemons work, and only work",
          "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  const auto blocks = documented_sql();
  REQUIRE(blocks.size() == 3);
  // The documented names, made unique to this test (roles belong to the whole cluster).
  const std::string owner = db.name() + "_owner";
  const std::string app = db.name() + "_app";
  const auto localised = [&](const std::string& sql) {
    // shared_link names both the daemons' role and the database.
    return rename_identifier(rename_identifier(sql, "shared_link_owner", owner), "shared_link", app);
  };
  db.drop_at_end(app, false);  // the documented database
  db.drop_at_end(app, true);
  db.drop_at_end(owner, true);

  run_statements(db.admin(), localised(blocks[0]));  // as the superuser
  const auto options_for = [&](const std::string& user) {
    PgConnectOptions options = db.options();
    options.url = "postgresql://" + user + "@" + db.host_port() + "/" + app;
    return options;
  };
  {
    PgConnection superuser(options_for("postgres"));
    run_statements(superuser, localised(blocks[1]));
  }
  PgConnection as_owner(options_for(owner));
  run_statements(as_owner, localised(blocks[2]));
  migrate_postgres(as_owner);  // sharectl init with the owner's URL

  PgConnection daemon(options_for(app));
  CHECK_NOTHROW(require_current_postgres_schema(daemon));
  CHECK(migrate_postgres(daemon).from_version ==
        latest_schema_version(SchemaKind::postgresql));  // nothing to do
  daemon.exec("INSERT INTO licences VALUES ('personal_only', '2026-01', false, false)");
  daemon.exec(
      "INSERT INTO tracks (id, title, engine, mode, licence_class, licence_version, mime_type, audio_path, "
      "created_at) VALUES ('mtrack_000000000001', 'T', 'studio', 'creation', 'personal_only', '2026-01', "
      "'audio/mpeg', 't.mp3', 1)");
  daemon.exec(
      "INSERT INTO shares (id, token_digest, target_type, target_id, created_at, created_by, max_views) "
      "VALUES ('mslink_000000000001', 'digest', 'track', 'mtrack_000000000001', 1, 'op', 2)");
  CHECK(daemon
            .exec("UPDATE shares SET view_count = view_count + 1 WHERE id = 'mslink_000000000001' AND "
                  "view_count < max_views RETURNING view_count")
            .row(0)
            .int64(0) == 1);
  daemon.exec(
      "INSERT INTO audit_records (ts, event, outcome, client_ip) VALUES (1, 'resolve', 'ok', '10.0.0.1')");
  {
    PgTransaction transaction(daemon);
    PgCopyIn copy(daemon, "COPY audit_records (ts, event, outcome) FROM STDIN");
    copy.row(PgParams(2, "admin", "ok"));
    copy.finish();
    transaction.commit();
  }
  CHECK(daemon.exec("DELETE FROM audit_records WHERE ts < 3").affected_rows() == 2);

  const auto refused = [&](const std::string& sql) {
    try {
      daemon.exec(sql);
    } catch (const PgError& e) {
      return e.sqlstate() == "42501";  // insufficient privilege
    }
    return false;
  };
  CHECK(refused("CREATE TABLE intruder (n integer)"));
  CHECK(refused("DROP TABLE shares"));
  CHECK(refused("ALTER TABLE shares ADD COLUMN n integer"));
  CHECK(refused("TRUNCATE audit_records"));

  // Other roles of the cluster cannot even connect.
  const std::string stranger = db.create_role("stranger");
  CHECK_THROWS_AS(PgConnection(options_for(stranger)), DatabaseUnavailable);
}

TEST_CASE("PostgreSQL schema 2: a version-1 audit log keeps its records, and audit stats can read the index alone",
          "[postgres][pg_migrations]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  const auto all = migrations(SchemaKind::postgresql);
  REQUIRE(all.size() >= 2);
  // A database at version 1, as a build before schema 2 left it.
  connection.exec(
      "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
      "applied_at timestamptz NOT NULL DEFAULT now())");
  connection.exec(all[0].sql);
  connection.exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                  PgParams(all[0].version, all[0].name));
  connection.exec(
      "INSERT INTO audit_records (ts, event, outcome, status, client_ip, share_id) VALUES "
      "(1000, 'resolve', 'ok', 200, '10.0.0.1', 'mslink_000000000001'), "
      "(2000, 'resolve', 'not_found', 404, '2001:db8::1', NULL), "
      "(3000, 'admin', 'ok', NULL, NULL, NULL)");
  const std::string rows_sql =
      "SELECT string_agg(id || '|' || ts || '|' || event || '|' || outcome || '|' || coalesce(status::text, '-') || "
      "'|' || coalesce(host(client_ip), '-') || '|' || ip_truncated, ',' ORDER BY id) FROM audit_records";
  const std::string before = connection.exec(rows_sql).row(0).string(0);

  const SchemaMigration report = migrate_postgres(connection);
  CHECK(report.from_version == 1);
  CHECK(report.to_version == latest_schema_version(SchemaKind::postgresql));
  CHECK(connection.exec(rows_sql).row(0).string(0) == before);
  CHECK_THAT(connection.exec("SELECT indexdef FROM pg_indexes WHERE indexname = 'audit_records_age'").row(0).string(0),
             Catch::Contains("(ip_truncated, ts) INCLUDE (event, outcome, client_ip)"));

  // The counts query of PgAuditStorage::stats with --since: an index-only scan once the
  // visibility map is set (autovacuum does it for an append-only table; here VACUUM).
  connection.exec("VACUUM ANALYZE audit_records");
  connection.exec("SET enable_seqscan = off");
  const PgResult plan = connection.exec(
      "EXPLAIN SELECT event, outcome, count(*) FROM audit_records WHERE true AND ip_truncated IN (false, true) "
      "AND ts >= $1 GROUP BY event, outcome ORDER BY event, outcome",
      PgParams(std::int64_t{1500}));
  std::string text;
  for (int i = 0; i < plan.rows(); ++i) text += plan.row(i).string(0) + "\n";
  CHECK_THAT(text, Catch::Contains("Index Only Scan using audit_records_age"));
}
