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
#include <set>
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
  std::vector<std::string> share_order;                // ids in the order stored
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
  // The audit log, in id order.
  std::vector<AuditRecord> audit;
  std::set<std::int64_t> audit_aged;  // ids whose client_ip retention has aged
  std::int64_t audit_next_id = 1;
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
  std::optional<TrackMedia> track_media(const std::string& track_id) override {
    std::lock_guard lock(lock_checked());
    const auto it = data_.tracks.find(track_id);
    if (it == data_.tracks.end()) return std::nullopt;
    return TrackMedia{it->second.audio_path, it->second.mime_type, it->second.removed_at};
  }
  CollectionRows collection_tracks(const std::string& collection_id) override {
    auto rows = std::make_shared<std::vector<CatalogTrack>>();
    std::lock_guard lock(lock_checked());
    const auto it = data_.collections.find(collection_id);
    if (it == data_.collections.end()) return rows;
    for (const auto& id : it->second.track_ids) {
      if (auto t = find_track(id)) rows->push_back(std::move(*t));
    }
    return rows;
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
    const Track& stored = it->second;
    CatalogTrack t;
    t.id = stored.id;
    t.title = stored.title;
    t.engine = stored.engine;
    t.mode = stored.mode;
    t.measured_duration_seconds = stored.measured_duration_seconds;
    t.instrumental = stored.instrumental;
    t.licence_class = stored.licence_class;
    t.licence_version = stored.licence_version;
    t.no_commercial = stored.no_commercial;
    t.audio_path = stored.audio_path;
    t.removed_at = stored.removed_at;
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

// The audit log as AuditStorage's contract describes it, over MemoryData::audit.
class MemoryAuditStorage final : public AuditStorage {
 public:
  explicit MemoryAuditStorage(MemoryData& data) : data_(data) {}

  void insert_batch(std::span<const AuditRecord> records) override {
    check_write();
    std::lock_guard lock(data_.mutex);
    for (AuditRecord record : records) {
      record.id = data_.audit_next_id++;
      record.ts = std::chrono::floor<std::chrono::milliseconds>(record.ts);
      data_.audit.push_back(std::move(record));
    }
  }

  bool prune_step(const PruneCutoffs& cutoffs, PruneReport& report) override {
    check_write();
    std::lock_guard lock(data_.mutex);
    constexpr std::int64_t k_step = 2;  // small, so that tests see several steps
    std::int64_t done = 0;
    auto& log = data_.audit;
    for (auto it = log.begin(); it != log.end() && done < k_step;) {
      if (it->ts < cutoffs.delete_before) {
        data_.audit_aged.erase(it->id);
        it = log.erase(it);
        ++done;
      } else {
        ++it;
      }
    }
    report.deleted += done;
    if (done == k_step) return false;
    for (auto& record : log) {
      if (done == k_step) break;
      if (record.ts >= cutoffs.age_ip_before || data_.audit_aged.contains(record.id)) continue;
      data_.audit_aged.insert(record.id);
      if (!record.client_ip.empty()) {
        record.client_ip = truncate_ip_text(record.client_ip);
        ++report.ips_truncated;
      }
      ++done;
    }
    return done < k_step;
  }

  std::vector<AuditRecord> query(const AuditFilter& filter) override {
    check();
    std::lock_guard lock(data_.mutex);
    std::vector<AuditRecord> out;
    for (auto it = data_.audit.rbegin(); it != data_.audit.rend(); ++it) {
      if (filter.limit != 0 && out.size() >= filter.limit) break;
      if (matches(filter, *it)) out.push_back(*it);
    }
    return out;
  }

  AuditStats stats(std::optional<TimePoint> since, std::size_t top_clients) override {
    check();
    std::lock_guard lock(data_.mutex);
    std::map<std::string, std::int64_t> by_outcome;
    std::map<std::string, std::int64_t> by_client;
    AuditStats stats;
    for (const auto& record : data_.audit) {
      if (since && record.ts < *since) continue;
      ++by_outcome[record.event + "/" + record.outcome];
      if (!record.client_ip.empty()) ++by_client[record.client_ip];
      ++stats.total;
    }
    stats.by_outcome.assign(by_outcome.begin(), by_outcome.end());
    stats.top_clients.assign(by_client.begin(), by_client.end());
    std::stable_sort(stats.top_clients.begin(), stats.top_clients.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (stats.top_clients.size() > top_clients) stats.top_clients.resize(top_clients);
    return stats;
  }

  ShareAuditSummary share_summary(const std::string& share_id) override {
    check();
    std::lock_guard lock(data_.mutex);
    ShareAuditSummary summary;
    for (const auto& record : data_.audit) {
      if (record.share_id != share_id || (record.event != "resolve" && record.event != "page")) continue;
      ++summary.resolves_by_outcome[record.outcome];
      if (record.outcome == "ok" && (!summary.last_resolve || record.ts > *summary.last_resolve)) {
        summary.last_resolve = record.ts;
      }
    }
    return summary;
  }

 private:
  static bool matches(const AuditFilter& f, const AuditRecord& r) {
    if (f.ip) {
      const auto stored = parse_cidr(r.client_ip);
      if (r.client_ip.empty() || !stored || !f.ip->contains(stored->network)) return false;
    }
    if (f.share_id && r.share_id != *f.share_id) return false;
    if (f.token_fp) {
      const bool unknown_link = r.token_fp == *f.token_fp && r.share_id.empty();
      const bool its_link = f.token_share_id && r.share_id == *f.token_share_id && r.token_fp == *f.token_fp;
      if (!unknown_link && !its_link) return false;
    }
    if (f.event && r.event != *f.event) return false;
    if (f.outcome && r.outcome != *f.outcome) return false;
    if (f.since && r.ts < *f.since) return false;
    if (f.until && r.ts >= *f.until) return false;
    if (f.after_id && r.id <= *f.after_id) return false;
    return true;
  }
  void check() const {
    if (data_.refuse_all) throw DatabaseUnavailable("memory store: unavailable");
  }
  void check_write() const {
    if (data_.refuse_all || data_.refuse_writes) throw DatabaseUnavailable("memory store: writes refused");
  }
  MemoryData& data_;
};

// The admin writes as AdminStore's contract describes them. A
// write_transaction holds the data's lock, so its changes are seen at once
// by no one else; a failing fn leaves the data as it was.
class MemoryAdminStore final : public AdminStore {
 public:
  explicit MemoryAdminStore(MemoryData& data) : data_(data) {}

  void write_transaction(const std::function<void()>& fn) override {
    check();
    if (holding_) {
      fn();
      return;
    }
    std::unique_lock lock(data_.mutex);
    const auto tracks = data_.tracks;
    const auto collections = data_.collections;
    const auto shares = data_.shares;
    const auto by_digest = data_.share_by_digest;
    const auto order = data_.share_order;
    const auto licences = data_.licences;
    holding_ = true;
    try {
      fn();
    } catch (...) {
      data_.tracks = tracks;
      data_.collections = collections;
      data_.shares = shares;
      data_.share_by_digest = by_digest;
      data_.share_order = order;
      data_.licences = licences;
      holding_ = false;
      throw;
    }
    holding_ = false;
  }

  void set_licence(const Licence& licence) override {
    auto lock = locked();
    data_.licences[{to_string(licence.licence_class), licence.licence_version}] = licence.terms();
  }
  std::vector<Licence> licences() override {
    auto lock = locked();
    std::vector<Licence> out;
    for (const auto& [key, terms] : data_.licences) {
      out.push_back(
          {*parse_licence_class(key.first), key.second, terms.commercial_use, terms.requires_attribution});
    }
    return out;
  }
  std::optional<Licence> licence(LicenceClass licence_class, const std::string& licence_version) override {
    auto lock = locked();
    const auto it = data_.licences.find({to_string(licence_class), licence_version});
    if (it == data_.licences.end()) return std::nullopt;
    return Licence{licence_class, licence_version, it->second.commercial_use,
                   it->second.requires_attribution};
  }

  bool add_track(const Track& track) override {
    auto lock = locked();
    return data_.tracks.emplace(track.id, floored(track)).second;
  }
  void upsert_tracks(std::span<const Track> tracks) override {
    auto lock = locked();
    for (const auto& track : tracks) {
      Track stored = floored(track);
      if (const auto it = data_.tracks.find(track.id); it != data_.tracks.end())
        stored.created_at = it->second.created_at;
      data_.tracks[track.id] = stored;
    }
  }
  std::optional<Track> track(const std::string& id) override {
    auto lock = locked();
    const auto it = data_.tracks.find(id);
    if (it == data_.tracks.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Track> tracks() override {
    auto lock = locked();
    std::vector<Track> out;
    for (const auto& [id, track] : data_.tracks) out.push_back(track);
    std::stable_sort(out.begin(), out.end(),
                     [](const Track& a, const Track& b) { return a.created_at < b.created_at; });
    return out;
  }
  bool set_track_removed(const std::string& id, std::optional<TimePoint> removed_at) override {
    auto lock = locked();
    const auto it = data_.tracks.find(id);
    if (it == data_.tracks.end()) return false;
    it->second.removed_at = floored(removed_at);
    return true;
  }

  bool add_collection(const CollectionRecord& record) override {
    auto lock = locked();
    Collection c;
    static_cast<CollectionRecord&>(c) = record;
    c.created_at = std::chrono::floor<std::chrono::seconds>(c.created_at);
    c.removed_at = floored(c.removed_at);
    return data_.collections.emplace(c.id, c).second;
  }
  std::optional<Collection> collection(const std::string& id) override {
    auto lock = locked();
    const auto it = data_.collections.find(id);
    if (it == data_.collections.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Collection> collections() override {
    auto lock = locked();
    std::vector<Collection> out;
    for (const auto& [id, c] : data_.collections) out.push_back(c);
    std::stable_sort(out.begin(), out.end(),
                     [](const Collection& a, const Collection& b) { return a.created_at < b.created_at; });
    return out;
  }
  bool set_collection_removed(const std::string& id, std::optional<TimePoint> removed_at) override {
    auto lock = locked();
    const auto it = data_.collections.find(id);
    if (it == data_.collections.end()) return false;
    it->second.removed_at = floored(removed_at);
    return true;
  }
  void set_collection_tracks(const std::string& collection_id,
                             std::span<const std::string> track_ids) override {
    auto lock = locked();
    const auto it = data_.collections.find(collection_id);
    if (it == data_.collections.end()) throw Error("memory store: no collection " + collection_id);
    for (const auto& id : track_ids) {
      if (!data_.tracks.contains(id)) throw Error("memory store: no track " + id);
    }
    it->second.track_ids.assign(track_ids.begin(), track_ids.end());
  }

  void insert_share(const Share& share, const std::string& token_digest) override {
    auto lock = locked();
    if (data_.shares.contains(share.id) || data_.share_by_digest.contains(token_digest)) {
      throw Error("memory store: share id or digest taken");
    }
    Share stored = share;
    stored.created_at = std::chrono::floor<std::chrono::seconds>(share.created_at);
    stored.token_fp = token_digest.substr(0, 12);
    stored.expires_at = floored(share.expires_at);
    data_.shares[share.id] = stored;
    data_.share_by_digest[token_digest] = share.id;
    data_.share_order.push_back(share.id);
  }
  std::optional<Share> share(const std::string& id) override {
    auto lock = locked();
    const auto it = data_.shares.find(id);
    if (it == data_.shares.end()) return std::nullopt;
    return it->second;
  }
  std::optional<Share> share_by_digest(const std::string& token_digest) override {
    auto lock = locked();
    const auto it = data_.share_by_digest.find(token_digest);
    if (it == data_.share_by_digest.end()) return std::nullopt;
    return data_.shares.at(it->second);
  }
  std::vector<Share> shares(const std::optional<std::string>& target_id) override {
    auto lock = locked();
    std::vector<Share> out;
    for (auto it = data_.share_order.rbegin(); it != data_.share_order.rend(); ++it) {
      const Share& s = data_.shares.at(*it);
      if (!target_id || s.target_id == *target_id) out.push_back(s);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Share& a, const Share& b) { return a.created_at > b.created_at; });
    return out;
  }
  bool revoke_share(const std::string& id, const std::optional<std::string>& reason, TimePoint at) override {
    auto lock = locked();
    const auto it = data_.shares.find(id);
    if (it == data_.shares.end()) return false;
    if (!it->second.revoked_at) {
      it->second.revoked_at = std::chrono::floor<std::chrono::seconds>(at);
      it->second.revoke_reason = reason;
    }
    return true;
  }
  bool set_share_expiry(const std::string& id, TimePoint expires_at) override {
    auto lock = locked();
    const auto it = data_.shares.find(id);
    if (it == data_.shares.end()) return false;
    it->second.expires_at = std::chrono::floor<std::chrono::seconds>(expires_at);
    return true;
  }

 private:
  // The data's lock, unless a write_transaction of this store holds it.
  std::unique_lock<std::mutex> locked() {
    check();
    return holding_ ? std::unique_lock<std::mutex>() : std::unique_lock<std::mutex>(data_.mutex);
  }
  void check() const {
    if (data_.refuse_all) throw DatabaseUnavailable("memory store: unavailable");
  }
  static std::optional<TimePoint> floored(const std::optional<TimePoint>& t) {
    if (!t) return t;
    return std::chrono::floor<std::chrono::seconds>(*t);
  }
  static Track floored(Track t) {
    t.created_at = std::chrono::floor<std::chrono::seconds>(t.created_at);
    t.removed_at = floored(t.removed_at);
    return t;
  }

  MemoryData& data_;
  bool holding_ = false;  // inside write_transaction, holding data_.mutex
};

class MemoryBackend final : public StorageBackend {
 public:
  MemoryData data;

  std::vector<std::pair<std::string, std::string>> describe() const override {
    return {{"database", "memory"}};
  }
  int schema_version() const override { return 1; }
  std::vector<std::string> schema_problems() const override { return {}; }
  StorageMigration migrate() override { return {{1, 1}, {1, 1}}; }
  std::unique_ptr<AdminStore> open_admin() override {
    if (data.refuse_connections) throw DatabaseUnavailable("memory store: cannot connect");
    return std::make_unique<MemoryAdminStore>(data);
  }
  std::unique_ptr<CatalogReader> open_reader() override {
    if (data.refuse_connections) throw DatabaseUnavailable("memory store: cannot connect");
    ++data.readers_opened;
    return std::make_unique<MemoryReader>(data);
  }
  std::unique_ptr<ViewStore> open_view_store() override {
    if (data.refuse_connections) throw DatabaseUnavailable("memory store: cannot connect");
    return std::make_unique<MemoryViewStore>(data);
  }
  std::unique_ptr<AuditStorage> open_audit(AuditUse) override {
    if (data.refuse_connections) throw DatabaseUnavailable("memory store: cannot connect");
    return std::make_unique<MemoryAuditStorage>(data);
  }
  std::size_t reader_connections(int) const override { return 2; }
  // Nothing to copy into files: the data lives in this process only.
  std::vector<BackupResult> backup(const std::filesystem::path&) override {
    throw Error("memory store: no files to back up");
  }
  // Every row, as the real backends give them (the copy's source side).
  void export_rows(RowSink& sink) override {
    std::lock_guard lock(data.mutex);
    for (const auto& [key, terms] : data.licences) {
      sink.licence({*parse_licence_class(key.first), key.second, terms.commercial_use, terms.requires_attribution});
    }
    for (const auto& [id, track] : data.tracks) sink.track(track);
    for (const auto& [id, collection] : data.collections) sink.collection(collection);
    for (const auto& [id, collection] : data.collections) {
      for (std::size_t i = 0; i < collection.track_ids.size(); ++i) {
        sink.collection_track(id, static_cast<std::int64_t>(i), collection.track_ids[i]);
      }
    }
    std::map<std::string, std::string> digest_of;
    for (const auto& [digest, id] : data.share_by_digest) digest_of[id] = digest;
    for (const auto& id : data.share_order) sink.share(data.shares.at(id), digest_of.at(id));
    for (const auto& record : data.audit) sink.audit_record(record, data.audit_aged.count(record.id) > 0);
  }
  // Nothing to copy into: the data lives in this process only.
  std::unique_ptr<RowImport> open_import() override { throw Error("memory store: not a copy target"); }
  std::vector<DatabaseCheck> check() override {
    DatabaseCheck check;
    check.kind = "main";
    check.location = "memory";
    check.exists = true;
    check.schema_version = check.expected_schema_version = 1;
    return {check};
  }
};

}  // namespace sharelink::testing
