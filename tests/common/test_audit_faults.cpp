// Unit tests of the audit log under faults: bounded waits, refusals, readiness, log rate limits, group commit,
// the shutdown spill and its exactly-once import.
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/audit_spill.hpp"
#include "common/audit_store.hpp"
#include "common/audit_writer.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "common/log_throttle.hpp"
#include "tests/common/memory_store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/test_support.hpp"

namespace sharelink {
namespace {

using namespace std::chrono_literals;
using sharelink::testing::TempDir;
using sharelink::testing::wait_until;
using Steady = std::chrono::steady_clock;

const TimePoint k_now = from_unix_millis(1785234600000);

AuditRecord request_record(std::string request_id) {
  AuditRecord record;
  record.ts = k_now;
  record.event = "resolve";
  record.outcome = "ok";
  record.status = 200;
  record.client_ip = "203.0.113.7";
  record.token_fp = "0123456789ab";
  record.request_id = std::move(request_id);
  return record;
}

// What a fake audit database holds and how it behaves; shared by the test
// and the writer's connection.
struct FakeAuditDb {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<AuditRecord> rows;             // guarded by mutex
  std::vector<std::size_t> batch_sizes;      // guarded by mutex
  std::string failure;                       // guarded by mutex: non-empty = every write fails with it
  bool hold = false;                         // guarded by mutex: inserts wait while true...
  int permits = 0;                           // guarded by mutex: ...unless one of these is left (each lets one through)
  int inserting = 0;                         // guarded by mutex: inserts waiting on hold

  void fail_with(std::string reason) {
    std::lock_guard lock(mutex);
    failure = std::move(reason);
  }
  void set_hold(bool value) {
    {
      std::lock_guard lock(mutex);
      hold = value;
    }
    changed.notify_all();
  }
  std::vector<std::string> ids() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& row : rows) out.push_back(row.request_id);
    return out;
  }
};

class FakeAuditStorage final : public AuditStorage {
 public:
  explicit FakeAuditStorage(FakeAuditDb& db) : db_(db) {}
  void insert_batch(std::span<const AuditRecord> records) override {
    std::unique_lock lock(db_.mutex);
    ++db_.inserting;
    db_.changed.notify_all();
    db_.changed.wait(lock, [&] { return !db_.hold || db_.permits > 0; });
    if (db_.hold) --db_.permits;
    --db_.inserting;
    if (!db_.failure.empty()) throw DatabaseUnavailable(db_.failure);
    db_.rows.insert(db_.rows.end(), records.begin(), records.end());
    db_.batch_sizes.push_back(records.size());
    db_.changed.notify_all();
  }
  bool prune_step(const PruneCutoffs&, PruneReport&) override { return true; }
  std::vector<AuditRecord> query(const AuditFilter&) override { return {}; }
  AuditStats stats(std::optional<TimePoint>, std::size_t) override { return {}; }
  ShareAuditSummary share_summary(const std::string&) override { return {}; }

 private:
  FakeAuditDb& db_;
};

// Log lines captured from the writer.
struct CapturedLog {
  struct Line {
    LogLevel level;
    std::string message;
    std::map<std::string, std::string> fields;
  };
  std::mutex mutex;
  std::vector<Line> lines;

