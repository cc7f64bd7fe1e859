// Test support: one installation per backend behind the same fixture API, so a domain test runs on each of
// them.
//
// A test written against these fixtures (TEMPLATE_TEST_CASE(..., MemoryFixture,
// SqliteFixture, PostgresFixture)) checks the domain core over the in-memory store and the
// same behaviour end to end over a real backend. Every fixture seeds the
// default licence registry and offers:
//   storage()                 the StorageBackend under test
//   admin()                   an AdminStore of its own, as sharectl's in another process
//   add_track(track)          add_collection(record, track_ids)
//   share(request, at)        a new link (CreatedShare: its token and record)
//   revoke / expire / set_track_removed / set_collection_removed /
//   set_collection_tracks     changes sharectl makes
//   set_view_count(id, n)     as if n views had been counted
//   find(id)                  the link as stored now
//   block_writes()            until the returned guard ends, the database
//                             refuses writes (SQLite: another connection holds
//                             its write lock past a short lock_wait;
//                             PostgreSQL: another session holds EXCLUSIVE
//                             locks on every table past a short lock_timeout)
//
// PostgresFixture needs the test cluster: CTest runs the template instances
// named "... - PostgresFixture" with the [postgres] test cases (see
// tests/CMakeLists.txt); without a cluster they are reported as skipped.
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/admin.hpp"
#include "common/config.hpp"
#include "common/ids.hpp"
#include "common/installation.hpp"
#include "common/store.hpp"
#include "tests/common/memory_store.hpp"
#include "tests/common/pg_test_database.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/test_support.hpp"

namespace sharelink::testing {

// Something that makes writes fail while it lives.
class WriteBlock {
 public:
  virtual ~WriteBlock() = default;
};

inline Track make_track(const std::string& id, const std::string& licence_class = "personal_only",
                        bool no_commercial = false, const std::string& version = "2026-01",
                        TimePoint created_at = from_unix_seconds(1785000000)) {
  Track t;
  t.id = id;
  t.title = "Title of " + id;
  t.engine = "studio";
  t.mode = "creation";
  t.measured_duration_seconds = 120.4;
  t.instrumental = true;
  t.licence_class = licence_class;
  t.licence_version = version;
  t.no_commercial = no_commercial;
  t.mime_type = "audio/ogg";
  t.audio_path = "album/" + id + ".ogg";
  t.created_at = created_at;
  return t;
}

inline NewShare new_share(TargetType type, const std::string& target, std::optional<TimePoint> expires = {},
                          std::optional<std::int64_t> max_views = {},
                          Visibility visibility = Visibility::link_only) {
  NewShare request;
  request.target_type = type;
  request.target_id = target;
  request.visibility = visibility;
  request.expires_at = expires;
  request.max_views = max_views;
  request.created_by = "tester";
  return request;
}

// What both fixtures do through the AdminStore interface.
class StoreFixture {
 public:
  AdminStore& admin() { return *admin_; }

  void add_track(const Track& track) { REQUIRE(admin_->add_track(track)); }
  void add_collection(const CollectionRecord& record, const std::vector<std::string>& track_ids) {
    REQUIRE(admin_->add_collection(record));
    REQUIRE(append_tracks(*admin_, record.id, track_ids, nullptr) == MembershipChange::ok);
  }
  CreatedShare share(const NewShare& request, TimePoint created_at) {
    return create_share(*admin_, request, created_at);
  }
  void revoke(const std::string& id, TimePoint at) { REQUIRE(admin_->revoke_share(id, std::nullopt, at)); }
  void expire(const std::string& id, TimePoint at) { REQUIRE(admin_->set_share_expiry(id, at)); }
  void set_track_removed(const std::string& id, std::optional<TimePoint> at) {
    REQUIRE(admin_->set_track_removed(id, at));
  }
  void set_collection_removed(const std::string& id, std::optional<TimePoint> at) {
    REQUIRE(admin_->set_collection_removed(id, at));
  }
  void set_collection_tracks(const std::string& id, const std::vector<std::string>& track_ids) {
    admin_->set_collection_tracks(id, track_ids);
  }
  std::optional<Share> find(const std::string& id) { return admin_->share(id); }

 protected:
  // Before the backend it came from (each derived fixture's destructor).
  void release_admin() { admin_.reset(); }
  void seed(std::unique_ptr<AdminStore> admin) {
    admin_ = std::move(admin);
    for (const auto& licence : default_licences()) admin_->set_licence(licence);
  }

 private:
  std::unique_ptr<AdminStore> admin_;
};

class MemoryFixture : public StoreFixture {
 public:
  static constexpr const char* name = "memory";

  explicit MemoryFixture(const StorageOptions& = {}) { seed(backend_.open_admin()); }
  ~MemoryFixture() { release_admin(); }
  MemoryFixture(const MemoryFixture&) = delete;
  MemoryFixture& operator=(const MemoryFixture&) = delete;

  StorageBackend& storage() { return backend_; }
  MemoryData& data() { return backend_.data; }

  void set_view_count(const std::string& id, std::int64_t count) {
    std::lock_guard lock(data().mutex);
    data().shares.at(id).view_count = count;
  }

  std::unique_ptr<WriteBlock> block_writes() {
    struct Block : WriteBlock {
      explicit Block(MemoryData& d) : data(d) { data.refuse_writes = true; }
      ~Block() override { data.refuse_writes = false; }
      MemoryData& data;
    };
    return std::make_unique<Block>(data());
  }

