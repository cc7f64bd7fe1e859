// The SQLite backend's side of sharectl db copy: every row of both files read from one snapshot each, and
// new files written from another installation's rows.
#include <map>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/store_sqlite.hpp"
#include "common/store_sqlite_connection.hpp"

namespace sharelink {
namespace {

// Runs fn on a read-only connection inside one read transaction: one snapshot.
template <typename Fn>
void read_snapshot(const std::filesystem::path& file, SchemaKind kind, Fn&& fn) {
  sharelink::require_current_schema(file, kind);
  const char* name = kind == SchemaKind::audit ? "audit database " : "database ";
  try {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY, k_busy_timeout_ms);
    db.exec("BEGIN");
    fn(db);
    db.exec("COMMIT");
  } catch (const SQLite::Exception& e) {
    throw_storage_failure(e, "cannot read " + std::string(name) + file.string(),
                          std::chrono::milliseconds(k_busy_timeout_ms));
  }
}

void export_main(SQLite::Database& db, RowSink& sink) {
  {
    SQLite::Statement st(db,
                         "SELECT licence_class, licence_version, commercial_use, requires_attribution FROM licences "
                         "ORDER BY licence_class, licence_version");
    while (st.executeStep()) {
      const auto licence_class = parse_licence_class(st.getColumn(0).getText());
      if (!licence_class) {
        throw Error("the licence registry holds an unknown class \"" + st.getColumn(0).getString() + "\"");
      }
      sink.licence({*licence_class, st.getColumn(1).getString(), st.getColumn(2).getInt() != 0,
                    st.getColumn(3).getInt() != 0});
    }
  }
  {
    SQLite::Statement st(db,
                         "SELECT id, title, engine, mode, measured_duration_seconds, instrumental, licence_class, "
                         "licence_version, no_commercial, mime_type, audio_path, removed_at, created_at "
                         "FROM tracks ORDER BY rowid");
    while (st.executeStep()) {
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
      sink.track(t);
    }
  }
  {
    SQLite::Statement st(db, "SELECT id, name, description, removed_at, created_at FROM collections ORDER BY rowid");
    while (st.executeStep()) {
      CollectionRecord c;
      c.id = st.getColumn(0).getString();
      c.name = st.getColumn(1).getString();
      c.description = optional_text(st.getColumn(2));
      c.removed_at = optional_time(st.getColumn(3));
      c.created_at = from_unix_seconds(st.getColumn(4).getInt64());
      sink.collection(c);
    }
  }
  {
    SQLite::Statement st(db,
                         "SELECT collection_id, position, track_id FROM collection_tracks "
                         "ORDER BY collection_id, position");
    while (st.executeStep()) {
      sink.collection_track(st.getColumn(0).getString(), st.getColumn(1).getInt64(), st.getColumn(2).getString());
    }
  }
  {
    SQLite::Statement st(db,
                         "SELECT id, target_type, target_id, visibility, created_at, expires_at, max_views, "
                         "view_count, last_viewed_at, revoked_at, revoke_reason, note, created_by, token_digest "
                         "FROM shares ORDER BY rowid");
    while (st.executeStep()) {
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
      const std::string digest = st.getColumn(13).getString();
      s.token_fp = digest.substr(0, 12);
      sink.share(s, digest);
    }
  }
}

std::string text_or_empty(const SQLite::Column& column) {
  return column.isNull() ? std::string() : column.getString();
}

void export_audit(SQLite::Database& db, RowSink& sink) {
  SQLite::Statement st(db,
                       "SELECT id, ts, event, outcome, status, client_ip, share_id, token_fp, request_id, "
                       "user_agent, actor, action, detail, ip_truncated FROM audit_records ORDER BY id");
  while (st.executeStep()) {
    AuditRecord r;
    r.id = st.getColumn(0).getInt64();
    r.ts = from_unix_millis(st.getColumn(1).getInt64());
    r.event = text_or_empty(st.getColumn(2));
    r.outcome = text_or_empty(st.getColumn(3));
    if (!st.getColumn(4).isNull()) r.status = st.getColumn(4).getInt();
    r.client_ip = text_or_empty(st.getColumn(5));
    r.share_id = text_or_empty(st.getColumn(6));
    r.token_fp = text_or_empty(st.getColumn(7));
    r.request_id = text_or_empty(st.getColumn(8));
    r.user_agent = text_or_empty(st.getColumn(9));
    r.actor = text_or_empty(st.getColumn(10));
    r.action = text_or_empty(st.getColumn(11));
    r.detail = text_or_empty(st.getColumn(12));
    sink.audit_record(r, st.getColumn(13).getInt() != 0);
  }
}

void bind_text_or_null(SQLite::Statement& st, int index, const std::string& text) {
  if (text.empty()) st.bind(index); else st.bind(index, text);
}

void require_new(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(file, ec))) {
    throw Error("copy target " + file.string() +
                " already exists (a copy writes new files: remove it or choose another name)");
  }
}

