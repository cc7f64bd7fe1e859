// The PostgreSQL backend's admin store: the licence registry, the catalogue and the share links as sharectl
// changes them.
#include "common/error.hpp"
#include "common/store_postgres.hpp"

namespace sharelink {
namespace {

constexpr const char* k_licence_columns = "licence_class, licence_version, commercial_use, requires_attribution";

// One session (sharectl runs one command). Write transactions hold an
// advisory lock until they end, so two sharectl changing memberships at once
// take turns, as SQLite's BEGIN IMMEDIATE makes them; single statements
// (revoke, expiry) are atomic by themselves.
class PgAdminStore final : public AdminStore {
 public:
  explicit PgAdminStore(const PgSettings& settings) : session_(settings) { session_.session(); }

  void write_transaction(const std::function<void()>& fn) override { in_transaction(fn); }

  void set_licence(const Licence& licence) override {
    exec(std::string("INSERT INTO licences (") + k_licence_columns +
             ") VALUES ($1, $2, $3, $4) ON CONFLICT (licence_class, licence_version) DO UPDATE SET "
             "commercial_use = excluded.commercial_use, requires_attribution = excluded.requires_attribution",
         PgParams(to_string(licence.licence_class), licence.licence_version, licence.commercial_use,
                  licence.requires_attribution));
  }

  std::vector<Licence> licences() override {
    const PgResult result = exec(std::string("SELECT ") + k_licence_columns +
                                     " FROM licences ORDER BY licence_class, licence_version",
                                 PgParams());
    return pg_read_rows(result, [](const PgRow& row) { return pg_licence(row, 0); });
  }

  std::optional<Licence> licence(LicenceClass licence_class, const std::string& licence_version) override {
    const PgResult result =
        exec(std::string("SELECT ") + k_licence_columns +
                 " FROM licences WHERE licence_class = $1 AND licence_version = $2",
             PgParams(to_string(licence_class), licence_version));
    if (result.rows() == 0) return std::nullopt;
    return pg_licence(result.row(0), 0);
  }

  bool add_track(const Track& track) override {
    return exec(std::string("INSERT INTO tracks (") + k_pg_track_columns +
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING",
                pg_track_params(track))
               .affected_rows() > 0;
  }

  void upsert_tracks(std::span<const Track> tracks) override {
    in_transaction([&] {
      for (const auto& track : tracks) {
        exec(std::string("INSERT INTO tracks (") + k_pg_track_columns +
                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO UPDATE SET "
                 "title = excluded.title, engine = excluded.engine, mode = excluded.mode, "
                 "measured_duration_seconds = excluded.measured_duration_seconds, "
                 "instrumental = excluded.instrumental, licence_class = excluded.licence_class, "
                 "licence_version = excluded.licence_version, no_commercial = excluded.no_commercial, "
                 "mime_type = excluded.mime_type, audio_path = excluded.audio_path, "
                 "removed_at = excluded.removed_at",
             pg_track_params(track));
      }
    });
  }

  std::optional<Track> track(const std::string& id) override {
    const PgResult result =
        exec(std::string("SELECT ") + k_pg_track_columns + " FROM tracks WHERE id = $1", PgParams(id));
    if (result.rows() == 0) return std::nullopt;
    return pg_track(result.row(0));
  }

  std::vector<Track> tracks() override {
    const PgResult result =
        exec(std::string("SELECT ") + k_pg_track_columns + " FROM tracks ORDER BY created_at, id", PgParams());
    return pg_read_rows(result, pg_track);
  }

  bool set_track_removed(const std::string& id, std::optional<TimePoint> removed_at) override {
    return exec("UPDATE tracks SET removed_at = $1 WHERE id = $2", PgParams(pg_seconds_param(removed_at), id))
               .affected_rows() > 0;
  }

