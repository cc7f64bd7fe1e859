// The PostgreSQL backend: the installation object, its sessions, the reader of the resolver and media check,
// the view store, db check and db backup.
#include "common/store_postgres.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <numeric>
#include <string_view>

#include "common/error.hpp"
#include "common/pg_migrations.hpp"
#include "common/postgres_url.hpp"
#include "common/schema.hpp"
#include "common/store_sqlite.hpp"

namespace sharelink {
namespace {

// Reader sessions: one per worker thread that may be inside a resolve at
// once, up to a bound, so that several daemons stay well inside PostgreSQL's
// max_connections (100 by default): each reader is one server process.
constexpr std::size_t k_min_readers = 4;
constexpr std::size_t k_max_readers = 32;
// View store sessions: the check-and-increment of links with max_views is
// one short statement; a few sessions serve every worker.
constexpr std::size_t k_max_view_sessions = 8;

const PgStatement k_share_by_digest{
    "reader_share_by_digest",
    "SELECT id, target_type, target_id, visibility, expires_at, max_views, view_count, revoked_at "
    "FROM shares WHERE token_digest = $1"};
const PgStatement k_share_by_id{
    "reader_share_by_id",
    "SELECT id, target_type, target_id, visibility, expires_at, max_views, view_count, revoked_at "
    "FROM shares WHERE id = $1"};
const PgStatement k_track{
    "reader_track",
    "SELECT t.id, t.title, t.engine, t.mode, t.measured_duration_seconds, t.instrumental, t.licence_class, "
    "t.licence_version, t.no_commercial, t.audio_path, t.removed_at, l.commercial_use, l.requires_attribution "
    "FROM tracks t LEFT JOIN licences l ON l.licence_class = t.licence_class "
    "AND l.licence_version = t.licence_version WHERE t.id = $1"};
const PgStatement k_track_media{"reader_track_media",
                                "SELECT audio_path, mime_type, removed_at FROM tracks WHERE id = $1"};
const PgStatement k_collection{
    "reader_collection", "SELECT id, name, description, removed_at, created_at FROM collections WHERE id = $1"};
const PgStatement k_collection_tracks{
    "reader_collection_tracks",
    "SELECT t.id, t.title, t.engine, t.mode, t.measured_duration_seconds, t.instrumental, t.licence_class, "
    "t.licence_version, t.no_commercial, t.audio_path, t.removed_at, l.commercial_use, l.requires_attribution "
    "FROM collection_tracks ct JOIN tracks t ON t.id = ct.track_id "
    "LEFT JOIN licences l ON l.licence_class = t.licence_class AND l.licence_version = t.licence_version "
    "WHERE ct.collection_id = $1 ORDER BY ct.position"};
const PgStatement k_collection_contains{
    "reader_collection_contains", "SELECT 1 FROM collection_tracks WHERE collection_id = $1 AND track_id = $2"};
const PgStatement k_take_view{
    "views_take",
    "UPDATE shares SET view_count = view_count + 1, last_viewed_at = $2 "
    "WHERE id = $1 AND (max_views IS NULL OR view_count < max_views)"};
const PgStatement k_add_views{
    "views_add",
    "UPDATE shares SET view_count = view_count + $2, "
    "last_viewed_at = greatest(coalesce(last_viewed_at, $3), $3) WHERE id = $1"};

// One session, used by one thread at a time (CatalogReader's contract). A
// snapshot is one REPEATABLE READ READ ONLY transaction: every statement of a
// resolve sees the database as it was at its first statement, and that is
// after every commit that came before begin_snapshot().
class PgCatalogReader final : public CatalogReader {
 public:
  explicit PgCatalogReader(const PgSettings& settings) : session_(settings) { session_.session(); }

  void begin_snapshot() override {
    session_.with([&](PgConnection& c) { c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); });
  }
  void end_snapshot() override {
    session_.with([&](PgConnection& c) { c.exec("COMMIT"); });
  }
  void abandon_snapshot() noexcept override {
    try {
      PgConnection* c = session_.current();
      if (c != nullptr && !c->idle_outside_transaction()) c->exec("ROLLBACK");
    } catch (...) {  // NOLINT(bugprone-empty-catch): the owner discards a reader that failed
      session_.lost();
    }
  }