// Removes a database file with the journal files SQLite may leave beside it.
void remove_database_files(const std::filesystem::path& file) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::path path = file;
    path += suffix;
    remove_quietly(path);
  }
}

// Writes both files under temporary names beside the targets, in one write
// transaction each; commit() commits both, syncs them and renames them into
// place. Until then, nothing exists under the targets' names.
class SqliteImport final : public RowImport {
 public:
  SqliteImport(std::filesystem::path db_file, std::filesystem::path audit_file)
      : db_file_(std::move(db_file)), audit_file_(std::move(audit_file)) {
    require_new(db_file_);
    require_new(audit_file_);
    const std::string tag = ".partial-" + random_hex(6);
    db_partial_ = db_file_;
    db_partial_ += tag;
    audit_partial_ = audit_file_;
    audit_partial_ += tag;
    try {
      create_private_file(db_partial_);
      created_db_ = true;
      create_private_file(audit_partial_);
      created_audit_ = true;
      migrate_database(db_partial_, SchemaKind::main);
      migrate_database(audit_partial_, SchemaKind::audit);
      main_ = open_connection(db_partial_, SchemaKind::main);
      audit_ = open_connection(audit_partial_, SchemaKind::audit);
      main_->exec("BEGIN IMMEDIATE");
      audit_->exec("BEGIN IMMEDIATE");
      licence_.emplace(*main_,
                       "INSERT INTO licences (licence_class, licence_version, commercial_use, "
                       "requires_attribution) VALUES (?, ?, ?, ?)");
      track_.emplace(*main_,
                     "INSERT INTO tracks (id, title, engine, mode, measured_duration_seconds, instrumental, "
                     "licence_class, licence_version, no_commercial, mime_type, audio_path, removed_at, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      collection_.emplace(*main_,
                          "INSERT INTO collections (id, name, description, removed_at, created_at) "
                          "VALUES (?, ?, ?, ?, ?)");
      member_.emplace(*main_,
                      "INSERT INTO collection_tracks (collection_id, position, track_id) VALUES (?, ?, ?)");
      share_.emplace(*main_,
                     "INSERT INTO shares (id, token_digest, target_type, target_id, visibility, created_at, "
                     "expires_at, max_views, view_count, last_viewed_at, revoked_at, revoke_reason, note, "
                     "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      record_.emplace(*audit_,
                      "INSERT INTO audit_records (id, ts, event, outcome, status, client_ip, share_id, token_fp, "
                      "request_id, user_agent, actor, action, detail, ip_truncated) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    } catch (const SQLite::Exception& e) {
      discard();
      throw_storage_failure(e, "cannot create copy " + db_file_.string(),
                            std::chrono::milliseconds(k_busy_timeout_ms));
    } catch (...) {
      discard();
      throw;
    }
  }
  ~SqliteImport() override { discard(); }

  void licence(const Licence& l) override {
    write("licences", *licence_, [&](SQLite::Statement& st) {
      st.bind(1, to_string(l.licence_class));
      st.bind(2, l.licence_version);
      st.bind(3, l.commercial_use ? 1 : 0);
      st.bind(4, l.requires_attribution ? 1 : 0);
    });
  }

  void track(const Track& t) override {
    write("tracks", *track_, [&](SQLite::Statement& st) {
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
      st.bind(13, static_cast<std::int64_t>(to_unix_seconds(t.created_at)));
    });
  }

  void collection(const CollectionRecord& c) override {
    write("collections", *collection_, [&](SQLite::Statement& st) {
      st.bind(1, c.id);
      st.bind(2, c.name);
      bind_optional(st, 3, c.description);
      bind_optional(st, 4, c.removed_at);
      st.bind(5, static_cast<std::int64_t>(to_unix_seconds(c.created_at)));
    });
  }

  void collection_track(const std::string& collection_id, std::int64_t position,
                        const std::string& track_id) override {
    write("collection_tracks", *member_, [&](SQLite::Statement& st) {
      st.bind(1, collection_id);
      st.bind(2, static_cast<std::int64_t>(position));
      st.bind(3, track_id);
    });
  }

  void share(const Share& s, const std::string& token_digest) override {
    write("shares", *share_, [&](SQLite::Statement& st) {
      st.bind(1, s.id);
      st.bind(2, token_digest);
      st.bind(3, to_string(s.target_type));
      st.bind(4, s.target_id);
      st.bind(5, to_string(s.visibility));
      st.bind(6, static_cast<std::int64_t>(to_unix_seconds(s.created_at)));
      bind_optional(st, 7, s.expires_at);
      bind_optional(st, 8, s.max_views);
      st.bind(9, static_cast<std::int64_t>(s.view_count));
      bind_optional(st, 10, s.last_viewed_at);
      bind_optional(st, 11, s.revoked_at);
      bind_optional(st, 12, s.revoke_reason);
      bind_optional(st, 13, s.note);
      st.bind(14, s.created_by);
    });
  }

  void audit_record(const AuditRecord& r, bool ip_aged) override {
    write("audit_records", *record_, [&](SQLite::Statement& st) {
      st.bind(1, static_cast<std::int64_t>(r.id));
      st.bind(2, static_cast<std::int64_t>(to_unix_millis(r.ts)));
      st.bind(3, r.event);
      st.bind(4, r.outcome);
      if (r.status) st.bind(5, *r.status); else st.bind(5);
      bind_text_or_null(st, 6, r.client_ip);
      bind_text_or_null(st, 7, r.share_id);
      bind_text_or_null(st, 8, r.token_fp);
      bind_text_or_null(st, 9, r.request_id);
      bind_text_or_null(st, 10, r.user_agent);
      bind_text_or_null(st, 11, r.actor);
      bind_text_or_null(st, 12, r.action);
      bind_text_or_null(st, 13, r.detail);
      st.bind(14, ip_aged ? 1 : 0);
    });
  }

  CopyCounts commit() override {
    try {
      main_->exec("COMMIT");
      audit_->exec("COMMIT");
      close();
      require_new(db_file_);
      require_new(audit_file_);
      sync_path(db_partial_, false);
      sync_path(audit_partial_, false);
      std::filesystem::rename(db_partial_, db_file_);
      std::filesystem::rename(audit_partial_, audit_file_);
      created_db_ = created_audit_ = false;
      sync_path(directory_of(db_file_), true);
      sync_path(directory_of(audit_file_), true);
    } catch (const SQLite::Exception& e) {
      discard();
      throw_storage_failure(e, "cannot write copy " + db_file_.string(),
                            std::chrono::milliseconds(k_busy_timeout_ms));
    } catch (const std::filesystem::filesystem_error& e) {
      discard();
      throw Error("cannot write copy " + db_file_.string() + ": " + e.code().message());
    } catch (...) {
      discard();
      throw;
    }
    CopyCounts counts;
    for (const char* table : k_copied_tables) counts.emplace_back(table, counts_[table]);
    return counts;
  }

 private:
  template <typename Bind>
  void write(const char* table, SQLite::Statement& st, Bind&& bind) {
    try {
      st.reset();
      st.clearBindings();
      bind(st);
      st.exec();
      ++counts_[table];
    } catch (const SQLite::Exception& e) {
      throw_storage_failure(e, std::string("cannot copy a row of ") + table + " to " + db_file_.string(),
                            std::chrono::milliseconds(k_busy_timeout_ms));
    }
  }

  static std::filesystem::path directory_of(const std::filesystem::path& file) {
    return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  }

  // The statements go before the connections (SQLiteCpp aborts otherwise).
  void close() {
    licence_.reset();
    track_.reset();
    collection_.reset();
    member_.reset();
    share_.reset();
    record_.reset();
    main_.reset();
    audit_.reset();
  }

  // Leaves nothing behind: an uncommitted transaction is rolled back with its
  // connection, and the partial files go.
  void discard() noexcept {
    close();
    if (created_db_) remove_database_files(db_partial_);
    if (created_audit_) remove_database_files(audit_partial_);
    created_db_ = created_audit_ = false;
  }

  const std::filesystem::path db_file_, audit_file_;
  std::filesystem::path db_partial_, audit_partial_;
  bool created_db_ = false, created_audit_ = false;
  std::unique_ptr<SQLite::Database> main_, audit_;
  std::optional<SQLite::Statement> licence_, track_, collection_, member_, share_, record_;
  std::map<std::string, std::int64_t> counts_;
};

}  // namespace

void export_sqlite_rows(const std::filesystem::path& db_file, const std::filesystem::path& audit_file,
                        RowSink& sink) {
  read_snapshot(db_file, SchemaKind::main, [&](SQLite::Database& db) { export_main(db, sink); });
  read_snapshot(audit_file, SchemaKind::audit, [&](SQLite::Database& db) { export_audit(db, sink); });
}

std::unique_ptr<RowImport> open_sqlite_import(const std::filesystem::path& db_file,
                                              const std::filesystem::path& audit_file) {
  return std::make_unique<SqliteImport>(db_file, audit_file);
}

}  // namespace sharelink