  bool add_collection(const CollectionRecord& c) override {
    return exec("INSERT INTO collections (id, name, description, removed_at, created_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                PgParams(c.id, c.name, c.description, pg_seconds_param(c.removed_at), to_unix_seconds(c.created_at)))
               .affected_rows() > 0;
  }

  std::optional<Collection> collection(const std::string& id) override {
    const PgResult result =
        exec("SELECT id, name, description, removed_at, created_at FROM collections WHERE id = $1", PgParams(id));
    if (result.rows() == 0) return std::nullopt;
    Collection c = read_collection(result.row(0));
    const PgResult members =
        exec("SELECT track_id FROM collection_tracks WHERE collection_id = $1 ORDER BY position", PgParams(id));
    for (int i = 0; i < members.rows(); ++i) c.track_ids.push_back(members.row(i).string(0));
    return c;
  }

  std::vector<Collection> collections() override {
    std::vector<Collection> out;
    // One statement for the lists as well, so that both come from one snapshot.
    const PgResult result = exec(
        "SELECT c.id, c.name, c.description, c.removed_at, c.created_at, "
        "array_to_string(ARRAY(SELECT ct.track_id FROM collection_tracks ct WHERE ct.collection_id = c.id "
        "ORDER BY ct.position), ' ') FROM collections c ORDER BY c.created_at, c.id",
        PgParams());
    for (int i = 0; i < result.rows(); ++i) {
      const PgRow row = result.row(i);
      Collection c = read_collection(row);
      // Track ids are identifiers without spaces (common/ids.hpp).
      const std::string list = row.string(5);
      std::size_t start = 0;
      while (start < list.size()) {
        const auto end = list.find(' ', start);
        c.track_ids.push_back(list.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  bool set_collection_removed(const std::string& id, std::optional<TimePoint> removed_at) override {
    return exec("UPDATE collections SET removed_at = $1 WHERE id = $2", PgParams(pg_seconds_param(removed_at), id))
               .affected_rows() > 0;
  }

  void set_collection_tracks(const std::string& collection_id, std::span<const std::string> track_ids) override {
    in_transaction([&] {
      exec("DELETE FROM collection_tracks WHERE collection_id = $1", PgParams(collection_id));
      for (std::size_t i = 0; i < track_ids.size(); ++i) {
        exec("INSERT INTO collection_tracks (collection_id, position, track_id) VALUES ($1, $2, $3)",
             PgParams(collection_id, static_cast<std::int64_t>(i), track_ids[i]));
      }
    });
  }

  void insert_share(const Share& s, const std::string& token_digest) override {
    exec("INSERT INTO shares (id, token_digest, target_type, target_id, visibility, created_at, expires_at, "
         "max_views, view_count, last_viewed_at, revoked_at, revoke_reason, note, created_by) "
         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
         PgParams(s.id, token_digest, to_string(s.target_type), s.target_id, to_string(s.visibility),
                  to_unix_seconds(s.created_at), pg_seconds_param(s.expires_at), s.max_views, s.view_count,
                  pg_seconds_param(s.last_viewed_at), pg_seconds_param(s.revoked_at), s.revoke_reason, s.note,
                  s.created_by));
  }

  std::optional<Share> share(const std::string& id) override { return find_share("id", id); }
  std::optional<Share> share_by_digest(const std::string& token_digest) override {
    return find_share("token_digest", token_digest);
  }

  std::vector<Share> shares(const std::optional<std::string>& target_id) override {
    std::string sql = std::string("SELECT ") + k_pg_share_columns + " FROM shares";
    PgParams params;
    if (target_id) {
      sql += " WHERE target_id = $1";
      params.add(*target_id);
    }
    sql += " ORDER BY created_at DESC, seq DESC";
    const PgResult result = exec(sql, params);
    return pg_read_rows(result, pg_share);
  }

  bool revoke_share(const std::string& id, const std::optional<std::string>& reason, TimePoint at) override {
    return exec("UPDATE shares SET revoked_at = coalesce(revoked_at, $1), "
                "revoke_reason = CASE WHEN revoked_at IS NULL THEN $2 ELSE revoke_reason END WHERE id = $3",
                PgParams(to_unix_seconds(at), reason, id))
               .affected_rows() > 0;
  }

  bool set_share_expiry(const std::string& id, TimePoint expires_at) override {
    return exec("UPDATE shares SET expires_at = $1 WHERE id = $2", PgParams(to_unix_seconds(expires_at), id))
               .affected_rows() > 0;
  }

 private:
  static Collection read_collection(const PgRow& row) { return Collection{pg_collection(row), {}}; }

  PgResult exec(const std::string& sql, const PgParams& params) {
    // Inside a transaction, on its session: a lost session fails the
    // transaction (in_transaction drops both), it is never replaced midway.
    if (transaction_) return in_transaction_on_->exec(sql, params);
    return session_.with([&](PgConnection& c) { return c.exec(sql, params); });
  }

  // fn in a write transaction of its own, or in the one under way.
  template <typename Fn>
  void in_transaction(Fn&& fn) {
    if (transaction_) {
      fn();
      return;
    }
    PgConnection& connection = session_.with([](PgConnection& c) -> PgConnection& { return c; });
    try {
      in_transaction_on_ = &connection;
      transaction_.emplace(connection);
      connection.exec("SELECT pg_advisory_xact_lock($1)", PgParams(k_pg_admin_write_lock));
      fn();
      transaction_->commit();
      transaction_.reset();
    } catch (const DatabaseUnavailable&) {
      transaction_.reset();
      session_.lost();
      throw;
    } catch (...) {
      transaction_.reset();
      throw;
    }
  }

  std::optional<Share> find_share(const char* column, const std::string& value) {
    const PgResult result =
        exec(std::string("SELECT ") + k_pg_share_columns + " FROM shares WHERE " + column + " = $1", PgParams(value));
    if (result.rows() == 0) return std::nullopt;
    return pg_share(result.row(0));
  }

  PgSession session_;
  std::optional<PgTransaction> transaction_;  // a write_transaction is under way ...
  PgConnection* in_transaction_on_ = nullptr;  // ... on this session
};

}  // namespace

std::unique_ptr<AdminStore> open_postgres_admin(const PgSettings& settings) {
  return std::make_unique<PgAdminStore>(settings);
}

}  // namespace sharelink