  AuditLogSink sink() {
    return [this](LogLevel level, std::string_view message, std::span<const LogField> fields) {
      Line line{level, std::string(message), {}};
      for (const auto& [key, value] : fields) line.fields[std::string(key)] = std::string(value);
      std::lock_guard lock(mutex);
      lines.push_back(std::move(line));
    };
  }
  std::vector<Line> matching(std::string_view needle) {
    std::lock_guard lock(mutex);
    std::vector<Line> out;
    for (const auto& line : lines) {
      if (line.message.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
  }
};

// A steady clock the test moves by hand (the log's rate limits).
struct ManualSteady {
  std::atomic<std::int64_t> offset_ms{0};
  std::function<Steady::time_point()> clock() {
    return [this] { return Steady::time_point() + std::chrono::milliseconds(offset_ms.load()); };
  }
};

struct FaultFixture {
  FakeAuditDb db;
  CapturedLog log;
  ManualSteady steady;
  AuditWriterOptions options() {
    AuditWriterOptions o;
    o.log = log.sink();
    o.steady_now = steady.clock();
    return o;
  }
  std::unique_ptr<AuditStorage> storage() { return std::make_unique<FakeAuditStorage>(db); }
  // A writer with a queue of one place whose batches the database holds
  // (until db.set_hold(false)): once that place is reserved, the queue is full.
  std::unique_ptr<AuditWriter> writer_of_one_held() {
    AuditWriterOptions o = options();
    o.queue_capacity = 1;
    db.set_hold(true);
    return std::make_unique<AuditWriter>(storage(), o);
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// LogThrottle

TEST_CASE("LogThrottle: the first of each key at once, then one per interval with the count held back",
          "[audit_faults]") {
  LogThrottle throttle(10000ms, 2);
  const Steady::time_point t0;
  CHECK(throttle.admit("disk full", t0) == std::optional<std::uint64_t>(0));
  CHECK_FALSE(throttle.admit("disk full", t0 + 1s));
  CHECK_FALSE(throttle.admit("disk full", t0 + 9s));
  CHECK(throttle.admit("read-only", t0 + 9s) == std::optional<std::uint64_t>(0));  // a new reason: at once
  CHECK(throttle.admit("disk full", t0 + 10s) == std::optional<std::uint64_t>(2));
  CHECK_FALSE(throttle.admit("disk full", t0 + 11s));
  // Beyond max_keys, new keys share one slot: bounded memory and lines.
  CHECK(throttle.admit("reason 3", t0 + 12s) == std::optional<std::uint64_t>(0));
  CHECK_FALSE(throttle.admit("reason 4", t0 + 13s));
  CHECK_FALSE(throttle.admit("reason 5", t0 + 14s));
  throttle.reset();
  CHECK(throttle.admit("disk full", t0 + 15s) == std::optional<std::uint64_t>(0));
}

// ---------------------------------------------------------------------------
// Bounded waits and refusals

TEST_CASE("AuditWriter: reserve refuses once its deadline passes with the queue full, and counts it",
          "[audit_faults]") {
  FaultFixture f;
  f.db.fail_with("disk I/O error: database or disk is full");
  AuditWriterOptions options = f.options();
  options.queue_capacity = 2;
  options.batch_limit = 1;
  options.stop_deadline = 0ms;
  AuditWriter writer(f.storage(), options);

  writer.append(request_record("r1"));
  wait_until([&] { return writer.write_errors() >= 1; });  // r1 is in the writer's hands, retried
  writer.append(request_record("r2"));
  writer.append(request_record("r3"));
  CHECK(writer.queue_depth() == 2);

  // A deadline already past: no wait at all.
  AuditReservation late = writer.reserve(Steady::now());
  CHECK_FALSE(late);
  CHECK(writer.requests_refused() == 1);
  // A short deadline: the wait ends with a refusal, not a hang.
  CHECK_FALSE(writer.reserve(Steady::now() + 20ms));
  CHECK(writer.requests_refused() == 2);

  // A place given back while a request waits is taken by it.
  {
    f.db.fail_with("");
    AuditReservation got = writer.reserve(Steady::now() + 60s);
    CHECK(got);
    got.commit(request_record("r4"));
  }
  writer.flush();
  CHECK(f.db.ids() == std::vector<std::string>{"r1", "r2", "r3", "r4"});
  CHECK(writer.requests_refused() == 2);
}

TEST_CASE("AuditWriter: a reservation dropped without a record gives its place back", "[audit_faults]") {
  FaultFixture f;
  const auto writer = f.writer_of_one_held();
  {
    AuditReservation first = writer->reserve(Steady::now());
    REQUIRE(first);
    CHECK_FALSE(writer->reserve(Steady::now()));  // the one place is taken
  }
  CHECK(writer->reserve(Steady::now()));  // given back
  f.db.set_hold(false);
}

TEST_CASE("AuditWriter: a bad record in a reservation is refused and the place stays usable", "[audit_faults]") {
  FaultFixture f;
  AuditWriter writer(f.storage(), f.options());
  AuditReservation place = writer.reserve(Steady::now());
  REQUIRE(place);
  AuditRecord bad = request_record("bad");
  bad.outcome.clear();
  CHECK_THROWS_AS(place.commit(bad), Error);
  CHECK(place);
  place.commit(request_record("good"));
  CHECK_FALSE(place);
  CHECK_THROWS_AS(place.commit(request_record("twice")), Error);
  writer.flush();
  CHECK(f.db.ids() == std::vector<std::string>{"good"});
}

// ---------------------------------------------------------------------------
// Readiness and the log

TEST_CASE("AuditWriter: failing() is true from a failed batch until the next committed one", "[audit_faults]") {
  FaultFixture f;
  AuditWriter writer(f.storage(), f.options());
  CHECK_FALSE(writer.failing());
  f.db.fail_with("attempt to write a readonly database");
  writer.append(request_record("r1"));
  wait_until([&] { return writer.failing(); });
  CHECK(writer.records_written() == 0);
  f.db.fail_with("");
  writer.flush();
  CHECK_FALSE(writer.failing());
  CHECK(writer.records_written() == 1);
}

TEST_CASE("AuditWriter: one log line per distinct failure, rate-limited, and one when writes succeed again",
          "[audit_faults]") {
  FaultFixture f;
  f.db.fail_with("database or disk is full");
  AuditWriter writer(f.storage(), f.options());
  writer.append(request_record("r1"));
  wait_until([&] { return writer.write_errors() >= 3; });
  auto failures = f.log.matching("refuses writes");
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].level == LogLevel::error);
  CHECK(failures[0].fields["error"] == "database or disk is full");

  // Another reason is logged at once.
  f.db.fail_with("attempt to write a readonly database");
  const auto errors = writer.write_errors();
  wait_until([&] { return writer.write_errors() >= errors + 2; });
  failures = f.log.matching("refuses writes");
  REQUIRE(failures.size() == 2);
  CHECK(failures[1].fields["error"] == "attempt to write a readonly database");

  // The same reason again after a minute: one more line, with the count held back.
  f.steady.offset_ms += 60000;
  const auto later = writer.write_errors();
  wait_until([&] { return writer.write_errors() >= later + 1; });
  failures = f.log.matching("refuses writes");
  REQUIRE(failures.size() == 3);
  CHECK(std::stoi(failures[2].fields["held_back"]) >= 1);

  CHECK(f.log.matching("accepts writes again").empty());
  f.db.fail_with("");
  writer.flush();
  auto recovered = f.log.matching("accepts writes again");
  REQUIRE(recovered.size() == 1);
  CHECK(recovered[0].level == LogLevel::info);
  CHECK(std::stoi(recovered[0].fields["failed_attempts"]) >= 4);
}

TEST_CASE("AuditWriter: refused requests are logged at most once per interval, with the count",
          "[audit_faults]") {
  FaultFixture f;
  const auto writer = f.writer_of_one_held();
  AuditReservation held = writer->reserve(Steady::now());
  REQUIRE(held);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(writer->reserve(Steady::now()));
  CHECK(writer->requests_refused() == 5);
  auto lines = f.log.matching("request refused");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].fields["requests_refused_total"] == "1");
  f.steady.offset_ms += 10000;
  CHECK_FALSE(writer->reserve(Steady::now()));
  lines = f.log.matching("request refused");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].fields["held_back"] == "4");
  CHECK(lines[1].fields["requests_refused_total"] == "6");
  f.db.set_hold(false);
}

