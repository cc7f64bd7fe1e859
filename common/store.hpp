// The storage seam: the questions and writes the domain core puts to a database, implemented once per
// backend.
//
// Above this header: the rules (common/domain.hpp), the resolver, the media
// check, the view counter's batching, the audit writer, the reader pool.
// Below it: one backend per database engine (common/store_sqlite*.cpp), which
// answers with SQL only and knows no rule. Nothing above names a file path, a
// busy timeout, a page cache or an index.
//
// Contracts every interface here shares:
//
// Errors. A backend translates its library's failures in one place into the
// project's types; a caller never sees the library's exceptions.
//   DatabaseUnavailable: the database cannot be reached or opened, is locked
//     past StorageOptions::lock_wait, is full, read-only, or failing I/O;
//     worth trying again later (the daemon answers 503).
//   Error: anything else (a constraint violated, a row the schema should not
//     allow, a corrupt file); the daemon answers 500.
// Messages name the database (never a password) and, where one is known,
// the fix. Domain answers (no such row, an id already taken, a limit
// reached) are return values. After a throw a connection object may be in
// any state: its owner discards it (the reader pool does) or stops using it.
//
// Lifetimes. Every object a backend creates must be destroyed before the
// backend.
//
// Time. Catalogue and share times are stored in whole seconds (a fraction is
// dropped); audit times in milliseconds.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/audit_record.hpp"
#include "common/domain.hpp"

namespace sharelink {

struct DatabaseConfig;

// Tuning common to every backend; the defaults suit the daemon and sharectl.
struct StorageOptions {
  // How long one statement waits for a lock that another connection or
  // process holds (a sharectl transaction, another daemon) before it fails
  // with DatabaseUnavailable. Default 5000 ms.
  std::chrono::milliseconds lock_wait{5000};
  // SQLite's AuditStorage::stats counts client addresses in memory (40-60
  // bytes each) up to this many distinct ones in the range; past that it
  // lets SQLite group them (its sorter spills to disk: bounded, slower).
  std::size_t audit_stats_clients_in_memory = 1'000'000;
};

// ---------------------------------------------------------------------------
// CatalogReader: the reads of the resolver and the media check.

// Storage answers questions; it applies no rule: status, removed content and
// licence truth are decided above, from what these return.
//
// Freshness: every read outside a snapshot, and every snapshot, sees all the
// changes committed before it began (a sharectl revoke is seen by the very
// next resolve; nothing is cached across calls).
//
// Threading: one thread at a time (the daemon lends readers from a
// ReaderPool; the holder of the lease is that thread). A backend may skip its
// own locking on the strength of that.
//
// Keys are passed as std::string: the hot path holds them so, and a backend
// may bind them without a copy.
using CollectionRows = std::shared_ptr<const std::vector<CatalogTrack>>;

class CatalogReader {
 public:
  virtual ~CatalogReader() = default;

  // Starts a read snapshot: every read until end_snapshot() sees one
  // consistent state of the database. Not nested. The resolver opens one per
  // resolve and the media check one per check (SQLite: one read
  // transaction). Throws DatabaseUnavailable or Error.
  virtual void begin_snapshot() = 0;
  // Ends the snapshot begun last. Throws DatabaseUnavailable or Error.
  virtual void end_snapshot() = 0;
  // Ends the snapshot after a failure; never throws (the reader may then be
  // unusable: its owner discards it).
  virtual void abandon_snapshot() noexcept = 0;

