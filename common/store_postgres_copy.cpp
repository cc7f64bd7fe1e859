// The PostgreSQL backend's side of sharectl db copy: every row read from one REPEATABLE READ READ ONLY
// snapshot through cursors, and an empty database filled by COPY in one transaction.
#include <map>

#include "common/error.hpp"
#include "common/pg_migrations.hpp"
#include "common/store_postgres.hpp"

namespace sharelink {
namespace {

// Rows fetched per round trip: the audit log is read in pieces, never whole.
constexpr int k_fetch_rows = 2000;

// Calls visit with every row of sql, k_fetch_rows at a time, through a cursor
// of the snapshot under way.
template <typename Visit>
void stream_rows(PgConnection& connection, const std::string& sql, Visit&& visit) {
  connection.exec("DECLARE copy_rows NO SCROLL CURSOR FOR " + sql);
  for (;;) {
    const PgResult batch = connection.exec("FETCH " + std::to_string(k_fetch_rows) + " FROM copy_rows");
    for (int i = 0; i < batch.rows(); ++i) visit(batch.row(i));
    if (batch.rows() < k_fetch_rows) break;
  }
  connection.exec("CLOSE copy_rows");
}

void export_rows_in(PgConnection& c, RowSink& sink) {
  stream_rows(c,
              "SELECT licence_class, licence_version, commercial_use, requires_attribution FROM licences "
              "ORDER BY licence_class, licence_version",
              [&](const PgRow& row) { sink.licence(pg_licence(row, 0)); });
  stream_rows(c, std::string("SELECT ") + k_pg_track_columns + " FROM tracks ORDER BY created_at, id",
              [&](const PgRow& row) { sink.track(pg_track(row)); });
  stream_rows(c, std::string("SELECT ") + k_pg_collection_columns + " FROM collections ORDER BY created_at, id",
              [&](const PgRow& row) { sink.collection(pg_collection(row)); });
  stream_rows(c, "SELECT collection_id, position, track_id FROM collection_tracks ORDER BY collection_id, position",
              [&](const PgRow& row) { sink.collection_track(row.string(0), row.int64(1), row.string(2)); });
  stream_rows(c, std::string("SELECT ") + k_pg_share_columns + " FROM shares ORDER BY seq",
              [&](const PgRow& row) { sink.share(pg_share(row), row.string(13)); });
  stream_rows(c, std::string("SELECT ") + k_pg_audit_columns + ", ip_truncated FROM audit_records ORDER BY id",
              [&](const PgRow& row) { sink.audit_record(pg_audit_record(row), row.boolean(13)); });
}

// The COPY statement of each table, by the name k_copied_tables gives it.
const std::map<std::string, std::string>& copy_statements() {
  static const std::map<std::string, std::string> statements = {
      {"licences", "COPY licences (licence_class, licence_version, commercial_use, requires_attribution) FROM STDIN"},
      {"tracks",
       "COPY tracks (id, title, engine, mode, measured_duration_seconds, instrumental, licence_class, "
       "licence_version, no_commercial, mime_type, audio_path, removed_at, created_at) FROM STDIN"},
      {"collections", "COPY collections (id, name, description, removed_at, created_at) FROM STDIN"},
      {"collection_tracks", "COPY collection_tracks (collection_id, position, track_id) FROM STDIN"},
      {"shares",
       "COPY shares (id, token_digest, target_type, target_id, visibility, created_at, expires_at, max_views, "
       "view_count, last_viewed_at, revoked_at, revoke_reason, note, created_by) FROM STDIN"},
      {"audit_records",
       "COPY audit_records (id, ts, event, outcome, status, client_ip, share_id, token_fp, request_id, "
       "user_agent, actor, action, detail, ip_truncated) FROM STDIN"},
  };
  return statements;
}

// One transaction on the target: emptied of what "sharectl init" writes,
// then filled table by table with COPY (the rows arrive table by table, so
// one COPY is open at a time). Nothing is visible before commit().
class PgImport final : public RowImport {
 public:
  explicit PgImport(const PgSettings& settings) : connection_(open_session(settings, false)), what_(settings.shown()) {
    migrate_postgres(connection_);
    transaction_.emplace(connection_);
    // Another copy or a sharectl writing meanwhile would make "empty" untrue.
    connection_.exec("SELECT pg_advisory_xact_lock($1)", PgParams(k_pg_admin_write_lock));
    connection_.exec("LOCK TABLE licences, tracks, collections, collection_tracks, shares, audit_records "
                     "IN SHARE ROW EXCLUSIVE MODE");
    const PgRow counts = connection_
                             .exec("SELECT (SELECT count(*) FROM tracks), (SELECT count(*) FROM collections), "
                                   "(SELECT count(*) FROM shares), (SELECT count(*) FROM audit_records "
                                   "WHERE NOT (event = 'admin' AND action IS NOT DISTINCT FROM 'init'))")
                             .row(0);
    const std::int64_t tracks = counts.int64(0), collections = counts.int64(1), shares = counts.int64(2),
                       records = counts.int64(3);
    if (tracks + collections + shares + records > 0) {
      throw Error("copy target " + what_ + " is not empty (" + std::to_string(tracks) + " tracks, " +
                  std::to_string(collections) + " collections, " + std::to_string(shares) + " share links, " +
                  std::to_string(records) + " audit records): copy into a new database");
    }
    // What "sharectl init" wrote (the default licences, its records) is replaced by the source's.
    connection_.exec("DELETE FROM licences");
    connection_.exec("DELETE FROM audit_records");
  }

