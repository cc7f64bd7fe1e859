// The SQLite backend's hot path: the reader of the resolver and media check, and the view store.
#include "common/blocking_wait.hpp"
#include "common/error.hpp"
#include "common/store_sqlite_rows.hpp"
#include "common/thread_annotations.hpp"

namespace sharelink {
namespace {

// Page cache of each reader connection (the daemon keeps a few). A lookup
// walks the token digest index and the shares table: with a million links
// their interior pages are about 1.8 MB and 0.4 MB, and they are what every
// lookup reads; 2 MB keeps nearly all of them, while leaf pages, which random
// tokens rarely hit twice, come from the OS cache. Every MB here counts once
// per pooled connection in the daemon's resident memory.
constexpr int k_reader_cache_kib = 2048;

// The collections a reader keeps the track rows of (see CollectionCache), and
// the rows it keeps in all: about 300 bytes each, per pooled connection.
constexpr std::size_t k_cached_collections = 8;
constexpr std::size_t k_cached_tracks = 1024;

constexpr const char* k_track_with_licence =
    " FROM tracks t LEFT JOIN licences l ON l.licence_class = t.licence_class "
    "AND l.licence_version = t.licence_version";

// The track rows of the collections a reader read last, valid for one state
// of the database. A collection's 100 rows are a join of three tables (four
// B-tree searches a row): most of a collection resolve's SQLite time, for
// rows that change only when sharectl edits the catalogue.
//
// Validity: SQLite's PRAGMA data_version of the reader's connection changes
// whenever another connection (the daemon's view counter, sharectl, any
// process) has committed since the connection last read, and stays the same
// within a read transaction. The version is read inside the caller's
// snapshot, so rows kept for version V are exactly what any later read at
// version V would return: a hit is never older than the caller's snapshot.
// Any commit empties the cache (the view counter's flush too, about once a
// second under load); a miss reads the rows as before.
class CollectionCache {
 public:
  // The rows of collection_id at version, or null.
  CollectionRows find(std::int64_t version, const std::string& collection_id) {
    if (version != version_) {
      entries_.clear();
      tracks_ = 0;
      version_ = version;
      return nullptr;
    }
    for (const auto& entry : entries_) {
      if (entry.collection_id == collection_id) return entry.tracks;
    }
    return nullptr;
  }

  // Keeps rows read at version (find(version, ...) was called first), within
  // the bounds: the oldest entries go first; a collection larger than the
  // whole bound is not kept.
  void keep(std::int64_t version, const std::string& collection_id, const CollectionRows& tracks) {
    if (version != version_ || tracks->size() > k_cached_tracks) return;
    while (!entries_.empty() &&
           (entries_.size() >= k_cached_collections || tracks_ + tracks->size() > k_cached_tracks)) {
      tracks_ -= entries_.front().tracks->size();
      entries_.erase(entries_.begin());
    }
    tracks_ += tracks->size();
    entries_.push_back(Entry{collection_id, tracks});
  }

 private:
  struct Entry {
    std::string collection_id;
    CollectionRows tracks;  // shared with the callers that were given them: never changed
  };
  std::int64_t version_ = -1;
  std::vector<Entry> entries_;  // oldest first
  std::size_t tracks_ = 0;      // rows in entries_
};

// Used by one thread at a time (CatalogReader's contract), so the connection
// skips SQLite's per-call mutex.
class SqliteCatalogReader final : public CatalogReader {
 public:
  SqliteCatalogReader(const std::filesystem::path& file, const StorageOptions& options)
      : what_("database " + file.string()), lock_wait_(options.lock_wait) {
    try {
      db_ = open_current_database(file, SchemaKind::main, ConnectionThreading::one_thread_at_a_time,
                                  lock_wait_);
      db_->exec("PRAGMA cache_size = -" + std::to_string(k_reader_cache_kib));
      const std::string share_select =
          std::string("SELECT ") + k_sqlite_share_record_columns + k_sqlite_shares_from;
      share_by_digest_.emplace(*db_, share_select + " WHERE s.token_digest = ?");
      share_by_id_.emplace(*db_, share_select + " WHERE s.id = ?");
      track_.emplace(*db_,
                     std::string("SELECT ") + k_sqlite_catalog_track_columns + k_track_with_licence + " WHERE t.id = ?");
      track_media_.emplace(*db_, "SELECT audio_path, mime_type, removed_at FROM tracks WHERE id = ?");
      collection_.emplace(
          *db_, "SELECT id, name, description, removed_at, created_at FROM collections WHERE id = ?");
      collection_tracks_.emplace(*db_, std::string("SELECT ") + k_sqlite_catalog_track_columns +
                                           " FROM collection_tracks ct JOIN tracks t ON t.id = ct.track_id "
                                           "LEFT JOIN licences l ON l.licence_class = t.licence_class "
                                           "AND l.licence_version = t.licence_version "
                                           "WHERE ct.collection_id = ? ORDER BY ct.position");
      collection_contains_.emplace(
          *db_, "SELECT 1 FROM collection_tracks WHERE collection_id = ? AND track_id = ?");
      data_version_.emplace(*db_, "PRAGMA data_version");
      begin_.emplace(*db_, "BEGIN");
      commit_.emplace(*db_, "COMMIT");
      rollback_.emplace(*db_, "ROLLBACK");
    } catch (const SQLite::Exception& e) {
      close();
      throw_storage_failure(e, "cannot prepare " + what_, lock_wait_);
    }
  }
  ~SqliteCatalogReader() override { close(); }

