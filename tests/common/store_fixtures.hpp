// Test support: one installation per backend behind the same fixture API, so a domain test runs on each of
// them.
//
// A test written against these fixtures (TEMPLATE_TEST_CASE(..., MemoryFixture,
// SqliteFixture)) checks the domain core over the in-memory store and the
// same behaviour end to end over a real backend. Every fixture seeds the
// default licence registry and offers:
//   storage()                 the StorageBackend
//   add_track(track)          add_collection(record, track_ids)
//   share(type, target, ...)  a new link (CreatedShare: its token and record)
//   revoke / expire / set_view_count / set_track_removed /
//   set_collection_removed / set_collection_tracks   changes "sharectl" makes
//   find(id)                  the link as stored now
//   block_writes()            until the returned guard ends, the database
//                             refuses writes (SQLite: another connection holds
//                             its write lock past a short lock_wait)
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/catalog_store.hpp"
#include "common/config.hpp"
#include "common/database.hpp"
#include "common/ids.hpp"
#include "common/installation.hpp"
#include "common/share_store.hpp"
#include "common/store.hpp"
#include "tests/common/memory_store.hpp"
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

class MemoryFixture {
 public:
  static constexpr const char* name = "memory";

  explicit MemoryFixture(const StorageOptions& = {}) {
    for (const auto& licence : default_licences()) {
      data().licences[{to_string(licence.licence_class), licence.licence_version}] = licence.terms();
    }
  }

  StorageBackend& storage() { return backend_; }
  MemoryData& data() { return backend_.data; }

  void add_track(const Track& track) {
    std::lock_guard lock(data().mutex);
    data().tracks[track.id] = track;
  }
  void add_collection(const CollectionRecord& record, const std::vector<std::string>& track_ids) {
    std::lock_guard lock(data().mutex);
    Collection c;
    static_cast<CollectionRecord&>(c) = record;
    c.track_ids = track_ids;
    data().collections[c.id] = c;
  }
  CreatedShare share(const NewShare& request, TimePoint created_at) {
    CreatedShare created;
    created.token = new_share_token();
    Share& s = created.share;
    s.id = new_share_id();
    s.target_type = request.target_type;
    s.target_id = request.target_id;
    s.visibility = request.visibility;
    s.created_at = std::chrono::floor<std::chrono::seconds>(created_at);
    s.expires_at = request.expires_at;
    s.max_views = request.max_views;
    s.note = request.note;
    s.created_by = request.created_by;
    const std::string digest = token_digest(created.token);
    s.token_fp = digest.substr(0, 12);
    std::lock_guard lock(data().mutex);
    data().shares[s.id] = s;
    data().share_by_digest[digest] = s.id;
    return created;
  }
  void revoke(const std::string& id, TimePoint at) {
    std::lock_guard lock(data().mutex);
    auto& share = data().shares.at(id);
    if (!share.revoked_at) share.revoked_at = at;
  }
  void expire(const std::string& id, TimePoint at) {
    std::lock_guard lock(data().mutex);
    data().shares.at(id).expires_at = at;
  }
  void set_view_count(const std::string& id, std::int64_t count) {
    std::lock_guard lock(data().mutex);
    data().shares.at(id).view_count = count;
  }
  void set_track_removed(const std::string& id, std::optional<TimePoint> at) {
    std::lock_guard lock(data().mutex);
    data().tracks.at(id).removed_at = at;
  }
  void set_collection_removed(const std::string& id, std::optional<TimePoint> at) {
    std::lock_guard lock(data().mutex);
    data().collections.at(id).removed_at = at;
  }
  void set_collection_tracks(const std::string& id, const std::vector<std::string>& track_ids) {
    std::lock_guard lock(data().mutex);
    data().collections.at(id).track_ids = track_ids;
  }
  std::optional<Share> find(const std::string& id) {
    std::lock_guard lock(data().mutex);
    const auto it = data().shares.find(id);
    if (it == data().shares.end()) return std::nullopt;
    return it->second;
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
class SqliteFixture {
 public:
  static constexpr const char* name = "sqlite";

  explicit SqliteFixture(StorageOptions options = short_lock_wait()) {
    config_.path = dir_ / "shared-link.db";
    config_.audit_path = dir_ / "shared-link-audit.db";
    migrate_database(config_.path, SchemaKind::main);
    migrate_database(config_.audit_path, SchemaKind::audit);
    catalog_ = std::make_unique<CatalogStore>(config_.path);
    for (const auto& licence : default_licences()) catalog_->set_licence(licence);
    shares_ = std::make_unique<ShareStore>(config_.path);
    storage_ = open_storage(config_, options);
  }

  static StorageOptions short_lock_wait() {
    StorageOptions options;
    options.lock_wait = std::chrono::milliseconds(10);
    return options;
  }

  StorageBackend& storage() { return *storage_; }
  const DatabaseConfig& config() const { return config_; }
  const std::filesystem::path& db() const { return config_.path; }
  const TempDir& dir() const { return dir_; }

  void add_track(const Track& track) { REQUIRE(catalog_->add_track(track)); }
  void add_collection(const CollectionRecord& record, const std::vector<std::string>& track_ids) {
    REQUIRE(catalog_->add_collection(record));
    REQUIRE(catalog_->append_tracks(record.id, track_ids, nullptr) == CatalogStore::MembershipChange::ok);
  }
  CreatedShare share(const NewShare& request, TimePoint created_at) {
    return shares_->create(request, created_at);
  }
  void revoke(const std::string& id, TimePoint at) { REQUIRE(shares_->revoke(id, std::nullopt, at)); }
  void expire(const std::string& id, TimePoint at) { REQUIRE(shares_->expire(id, at)); }
  void set_view_count(const std::string& id, std::int64_t count) {
    exec("UPDATE shares SET view_count = " + std::to_string(count) + " WHERE id = '" + id + "'");
  }
  void set_track_removed(const std::string& id, std::optional<TimePoint> at) {
    REQUIRE(catalog_->set_track_removed(id, at));
  }
  void set_collection_removed(const std::string& id, std::optional<TimePoint> at) {
    REQUIRE(catalog_->set_collection_removed(id, at));
  }
  void set_collection_tracks(const std::string& id, const std::vector<std::string>& track_ids) {
    const auto current = catalog_->collection(id);
    REQUIRE(current);
    if (!current->track_ids.empty()) {
      REQUIRE(catalog_->drop_tracks(id, current->track_ids, nullptr) == CatalogStore::MembershipChange::ok);
    }
    if (!track_ids.empty()) {
      REQUIRE(catalog_->append_tracks(id, track_ids, nullptr) == CatalogStore::MembershipChange::ok);
    }
  }
  std::optional<Share> find(const std::string& id) { return shares_->find(id); }

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
  std::unique_ptr<CatalogStore> catalog_;
  std::unique_ptr<ShareStore> shares_;
  std::unique_ptr<StorageBackend> storage_;
};

}  // namespace sharelink::testing