  void licence(const Licence& l) override {
    write("licences", PgParams(to_string(l.licence_class), l.licence_version, l.commercial_use, l.requires_attribution));
  }

  void track(const Track& t) override { write("tracks", pg_track_params(t)); }

  void collection(const CollectionRecord& c) override {
    write("collections",
          PgParams(c.id, c.name, c.description, pg_seconds_param(c.removed_at), to_unix_seconds(c.created_at)));
  }

  void collection_track(const std::string& collection_id, std::int64_t position, const std::string& track_id) override {
    write("collection_tracks", PgParams(collection_id, position, track_id));
  }

  void share(const Share& s, const std::string& token_digest) override {
    write("shares", PgParams(s.id, token_digest, to_string(s.target_type), s.target_id, to_string(s.visibility),
                             to_unix_seconds(s.created_at), pg_seconds_param(s.expires_at), s.max_views, s.view_count,
                             pg_seconds_param(s.last_viewed_at), pg_seconds_param(s.revoked_at), s.revoke_reason,
                             s.note, s.created_by));
  }

  void audit_record(const AuditRecord& r, bool ip_aged) override {
    PgParams row;
    row.add(r.id);
    add_pg_audit_fields(row, r).add(ip_aged);
    write("audit_records", row);
  }

  CopyCounts commit() override {
    finish_table();
    // The ids were kept: new records must be numbered after them.
    connection_.exec(
        "SELECT setval(pg_get_serial_sequence('audit_records', 'id'), max(id)) FROM audit_records "
        "HAVING max(id) IS NOT NULL");
    transaction_->commit();
    transaction_.reset();
    CopyCounts counts;
    for (const char* table : k_copied_tables) counts.emplace_back(table, counts_[table]);
    return counts;
  }

 private:
  void write(const std::string& table, const PgParams& row) {
    if (table != table_) {
      finish_table();
      copy_.emplace(connection_, copy_statements().at(table));
      table_ = table;
    }
    copy_->row(row);
    ++counts_[table];
  }

  void finish_table() {
    if (!copy_) return;
    copy_->finish();
    copy_.reset();
  }

  PgConnection connection_;
  const std::string what_;
  std::optional<PgTransaction> transaction_;
  std::optional<PgCopyIn> copy_;  // of table_
  std::string table_;
  std::map<std::string, std::int64_t> counts_;
};

}  // namespace

void export_postgres_rows(const PgSettings& settings, RowSink& sink) {
  PgConnection connection = open_session(settings);
  PgTransaction snapshot(connection, {PgIsolation::repeatable_read, true});
  export_rows_in(connection, sink);
  snapshot.commit();
}

std::unique_ptr<RowImport> open_postgres_import(const PgSettings& settings) {
  return std::make_unique<PgImport>(settings);
}

}  // namespace sharelink