  // The share link whose token has this digest (token_digest(): hex SHA-256
  // of the raw token), or nullopt.
  virtual std::optional<ShareRecord> share_by_digest(const std::string& token_digest) = 0;
  // The share link with this id, or nullopt.
  virtual std::optional<ShareRecord> share_by_id(const std::string& share_id) = 0;
  // The track with this id, removed or not, with the registry's terms for its
  // (class, version); nullopt if there is no such track.
  virtual std::optional<CatalogTrack> track(const std::string& track_id) = 0;
  // The same track's file, mime type and removal only (the media check's
  // question, asked for every range request a player makes).
  virtual std::optional<TrackMedia> track_media(const std::string& track_id) = 0;
  // The collection with this id, removed or not; nullopt if there is none.
  virtual std::optional<CollectionRecord> collection(const std::string& collection_id) = 0;
  // Every track of the collection, in the collection's order, removed ones
  // included, each with its registry terms; empty for an unknown collection,
  // never null. The rows are shared, not copied: a reader may keep them and
  // hand the same rows to later calls (the SQLite reader does, per data
  // version), so they are read-only. Hold the pointer while reading them: a
  // range-for over *collection_tracks(id) reads freed rows.
  virtual CollectionRows collection_tracks(const std::string& collection_id) = 0;
  // True if the track is in the collection's list (removed or not).
  virtual bool collection_contains(const std::string& collection_id, const std::string& track_id) = 0;

  // A trivial read that succeeds only while the database answers (/readyz).
  // Throws DatabaseUnavailable or Error.
  virtual void ping() = 0;
};

// Holds a reader's snapshot for a scope: begun at construction, ended by
// end(); a scope left without end() (an exception) abandons it. Not
// thread-safe, like the reader.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(CatalogReader& reader) : reader_(reader) { reader_.begin_snapshot(); }
  ~ReadSnapshot() {
    if (open_) reader_.abandon_snapshot();
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  // Ends the snapshot; throws as CatalogReader::end_snapshot.
  void end() {
    open_ = false;
    reader_.end_snapshot();
  }

 private:
  CatalogReader& reader_;
  bool open_ = true;
};

// ---------------------------------------------------------------------------
// ViewStore: the view counts of SPEC 3.

// Views of one link without max_views, merged before they are written.
struct ViewIncrement {
  std::string share_id;
  std::int64_t views = 0;    // added to view_count; at least 1
  TimePoint last_viewed_at;  // last_viewed_at becomes the later of this and the stored value
};

// Only what must be atomic happens here. Whether a view is due (the status
// of the link, the view rule) is decided above, from the reader's snapshot.
//
// Threading: thread-safe; any number of threads may call at once (SQLite:
// one connection behind a mutex, so the process never contends with itself
// for the write lock; a client-server backend may use a pool).
class ViewStore {
 public:
  virtual ~ViewStore() = default;

  // In one atomic step: if the link exists and has no max_views or
  // view_count < max_views, adds one view and sets last_viewed_at to now.
  // True if the view was taken, false otherwise (the limit is reached, or
  // the link is gone). Exact under any concurrency, across processes and
  // daemons: a link with max_views = N is counted at most N times. Throws
  // DatabaseUnavailable or Error (nothing counted).
  virtual bool take_view_under_limit(const std::string& share_id, TimePoint now) = 0;

  // Applies every increment in one transaction: all or none. An unknown
  // share id changes nothing. Throws DatabaseUnavailable or Error (nothing
  // written).
  virtual void add_views(std::span<const ViewIncrement> batch) = 0;
};

// ---------------------------------------------------------------------------
// AuditStorage: the audit log of SPEC 7.

// What an audit connection is for: the daemon's one writer (tuned for a
// steady stream of batches) or sharectl's queries and admin records.
enum class AuditUse { writer, queries };

// Records arrive checked and cleaned (AuditWriter and AuditStore do that);
// storage writes them as given and answers the queries of sharectl.
//
// Threading: one thread at a time (the audit writer's thread, or sharectl).
class AuditStorage {
 public:
  virtual ~AuditStorage() = default;

  // Inserts the records in one transaction, in order: all or none. Each
  // gets an id larger than every id before it (the given ids are ignored);
  // empty texts are stored as absent (NULL). Throws DatabaseUnavailable or
  // Error (nothing written).
  virtual void insert_batch(std::span<const AuditRecord> records) = 0;