// ---------------------------------------------------------------------------
// Group commit

TEST_CASE("AuditWriter: wait_committed releases exactly the requests whose batch is committed",
          "[audit_faults]") {
  FaultFixture f;
  f.db.set_hold(true);
  AuditWriter writer(f.storage(), f.options());
  auto commit = [&](const char* id) {
    AuditReservation place = writer.reserve(Steady::now() + 60s);
    REQUIRE(place);
    return place.commit(request_record(id));
  };
  const auto t1 = commit("r1");
  // The writer holds r1 in its first batch, waiting on the database.
  wait_until([&] {
    std::lock_guard lock(f.db.mutex);
    return f.db.inserting == 1;
  });
  const auto t2 = commit("r2");
  const auto t3 = commit("r3");
  CHECK_FALSE(writer.wait_committed(t1, Steady::now()));  // not committed yet: a deadline, no hang
  CHECK(writer.commit_timeouts() == 1);

  std::atomic<bool> r1_released{false};
  std::thread waiter([&] { r1_released = writer.wait_committed(t1, Steady::now() + 60s); });
  // Let the first batch commit, and hold the second (r2, r3).
  {
    std::unique_lock lock(f.db.mutex);
    f.db.permits = 1;
    f.db.changed.notify_all();
    f.db.changed.wait(lock, [&] { return f.db.batch_sizes.size() == 1; });
  }
  waiter.join();
  CHECK(r1_released.load());
  CHECK(writer.wait_committed(t1, Steady::now()));
  wait_until([&] {
    std::lock_guard lock(f.db.mutex);
    return f.db.inserting == 1;
  });
  CHECK_FALSE(writer.wait_committed(t2, Steady::now() + 10ms));
  CHECK_FALSE(writer.wait_committed(t3, Steady::now()));
  f.db.set_hold(false);
  CHECK(writer.wait_committed(t3, Steady::now() + 60s));
  CHECK(writer.wait_committed(t2, Steady::now()));
  std::lock_guard lock(f.db.mutex);
  CHECK(f.db.batch_sizes == std::vector<std::size_t>{1, 2});  // r2 and r3 committed together
  CHECK(writer.commit_timeouts() == 3);
}

