// The SQLite backend's side of sharectl db copy: every row of both files read from one snapshot each, and
// new files written from another installation's rows.
#include <map>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/store_sqlite.hpp"
#include "common/store_sqlite_rows.hpp"

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
    SQLite::Statement st(db, std::string("SELECT ") + k_sqlite_licence_columns +
                                 " FROM licences ORDER BY licence_class, licence_version");
    while (st.executeStep()) sink.licence(sqlite_licence(st));
  }
  {
    SQLite::Statement st(db, std::string("SELECT ") + k_sqlite_track_columns + " FROM tracks ORDER BY rowid");
    while (st.executeStep()) sink.track(sqlite_track(st));
  }
  {
    SQLite::Statement st(db,
                         std::string("SELECT ") + k_sqlite_collection_columns + " FROM collections ORDER BY rowid");
    while (st.executeStep()) sink.collection(sqlite_collection(st));
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
    SQLite::Statement st(db, std::string("SELECT ") + k_sqlite_share_columns + k_sqlite_shares_from +
                                 " ORDER BY s.rowid");
    while (st.executeStep()) sink.share(sqlite_share(st), st.getColumn(13).getString());
  }
}

void export_audit(SQLite::Database& db, RowSink& sink) {
  SQLite::Statement st(db, std::string("SELECT ") + k_sqlite_audit_columns +
                               ", ip_truncated FROM audit_records ORDER BY id");
  while (st.executeStep()) sink.audit_record(sqlite_audit_record(st), st.getColumn(13).getInt() != 0);
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
      licence_.emplace(*main_, std::string("INSERT INTO licences (") + k_sqlite_licence_columns +
                                   ") VALUES (?, ?, ?, ?)");
      track_.emplace(*main_, std::string("INSERT INTO tracks (") + k_sqlite_track_columns +
                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      collection_.emplace(*main_, std::string("INSERT INTO collections (") + k_sqlite_collection_columns +
                                      ") VALUES (?, ?, ?, ?, ?)");
      member_.emplace(*main_,
                      "INSERT INTO collection_tracks (collection_id, position, track_id) VALUES (?, ?, ?)");
      share_.emplace(*main_, std::string("INSERT INTO shares (") + k_sqlite_insert_share_columns +
                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
    write("licences", *licence_, [&](SQLite::Statement& st) { bind_sqlite_licence(st, l); });
  }

  void track(const Track& t) override {
    write("tracks", *track_, [&](SQLite::Statement& st) { bind_sqlite_track(st, t); });
  }

  void collection(const CollectionRecord& c) override {
    write("collections", *collection_, [&](SQLite::Statement& st) { bind_sqlite_collection(st, c); });
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
    write("shares", *share_, [&](SQLite::Statement& st) { bind_sqlite_share(st, s, token_digest); });
  }

  // r's text is bound without copies: it lives until write() has run the statement.
  void audit_record(const AuditRecord& r, bool ip_aged) override {
    write("audit_records", *record_, [&](SQLite::Statement& st) {
      st.bind(1, static_cast<std::int64_t>(r.id));
      bind_sqlite_audit_fields(st, 2, r);
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