  // One retention step in one short transaction, so that no writer waits
  // long: deletes up to a backend-chosen number of records with ts <
  // cutoffs.delete_before; only when none of those are left, truncates the
  // client_ip (truncate_ip_text: IPv4 /24, IPv6 /48) of up to that many
  // records with ts < cutoffs.age_ip_before that were not aged yet, marking
  // them aged (an aged record is never counted again). Adds what it
  // committed to report; true when nothing is left to do for these cutoffs.
  // Safe against other connections pruning at the same time. Throws
  // DatabaseUnavailable or Error.
  virtual bool prune_step(const PruneCutoffs& cutoffs, PruneReport& report) = 0;

  // The records matching every field of filter (AuditFilter's contract),
  // newest first (id descending), at most filter.limit (0: all).
  virtual std::vector<AuditRecord> query(const AuditFilter& filter) = 0;
  // Counts per "event/outcome" (sorted) and the top_clients most frequent
  // client_ip values (most first, ties by address), over records with
  // ts >= since (all when nullopt), from one consistent snapshot.
  virtual AuditStats stats(std::optional<TimePoint> since, std::size_t top_clients) = 0;
  // The last opening with outcome ok, and the openings by outcome, of one
  // share link (openings: records of event resolve or page, the API and the
  // share page); empty when it has none.
  virtual ShareAuditSummary share_summary(const std::string& share_id) = 0;
};

// ---------------------------------------------------------------------------
// AdminStore: the licence registry, the catalogue and the share links as
// sharectl (init, --demo) reads and changes them.

// Primitive reads and writes. The rules are above, in common/admin.hpp:
// membership changes (all or nothing, with their refusals), share creation
// (the token and id), and which targets count as removed.
//
// Threading: one thread at a time.
class AdminStore {
 public:
  virtual ~AdminStore() = default;

  // Runs fn in one write transaction: the changes this store makes inside fn
  // commit together, or none does if fn throws (the exception is rethrown);
  // reads inside fn see the transaction's own changes, and no other writer
  // can change what fn read before the commit. Inside a write_transaction,
  // fn joins the one under way. Throws DatabaseUnavailable or Error.
  virtual void write_transaction(const std::function<void()>& fn) = 0;

  // Inserts the registry entry of licence's (class, version), or replaces it.
  virtual void set_licence(const Licence& licence) = 0;
  // Every registry entry, by class, then version (their texts' order).
  virtual std::vector<Licence> licences() = 0;
  virtual std::optional<Licence> licence(LicenceClass licence_class, const std::string& licence_version) = 0;

  // Inserts a new track; false (nothing changed) if the id is taken.
  virtual bool add_track(const Track& track) = 0;
  // Inserts or updates each track by id in one transaction (all or
  // nothing); an updated track keeps its created_at.
  virtual void upsert_tracks(std::span<const Track> tracks) = 0;
  virtual std::optional<Track> track(const std::string& id) = 0;
  // Every track, by created_at, then id.
  virtual std::vector<Track> tracks() = 0;
  // Sets (removed) or clears (restored) removed_at; false if the id is unknown.
  virtual bool set_track_removed(const std::string& id, std::optional<TimePoint> removed_at) = 0;

  // Inserts a new collection with no tracks; false if the id is taken.
  virtual bool add_collection(const CollectionRecord& collection) = 0;
  // The collection with its track ids in order.
  virtual std::optional<Collection> collection(const std::string& id) = 0;
  // Every collection (with its track ids), by created_at, then id.
  virtual std::vector<Collection> collections() = 0;
  virtual bool set_collection_removed(const std::string& id, std::optional<TimePoint> removed_at) = 0;
  // Replaces the collection's track list with track_ids, in that order. The
  // caller has checked that the collection and every track exist and that no
  // id repeats (admin.hpp, inside write_transaction); Error otherwise.
  virtual void set_collection_tracks(const std::string& collection_id,
                                     std::span<const std::string> track_ids) = 0;