TEST_CASE("AuditWriter: a record whose commit timed out is still written", "[audit_faults]") {
  FaultFixture f;
  f.db.fail_with("database is locked");
  AuditWriter writer(f.storage(), f.options());
  AuditReservation place = writer.reserve(Steady::now());
  const auto ticket = place.commit(request_record("slow"));
  CHECK_FALSE(writer.wait_committed(ticket, Steady::now() + 20ms));
  f.db.fail_with("");
  CHECK(writer.wait_committed(ticket, Steady::now() + 60s));
  CHECK(f.db.ids() == std::vector<std::string>{"slow"});
}

TEST_CASE("AuditWriter: waiting requests are committed at once, not gathered", "[audit_faults]") {
  FaultFixture f;
  AuditWriter writer(f.storage(), f.options());
  // Many rounds of one waiting request each: each commits without the
  // batching interval's delay (the test would take rounds * 50 ms otherwise,
  // but it asserts only the outcome: every wait succeeds).
  for (int i = 0; i < 20; ++i) {
    AuditReservation place = writer.reserve(Steady::now() + 60s);
    const auto ticket = place.commit(request_record("r" + std::to_string(i)));
    CHECK(writer.wait_committed(ticket, Steady::now() + 60s));
  }
  CHECK(writer.records_written() == 20);
}

// ---------------------------------------------------------------------------
// Shutdown: the grace deadline and the spill

TEST_CASE("AuditWriter: stop_by hands the records left to the spill, in order, once", "[audit_faults]") {
  FaultFixture f;
  f.db.fail_with("database or disk is full");
  std::vector<std::string> spilled;
  int spills = 0;
  AuditWriterOptions options = f.options();
  options.batch_limit = 2;
  options.spill = [&](std::span<const AuditRecord> records) {
    ++spills;
    for (const auto& record : records) spilled.push_back(record.request_id);
  };
  AuditWriter writer(f.storage(), options);
  for (const char* id : {"r1", "r2", "r3", "r4", "r5"}) writer.append(request_record(id));
  wait_until([&] { return writer.write_errors() >= 1; });
  writer.stop_by(Steady::now());
  CHECK(spills == 1);
  CHECK(spilled == std::vector<std::string>{"r1", "r2", "r3", "r4", "r5"});
  CHECK(writer.records_spilled() == 5);
  CHECK(writer.records_lost() == 0);
  CHECK(f.log.matching("records spilled").size() == 1);
  // Nothing can be queued afterwards: refused, or lost and counted.
  CHECK_FALSE(writer.reserve(Steady::now() + 1s));
  writer.append(request_record("late"));
  CHECK(writer.records_lost() == 1);
}

TEST_CASE("AuditWriter: a failing spill counts the records lost and says why", "[audit_faults]") {
  FaultFixture f;
  f.db.fail_with("database or disk is full");
  AuditWriterOptions options = f.options();
  options.spill = [](std::span<const AuditRecord>) { throw Error("cannot create /x/spill.tmp: No space left"); };
  AuditWriter writer(f.storage(), options);
  writer.append(request_record("r1"));
  writer.append(request_record("r2"));
  writer.stop_by(Steady::now());
  CHECK(writer.records_lost() == 2);
  CHECK(writer.records_spilled() == 0);
  auto lines = f.log.matching("records lost");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].fields["records"] == "2");
  CHECK(lines[0].fields["error"].find("No space left") != std::string::npos);
}

