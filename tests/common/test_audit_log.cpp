// Unit tests of the audit log: the batched writer (common/audit_writer.hpp), and queries, stats and
// retention (common/audit_store.hpp).
#include "tests/common/temp_dir.hpp"
#include "tests/common/memory_store.hpp"
#include "tests/common/store_fixtures.hpp"
#include "tests/common/test_support.hpp"
#include "common/audit_store.hpp"
#include "common/audit_writer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/store_sqlite.hpp"
#include "common/store.hpp"
#include "common/error.hpp"

namespace sharelink {
namespace {

using sharelink::testing::TempDir;
using sharelink::testing::wait_until;
using sharelink::testing::WriteLockHolder;

using namespace std::chrono_literals;

// 2026-07-28T10:30:00.000Z, with a millisecond part added where it matters.
const TimePoint k_now = from_unix_millis(1785234600000);

// The SQLite backend over one audit file (its catalogue file is never opened).
std::unique_ptr<StorageBackend> audit_backend(const std::filesystem::path& file,
                                              std::chrono::milliseconds lock_wait = 5000ms) {
  DatabaseConfig config;
  config.path = file.parent_path() / "unused-catalogue.db";
  config.audit_path = file;
  return open_storage(config, StorageOptions{lock_wait});
}

// Opens an audit connection on file, for tests that expect the opening to fail.
void open_audit_file(const std::filesystem::path& file, AuditUse use) {
  const auto backend = audit_backend(file);
  backend->open_audit(use);
}

// A temp directory holding a migrated, empty audit database, and the storage
// to open it with: patient (lock_wait 5 s) or impatient (a held lock fails
// a write at once).
struct AuditDbFixture {
  AuditDbFixture() : file(dir.path() / "audit.db") { migrate_database(file, SchemaKind::audit); }
  TempDir dir;
  std::filesystem::path file;
  std::unique_ptr<StorageBackend> patient = audit_backend(file);
  std::unique_ptr<StorageBackend> impatient = audit_backend(file, 0ms);

  AuditStore store() { return AuditStore(patient->open_audit(AuditUse::queries)); }
  std::unique_ptr<AuditStorage> writer_storage() { return patient->open_audit(AuditUse::writer); }
  std::unique_ptr<AuditStorage> impatient_writer_storage() { return impatient->open_audit(AuditUse::writer); }
};

AuditRecord resolve_record(std::string request_id, TimePoint ts = k_now, std::string outcome = "ok") {
  AuditRecord record;
  record.ts = ts;
  record.event = "resolve";
  record.outcome = std::move(outcome);
  record.status = 200;
  record.client_ip = "203.0.113.7";
  record.request_id = std::move(request_id);
  return record;
}

std::vector<AuditRecord> all_records(AuditDbFixture& db) {
  AuditStore store = db.store();
  AuditFilter filter;
  filter.limit = 0;
  return store.query(filter);
}

std::vector<std::string> request_ids(const std::vector<AuditRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& record : records) ids.push_back(record.request_id);
  return ids;
}



// A clock the test moves by hand; safe to read from the writer thread.
class ManualClock {
 public:
  explicit ManualClock(TimePoint start) : millis_(to_unix_millis(start)) {}
  void advance(std::chrono::milliseconds step) { millis_ += step.count(); }
  Clock clock() {
    return [this] { return from_unix_millis(millis_.load()); };
  }

 private:
  std::atomic<std::int64_t> millis_;
};

}  // namespace

// ---------------------------------------------------------------------------
// AuditStore basics

TEST_CASE("AuditLog: a record reads back with every field", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();

  AuditRecord full;
  full.ts = from_unix_millis(1785234600123);
  full.event = "resolve";
  full.outcome = "ok";
  full.status = 200;
  full.client_ip = "2001:db8::1";
  full.share_id = "mslink_3a7f2c9e8b14";
  full.token_fp = "0123456789ab";
  full.request_id = "req_5f0c1e2d3a4b6c7d";
  full.user_agent = "curl/8.0";
  store.append(full);

  AuditRecord admin;
  admin.ts = k_now;
  admin.event = "admin";
  admin.outcome = "ok";
  admin.actor = "alice";
  admin.action = "share.revoke";
  admin.detail = "reason: leaked";
  admin.share_id = "mslink_3a7f2c9e8b14";
  store.append(admin);

  const auto records = store.query(AuditFilter{});
  REQUIRE(records.size() == 2);
  const auto& got_admin = records[0];
  const auto& got_full = records[1];
  CHECK(got_full.id < got_admin.id);
  CHECK(got_full.ts == full.ts);
  CHECK(got_full.event == "resolve");
  CHECK(got_full.outcome == "ok");
  CHECK(got_full.status == 200);
  CHECK(got_full.client_ip == full.client_ip);
  CHECK(got_full.share_id == full.share_id);
  CHECK(got_full.token_fp == full.token_fp);
  CHECK(got_full.request_id == full.request_id);
  CHECK(got_full.user_agent == full.user_agent);
  CHECK(got_full.actor.empty());
  CHECK(got_full.action.empty());
  CHECK(got_full.detail.empty());

  CHECK(got_admin.ts == k_now);
  CHECK(got_admin.event == "admin");
  CHECK_FALSE(got_admin.status.has_value());
  CHECK(got_admin.client_ip.empty());
  CHECK(got_admin.token_fp.empty());
  CHECK(got_admin.actor == "alice");
  CHECK(got_admin.action == "share.revoke");
  CHECK(got_admin.detail == "reason: leaked");
}