  // Stores a share link with every field of share, keyed by token_digest
  // (token_digest(): the raw token is never stored). Throws Error if the id
  // or the digest is taken.
  virtual void insert_share(const Share& share, const std::string& token_digest) = 0;
  virtual std::optional<Share> share(const std::string& id) = 0;
  virtual std::optional<Share> share_by_digest(const std::string& token_digest) = 0;
  // Every link (of target_id only, when given), newest first: created_at
  // descending, then the later-stored first.
  virtual std::vector<Share> shares(const std::optional<std::string>& target_id) = 0;
  // Revokes the link at `at` with reason, unless it is revoked already: then
  // it keeps its first revoked_at and reason (revoking is idempotent, also
  // between two sharectl at once). False if the id is unknown.
  virtual bool revoke_share(const std::string& id, const std::optional<std::string>& reason,
                            TimePoint at) = 0;
  // Sets expires_at; false if the id is unknown.
  virtual bool set_share_expiry(const std::string& id, TimePoint expires_at) = 0;
};

// ---------------------------------------------------------------------------
// Copying a whole installation (sharectl db copy, SPEC 13), backend to backend.

// Receives every row of an installation, table by table, as stored: ids,
// token digests, view counts, revocations, audit ids and aged addresses are
// kept. Threading: one thread at a time.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void licence(const Licence& licence) = 0;
  virtual void track(const Track& track) = 0;
  virtual void collection(const CollectionRecord& collection) = 0;
  // One entry of a collection's track list, at its stored position.
  virtual void collection_track(const std::string& collection_id, std::int64_t position,
                                const std::string& track_id) = 0;
  // In the order the links were stored (share list's tie-break within one
  // second); share.token_fp is not used: the digest is.
  virtual void share(const Share& share, const std::string& token_digest) = 0;
  // record.id is kept; ip_aged: retention has aged (or found no) client_ip.
  virtual void audit_record(const AuditRecord& record, bool ip_aged) = 0;
};

// The tables db copy moves, in the order it moves them (parents first), by
// the names it reports them under.
inline constexpr const char* k_copied_tables[] = {"licences", "tracks", "collections", "collection_tracks",
                                                  "shares", "audit_records"};

// Rows written per table, in the order of k_copied_tables.
using CopyCounts = std::vector<std::pair<std::string, std::int64_t>>;

// The target side of a copy: a RowSink whose rows become visible together,
// at commit(). Destroyed without commit(), it leaves the target as it was.
class RowImport : public RowSink {
 public:
  // Writes what is pending and makes every row visible at once; returns the
  // rows per table. Throws DatabaseUnavailable or Error (nothing kept).
  virtual CopyCounts commit() = 0;
};

// ---------------------------------------------------------------------------
// StorageBackend: one installation's storage. One per process.

// What StorageBackend::migrate() did to one database's schema.
struct SchemaMigration {
  int from_version = 0;  // 0: the database was created
  int to_version = 0;
};
struct StorageMigration {
  SchemaMigration catalogue;  // licences, tracks, collections, share links
  SchemaMigration audit;      // the audit log
};

// One database copied by StorageBackend::backup (sharectl db backup).
struct BackupResult {
  std::string source;          // the database copied, as describe() names it (never a password)
  std::filesystem::path copy;  // the file written
  std::uintmax_t bytes = 0;    // size of the copy
  int schema_version = 0;      // of the copy
};

// What StorageBackend::check found in one database (sharectl db check).
struct DatabaseCheck {
  std::string kind;      // "main" (licences, catalogue, share links) or "audit"
  std::string location;  // where it lives, as describe() names it (never a password)
  bool exists = false;
  int schema_version = -1;          // -1 when it could not be read
  int expected_schema_version = 0;  // the version this build knows
  // Every problem, one human-readable line each (missing, unreadable, schema
  // version mismatch, integrity and consistency findings); at most
  // k_max_check_problems lines plus one "... more" line.
  std::vector<std::string> problems;

  bool ok() const { return problems.empty(); }
};

inline constexpr std::size_t k_max_check_problems = 100;

// Threading: every method may be called from any thread; the objects it
// creates follow their own contracts.
class StorageBackend {
 public:
  virtual ~StorageBackend() = default;