TEST_CASE("AuditWriter: a database that recovers within the grace period gets every record", "[audit_faults]") {
  FaultFixture f;
  f.db.fail_with("database is locked");
  bool spilled = false;
  AuditWriterOptions options = f.options();
  options.spill = [&](std::span<const AuditRecord>) { spilled = true; };
  AuditWriter writer(f.storage(), options);
  writer.append(request_record("r1"));
  wait_until([&] { return writer.write_errors() >= 1; });
  std::thread stopper([&] { writer.stop_by(Steady::now() + 60s); });
  wait_until([&] { return writer.write_errors() >= 2; });
  f.db.fail_with("");
  stopper.join();
  CHECK_FALSE(spilled);
  CHECK(f.db.ids() == std::vector<std::string>{"r1"});
}

// ---------------------------------------------------------------------------
// The spill file

namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<AuditRecord> all_of(testing::MemoryBackend& memory) {
  AuditStore store(memory.open_audit(AuditUse::queries));
  AuditFilter all;
  all.limit = 0;
  auto records = store.query(all);
  std::reverse(records.begin(), records.end());  // oldest first
  return records;
}

std::vector<std::string> request_ids_of(const std::vector<AuditRecord>& records, const char* event) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    if (r.event == event) out.push_back(r.request_id);
  }
  return out;
}

// An audit connection over the memory store whose insert number fail_at (1-based) fails, as a crash would stop the import there.
class CrashingAuditStorage final : public AuditStorage {
 public:
  CrashingAuditStorage(std::unique_ptr<AuditStorage> inner, int fail_at) : inner_(std::move(inner)), fail_at_(fail_at) {}
  void insert_batch(std::span<const AuditRecord> records) override {
    if (++inserts_ == fail_at_) throw DatabaseUnavailable("simulated crash");
    inner_->insert_batch(records);
  }
  bool prune_step(const PruneCutoffs& c, PruneReport& r) override { return inner_->prune_step(c, r); }
  std::vector<AuditRecord> query(const AuditFilter& f) override { return inner_->query(f); }
  AuditStats stats(std::optional<TimePoint> s, std::size_t n) override { return inner_->stats(s, n); }
  ShareAuditSummary share_summary(const std::string& id) override { return inner_->share_summary(id); }

 private:
  std::unique_ptr<AuditStorage> inner_;
  int fail_at_;
  int inserts_ = 0;
};

}  // namespace

TEST_CASE("AuditSpill: the file sits beside the audit database", "[audit_faults]") {
  DatabaseConfig database;
  database.audit_path = "/var/lib/shared-linkd/shared-link-audit.db";
  CHECK(audit_spill_path(database) == "/var/lib/shared-linkd/shared-link-audit.db-spill.jsonl");
}

TEST_CASE("AuditSpill: one JSON line per record, mode 0600, no id, appended as segments", "[audit_faults]") {
  TempDir dir;
  const auto file = dir.path() / "audit.db-spill.jsonl";
  std::vector<AuditRecord> first = {request_record("r1"), request_record("r2")};
  first[1].user_agent = "curl/8";
  first[1].status.reset();
  const SpillWrite w1 = write_audit_spill(file, first, k_now);
  CHECK(w1.records == 2);
  CHECK(w1.segment.size() == 16);

  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto lines = lines_of(read_text(file));
  REQUIRE(lines.size() == 2);
  const auto line = nlohmann::json::parse(lines[1]);
  CHECK(line["segment"] == w1.segment);
  CHECK(line["spilled_at"] == "2026-07-28T10:30:00.000Z");
  CHECK(line["ts"] == "2026-07-28T10:30:00.000Z");
  CHECK(line["event"] == "resolve");
  CHECK(line["request_id"] == "r2");
  CHECK(line["token_fp"] == "0123456789ab");
  CHECK(line["user_agent"] == "curl/8");
  CHECK(line["status"].is_null());
  CHECK_FALSE(line.contains("id"));

  const SpillWrite w2 = write_audit_spill(file, std::vector<AuditRecord>{request_record("r3")}, k_now + 1s);
  CHECK(w2.segment != w1.segment);
  lines = lines_of(read_text(file));
  REQUIRE(lines.size() == 3);
  CHECK(nlohmann::json::parse(lines[0])["request_id"] == "r1");
  CHECK(nlohmann::json::parse(lines[2])["segment"] == w2.segment);
  // No temporary file is left beside it.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("AuditSpill: a spill that cannot be written throws and names the file", "[audit_faults]") {
  TempDir dir;
  const auto file = dir.path() / "missing-dir" / "audit.db-spill.jsonl";
  CHECK_THROWS_WITH(write_audit_spill(file, std::vector<AuditRecord>{request_record("r1")}, k_now),
                    Catch::Contains((dir.path() / "missing-dir").string()));
}