TEST_CASE("AuditLog: stranger-controlled text is cleaned on the way in", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();

  AuditRecord raw = resolve_record("req_raw");
  raw.user_agent = "evil\n\x1b[2J" + std::string(400, 'x');
  raw.detail = std::string(2000, 'd') + "\n";
  raw.actor = "bob\r";
  store.append(raw);

  AuditRecord sanitized = resolve_record("req_sanitized");
  sanitized.user_agent = sanitize_user_agent("a\nb\\c");  // "a\x0ab\x5cc", already clean
  store.append(sanitized);

  const auto records = store.query(AuditFilter{});
  REQUIRE(records.size() == 2);
  CHECK(records[0].user_agent == "a\\x0ab\\x5cc");  // not escaped twice
  CHECK(records[1].user_agent == sanitize_user_agent(raw.user_agent));
  CHECK(records[1].user_agent.size() <= 256);
  CHECK(records[1].detail == std::string(1024, 'd'));
  CHECK(records[1].actor == "bob\\x0d");
}

TEST_CASE("AuditLog: records without event or outcome are refused", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();
  AuditWriter writer(db.writer_storage());

  AuditRecord no_event = resolve_record("req_a");
  no_event.event.clear();
  AuditRecord no_outcome = resolve_record("req_b");
  no_outcome.outcome.clear();

  CHECK_THROWS_AS(store.append(no_event), Error);
  CHECK_THROWS_AS(store.append(no_outcome), Error);
  CHECK_THROWS_AS(writer.append(no_event), Error);
  CHECK_THROWS_AS(writer.append(no_outcome), Error);
  writer.flush();
  CHECK(all_records(db).empty());
  CHECK(writer.write_errors() == 0);
}

TEST_CASE("AuditLog: opening a missing or unmigrated database fails", "[audit_log]") {
  TempDir dir;
  const auto missing = dir.path() / "missing.db";
  CHECK_THROWS_AS(open_audit_file(missing, AuditUse::queries), DatabaseUnavailable);
  CHECK_THROWS_AS(open_audit_file(missing, AuditUse::writer), DatabaseUnavailable);
  CHECK_THROWS_WITH(open_audit_file(missing, AuditUse::queries), Catch::Contains("sharectl init"));
  CHECK_FALSE(std::filesystem::exists(missing));

  // An empty SQLite file has schema version 0.
  const auto empty = dir.path() / "empty.db";
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open(empty.c_str(), &handle) == SQLITE_OK);
  sqlite3_close(handle);
  CHECK_THROWS_AS(open_audit_file(empty, AuditUse::queries), DatabaseUnavailable);
  CHECK_THROWS_AS(open_audit_file(empty, AuditUse::writer), DatabaseUnavailable);
  CHECK_THROWS_WITH(open_audit_file(empty, AuditUse::writer), Catch::Contains("sharectl init"));
}