  // One read transaction around a resolve's lookups: they see one snapshot,
  // and SQLite takes its WAL read lock once instead of once per statement
  // (each time through process-wide mutexes that every worker thread
  // contends for).
  void begin_snapshot() override {
    guarded([&] { run(*begin_); });
  }
  void end_snapshot() override {
    guarded([&] { run(*commit_); });
  }
  void abandon_snapshot() noexcept override {
    try {
      run(*rollback_);
    } catch (...) {  // NOLINT(bugprone-empty-catch): the owner discards a reader that failed
    }
  }

  std::optional<ShareRecord> share_by_digest(const std::string& token_digest) override {
    return guarded([&] { return find_share(*share_by_digest_, token_digest); });
  }
  std::optional<ShareRecord> share_by_id(const std::string& share_id) override {
    return guarded([&] { return find_share(*share_by_id_, share_id); });
  }

  std::optional<CatalogTrack> track(const std::string& track_id) override {
    return guarded([&]() -> std::optional<CatalogTrack> {
      SQLite::Statement& st = *track_;
      StatementScope scope(st);
      st.bindNoCopy(1, track_id);
      if (!st.executeStep()) return std::nullopt;
      return sqlite_catalog_track(st);
    });
  }

  std::optional<CollectionRecord> collection(const std::string& collection_id) override {
    return guarded([&]() -> std::optional<CollectionRecord> {
      SQLite::Statement& st = *collection_;
      StatementScope scope(st);
      st.bindNoCopy(1, collection_id);
      if (!st.executeStep()) return std::nullopt;
      return sqlite_collection(st);
    });
  }

  std::optional<TrackMedia> track_media(const std::string& track_id) override {
    return guarded([&]() -> std::optional<TrackMedia> {
      SQLite::Statement& st = *track_media_;
      StatementScope scope(st);
      st.bindNoCopy(1, track_id);
      if (!st.executeStep()) return std::nullopt;
      return TrackMedia{st.getColumn(0).getString(), st.getColumn(1).getString(), optional_time(st.getColumn(2))};
    });
  }

  CollectionRows collection_tracks(const std::string& collection_id) override {
    return guarded([&] {
      const std::int64_t version = data_version();
      if (CollectionRows cached = collections_.find(version, collection_id)) return cached;
      auto tracks = std::make_shared<std::vector<CatalogTrack>>();
      SQLite::Statement& st = *collection_tracks_;
      StatementScope scope(st);
      st.bindNoCopy(1, collection_id);
      while (st.executeStep()) tracks->push_back(sqlite_catalog_track(st));
      CollectionRows rows = std::move(tracks);
      collections_.keep(version, collection_id, rows);
      return rows;
    });
  }

  bool collection_contains(const std::string& collection_id, const std::string& track_id) override {
    return guarded([&] {
      SQLite::Statement& st = *collection_contains_;
      StatementScope scope(st);
      st.bindNoCopy(1, collection_id);
      st.bindNoCopy(2, track_id);
      return st.executeStep();
    });
  }

  void ping() override {
    guarded([&] {
      static const std::string k_no_digest;
      find_share(*share_by_digest_, k_no_digest);
    });
  }

 private:
  template <typename Fn>
  auto guarded(Fn&& fn) -> decltype(fn()) {
    return sqlite_guarded(what_, lock_wait_, std::forward<Fn>(fn));
  }

  // The connection's PRAGMA data_version (see CollectionCache).
  std::int64_t data_version() {
    SQLite::Statement& st = *data_version_;
    StatementScope scope(st);
    if (!st.executeStep()) throw Error("PRAGMA data_version returned no row on " + what_);
    return st.getColumn(0).getInt64();
  }

  static void run(SQLite::Statement& st) {
    StatementScope scope(st);
    st.exec();
  }

  static std::optional<ShareRecord> find_share(SQLite::Statement& st, const std::string& key) {
    StatementScope scope(st);
    st.bindNoCopy(1, key);
    if (!st.executeStep()) return std::nullopt;
    return sqlite_share_record(st);
  }

  // The statements go before the connection (SQLiteCpp aborts otherwise).
  void close() {
    share_by_digest_.reset();
    share_by_id_.reset();
    track_.reset();
    track_media_.reset();
    collection_.reset();
    collection_tracks_.reset();
    collection_contains_.reset();
    data_version_.reset();
    begin_.reset();
    commit_.reset();
    rollback_.reset();
    db_.reset();
  }