TEST_CASE("AuditSpill: import writes every record once with a marker, then removes the file", "[audit_faults]") {
  TempDir dir;
  const auto file = dir.path() / "audit.db-spill.jsonl";
  write_audit_spill(file, std::vector<AuditRecord>{request_record("r1"), request_record("r2")}, k_now);
  write_audit_spill(file, std::vector<AuditRecord>{request_record("r3")}, k_now + 1s);
  testing::MemoryBackend memory;
  AuditStore store(memory.open_audit(AuditUse::queries));

  const SpillImport imported = import_audit_spill(file, store, "alice", k_now + 2s);
  CHECK(imported.found);
  CHECK(imported.records_imported == 3);
  CHECK(imported.segments_imported == 2);
  CHECK(imported.bad_lines.empty());
  CHECK_FALSE(imported.rejected_file);
  CHECK_FALSE(std::filesystem::exists(file));

  const auto records = all_of(memory);
  CHECK(request_ids_of(records, "resolve") == std::vector<std::string>{"r1", "r2", "r3"});
  std::vector<AuditRecord> markers;
  for (const auto& r : records) {
    if (r.event == "admin") markers.push_back(r);
  }
  REQUIRE(markers.size() == 2);
  CHECK(markers[0].action == "audit.import-spill");
  CHECK(markers[0].actor == "alice");
  CHECK(markers[0].detail.starts_with("segment="));
  CHECK(markers[0].detail.find("records=2") != std::string::npos);

  // Nothing left: a second run finds no file.
  CHECK_FALSE(import_audit_spill(file, store, "alice", k_now + 3s).found);
  CHECK(all_of(memory).size() == 5);
}

TEST_CASE("AuditSpill: a crash after the commit, before the file is removed, imports nothing twice",
          "[audit_faults]") {
  TempDir dir;
  const auto file = dir.path() / "audit.db-spill.jsonl";
  write_audit_spill(file, std::vector<AuditRecord>{request_record("r1"), request_record("r2")}, k_now);
  const std::string before = read_text(file);
  testing::MemoryBackend memory;
  AuditStore store(memory.open_audit(AuditUse::queries));
  import_audit_spill(file, store, "shared-linkd", k_now + 1s);
  // The crash: the file is still there, as if unlink never ran.
  std::ofstream(file, std::ios::binary) << before;
  const SpillImport again = import_audit_spill(file, store, "sharectl-user", k_now + 2s);
  CHECK(again.records_imported == 0);
  CHECK(again.segments_already_imported == 1);
  CHECK(again.records_already_imported == 2);
  CHECK_FALSE(std::filesystem::exists(file));
  CHECK(request_ids_of(all_of(memory), "resolve") == std::vector<std::string>{"r1", "r2"});
}