TEST_CASE("AuditLog: database failures surface as Error", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open(db.file.c_str(), &handle) == SQLITE_OK);
  REQUIRE(sqlite3_exec(handle, "DROP TABLE audit_records", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(handle);

  CHECK_THROWS_AS(store.append(resolve_record("req")), Error);
  CHECK_THROWS_AS(store.query(AuditFilter{}), Error);
  CHECK_THROWS_AS(store.stats(std::nullopt), Error);
  CHECK_THROWS_AS(store.share_summary("mslink_aaaaaaaaaaaa"), Error);
  CHECK_THROWS_AS(store.prune(k_now, 90, 30), Error);
  CHECK_THROWS_AS(open_audit_file(db.file, AuditUse::queries), Error);
  CHECK_THROWS_AS(open_audit_file(db.file, AuditUse::writer), Error);
}

TEST_CASE("AuditLog: writer options are checked", "[audit_log]") {
  AuditDbFixture db;
  AuditWriterOptions no_room;
  no_room.queue_capacity = 0;
  CHECK_THROWS_AS(AuditWriter(db.writer_storage(), no_room), Error);
  AuditWriterOptions no_batch;
  no_batch.batch_limit = 0;
  CHECK_THROWS_AS(AuditWriter(db.writer_storage(), no_batch), Error);
  CHECK_THROWS_AS(AuditWriter(nullptr), Error);
  CHECK_THROWS_AS(AuditStore(nullptr), Error);
}

// ---------------------------------------------------------------------------
// AuditStore::query

TEST_CASE("AuditLog: query filters", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();

  const auto add = [&](const std::string& request_id, TimePoint ts, const std::string& event,
                       const std::string& outcome, const std::string& ip, const std::string& share,
                       const std::string& token_fp) {
    AuditRecord record;
    record.ts = ts;
    record.event = event;
    record.outcome = outcome;
    if (event != "admin") record.status = outcome == "ok" ? 200 : 404;
    record.client_ip = ip;
    record.share_id = share;
    record.token_fp = token_fp;
    record.request_id = request_id;
    store.append(record);
  };
  // ids 1..7 in this order; r7 is an old record whose address has been aged.
  add("r1", k_now - 5h, "resolve", "ok", "203.0.113.7", "mslink_aaaaaaaaaaaa", "fp_a00000000");
  add("r2", k_now - 4h, "resolve", "not_found", "198.51.100.9", "", "fp_b00000000");
  add("r3", k_now - 3h, "resolve", "ok", "2001:db8:1:2::5", "mslink_bbbbbbbbbbbb", "fp_c00000000");
  add("r4", k_now - 2h, "media", "ok", "203.0.113.200", "mslink_aaaaaaaaaaaa", "");
  add("r5", k_now - 1h, "admin", "ok", "", "mslink_aaaaaaaaaaaa", "");
  add("r6", k_now, "resolve", "rate_limited", "2001:db8:1:ffff::1", "", "");
  add("r7", k_now - 24h * 40, "resolve", "ok", "203.0.113.0", "mslink_aaaaaaaaaaaa", "fp_a00000000");

  const auto cidr = [](const char* text) {
    auto parsed = parse_cidr(text);
    REQUIRE(parsed.has_value());
    return *parsed;
  };

  struct Case {
    const char* name;
    AuditFilter filter;
    std::vector<std::string> expected;
  };
  std::vector<Case> cases;
  const auto add_case = [&](const char* name, auto&& set, std::vector<std::string> expected) {
    AuditFilter filter;
    set(filter);
    cases.push_back({name, filter, std::move(expected)});
  };
  add_case("no filter: newest first", [](AuditFilter&) {}, {"r7", "r6", "r5", "r4", "r3", "r2", "r1"});
  add_case("ip: exact IPv4", [&](AuditFilter& f) { f.ip = cidr("203.0.113.7"); }, {"r1"});
  add_case("ip: IPv4 /24 includes the aged address", [&](AuditFilter& f) { f.ip = cidr("203.0.113.0/24"); },
           {"r7", "r4", "r1"});
  add_case("ip: the aged network address itself", [&](AuditFilter& f) { f.ip = cidr("203.0.113.0"); }, {"r7"});
  add_case("ip: IPv4 /8 of nothing", [&](AuditFilter& f) { f.ip = cidr("10.0.0.0/8"); }, {});
  add_case("ip: every IPv4, no IPv6", [&](AuditFilter& f) { f.ip = cidr("0.0.0.0/0"); }, {"r7", "r4", "r2", "r1"});
  add_case("ip: exact IPv6", [&](AuditFilter& f) { f.ip = cidr("2001:db8:1:2::5"); }, {"r3"});
  add_case("ip: IPv6 /48", [&](AuditFilter& f) { f.ip = cidr("2001:db8:1::/48"); }, {"r6", "r3"});
  add_case("ip: IPv6 /64", [&](AuditFilter& f) { f.ip = cidr("2001:db8:1:2::/64"); }, {"r3"});
  add_case("ip: every IPv6, no IPv4", [&](AuditFilter& f) { f.ip = cidr("::/0"); }, {"r6", "r3"});
  add_case("share", [](AuditFilter& f) { f.share_id = "mslink_aaaaaaaaaaaa"; }, {"r7", "r5", "r4", "r1"});
  add_case("share: unknown", [](AuditFilter& f) { f.share_id = "mslink_ffffffffffff"; }, {});
  add_case("token_fp: a token that names no link", [](AuditFilter& f) { f.token_fp = "fp_b00000000"; }, {"r2"});
  add_case("token_fp: a link's token, with its link", [](AuditFilter& f) {
    f.token_fp = "fp_a00000000";
    f.token_share_id = "mslink_aaaaaaaaaaaa";
  }, {"r7", "r1"});
  add_case("token_fp: a link's records need the link", [](AuditFilter& f) { f.token_fp = "fp_a00000000"; }, {});
  add_case("token_fp: the link does not widen the token", [](AuditFilter& f) {
    f.token_fp = "fp_b00000000";
    f.token_share_id = "mslink_aaaaaaaaaaaa";
  }, {"r2"});
  add_case("event: media", [](AuditFilter& f) { f.event = "media"; }, {"r4"});
  add_case("event: admin", [](AuditFilter& f) { f.event = "admin"; }, {"r5"});
  add_case("outcome", [](AuditFilter& f) { f.outcome = "ok"; }, {"r7", "r5", "r4", "r3", "r1"});
  add_case("since is inclusive", [](AuditFilter& f) { f.since = k_now - 3h; }, {"r6", "r5", "r4", "r3"});
  add_case("until is exclusive", [](AuditFilter& f) { f.until = k_now - 3h; }, {"r7", "r2", "r1"});
  add_case("since and until", [](AuditFilter& f) {
    f.since = k_now - 4h;
    f.until = k_now - 2h;
  }, {"r3", "r2"});
  add_case("limit", [](AuditFilter& f) { f.limit = 2; }, {"r7", "r6"});
  add_case("limit 0 is no limit", [](AuditFilter& f) { f.limit = 0; }, {"r7", "r6", "r5", "r4", "r3", "r2", "r1"});
  add_case("after_id", [](AuditFilter& f) { f.after_id = 5; }, {"r7", "r6"});
  add_case("after_id past the end", [](AuditFilter& f) { f.after_id = 7; }, {});
  add_case("share, outcome and since together", [](AuditFilter& f) {
    f.share_id = "mslink_aaaaaaaaaaaa";
    f.outcome = "ok";
    f.since = k_now - 6h;
  }, {"r5", "r4", "r1"});
  add_case("ip and limit", [&](AuditFilter& f) {
    f.ip = cidr("203.0.113.0/24");
    f.limit = 2;
  }, {"r7", "r4"});
  add_case("ip and after_id", [&](AuditFilter& f) {
    f.ip = cidr("203.0.113.0/24");
    f.after_id = 1;
  }, {"r7", "r4"});
  add_case("ip and event", [&](AuditFilter& f) {
    f.ip = cidr("203.0.113.0/24");
    f.event = "resolve";
  }, {"r7", "r1"});

  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(request_ids(store.query(c.filter)) == c.expected);
  }
}

