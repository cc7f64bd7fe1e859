// The SQLite backend's admin store: the licence registry, the catalogue and the share links as sharectl
// changes them.
#include "common/error.hpp"
#include "common/store_sqlite_rows.hpp"

namespace sharelink {
namespace {

// One connection; statements are prepared per call (sharectl runs one command).
class SqliteAdminStore final : public AdminStore {
 public:
  SqliteAdminStore(const std::filesystem::path& file, const StorageOptions& options)
      : what_("database " + file.string()),
        lock_wait_(options.lock_wait),
        db_(open_current_database(file, SchemaKind::main, ConnectionThreading::serialized, lock_wait_)) {}

  void write_transaction(const std::function<void()>& fn) override {
    guarded([&] { in_transaction(fn); });
  }

  void set_licence(const Licence& licence) override {
    guarded([&] {
      SQLite::Statement st(
          *db_,
          "INSERT INTO licences (licence_class, licence_version, commercial_use, requires_attribution) "
          "VALUES (?, ?, ?, ?) ON CONFLICT (licence_class, licence_version) DO UPDATE SET "
          "commercial_use = excluded.commercial_use, "
          "requires_attribution = excluded.requires_attribution");
      bind_sqlite_licence(st, licence);
      st.exec();
    });
  }

  std::vector<Licence> licences() override {
    return guarded([&] {
      SQLite::Statement st(
          *db_,
          "SELECT licence_class, licence_version, commercial_use, requires_attribution FROM licences "
          "ORDER BY licence_class, licence_version");
      std::vector<Licence> out;
      while (st.executeStep()) out.push_back(sqlite_licence(st));
      return out;
    });
  }

  std::optional<Licence> licence(LicenceClass licence_class, const std::string& licence_version) override {
    return guarded([&]() -> std::optional<Licence> {
      SQLite::Statement st(
          *db_,
          "SELECT licence_class, licence_version, commercial_use, requires_attribution FROM licences "
          "WHERE licence_class = ? AND licence_version = ?");
      st.bind(1, to_string(licence_class));
      st.bind(2, licence_version);
      if (!st.executeStep()) return std::nullopt;
      return sqlite_licence(st);
    });
  }

