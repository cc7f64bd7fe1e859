// The SQLite backend's admin store: the licence registry, the catalogue and the share links as sharectl
// changes them.
#include "common/error.hpp"
#include "common/store_sqlite_connection.hpp"

namespace sharelink {
namespace {

constexpr const char* k_track_columns =
    "id, title, engine, mode, measured_duration_seconds, instrumental, licence_class, licence_version, "
    "no_commercial, mime_type, audio_path, removed_at, created_at";
constexpr const char* k_share_columns =
    "id, target_type, target_id, visibility, created_at, expires_at, max_views, view_count, last_viewed_at, "
    "revoked_at, revoke_reason, note, created_by, token_digest";

Track read_track(SQLite::Statement& st) {
  Track t;
  t.id = st.getColumn(0).getString();
  t.title = st.getColumn(1).getString();
  t.engine = st.getColumn(2).getString();
  t.mode = st.getColumn(3).getString();
  t.measured_duration_seconds = optional_real(st.getColumn(4));
  t.instrumental = st.getColumn(5).getInt() != 0;
  t.licence_class = st.getColumn(6).getString();
  t.licence_version = st.getColumn(7).getString();
  t.no_commercial = st.getColumn(8).getInt() != 0;
  t.mime_type = st.getColumn(9).getString();
  t.audio_path = st.getColumn(10).getString();
  t.removed_at = optional_time(st.getColumn(11));
  t.created_at = from_unix_seconds(st.getColumn(12).getInt64());
  return t;
}

void bind_track(SQLite::Statement& st, const Track& t) {
  st.bind(1, t.id);
  st.bind(2, t.title);
  st.bind(3, t.engine);
  st.bind(4, t.mode);
  bind_optional(st, 5, t.measured_duration_seconds);
  st.bind(6, t.instrumental ? 1 : 0);
  st.bind(7, t.licence_class);
  st.bind(8, t.licence_version);
  st.bind(9, t.no_commercial ? 1 : 0);
  st.bind(10, t.mime_type);
  st.bind(11, t.audio_path);
  bind_optional(st, 12, t.removed_at);
  st.bind(13, static_cast<int64_t>(to_unix_seconds(t.created_at)));
}

Share read_share(SQLite::Statement& st) {
  Share s;
  s.id = st.getColumn(0).getString();
  s.target_type = read_target_type(st.getColumn(1));
  s.target_id = st.getColumn(2).getString();
  s.visibility = read_visibility(st.getColumn(3));
  s.created_at = from_unix_seconds(st.getColumn(4).getInt64());
  s.expires_at = optional_time(st.getColumn(5));
  s.max_views = optional_int(st.getColumn(6));
  s.view_count = st.getColumn(7).getInt64();
  s.last_viewed_at = optional_time(st.getColumn(8));
  s.revoked_at = optional_time(st.getColumn(9));
  s.revoke_reason = optional_text(st.getColumn(10));
  s.note = optional_text(st.getColumn(11));
  s.created_by = st.getColumn(12).getString();
  // The fingerprint is the digest's first 12 hex characters: both are SHA-256 of the token.
  s.token_fp = st.getColumn(13).getString().substr(0, 12);
  return s;
}

Licence read_licence(SQLite::Statement& st) {
  // The registry's CHECK constraint admits the four classes only.
  const auto licence_class = parse_licence_class(st.getColumn(0).getText());
  if (!licence_class)
    throw Error("the licence registry holds an unknown class \"" + st.getColumn(0).getString() + "\"");
  return {*licence_class, st.getColumn(1).getString(), st.getColumn(2).getInt() != 0,
          st.getColumn(3).getInt() != 0};
}

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
      st.bind(1, to_string(licence.licence_class));
      st.bind(2, licence.licence_version);
      st.bind(3, licence.commercial_use ? 1 : 0);
      st.bind(4, licence.requires_attribution ? 1 : 0);
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
      while (st.executeStep()) out.push_back(read_licence(st));
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
      return read_licence(st);
    });
  }

  bool add_track(const Track& track) override {
    return guarded([&] {
      SQLite::Statement st(
          *db_, std::string("INSERT INTO tracks (") + k_track_columns +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING");
      bind_track(st, track);
      return st.exec() > 0;
    });
  }

  void upsert_tracks(std::span<const Track> tracks) override {
    guarded([&] {
      in_transaction([&] {
        SQLite::Statement st(
            *db_, std::string("INSERT INTO tracks (") + k_track_columns +
                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                      "title = excluded.title, engine = excluded.engine, mode = excluded.mode, "
                      "measured_duration_seconds = excluded.measured_duration_seconds, "
                      "instrumental = excluded.instrumental, licence_class = excluded.licence_class, "
                      "licence_version = excluded.licence_version, no_commercial = excluded.no_commercial, "
                      "mime_type = excluded.mime_type, audio_path = excluded.audio_path, "
                      "removed_at = excluded.removed_at");
        for (const auto& track : tracks) {
          bind_track(st, track);
          st.exec();
          st.reset();
        }
      });
    });
  }

  std::optional<Track> track(const std::string& id) override {
    return guarded([&]() -> std::optional<Track> {
      SQLite::Statement st(*db_, std::string("SELECT ") + k_track_columns + " FROM tracks WHERE id = ?");
      st.bind(1, id);
      if (!st.executeStep()) return std::nullopt;
      return read_track(st);
    });
  }

  std::vector<Track> tracks() override {
    return guarded([&] {
      SQLite::Statement st(*db_,
                           std::string("SELECT ") + k_track_columns + " FROM tracks ORDER BY created_at, id");
      std::vector<Track> out;
      while (st.executeStep()) out.push_back(read_track(st));
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
      st.bind(1, collection.id);
      st.bind(2, collection.name);
      bind_optional(st, 3, collection.description);
      bind_optional(st, 4, collection.removed_at);
      st.bind(5, static_cast<int64_t>(to_unix_seconds(collection.created_at)));
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
      st.bind(1, s.id);
      st.bind(2, token_digest);
      st.bind(3, to_string(s.target_type));
      st.bind(4, s.target_id);
      st.bind(5, to_string(s.visibility));
      st.bind(6, static_cast<int64_t>(to_unix_seconds(s.created_at)));
      bind_optional(st, 7, s.expires_at);
      bind_optional(st, 8, s.max_views);
      st.bind(9, static_cast<int64_t>(s.view_count));
      bind_optional(st, 10, s.last_viewed_at);
      bind_optional(st, 11, s.revoked_at);
      bind_optional(st, 12, s.revoke_reason);
      bind_optional(st, 13, s.note);
      st.bind(14, s.created_by);
      st.exec();
    });
  }

  std::optional<Share> share(const std::string& id) override { return find_share("id", id); }
  std::optional<Share> share_by_digest(const std::string& token_digest) override {
    return find_share("token_digest", token_digest);
  }

  std::vector<Share> shares(const std::optional<std::string>& target_id) override {
    return guarded([&] {
      std::string sql = std::string("SELECT ") + k_share_columns + " FROM shares";
      if (target_id) sql += " WHERE target_id = ?";
      sql += " ORDER BY created_at DESC, rowid DESC";
      SQLite::Statement st(*db_, sql);
      if (target_id) st.bind(1, *target_id);
      std::vector<Share> out;
      while (st.executeStep()) out.push_back(read_share(st));
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
    try {
      return fn();
    } catch (const SQLite::Exception& e) {
      throw_storage_failure(e, what_, lock_wait_);
    }
  }

  std::optional<Collection> find_collection(const std::string& id) {
    SQLite::Statement st(
        *db_, "SELECT id, name, description, removed_at, created_at FROM collections WHERE id = ?");
    st.bind(1, id);
    if (!st.executeStep()) return std::nullopt;
    Collection c;
    c.id = st.getColumn(0).getString();
    c.name = st.getColumn(1).getString();
    c.description = optional_text(st.getColumn(2));
    c.removed_at = optional_time(st.getColumn(3));
    c.created_at = from_unix_seconds(st.getColumn(4).getInt64());
    SQLite::Statement members(
        *db_, "SELECT track_id FROM collection_tracks WHERE collection_id = ? ORDER BY position");
    members.bind(1, id);
    while (members.executeStep()) c.track_ids.push_back(members.getColumn(0).getString());
    return c;
  }

  std::optional<Share> find_share(const char* column, const std::string& value) {
    return guarded([&]() -> std::optional<Share> {
      SQLite::Statement st(
          *db_, std::string("SELECT ") + k_share_columns + " FROM shares WHERE " + column + " = ?");
      st.bind(1, value);
      if (!st.executeStep()) return std::nullopt;
      return read_share(st);
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