TEST_CASE("AuditLog: an ip filter finds matches beyond the first page of rows", "[audit_log]") {
  AuditDbFixture db;
  {
    AuditWriter writer(db.writer_storage());
    for (int i = 0; i < 3; ++i) {
      AuditRecord record = resolve_record("old_" + std::to_string(i));
      record.client_ip = "192.0.2." + std::to_string(i + 1);
      writer.append(record);
    }
    for (int i = 0; i < 1500; ++i) {
      AuditRecord record = resolve_record("new_" + std::to_string(i));
      record.client_ip = "198.51.100.1";
      writer.append(record);
    }
  }
  AuditStore store = db.store();
  AuditFilter filter;
  filter.ip = parse_cidr("192.0.2.0/24");
  CHECK(request_ids(store.query(filter)) == std::vector<std::string>{"old_2", "old_1", "old_0"});
  filter.limit = 2;
  CHECK(request_ids(store.query(filter)) == std::vector<std::string>{"old_2", "old_1"});

  filter.ip = parse_cidr("198.51.100.1");
  filter.limit = 1200;
  const auto many = store.query(filter);
  REQUIRE(many.size() == 1200);
  CHECK(many.front().request_id == "new_1499");
  CHECK(many.back().request_id == "new_300");
  filter.limit = 0;
  CHECK(store.query(filter).size() == 1500);
}

// ---------------------------------------------------------------------------
// AuditStore::stats and share_summary

TEST_CASE("AuditLog: stats counts outcomes and top clients", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();
  const auto add = [&](TimePoint ts, const std::string& event, const std::string& outcome, const std::string& ip) {
    AuditRecord record = resolve_record("req", ts, outcome);
    record.event = event;
    record.client_ip = ip;
    store.append(record);
  };
  add(k_now - 48h, "resolve", "ok", "10.0.0.9");
  add(k_now - 48h, "resolve", "ok", "10.0.0.9");
  add(k_now - 48h, "resolve", "ok", "10.0.0.9");
  add(k_now - 2h, "resolve", "ok", "10.0.0.1");
  add(k_now - 2h, "resolve", "not_found", "10.0.0.2");
  add(k_now - 1h, "resolve", "not_found", "10.0.0.2");
  add(k_now - 1h, "resolve", "rate_limited", "10.0.0.2");
  add(k_now - 1h, "media", "ok", "10.0.0.1");
  add(k_now, "admin", "ok", "");

  using Counts = std::vector<std::pair<std::string, std::int64_t>>;
  SECTION("all time") {
    const auto stats = store.stats(std::nullopt);
    CHECK(stats.total == 9);
    CHECK(stats.by_outcome == Counts{{"admin/ok", 1},
                                     {"media/ok", 1},
                                     {"resolve/not_found", 2},
                                     {"resolve/ok", 4},
                                     {"resolve/rate_limited", 1}});
    CHECK(stats.top_clients == Counts{{"10.0.0.2", 3}, {"10.0.0.9", 3}, {"10.0.0.1", 2}});
  }
  SECTION("since a time") {
    const auto stats = store.stats(k_now - 2h);
    CHECK(stats.total == 6);
    CHECK(stats.by_outcome == Counts{{"admin/ok", 1},
                                     {"media/ok", 1},
                                     {"resolve/not_found", 2},
                                     {"resolve/ok", 1},
                                     {"resolve/rate_limited", 1}});
    CHECK(stats.top_clients == Counts{{"10.0.0.2", 3}, {"10.0.0.1", 2}});
  }
  SECTION("top clients limited") {
    CHECK(store.stats(std::nullopt, 1).top_clients == Counts{{"10.0.0.2", 3}});
    CHECK(store.stats(std::nullopt, 0).top_clients.empty());
  }
  SECTION("nothing in the period") {
    const auto stats = store.stats(k_now + 1h);
    CHECK(stats.total == 0);
    CHECK(stats.by_outcome.empty());
    CHECK(stats.top_clients.empty());
  }
}