  bool add_track(const Track& track) override {
    return guarded([&] {
      SQLite::Statement st(
          *db_, std::string("INSERT INTO tracks (") + k_sqlite_track_columns +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING");
      bind_sqlite_track(st, track);
      return st.exec() > 0;
    });
  }

  void upsert_tracks(std::span<const Track> tracks) override {
    guarded([&] {
      in_transaction([&] {
        SQLite::Statement st(
            *db_, std::string("INSERT INTO tracks (") + k_sqlite_track_columns +
                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                      "title = excluded.title, engine = excluded.engine, mode = excluded.mode, "
                      "measured_duration_seconds = excluded.measured_duration_seconds, "
                      "instrumental = excluded.instrumental, licence_class = excluded.licence_class, "
                      "licence_version = excluded.licence_version, no_commercial = excluded.no_commercial, "
                      "mime_type = excluded.mime_type, audio_path = excluded.audio_path, "
                      "removed_at = excluded.removed_at");
        for (const auto& track : tracks) {
          bind_sqlite_track(st, track);
          st.exec();
          st.reset();
        }
      });
    });
  }

  std::optional<Track> track(const std::string& id) override {
    return guarded([&]() -> std::optional<Track> {
      SQLite::Statement st(*db_, std::string("SELECT ") + k_sqlite_track_columns + " FROM tracks WHERE id = ?");
      st.bind(1, id);
      if (!st.executeStep()) return std::nullopt;
      return sqlite_track(st);
    });
  }

  std::vector<Track> tracks() override {
    return guarded([&] {
      SQLite::Statement st(*db_,
                           std::string("SELECT ") + k_sqlite_track_columns + " FROM tracks ORDER BY created_at, id");
      std::vector<Track> out;
      while (st.executeStep()) out.push_back(sqlite_track(st));
      return out;
    });
  }

  bool set_track_removed(const std::string& id, std::optional<TimePoint> removed_at) override {
    return set_removed("tracks", id, removed_at);
  }

  bool add_collection(const CollectionRecord& collection) override {
    return guarded([&] {
      SQLite::Statement st(*db_,
                           "INSERT INTO collections (id, name, description, removed_at, created_at) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING");
      bind_sqlite_collection(st, collection);
      return st.exec() > 0;
    });
  }

  std::optional<Collection> collection(const std::string& id) override {
    return guarded([&] { return find_collection(id); });
  }

  std::vector<Collection> collections() override {
    return guarded([&] {
      std::vector<std::string> ids;
      {
        SQLite::Statement st(*db_, "SELECT id FROM collections ORDER BY created_at, id");
        while (st.executeStep()) ids.push_back(st.getColumn(0).getString());
      }
      std::vector<Collection> out;
      for (const auto& id : ids) {
        if (auto c = find_collection(id)) out.push_back(std::move(*c));
      }
      return out;
    });
  }

  bool set_collection_removed(const std::string& id, std::optional<TimePoint> removed_at) override {
    return set_removed("collections", id, removed_at);
  }

  void set_collection_tracks(const std::string& collection_id,
                             std::span<const std::string> track_ids) override {
    guarded([&] {
      in_transaction([&] {
        SQLite::Statement del(*db_, "DELETE FROM collection_tracks WHERE collection_id = ?");
        del.bind(1, collection_id);
        del.exec();
        SQLite::Statement ins(
            *db_, "INSERT INTO collection_tracks (collection_id, position, track_id) VALUES (?, ?, ?)");
        for (std::size_t i = 0; i < track_ids.size(); ++i) {
          ins.bind(1, collection_id);
          ins.bind(2, static_cast<int64_t>(i));
          ins.bind(3, track_ids[i]);
          ins.exec();
          ins.reset();
        }
      });
    });
  }

  void insert_share(const Share& s, const std::string& token_digest) override {
    guarded([&] {
      SQLite::Statement st(
          *db_,
          "INSERT INTO shares (id, token_digest, target_type, target_id, visibility, created_at, "
          "expires_at, max_views, view_count, last_viewed_at, revoked_at, revoke_reason, note, "
          "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      bind_sqlite_share(st, s, token_digest);
      st.exec();
    });
  }

  std::optional<Share> share(const std::string& id) override { return find_share("id", id); }
  std::optional<Share> share_by_digest(const std::string& token_digest) override {
    return find_share("token_digest", token_digest);
  }

  std::vector<Share> shares(const std::optional<std::string>& target_id) override {
    return guarded([&] {
      std::string sql = std::string("SELECT ") + k_sqlite_share_columns + k_sqlite_shares_from;
      if (target_id) sql += " WHERE s.target_id = ?";
      sql += " ORDER BY s.created_at DESC, s.rowid DESC";
      SQLite::Statement st(*db_, sql);
      if (target_id) st.bind(1, *target_id);
      std::vector<Share> out;
      while (st.executeStep()) out.push_back(sqlite_share(st));
      return out;
    });
  }

  bool revoke_share(const std::string& id, const std::optional<std::string>& reason, TimePoint at) override {
    return guarded([&] {
      SQLite::Statement st(
          *db_,
          "UPDATE shares SET revoked_at = coalesce(revoked_at, ?1), "
          "revoke_reason = CASE WHEN revoked_at IS NULL THEN ?2 ELSE revoke_reason END WHERE id = ?3");
      st.bind(1, static_cast<int64_t>(to_unix_seconds(at)));
      bind_optional(st, 2, reason);
      st.bind(3, id);
      return st.exec() > 0;
    });
  }

  bool set_share_expiry(const std::string& id, TimePoint expires_at) override {
    return guarded([&] {
      SQLite::Statement st(*db_, "UPDATE shares SET expires_at = ? WHERE id = ?");
      st.bind(1, static_cast<int64_t>(to_unix_seconds(expires_at)));
      st.bind(2, id);
      return st.exec() > 0;
    });
  }

 private:
  // fn in a write transaction of its own, or in the one under way.
  template <typename Fn>
  void in_transaction(Fn&& fn) {
    if (in_transaction_) {
      fn();
      return;
    }
    in_transaction_ = true;
    try {
      with_write_transaction(*db_, fn);
    } catch (...) {
      in_transaction_ = false;
      throw;
    }
    in_transaction_ = false;
  }

  template <typename Fn>
  auto guarded(Fn&& fn) -> decltype(fn()) {
    return sqlite_guarded(what_, lock_wait_, std::forward<Fn>(fn));
  }

  std::optional<Collection> find_collection(const std::string& id) {
    SQLite::Statement st(
        *db_, "SELECT id, name, description, removed_at, created_at FROM collections WHERE id = ?");
    st.bind(1, id);
    if (!st.executeStep()) return std::nullopt;
    Collection c{sqlite_collection(st), {}};
    SQLite::Statement members(
        *db_, "SELECT track_id FROM collection_tracks WHERE collection_id = ? ORDER BY position");
    members.bind(1, id);
    while (members.executeStep()) c.track_ids.push_back(members.getColumn(0).getString());
    return c;
  }

  std::optional<Share> find_share(const char* column, const std::string& value) {
    return guarded([&]() -> std::optional<Share> {
      const std::string sql = std::string("SELECT ") + k_sqlite_share_columns + k_sqlite_shares_from +
                              " WHERE s." + column + " = ?";
      SQLite::Statement st(*db_, sql);
      st.bind(1, value);
      if (!st.executeStep()) return std::nullopt;
      return sqlite_share(st);
    });
  }

  bool set_removed(const char* table, const std::string& id, std::optional<TimePoint> removed_at) {
    return guarded([&] {
      SQLite::Statement st(*db_, std::string("UPDATE ") + table + " SET removed_at = ? WHERE id = ?");
      bind_optional(st, 1, removed_at);
      st.bind(2, id);
      return st.exec() > 0;
    });
  }

  const std::string what_;
  const std::chrono::milliseconds lock_wait_;
  std::unique_ptr<SQLite::Database> db_;  // statements are local to each call: none outlives it
  bool in_transaction_ = false;           // a write_transaction is under way
};

}  // namespace

std::unique_ptr<AdminStore> open_sqlite_admin(const std::filesystem::path& db_file,
                                              const StorageOptions& options) {
  return std::make_unique<SqliteAdminStore>(db_file, options);
}

}  // namespace sharelink