  std::optional<ShareRecord> share_by_digest(const std::string& token_digest) override {
    return find_share(k_share_by_digest, token_digest);
  }
  std::optional<ShareRecord> share_by_id(const std::string& share_id) override {
    return find_share(k_share_by_id, share_id);
  }

  std::optional<CatalogTrack> track(const std::string& track_id) override {
    return session_.with([&](PgConnection& c) -> std::optional<CatalogTrack> {
      const PgResult result = c.exec(k_track, PgParams(track_id));
      if (result.rows() == 0) return std::nullopt;
      return pg_catalog_track(result.row(0));
    });
  }

  std::optional<TrackMedia> track_media(const std::string& track_id) override {
    return session_.with([&](PgConnection& c) -> std::optional<TrackMedia> {
      const PgResult result = c.exec(k_track_media, PgParams(track_id));
      if (result.rows() == 0) return std::nullopt;
      const PgRow row = result.row(0);
      return TrackMedia{row.string(0), row.string(1), pg_optional_seconds(row, 2)};
    });
  }

  std::optional<CollectionRecord> collection(const std::string& collection_id) override {
    return session_.with([&](PgConnection& c) -> std::optional<CollectionRecord> {
      const PgResult result = c.exec(k_collection, PgParams(collection_id));
      if (result.rows() == 0) return std::nullopt;
      return pg_collection(result.row(0));
    });
  }

  CollectionRows collection_tracks(const std::string& collection_id) override {
    const PgResult result =
        session_.with([&](PgConnection& c) { return c.exec(k_collection_tracks, PgParams(collection_id)); });
    auto tracks = std::make_shared<std::vector<CatalogTrack>>();
    tracks->reserve(static_cast<std::size_t>(result.rows()));
    for (int i = 0; i < result.rows(); ++i) tracks->push_back(pg_catalog_track(result.row(i)));
    return tracks;
  }

  bool collection_contains(const std::string& collection_id, const std::string& track_id) override {
    return session_.with(
        [&](PgConnection& c) { return c.exec(k_collection_contains, PgParams(collection_id, track_id)).rows() > 0; });
  }

  void ping() override {
    session_.with([&](PgConnection& c) { c.exec("SELECT 1"); });
  }

 private:
  std::optional<ShareRecord> find_share(const PgStatement& statement, const std::string& key) {
    return session_.with([&](PgConnection& c) -> std::optional<ShareRecord> {
      const PgResult result = c.exec(statement, PgParams(key));
      if (result.rows() == 0) return std::nullopt;
      return pg_share_record(result.row(0));
    });
  }

  PgSession session_;
};

// A bounded pool of sessions: the check-and-increment is one statement, exact
// across sessions and daemons (PostgreSQL re-reads the row under its row lock
// before it applies the WHERE clause).
class PgViewStore final : public ViewStore {
 public:
  PgViewStore(const PgSettings& settings, std::size_t sessions)
      : settings_(settings), pool_(settings.connect, pool_options(sessions)) {
    // The schema check, once: the pool's sessions are then plain connections.
    open_session(settings_);
  }

  bool take_view_under_limit(const std::string& share_id, TimePoint now) override {
    auto lease = pool_.acquire();
    return lease->exec(k_take_view, PgParams(share_id, to_unix_seconds(now))).affected_rows() == 1;
  }

  void add_views(std::span<const ViewIncrement> batch) override {
    if (batch.empty()) return;
    // Rows are locked in id order, so that two daemons flushing at once
    // cannot deadlock on each other's rows.
    std::vector<std::size_t> order(batch.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return batch[a].share_id < batch[b].share_id; });
    auto lease = pool_.acquire();
    PgTransaction transaction(*lease);
    for (const std::size_t i : order) {
      const ViewIncrement& increment = batch[i];
      lease->exec(k_add_views, PgParams(increment.share_id, increment.views,
                                        to_unix_seconds(increment.last_viewed_at)));
    }
    transaction.commit();
  }