TEST_CASE("SQLite audit stats: the same answer whether the addresses are counted in memory or by SQLite",
          "[audit_log]") {
  const TempDir dir;
  const auto file = dir.path() / "audit.db";
  migrate_database(file, SchemaKind::audit);
  // 3,000 distinct addresses (enough for several growths of the counting table and
  // many batches), counts 1 to 7 with many ties, plus records without an address and
  // an old record outside the range; inserted in one batch, shuffled.
  std::vector<AuditRecord> records;
  std::map<std::string, std::int64_t> expected_counts;
  std::mt19937 random(14);
  for (int i = 0; i < 3000; ++i) {
    const std::string ip = (i % 3 == 0 ? "2001:db8::" : "10.1.") + std::to_string(i / 256) + (i % 3 == 0 ? ":" : ".") +
                           std::to_string(i % 256);
    const int n = 1 + static_cast<int>(random() % 7);
    for (int k = 0; k < n; ++k) {
      AuditRecord record = resolve_record("req", k_now - std::chrono::minutes(k), k % 2 ? "ok" : "not_found");
      record.client_ip = ip;
      records.push_back(record);
    }
    expected_counts[ip] = n;
  }
  for (int k = 0; k < 5; ++k) {
    AuditRecord no_address = resolve_record("no_ip", k_now);
    no_address.client_ip.clear();  // stored as NULL
    records.push_back(no_address);
  }
  AuditRecord old = resolve_record("old", k_now - std::chrono::hours(48));
  old.client_ip = "10.9.9.9";
  records.push_back(old);
  std::shuffle(records.begin(), records.end(), random);
  audit_backend(file)->open_audit(AuditUse::queries)->insert_batch(records);

  // ORDER BY n DESC, client_ip: the reference, from the counts above.
  std::vector<std::pair<std::string, std::int64_t>> expected(expected_counts.begin(), expected_counts.end());
  std::stable_sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  const std::size_t top = 25;
  expected.resize(top);

  const auto stats_with = [&](std::size_t in_memory) {
    DatabaseConfig config;
    config.path = dir.path() / "unused-catalogue.db";
    config.audit_path = file;
    StorageOptions options;
    options.audit_stats_clients_in_memory = in_memory;
    return open_storage(config, options)->open_audit(AuditUse::queries)->stats(k_now - std::chrono::hours(1), top);
  };
  // Past the bound (0, 1, 2999 distinct addresses) SQLite groups them; at or above 3000 they are counted in memory.
  const std::size_t bound = GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{2999}, std::size_t{3000},
                                     std::size_t{1'000'000});
  CAPTURE(bound);
  const AuditStats stats = stats_with(bound);
  CHECK(stats.top_clients == expected);
  std::int64_t total = 0;
  for (const auto& [ip, n] : expected_counts) total += n;
  CHECK(stats.total == total + 5);
  CHECK(stats.by_outcome.size() == 2);
  CHECK(stats_with(bound).top_clients == expected);  // the same again: nothing kept between calls
}

TEMPLATE_TEST_CASE("AuditLog: share_summary counts the openings of one link, by the API and the page",
                   "[audit_log]", testing::MemoryFixture, testing::SqliteFixture, testing::PostgresFixture) {
  TestType installation;
  AuditStore store(installation.storage().open_audit(AuditUse::queries));
  const std::string share = "mslink_aaaaaaaaaaaa";
  const auto add = [&](TimePoint ts, const std::string& event, const std::string& outcome, const std::string& id) {
    AuditRecord record = resolve_record("req", ts, outcome);
    record.event = event;
    record.share_id = id;
    store.append(record);
  };
  add(k_now - 3h, "resolve", "ok", share);
  add(k_now - 1h, "resolve", "ok", share);
  add(k_now - 2h, "resolve", "ok", share);  // out of order: the latest time wins, not the latest id
  add(k_now - 30min, "resolve", "preview", share);
  add(k_now - 20min, "resolve", "revoked", share);
  add(k_now - 10min, "media", "ok", share);
  add(k_now - 5min, "admin", "ok", share);
  add(k_now, "resolve", "ok", "mslink_bbbbbbbbbbbb");

  const auto summary = store.share_summary(share);
  REQUIRE(summary.last_resolve.has_value());
  CHECK(*summary.last_resolve == k_now - 1h);
  CHECK(summary.resolves_by_outcome == std::map<std::string, std::int64_t>{{"ok", 3}, {"preview", 1}, {"revoked", 1}});

  // The share page's openings count with the API's; the latest ok of either is the last opening.
  add(k_now - 40min, "page", "ok", share);
  add(k_now - 25min, "page", "preview", share);
  add(k_now - 15min, "page", "limit_reached", share);
  const auto with_page = store.share_summary(share);
  REQUIRE(with_page.last_resolve.has_value());
  CHECK(*with_page.last_resolve == k_now - 40min);
  CHECK(with_page.resolves_by_outcome ==
        std::map<std::string, std::int64_t>{{"ok", 4}, {"preview", 2}, {"revoked", 1}, {"limit_reached", 1}});

  add(k_now, "resolve", "expired", "mslink_cccccccccccc");
  const auto never_ok = store.share_summary("mslink_cccccccccccc");
  CHECK_FALSE(never_ok.last_resolve.has_value());
  CHECK(never_ok.resolves_by_outcome == std::map<std::string, std::int64_t>{{"expired", 1}});

  const auto unknown = store.share_summary("mslink_ffffffffffff");
  CHECK_FALSE(unknown.last_resolve.has_value());
  CHECK(unknown.resolves_by_outcome.empty());
}

// ---------------------------------------------------------------------------
// Retention