  const std::string what_;
  const std::chrono::milliseconds lock_wait_;
  std::unique_ptr<SQLite::Database> db_;
  std::optional<SQLite::Statement> share_by_digest_, share_by_id_, track_, track_media_, collection_, collection_tracks_,
      collection_contains_, data_version_, begin_, commit_, rollback_;
  CollectionCache collections_;
};

// One connection behind mutex_: the check-and-increment of links with
// max_views and the batched writes of the others take turns there, so the
// process never contends with itself for SQLite's write lock (whose busy
// handler resolves contention by sleeping for milliseconds); only other
// processes (sharectl) can make a write wait.
//
// Why the view counter batches (ViewCounterOptions::flush_interval, 1 s):
// every commit makes every other connection of the process drop its page
// cache (WAL readers see a changed database); with a million links that is
// about 2 MB of index pages per reader to read again.
//
// The batches go to the narrow share_views table (schema/main/0002), not to
// shares: a batch over thousands of links then rewrites a few hundred small
// pages instead of one wide shares page per link.
class SqliteViewStore final : public ViewStore {
 public:
  SqliteViewStore(const std::filesystem::path& file, const StorageOptions& options)
      : what_("database " + file.string()), lock_wait_(options.lock_wait) {
    try {
      // Used under mutex_ only: SQLite's own per-call mutex is not needed.
      db_ = open_current_database(file, SchemaKind::main, ConnectionThreading::one_thread_at_a_time,
                                  lock_wait_);
      take_.emplace(*db_,
                    "UPDATE shares SET view_count = view_count + 1, last_viewed_at = ?2 "
                    "WHERE id = ?1 AND (max_views IS NULL OR view_count < max_views)");
      add_.emplace(*db_,
                   "UPDATE share_views SET views = views + ?2, viewed_at = max(viewed_at, ?3) "
                   "WHERE share_id = ?1");
      // A link's first batched view; a link that does not exist is left out, as UPDATE shares would.
      first_.emplace(*db_,
                     "INSERT INTO share_views (share_id, views, viewed_at) "
                     "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM shares WHERE id = ?1)");
    } catch (const SQLite::Exception& e) {
      close();
      throw_storage_failure(e, "cannot prepare " + what_, lock_wait_);
    }
  }
  ~SqliteViewStore() override { close(); }

  bool take_view_under_limit(const std::string& share_id, TimePoint now) override SHARELINK_EXCLUDES(mutex_) {
    // A write: it may wait for the write lock another process holds, or for the disk.
    const BlockingWait waiting;
    const MutexLock lock(mutex_);
    try {
      StatementScope scope(*take_);
      take_->bindNoCopy(1, share_id);
      take_->bind(2, static_cast<std::int64_t>(to_unix_seconds(now)));
      return take_->exec() == 1;
    } catch (const SQLite::Exception& e) {
      throw_storage_failure(e, what_, lock_wait_);
    }
  }

  void add_views(std::span<const ViewIncrement> batch) override SHARELINK_EXCLUDES(mutex_) {
    if (batch.empty()) return;
    const MutexLock lock(mutex_);
    try {
      // Taken here, under the lock: the analysis does not see it held inside the lambda.
      SQLite::Statement& add = *add_;
      SQLite::Statement& first = *first_;
      with_write_transaction(*db_, [&] {
        for (const auto& increment : batch) {
          // The link's row, else its first one (checking the link exists only then).
          if (add_increment(add, increment) == 0) add_increment(first, increment);
        }
      });
    } catch (const SQLite::Exception& e) {
      throw_storage_failure(e, what_, lock_wait_);
    }
  }

 private:
  // Runs st (?1 share id, ?2 views, ?3 time of the latest): the rows it changed.
  static int add_increment(SQLite::Statement& st, const ViewIncrement& increment) {
    StatementScope scope(st);
    st.bindNoCopy(1, increment.share_id);
    st.bind(2, static_cast<std::int64_t>(increment.views));
    st.bind(3, static_cast<std::int64_t>(to_unix_seconds(increment.last_viewed_at)));
    return st.exec();
  }

  // The statements go before the connection (SQLiteCpp aborts otherwise).
  void close() SHARELINK_EXCLUDES(mutex_) {
    const MutexLock lock(mutex_);
    take_.reset();
    add_.reset();
    first_.reset();
    db_.reset();
  }

  const std::string what_;
  const std::chrono::milliseconds lock_wait_;
  Mutex mutex_;
  std::unique_ptr<SQLite::Database> db_ SHARELINK_GUARDED_BY(mutex_);
  std::optional<SQLite::Statement> take_ SHARELINK_GUARDED_BY(mutex_);
  std::optional<SQLite::Statement> add_ SHARELINK_GUARDED_BY(mutex_);
  std::optional<SQLite::Statement> first_ SHARELINK_GUARDED_BY(mutex_);
};

}  // namespace

std::unique_ptr<CatalogReader> open_sqlite_reader(const std::filesystem::path& db_file,
                                                  const StorageOptions& options) {
  return std::make_unique<SqliteCatalogReader>(db_file, options);
}

std::unique_ptr<ViewStore> open_sqlite_view_store(const std::filesystem::path& db_file,
                                                  const StorageOptions& options) {
  return std::make_unique<SqliteViewStore>(db_file, options);
}

}  // namespace sharelink