 private:
  static PgPoolOptions pool_options(std::size_t sessions) {
    PgPoolOptions options;
    options.max_connections = std::max<std::size_t>(1, sessions);
    return options;
  }

  const PgSettings settings_;
  PgConnectionPool pool_;
};

// One of db check's two reports (kind "main": licences, catalogue and share
// links; "audit": the audit log), both of the one database.
DatabaseCheck check_postgres(const PgSettings& settings, const char* kind) {
  const bool audit = std::string_view(kind) == "audit";
  DatabaseCheck check;
  check.kind = kind;
  check.location = redact_postgres_url(settings.connect.url);
  check.expected_schema_version = latest_schema_version(SchemaKind::postgresql);
  const auto add = [&](std::string problem) {
    if (check.problems.size() < k_max_check_problems) {
      check.problems.push_back(std::move(problem));
    } else if (check.problems.size() == k_max_check_problems) {
      check.problems.emplace_back("... more");
    }
  };
  try {
    PgConnection connection = open_session(settings, false);
    check.exists = true;
    const auto version = postgres_schema_version(connection);
    check.schema_version = version.value_or(0);
    if (!version) {
      add(settings.shown() + " has no shared-link tables (run \"sharectl init\")");
      return check;
    }
    try {
      require_current_postgres_schema(connection);
    } catch (const DatabaseUnavailable&) {
      throw;
    } catch (const Error& e) {
      add(e.what());
      return check;
    }
    PgTransaction snapshot(connection, {PgIsolation::repeatable_read, true});
    // What foreign keys cannot say: references without a constraint, and
    // values the application relies on.
    const char* const findings[] = {
        "SELECT 'share link ' || id || ' points to a missing track ' || target_id FROM shares s "
        "WHERE target_type = 'track' AND NOT EXISTS (SELECT 1 FROM tracks t WHERE t.id = s.target_id) "
        "ORDER BY id LIMIT 101",
        "SELECT 'share link ' || id || ' points to a missing collection ' || target_id FROM shares s "
        "WHERE target_type = 'collection' AND NOT EXISTS (SELECT 1 FROM collections c WHERE c.id = s.target_id) "
        "ORDER BY id LIMIT 101",
        "SELECT 'share link ' || id || ' has view_count ' || view_count || ' above max_views ' || max_views "
        "FROM shares WHERE max_views IS NOT NULL AND view_count > max_views ORDER BY id LIMIT 101",
        "SELECT 'share link ' || id || ' has a negative view_count' FROM shares WHERE view_count < 0 "
        "ORDER BY id LIMIT 101",
        "SELECT 'share link ' || id || ' has a malformed token digest' FROM shares "
        "WHERE token_digest !~ '^[0-9a-f]{64}$' ORDER BY id LIMIT 101",
        "SELECT 'track ' || id || ' has a licence class outside the registry''s four: ' || licence_class "
        "FROM tracks WHERE licence_class NOT IN ('commercial_cleared', 'commercial_enterprise', "
        "'personal_only', 'unclear') ORDER BY id LIMIT 101",
        // A copy that kept its ids must have moved the sequences past them.
        "SELECT 'the audit_records id sequence (' || coalesce(s.last_value, 0) || ') is behind the largest id ' "
        "|| m.top FROM (SELECT max(id) AS top FROM audit_records) m, pg_sequences s "
        "WHERE s.schemaname = current_schema() AND s.sequencename = 'audit_records_id_seq' "
        "AND m.top > coalesce(s.last_value, 0)",
    };
    const std::size_t first_audit_finding = std::size(findings) - 1;
    for (std::size_t i = audit ? first_audit_finding : 0; i < (audit ? std::size(findings) : first_audit_finding);
         ++i) {
      const char* sql = findings[i];
      const PgResult result = connection.exec(sql);
      for (int row = 0; row < result.rows(); ++row) add(result.row(row).string(0));
    }
    snapshot.commit();
  } catch (const DatabaseUnavailable& e) {
    add(std::string("cannot reach ") + settings.shown() + ": " + e.what());
  } catch (const Error& e) {
    add(std::string("cannot check ") + settings.shown() + ": " + e.what());
  }
  return check;
}

