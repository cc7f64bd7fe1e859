// Test support: an in-memory StorageBackend (maps behind one mutex), so the domain core is tested without
// SQL.
//
// It implements the storage seam of common/store.hpp as plainly as possible:
// that it suffices for the resolver, the media check, the view counter and
// the reader pool shows how narrow the seam is. Failures are injected with
// refuse_*.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/store.hpp"

namespace sharelink::testing {

// The data of one installation. Every member is guarded by mutex.
struct MemoryData {
  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, LicenceTerms> licences;  // (class, version)
  std::map<std::string, Track> tracks;
  std::map<std::string, Collection> collections;
  std::map<std::string, Share> shares;
  std::map<std::string, std::string> share_by_digest;  // digest -> id
  // While true, every read and write throws DatabaseUnavailable.
  std::atomic<bool> refuse_all{false};
  // While true, every write (view counts) throws DatabaseUnavailable.
  std::atomic<bool> refuse_writes{false};
  // While true, open_reader and open_view_store throw DatabaseUnavailable.
  std::atomic<bool> refuse_connections{false};
  // Called (without the lock) at the start of take_view_under_limit: a test
  // changes the data there to lose a race on purpose.
  std::function<void()> before_take;
  std::atomic<int> readers_opened{0};
};

class MemoryReader final : public CatalogReader {
 public:
  explicit MemoryReader(MemoryData& data) : data_(data) {}

  void begin_snapshot() override {
    check();
    in_snapshot_ = true;
  }
  void end_snapshot() override {
    check();
    in_snapshot_ = false;
  }
  void abandon_snapshot() noexcept override { in_snapshot_ = false; }

  std::optional<ShareRecord> share_by_digest(const std::string& token_digest) override {
    std::lock_guard lock(lock_checked());
    const auto it = data_.share_by_digest.find(token_digest);
    if (it == data_.share_by_digest.end()) return std::nullopt;
    return static_cast<const ShareRecord&>(data_.shares.at(it->second));
  }
  std::optional<ShareRecord> share_by_id(const std::string& share_id) override {
    std::lock_guard lock(lock_checked());
    const auto it = data_.shares.find(share_id);
    if (it == data_.shares.end()) return std::nullopt;
    return static_cast<const ShareRecord&>(it->second);
  }
  std::optional<CatalogTrack> track(const std::string& track_id) override {
    std::lock_guard lock(lock_checked());
    return find_track(track_id);
  }
  std::optional<CollectionRecord> collection(const std::string& collection_id) override {
    std::lock_guard lock(lock_checked());
    const auto it = data_.collections.find(collection_id);
    if (it == data_.collections.end()) return std::nullopt;
    return static_cast<const CollectionRecord&>(it->second);
  }
  std::vector<CatalogTrack> collection_tracks(const std::string& collection_id) override {
    std::lock_guard lock(lock_checked());
    std::vector<CatalogTrack> out;
    const auto it = data_.collections.find(collection_id);
    if (it == data_.collections.end()) return out;
    for (const auto& id : it->second.track_ids) {
      if (auto t = find_track(id)) out.push_back(std::move(*t));
    }
    return out;
  }
  bool collection_contains(const std::string& collection_id, const std::string& track_id) override {
    std::lock_guard lock(lock_checked());
    const auto it = data_.collections.find(collection_id);
    if (it == data_.collections.end()) return false;
    const auto& ids = it->second.track_ids;
    return std::find(ids.begin(), ids.end(), track_id) != ids.end();
  }
  void ping() override { check(); }

  bool in_snapshot() const { return in_snapshot_; }

 private:
  void check() const {
    if (data_.refuse_all) throw DatabaseUnavailable("memory store: unavailable");
  }
  std::mutex& lock_checked() const {
    check();
    return data_.mutex;
  }
  std::optional<CatalogTrack> find_track(const std::string& id) const {
    const auto it = data_.tracks.find(id);
    if (it == data_.tracks.end()) return std::nullopt;
    CatalogTrack t;
    static_cast<Track&>(t) = it->second;
    const auto licence = data_.licences.find({t.licence_class, t.licence_version});
    if (licence != data_.licences.end()) t.registry = licence->second;
    return t;
  }

  MemoryData& data_;
  bool in_snapshot_ = false;
};

class MemoryViewStore final : public ViewStore {
 public:
  explicit MemoryViewStore(MemoryData& data) : data_(data) {}

  bool take_view_under_limit(const std::string& share_id, TimePoint now) override {
    if (data_.before_take) data_.before_take();
    check_write();
    std::lock_guard lock(data_.mutex);
    const auto it = data_.shares.find(share_id);
    if (it == data_.shares.end()) return false;
    Share& share = it->second;
    if (share.max_views && share.view_count >= *share.max_views) return false;
    ++share.view_count;
    share.last_viewed_at = std::chrono::floor<std::chrono::seconds>(now);
    return true;
  }

  void add_views(std::span<const ViewIncrement> batch) override {
    check_write();
    std::lock_guard lock(data_.mutex);
    for (const auto& increment : batch) {
      const auto it = data_.shares.find(increment.share_id);
      if (it == data_.shares.end()) continue;
      Share& share = it->second;
      share.view_count += increment.views;
      const TimePoint at = std::chrono::floor<std::chrono::seconds>(increment.last_viewed_at);
      share.last_viewed_at = share.last_viewed_at ? std::max(*share.last_viewed_at, at) : at;
    }
  }

 private:
  void check_write() const {
    if (data_.refuse_all || data_.refuse_writes) throw DatabaseUnavailable("memory store: writes refused");
  }
  MemoryData& data_;
};

class MemoryBackend final : public StorageBackend {
 public:
  MemoryData data;

  std::vector<std::pair<std::string, std::string>> describe() const override {
    return {{"database", "memory"}};
  }
  int schema_version() const override { return 1; }
  std::vector<std::string> schema_problems() const override { return {}; }
  std::unique_ptr<CatalogReader> open_reader() override {
    if (data.refuse_connections) throw DatabaseUnavailable("memory store: cannot connect");
    ++data.readers_opened;
    return std::make_unique<MemoryReader>(data);
  }
  std::unique_ptr<ViewStore> open_view_store() override {
    if (data.refuse_connections) throw DatabaseUnavailable("memory store: cannot connect");
    return std::make_unique<MemoryViewStore>(data);
  }
  std::size_t reader_connections(int) const override { return 2; }
};

}  // namespace sharelink::testing