TEST_CASE("AuditLog: prune deletes old records and ages middle-aged addresses", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();
  const auto add = [&](const std::string& id, TimePoint ts, const std::string& ip) {
    AuditRecord record = resolve_record(id, ts);
    record.client_ip = ip;
    if (ip.empty()) {
      record.event = "admin";
      record.status.reset();
    }
    store.append(record);
  };
  add("deleted", k_now - 24h * 91, "203.0.113.7");
  add("at_cutoff", k_now - 24h * 90, "203.0.113.8");  // not older than 90 days: kept, but aged
  add("aged_v4", k_now - 24h * 31, "203.0.113.9");
  add("aged_v6", k_now - 24h * 31, "2001:db8:1:2::5");
  add("aged_admin", k_now - 24h * 31, "");
  add("fresh", k_now - 24h * 29, "198.51.100.9");
  add("just_fresh", k_now - 24h * 30, "198.51.100.10");  // not older than 30 days

  const auto report = store.prune(k_now, 90, 30);
  CHECK(report.deleted == 1);
  CHECK(report.ips_truncated == 3);

  std::map<std::string, std::string> ip_by_id;
  for (const auto& record : all_records(db)) ip_by_id[record.request_id] = record.client_ip;
  CHECK(ip_by_id == std::map<std::string, std::string>{{"at_cutoff", "203.0.113.0"},
                                                       {"aged_v4", "203.0.113.0"},
                                                       {"aged_v6", "2001:db8:1::"},
                                                       {"aged_admin", ""},
                                                       {"fresh", "198.51.100.9"},
                                                       {"just_fresh", "198.51.100.10"}});

  // Already aged records are not aged (or counted) again.
  const auto again = store.prune(k_now, 90, 30);
  CHECK(again.deleted == 0);
  CHECK(again.ips_truncated == 0);

  // A day later the next records age.
  const auto next_day = store.prune(k_now + 24h, 90, 30);
  CHECK(next_day.deleted == 1);
  CHECK(next_day.ips_truncated == 1);
}

TEST_CASE("AuditLog: prune_before uses the given cutoffs", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();
  store.append(resolve_record("old", k_now - 10h));
  store.append(resolve_record("middle", k_now - 5h));
  store.append(resolve_record("new", k_now - 1h));

  const auto report = store.prune_before(k_now - 8h, k_now - 4h);
  CHECK(report.deleted == 1);
  CHECK(report.ips_truncated == 1);
  const auto records = all_records(db);
  REQUIRE(request_ids(records) == std::vector<std::string>{"new", "middle"});
  CHECK(records[0].client_ip == "203.0.113.7");
  CHECK(records[1].client_ip == "203.0.113.0");
}

TEST_CASE("AuditLog: prune rejects retention below one day", "[audit_log]") {
  AuditDbFixture db;
  AuditStore store = db.store();
  CHECK_THROWS_AS(store.prune(k_now, 0, 30), Error);
  CHECK_THROWS_AS(store.prune(k_now, 90, 0), Error);
  AuditWriter writer(db.writer_storage());
  CHECK_THROWS_AS(writer.set_retention(0, 30), Error);
  CHECK_THROWS_AS(writer.set_retention(90, -1), Error);
  CHECK_THROWS_AS(writer.set_retention(90, 30, Clock{}), Error);
}

TEST_CASE("AuditLog: a large prune runs in several transactions and finishes", "[audit_log]") {
  AuditDbFixture db;
  {
    AuditWriter writer(db.writer_storage());
    for (int i = 0; i < 4500; ++i) writer.append(resolve_record("gone", k_now - 24h * 100));
    for (int i = 0; i < 2500; ++i) writer.append(resolve_record("aged", k_now - 24h * 40));
    for (int i = 0; i < 10; ++i) writer.append(resolve_record("fresh", k_now));
  }
  AuditStore store = db.store();
  const auto report = store.prune(k_now, 90, 30);
  CHECK(report.deleted == 4500);
  CHECK(report.ips_truncated == 2500);
  const auto remaining = all_records(db);
  REQUIRE(remaining.size() == 2510);
  CHECK(std::count_if(remaining.begin(), remaining.end(),
                      [](const AuditRecord& r) { return r.client_ip == "203.0.113.0"; }) == 2500);
}

TEST_CASE("AuditLog: the writer prunes on its own thread, at once and then every interval", "[audit_log]") {
  AuditDbFixture db;
  {
    AuditStore store = db.store();
    store.append(resolve_record("deleted", k_now - 24h * 91));
    store.append(resolve_record("aged", k_now - 24h * 31));
    store.append(resolve_record("fresh", k_now - 24h * 29));
  }
  ManualClock clock(k_now);
  AuditWriter writer(db.writer_storage());
  writer.set_retention(90, 30, clock.clock());
  writer.append(resolve_record("new", k_now));
  writer.flush();

  const auto ips = [&] {
    std::map<std::string, std::string> ip_by_id;
    for (const auto& record : all_records(db)) ip_by_id[record.request_id] = record.client_ip;
    return ip_by_id;
  };
  CHECK(ips() == std::map<std::string, std::string>{
                     {"aged", "203.0.113.0"}, {"fresh", "203.0.113.7"}, {"new", "203.0.113.7"}});

  // A record that is old enough to age, added behind the writer's back.
  db.store().append(resolve_record("late", k_now - 24h * 31));
  clock.advance(59min);
  writer.append(resolve_record("new2", k_now));
  writer.flush();
  CHECK(ips().at("late") == "203.0.113.7");  // less than an interval since the last run

  clock.advance(1min);
  writer.append(resolve_record("new3", k_now));
  writer.flush();
  CHECK(ips().at("late") == "203.0.113.0");
  CHECK(ips().at("fresh") == "203.0.113.7");
  CHECK(writer.write_errors() == 0);
}