class PostgresStorage final : public StorageBackend {
 public:
  explicit PostgresStorage(PgSettings settings) : settings_(std::move(settings)) {}

  std::vector<std::pair<std::string, std::string>> describe() const override {
    return {{"backend", "postgresql"}, {"database", redact_postgres_url(settings_.connect.url)}};
  }

  int schema_version() const override { return latest_schema_version(SchemaKind::postgresql); }

  std::vector<std::string> schema_problems() const override {
    try {
      PgConnection connection = open_session(settings_, false);
      require_current_postgres_schema(connection);
      return {};
    } catch (const DatabaseUnavailable& e) {
      return {"cannot reach " + settings_.shown() + ": " + e.what()};
    } catch (const Error& e) {
      return {e.what()};
    }
  }

  StorageMigration migrate() override {
    PgConnection connection = open_session(settings_, false);
    const SchemaMigration migration = migrate_postgres(connection);
    // One database holds both: the audit log's schema moves with the catalogue's.
    return {migration, migration};
  }

  std::unique_ptr<CatalogReader> open_reader() override { return std::make_unique<PgCatalogReader>(settings_); }
  std::unique_ptr<ViewStore> open_view_store() override {
    return std::make_unique<PgViewStore>(settings_, k_max_view_sessions);
  }
  std::unique_ptr<AuditStorage> open_audit(AuditUse /*use*/) override { return open_postgres_audit(settings_); }
  std::unique_ptr<AdminStore> open_admin() override { return open_postgres_admin(settings_); }

  std::size_t reader_connections(int server_threads) const override {
    return std::clamp<std::size_t>(static_cast<std::size_t>(std::max(server_threads, 0)), k_min_readers,
                                   k_max_readers);
  }

  std::vector<BackupResult> backup(const std::filesystem::path& file) override {
    const std::filesystem::path audit_file = audit_backup_path(file);
    auto import = open_sqlite_import(file, audit_file);
    export_postgres_rows(settings_, *import);
    import->commit();
    std::vector<BackupResult> results;
    for (const auto& [copy, kind] : {std::pair{file, SchemaKind::main}, std::pair{audit_file, SchemaKind::audit}}) {
      BackupResult result;
      result.source = redact_postgres_url(settings_.connect.url);
      result.copy = copy;
      std::error_code ec;
      result.bytes = std::filesystem::file_size(copy, ec);
      result.schema_version = latest_schema_version(kind);
      results.push_back(std::move(result));
    }
    return results;
  }

  std::vector<DatabaseCheck> check() override {
    return {check_postgres(settings_, "main"), check_postgres(settings_, "audit")};
  }

  void export_rows(RowSink& sink) override { export_postgres_rows(settings_, sink); }
  std::unique_ptr<RowImport> open_import() override { return open_postgres_import(settings_); }

 private:
  const PgSettings settings_;
};

}  // namespace

std::string PgSettings::shown() const { return "database " + redact_postgres_url(connect.url); }

PgConnection open_session(const PgSettings& settings, bool require_schema) {
  PgConnection connection(settings.connect);
  if (require_schema) {
    try {
      require_current_postgres_schema(connection);
    } catch (const DatabaseUnavailable&) {
      throw;
    } catch (const Error& e) {
      // Missing or of another version: unavailable to this process for now.
      throw DatabaseUnavailable(e.what());
    }
  }
  return connection;
}

PgConnection& PgSession::session() {
  if (connection_ && !connection_->healthy()) connection_.reset();
  if (!connection_) connection_.emplace(open_session(settings_));
  return *connection_;
}

std::unique_ptr<StorageBackend> open_postgres_storage(PgConnectOptions connect, const StorageOptions& options) {
  if (const auto problem = postgres_url_problem(connect.url)) {
    throw Error("database.url " + redact_postgres_url(connect.url) + " " + *problem);
  }
  // Every session of the backend, the pooled ones included, waits at most lock_wait for a lock.
  connect.lock_timeout = std::max(std::chrono::milliseconds(1), options.lock_wait);
  return std::make_unique<PostgresStorage>(PgSettings{std::move(connect), options});
}

}  // namespace sharelink