TEST_CASE("AuditSpill: a crash between segments neither loses nor duplicates", "[audit_faults]") {
  TempDir dir;
  const auto file = dir.path() / "audit.db-spill.jsonl";
  write_audit_spill(file, std::vector<AuditRecord>{request_record("a1"), request_record("a2")}, k_now);
  write_audit_spill(file, std::vector<AuditRecord>{request_record("b1")}, k_now + 1s);
  testing::MemoryBackend memory;
  {
    AuditStore crashing(std::make_unique<CrashingAuditStorage>(memory.open_audit(AuditUse::queries), 2));
    CHECK_THROWS_WITH(import_audit_spill(file, crashing, "shared-linkd", k_now + 2s), "simulated crash");
  }
  CHECK(std::filesystem::exists(file));  // kept for the next run
  CHECK(request_ids_of(all_of(memory), "resolve") == std::vector<std::string>{"a1", "a2"});

  AuditStore store(memory.open_audit(AuditUse::queries));
  const SpillImport resumed = import_audit_spill(file, store, "shared-linkd", k_now + 3s);
  CHECK(resumed.segments_already_imported == 1);
  CHECK(resumed.segments_imported == 1);
  CHECK(resumed.records_imported == 1);
  CHECK(request_ids_of(all_of(memory), "resolve") == std::vector<std::string>{"a1", "a2", "b1"});
  CHECK(request_ids_of(all_of(memory), "admin").size() == 2);
}

TEST_CASE("AuditSpill: a crash inside a segment's transaction leaves none of it", "[audit_faults]") {
  TempDir dir;
  const auto file = dir.path() / "audit.db-spill.jsonl";
  write_audit_spill(file, std::vector<AuditRecord>{request_record("a1"), request_record("a2")}, k_now);
  testing::MemoryBackend memory;
  {
    AuditStore crashing(std::make_unique<CrashingAuditStorage>(memory.open_audit(AuditUse::queries), 1));
    CHECK_THROWS(import_audit_spill(file, crashing, "shared-linkd", k_now + 1s));
  }
  CHECK(all_of(memory).empty());
  AuditStore store(memory.open_audit(AuditUse::queries));
  CHECK(import_audit_spill(file, store, "shared-linkd", k_now + 2s).records_imported == 2);
}

TEST_CASE("AuditSpill: bad lines are reported FILE:LINE and kept aside, the good ones imported", "[audit_faults]") {
  TempDir dir;
  const auto file = dir.path() / "audit.db-spill.jsonl";
  write_audit_spill(file, std::vector<AuditRecord>{request_record("r1")}, k_now);
  const std::string good = lines_of(read_text(file))[0];
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    auto line = nlohmann::json::parse(good);
    if (value.is_discarded()) {
      line.erase(key);
    } else {
      line[key] = value;
    }
    return line.dump();
  };
  const std::vector<std::string> bad = {
      "{not json",
      with("event", nlohmann::json::value_t::discarded),
      with("colour", "blue"),
      with("ts", "yesterday"),
      with("status", 42),
      with("segment", "XYZ"),
      "[1,2]",
  };
  {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    for (const auto& line : bad) out << line << "\n";
    out << with("request_id", "r2") << "\n";
  }
  const std::string content = read_text(file);
  testing::MemoryBackend memory;
  AuditStore store(memory.open_audit(AuditUse::queries));
  const SpillImport imported = import_audit_spill(file, store, "shared-linkd", k_now + 1s);
  CHECK(imported.records_imported == 2);
  const std::vector<std::string> expected = {
      file.string() + ":2: not a JSON object",
      file.string() + ":3: \"event\" must be a non-empty string",
      file.string() + ":4: unknown key \"colour\"",
      file.string() + ":5: \"ts\" must be an RFC 3339 time",
      file.string() + ":6: \"status\" must be an HTTP status or null",
      file.string() + ":7: \"segment\" must be 16 lowercase hex digits",
      file.string() + ":8: not a JSON object",
  };
  CHECK(imported.bad_lines == expected);
  REQUIRE(imported.rejected_file);
  CHECK(lines_of(read_text(*imported.rejected_file)) == bad);
  struct stat st {};
  REQUIRE(::stat(imported.rejected_file->c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(request_ids_of(all_of(memory), "resolve") == std::vector<std::string>{"r1", "r2"});

  // A rerun after a crash (the spill still there) rewrites the same rejected file, imports nothing twice.
  std::ofstream(file, std::ios::binary) << content;
  const SpillImport again = import_audit_spill(file, store, "shared-linkd", k_now + 2s);
  CHECK(again.records_imported == 0);
  CHECK(again.rejected_file == imported.rejected_file);
  CHECK(lines_of(read_text(*again.rejected_file)) == bad);
  CHECK(request_ids_of(all_of(memory), "resolve") == std::vector<std::string>{"r1", "r2"});
}

}  // namespace sharelink