TEST_CASE("AuditLog: a failed retention run is retried a minute later", "[audit_log]") {
  AuditDbFixture db;
  db.store().append(resolve_record("deleted", k_now - 24h * 91));
  ManualClock clock(k_now);
  AuditWriterOptions options;
  AuditWriter writer(db.impatient_writer_storage(), options);
  {
    WriteLockHolder lock(db.file);
    writer.set_retention(90, 30, clock.clock());
    wait_until([&] { return writer.write_errors() >= 1; });
  }
  writer.append(resolve_record("new", k_now));
  writer.flush();
  CHECK(request_ids(all_records(db)) == std::vector<std::string>{"new", "deleted"});

  clock.advance(1min);
  writer.append(resolve_record("new2", k_now));
  writer.flush();
  CHECK(request_ids(all_records(db)) == std::vector<std::string>{"new2", "new"});
}

// ---------------------------------------------------------------------------
// AuditWriter

TEST_CASE("AuditLog: the writer writes every record from many threads", "[audit_log]") {
  AuditDbFixture db;
  constexpr int k_threads = 4;
  constexpr int k_per_thread = 2500;
  AuditWriter writer(db.writer_storage());
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&writer, t] {
      for (int i = 0; i < k_per_thread; ++i) {
        writer.append(resolve_record("req_" + std::to_string(t) + "_" + std::to_string(i)));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  writer.flush();

  CHECK(writer.records_written() == k_threads * k_per_thread);
  CHECK(writer.queue_depth() == 0);
  CHECK(writer.write_errors() == 0);
  CHECK(writer.records_lost() == 0);

  const auto records = all_records(db);
  REQUIRE(records.size() == k_threads * k_per_thread);
  std::set<std::string> seen;
  std::set<std::int64_t> ids;
  for (const auto& record : records) {
    seen.insert(record.request_id);
    ids.insert(record.id);
  }
  CHECK(ids.size() == records.size());
  for (int t = 0; t < k_threads; ++t) {
    for (int i = 0; i < k_per_thread; ++i) {
      if (seen.count("req_" + std::to_string(t) + "_" + std::to_string(i)) == 0) {
        FAIL("missing record " << t << "_" << i);
      }
    }
  }
  // Each thread's records keep their order.
  std::vector<int> last_seen(k_threads, k_per_thread);
  for (const auto& record : records) {  // newest first
    const auto first = record.request_id.find('_');
    const auto second = record.request_id.find('_', first + 1);
    const int t = std::stoi(record.request_id.substr(first + 1, second - first - 1));
    const int i = std::stoi(record.request_id.substr(second + 1));
    REQUIRE(i < last_seen[t]);
    last_seen[t] = i;
  }
}

TEST_CASE("AuditLog: a tiny queue applies backpressure and loses nothing", "[audit_log]") {
  AuditDbFixture db;
  AuditWriterOptions options;
  options.queue_capacity = 2;
  options.batch_limit = 2;
  AuditWriter writer(db.writer_storage(), options);
  std::atomic<std::size_t> deepest{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        writer.append(resolve_record("req_" + std::to_string(t) + "_" + std::to_string(i)));
        std::size_t depth = writer.queue_depth();
        std::size_t seen = deepest.load();
        while (depth > seen && !deepest.compare_exchange_weak(seen, depth)) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  writer.flush();
  CHECK(deepest.load() <= 2);
  CHECK(writer.records_written() == 900);
  CHECK(writer.records_lost() == 0);
  const auto ids = request_ids(all_records(db));
  CHECK(ids.size() == 900);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 900);
}

TEST_CASE("AuditLog: a backlog of many batches is written whole and in order and writing goes on after it", "[audit_log]") {
  // The writer is held back while 40 records queue behind a batch limit of 4:
  // the queue's buffer grows past a batch, is drained, and is given back
  // (with malloc_trim); nothing of that may lose or reorder a record.
  AuditDbFixture db;
  AuditWriterOptions options;
  options.queue_capacity = 64;
  options.batch_limit = 4;
  AuditWriter writer(db.impatient_writer_storage(), options);
  std::vector<std::string> expected;
  {
    WriteLockHolder lock(db.file);
    for (int i = 0; i < 40; ++i) {
      expected.push_back("backlog_" + std::to_string(i));
      writer.append(resolve_record(expected.back()));
    }
    wait_until([&] { return writer.write_errors() >= 1; });
    CHECK(writer.queue_depth() >= 36);
  }
  writer.flush();
  for (int i = 0; i < 10; ++i) {
    expected.push_back("after_" + std::to_string(i));
    writer.append(resolve_record(expected.back()));
  }
  writer.flush();
  CHECK(writer.records_written() == 50);
  CHECK(writer.records_lost() == 0);
  // all_records lists the newest first.
  CHECK(request_ids(all_records(db)) == std::vector<std::string>(expected.rbegin(), expected.rend()));
}

TEST_CASE("AuditLog: append blocks while the queue is full", "[audit_log]") {
  AuditDbFixture db;
  AuditWriterOptions options;
  options.queue_capacity = 2;
  AuditWriter writer(db.impatient_writer_storage(), options);
  WriteLockHolder lock(db.file);

  writer.append(resolve_record("r1"));
  // The writer holds r1 and retries it; it takes nothing more meanwhile.
  wait_until([&] { return writer.write_errors() >= 1; });
  writer.append(resolve_record("r2"));
  writer.append(resolve_record("r3"));
  CHECK(writer.queue_depth() == 2);

  std::atomic<bool> returned{false};
  std::thread blocked([&] {
    writer.append(resolve_record("r4"));
    returned = true;
  });
  // Give the thread time to reach append(); it must still be waiting. (This
  // pause can only make the check weaker, never make it fail wrongly.)
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(returned.load());
  CHECK(writer.queue_depth() == 2);

  lock.release();
  blocked.join();
  CHECK(returned.load());
  writer.flush();
  CHECK(request_ids(all_records(db)) == std::vector<std::string>{"r4", "r3", "r2", "r1"});
}

TEST_CASE("AuditLog: flush waits for every record appended before it", "[audit_log]") {
  AuditDbFixture db;
  AuditWriter writer(db.writer_storage());
  writer.flush();  // nothing queued: returns at once
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < 1000; ++i) writer.append(resolve_record("req"));
    writer.flush();
    CHECK(writer.records_written() == static_cast<std::uint64_t>(1000 * round));
    CHECK(all_records(db).size() == static_cast<std::size_t>(1000 * round));
  }
}