 private:
  MemoryBackend backend_;
};

// The SQLite backend on two fresh files in a temporary directory. Its
// lock_wait is short, so a blocked write fails quickly.
class SqliteFixture : public StoreFixture {
 public:
  static constexpr const char* name = "sqlite";

  explicit SqliteFixture(StorageOptions options = short_lock_wait()) {
    config_.path = dir_ / "shared-link.db";
    config_.audit_path = dir_ / "shared-link-audit.db";
    storage_ = open_storage(config_, options);
    storage_->migrate();
    admin_backend_ = open_storage(config_);  // patient, as sharectl is
    seed(admin_backend_->open_admin());
  }
  ~SqliteFixture() { release_admin(); }
  SqliteFixture(const SqliteFixture&) = delete;
  SqliteFixture& operator=(const SqliteFixture&) = delete;

  static StorageOptions short_lock_wait() {
    StorageOptions options;
    options.lock_wait = std::chrono::milliseconds(10);
    return options;
  }

  StorageBackend& storage() { return *storage_; }
  const DatabaseConfig& config() const { return config_; }
  const std::filesystem::path& db() const { return config_.path; }
  const TempDir& dir() const { return dir_; }

  void set_view_count(const std::string& id, std::int64_t count) {
    exec("DELETE FROM share_views WHERE share_id = '" + id + "'");  // its batched views too
    exec("UPDATE shares SET view_count = " + std::to_string(count) + " WHERE id = '" + id + "'");
  }

  std::unique_ptr<WriteBlock> block_writes() {
    struct Block : WriteBlock {
      explicit Block(const std::filesystem::path& file) : holder(file) {}
      WriteLockHolder holder;
    };
    return std::make_unique<Block>(config_.path);
  }

  // Runs SQL on a connection of its own, as another process would.
  void exec(const std::string& sql) {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open(config_.path.c_str(), &handle) == SQLITE_OK);
    sqlite3_busy_timeout(handle, 5000);
    const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(handle);
    REQUIRE(rc == SQLITE_OK);
  }

 private:
  TempDir dir_{"sharelink-store-test"};
  DatabaseConfig config_;
  std::unique_ptr<StorageBackend> storage_;
  std::unique_ptr<StorageBackend> admin_backend_;  // the admin store's
};

// The PostgreSQL backend on a fresh database of the test cluster, migrated
// as "sharectl init" does. Its lock_wait is short, so a blocked write fails quickly.
class PostgresFixture : public StoreFixture {
 public:
  static constexpr const char* name = "postgresql";

  explicit PostgresFixture(StorageOptions options = short_lock_wait())
      : cluster_url_(cluster_or_throw()), database_(*cluster_url_) {
    config_.backend = DatabaseBackend::postgresql;
    config_.url = database_.url();
    storage_ = open_storage(config_, options);
    storage_->migrate();
    admin_backend_ = open_storage(config_);  // patient, as sharectl is
    seed(admin_backend_->open_admin());
  }
  ~PostgresFixture() { release_admin(); }
  PostgresFixture(const PostgresFixture&) = delete;
  PostgresFixture& operator=(const PostgresFixture&) = delete;

  // Long enough for row locks that concurrent view counts wait on (each a
  // single short UPDATE), short enough that a blocked write fails quickly.
  static StorageOptions short_lock_wait() {
    StorageOptions options;
    options.lock_wait = std::chrono::milliseconds(250);
    return options;
  }

  StorageBackend& storage() { return *storage_; }
  const DatabaseConfig& config() const { return config_; }
  PgTestDatabase& database() { return database_; }

  void set_view_count(const std::string& id, std::int64_t count) {
    exec("UPDATE shares SET view_count = " + std::to_string(count) + " WHERE id = '" + id + "'");
  }

  std::unique_ptr<WriteBlock> block_writes() {
    struct Block : WriteBlock {
      explicit Block(PgConnectOptions options) : session(std::move(options)) {
        session.exec("BEGIN");
        session.exec(
            "LOCK TABLE licences, tracks, collections, collection_tracks, shares, audit_records IN EXCLUSIVE MODE");
      }
      ~Block() override {
        try {
          session.exec("ROLLBACK");
        } catch (...) {  // NOLINT(bugprone-empty-catch): the session ends with the block anyway
        }
      }
      PgConnection session;
    };
    return std::make_unique<Block>(database_.options());
  }

  // Runs SQL on a session of its own, as another process would.
  void exec(const std::string& sql) {
    PgConnection session(database_.options());
    session.exec(sql);
  }
  // The first column of the first row of sql, as text.
  std::string query_text(const std::string& sql) {
    PgConnection session(database_.options());
    return session.exec(sql).row(0).string(0);
  }

 private:
  static std::optional<std::string> cluster_or_throw() {
    auto url = pg_cluster_or_skip();
    // pg_cluster_or_skip has printed why (CTest counts the message as a skip).
    if (!url) throw std::runtime_error(k_pg_skip_message);
    return url;
  }

  std::optional<std::string> cluster_url_;
  PgTestDatabase database_;
  DatabaseConfig config_;
  std::unique_ptr<StorageBackend> storage_;
  std::unique_ptr<StorageBackend> admin_backend_;  // the admin store's
};

}  // namespace sharelink::testing