  // logfmt fields naming where the data lives, for the daemon's log (SQLite:
  // database=PATH audit_database=PATH). Never a password.
  virtual std::vector<std::pair<std::string, std::string>> describe() const = 0;
  // The catalogue schema version this build knows (logged at start).
  virtual int schema_version() const = 0;
  // One line per database whose schema is not the one this build knows,
  // naming it and the fix: missing or older ("run \"sharectl init\""), newer
  // ("upgrade shared-link"); empty when all are current. Never throws for
  // what it reports.
  virtual std::vector<std::string> schema_problems() const = 0;
  // Throws Error with the first of schema_problems(), if there is one: the
  // daemon refuses to start, sharectl to run.
  void require_current_schema() const;
  // sharectl init: creates the databases if missing (SQLite: and their
  // directories) and applies every pending migration, each in its own
  // transaction. Idempotent; safe while a daemon runs and against a
  // concurrent init. Throws Error, naming the database, when its schema is
  // newer than this build knows or it cannot be created.
  virtual StorageMigration migrate() = 0;

  // A new reader connection. Throws DatabaseUnavailable, naming the
  // database and the fix, when it cannot be opened or its schema is not the
  // current one (the daemon answers 503 and tries again at the next request).
  virtual std::unique_ptr<CatalogReader> open_reader() = 0;
  // The view store of this process (one is enough: it is thread-safe).
  // Throws as open_reader.
  virtual std::unique_ptr<ViewStore> open_view_store() = 0;
  // A connection to the audit log for use. Throws as open_reader.
  virtual std::unique_ptr<AuditStorage> open_audit(AuditUse use) = 0;
  // sharectl's connection to the catalogue and share links. Throws as open_reader.
  virtual std::unique_ptr<AdminStore> open_admin() = 0;
  // How many reader connections suit a daemon with server_threads workers on
  // this machine (SQLite: two per core, at least four).
  virtual std::size_t reader_connections(int server_threads) const = 0;

  // sharectl db backup FILE: a consistent copy of every database, safe while
  // the daemon runs, as new SQLite files FILE and FILE-audit (mode 0600,
  // synced, never overwriting a file: all or nothing). Throws Error naming
  // the file and the fix.
  virtual std::vector<BackupResult> backup(const std::filesystem::path& file) = 0;
  // sharectl db check: for each database (main, then audit), its schema
  // version against this build's and the consistency of its tables
  // (read-only, safe while the daemon runs). Problems are reported, never
  // thrown.
  virtual std::vector<DatabaseCheck> check() = 0;

  // sharectl db copy, the source's side: calls sink with every row, table by
  // table in the order of k_copied_tables (shares in the order stored, audit
  // records by id), from one consistent snapshot (SQLite: one read
  // transaction per file; PostgreSQL: one REPEATABLE READ READ ONLY
  // transaction), streaming (never the whole audit log in memory). Changes
  // nothing; safe while daemons run. Throws DatabaseUnavailable or Error; an
  // exception from sink propagates.
  virtual void export_rows(RowSink& sink) = 0;
  // sharectl db copy, the target's side: the schema is created or migrated,
  // then the target must be empty (SQLite: neither file may exist yet;
  // PostgreSQL: no row but what "sharectl init" writes, the default licences
  // and its "init" records, which the copy replaces), or Error naming it.
  // The rows given to the import are visible only after its commit(), all
  // at once (SQLite: new files renamed into place; PostgreSQL: one
  // transaction). Throws DatabaseUnavailable or Error.
  virtual std::unique_ptr<RowImport> open_import() = 0;
};

// Opens the storage the configuration names: database.backend "sqlite" (the
// files database.path and database.audit_path) or "postgresql" (the database
// at database.url, with the password read from database.password_file when
// one is named). Opens no connection and touches no database file: the
// connections do, migrate() creates. Throws Error for a configuration no
// backend can serve (an unreadable or group-readable password file, a URL
// that is not acceptable), naming it, never the password.
std::unique_ptr<StorageBackend> open_storage(const DatabaseConfig& config,
                                             const StorageOptions& options = {});

// Process-wide setup of the storage libraries for a server with many
// threads. Call at the start of main, before any connection opens (later it
// changes nothing). Not thread-safe.
void prepare_storage_for_threads();

}  // namespace sharelink