TEST_CASE("AuditLog: stop and the destructor write everything queued", "[audit_log]") {
  AuditDbFixture db;
  SECTION("stop") {
    AuditWriter writer(db.writer_storage());
    for (int i = 0; i < 5000; ++i) writer.append(resolve_record("req_" + std::to_string(i)));
    writer.stop();
    CHECK(writer.records_written() == 5000);
    CHECK(writer.queue_depth() == 0);
    CHECK(all_records(db).size() == 5000);
    writer.stop();  // idempotent
    writer.flush();  // returns after stop

    // Nothing can be written after stop(): counted, never silent.
    writer.append(resolve_record("too_late"));
    CHECK(writer.records_lost() == 1);
    CHECK(all_records(db).size() == 5000);
  }
  SECTION("destructor") {
    {
      AuditWriter writer(db.writer_storage());
      for (int i = 0; i < 5000; ++i) writer.append(resolve_record("req_" + std::to_string(i)));
    }
    CHECK(all_records(db).size() == 5000);
  }
}

TEST_CASE("AuditLog: a failed batch is retried, counted and not lost", "[audit_log]") {
  AuditDbFixture db;
  AuditWriterOptions options;
  AuditWriter writer(db.impatient_writer_storage(), options);
  {
    WriteLockHolder lock(db.file);
    writer.append(resolve_record("r1"));
    writer.append(resolve_record("r2"));
    wait_until([&] { return writer.write_errors() >= 2; });
    CHECK(writer.records_written() == 0);
  }
  writer.flush();
  CHECK(writer.records_written() == 2);
  CHECK(writer.records_lost() == 0);
  CHECK(request_ids(all_records(db)) == std::vector<std::string>{"r2", "r1"});
}

TEST_CASE("AuditLog: stop gives up on a database that keeps refusing writes", "[audit_log]") {
  AuditDbFixture db;
  AuditWriterOptions options;
  options.stop_deadline = 0ms;
  AuditWriter writer(db.impatient_writer_storage(), options);
  WriteLockHolder lock(db.file);
  for (int i = 0; i < 3; ++i) writer.append(resolve_record("req"));
  writer.stop();
  CHECK(writer.records_written() == 0);
  CHECK(writer.records_lost() == 3);
  CHECK(writer.write_errors() >= 1);
  writer.flush();  // does not wait for records that were given up
  lock.release();
  CHECK(all_records(db).empty());
}

}  // namespace sharelink

// ---------------------------------------------------------------------------
// Over the in-memory store: the writer's and the store's logic is above the seam.

namespace sharelink {

TEST_CASE("AuditLog: over any store, a refused batch is kept and written once the store accepts it",
          "[audit_log]") {
  testing::MemoryBackend memory;
  memory.data.refuse_writes = true;
  AuditWriter writer(memory.open_audit(AuditUse::writer));
  for (const char* id : {"r1", "r2", "r3"}) writer.append(resolve_record(id));
  wait_until([&] { return writer.write_errors() >= 1; });
  CHECK(writer.records_written() == 0);
  memory.data.refuse_writes = false;
  writer.flush();
  CHECK(writer.records_written() == 3);
  AuditStore store(memory.open_audit(AuditUse::queries));
  AuditFilter all;
  all.limit = 0;
  CHECK(request_ids(store.query(all)) == std::vector<std::string>{"r3", "r2", "r1"});
}

TEST_CASE("AuditLog: over any store, prune runs retention steps until none is left", "[audit_log]") {
  testing::MemoryBackend memory;
  AuditStore store(memory.open_audit(AuditUse::queries));
  for (int i = 0; i < 5; ++i) store.append(resolve_record("old" + std::to_string(i), k_now - 24h * 91));
  for (int i = 0; i < 3; ++i) store.append(resolve_record("middle" + std::to_string(i), k_now - 24h * 31));
  store.append(resolve_record("fresh", k_now));
  const PruneReport report = store.prune(k_now, 90, 30);
  CHECK(report.deleted == 5);
  CHECK(report.ips_truncated == 3);
  CHECK(store.prune(k_now, 90, 30).ips_truncated == 0);  // aged once, never counted again
  AuditFilter all;
  all.limit = 0;
  const auto records = store.query(all);
  REQUIRE(records.size() == 4);
  CHECK(records[0].client_ip == "203.0.113.7");
  CHECK(records[1].client_ip == "203.0.113.0");
}

}  // namespace sharelink
