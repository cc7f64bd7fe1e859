// Private to the PostgreSQL backend (common/store_postgres*.cpp): its settings, sessions and row readers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/domain.hpp"
#include "common/pg_connection.hpp"
#include "common/store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// The PostgreSQL backend over the database options.connect names (SPEC 13):
// one database holds the catalogue, the share links and the audit log.
std::unique_ptr<StorageBackend> open_postgres_storage(PgConnectOptions connect, const StorageOptions& options);

// What every connection of the backend is opened with.
struct PgSettings {
  PgConnectOptions connect;
  StorageOptions storage;

  // "database postgresql://user@host/db", never with a password.
  std::string shown() const;
};

// A new session (its lock_timeout is connect.lock_timeout, set from
// storage.lock_wait by open_postgres_storage). With
// require_schema, the schema must be the current one: otherwise
// DatabaseUnavailable naming the database and the fix (the daemon answers
// 503 and tries again later). Throws DatabaseUnavailable when the server
// cannot be reached.
PgConnection open_session(const PgSettings& settings, bool require_schema = true);

// A session kept by one object and opened again when it is lost: session()
// returns a healthy session, reconnecting first if the last one was lost.
// After a DatabaseUnavailable, call lost(): the next session() starts a new one.
class PgSession {
 public:
  explicit PgSession(PgSettings settings) : settings_(std::move(settings)) {}
  PgConnection& session();
  // The session kept now, or nullptr; never connects.
  PgConnection* current() { return connection_ ? &*connection_ : nullptr; }
  void lost() { connection_.reset(); }
  // Runs fn(session()); a DatabaseUnavailable drops the session before it propagates.
  template <typename Fn>
  auto with(Fn&& fn) -> decltype(fn(std::declval<PgConnection&>())) {
    try {
      return fn(session());
    } catch (const DatabaseUnavailable&) {
      lost();
      throw;
    }
  }
  const PgSettings& settings() const { return settings_; }

 private:
  PgSettings settings_;
  std::optional<PgConnection> connection_;
};

// Row readers shared by the backend's files; each throws Error for a value
// the schema should not allow.
inline std::optional<TimePoint> pg_optional_seconds(const PgRow& row, int column) {
  const auto value = row.optional_int64(column);
  if (!value) return std::nullopt;
  return from_unix_seconds(*value);
}
inline std::optional<std::string> pg_optional_text(const PgRow& row, int column) { return row.optional_string(column); }
inline std::optional<std::int64_t> pg_seconds_param(const std::optional<TimePoint>& time) {
  if (!time) return std::nullopt;
  return to_unix_seconds(*time);
}
// Every row of result read by read_row, in order.
template <class ReadRow>
auto pg_read_rows(const PgResult& result, ReadRow read_row) {
  std::vector<decltype(read_row(result.row(0)))> out;
  out.reserve(static_cast<std::size_t>(result.rows()));
  for (int i = 0; i < result.rows(); ++i) out.push_back(read_row(result.row(i)));
  return out;
}
TargetType pg_target_type(const PgRow& row, int column);
Visibility pg_visibility(const PgRow& row, int column);
Licence pg_licence(const PgRow& row, int first_column);

// Reads client_ip (selected as host(client_ip)) the way both backends print
// an address; "" for NULL.
std::string pg_client_ip(const PgRow& row, int column);

// One reader per table (common/store_postgres_rows.cpp), each over the
// columns its k_pg_*_columns list selects, in that order.
inline constexpr const char* k_pg_track_columns =
    "id, title, engine, mode, measured_duration_seconds, instrumental, licence_class, licence_version, "
    "no_commercial, mime_type, audio_path, removed_at, created_at";
Track pg_track(const PgRow& row);
// A track's k_pg_track_columns values, for an INSERT or a COPY in that order.
PgParams pg_track_params(const Track& track);

// What the reader selects of a track: t.id .. t.no_commercial as in
// k_pg_track_columns, then t.audio_path, t.removed_at and the registry's
// l.commercial_use, l.requires_attribution (NULL without a registry entry).
CatalogTrack pg_catalog_track(const PgRow& row);

inline constexpr const char* k_pg_collection_columns = "id, name, description, removed_at, created_at";
CollectionRecord pg_collection(const PgRow& row);

// id, target_type, target_id, visibility, expires_at, max_views, view_count, revoked_at.
ShareRecord pg_share_record(const PgRow& row);
// Every column but seq; token_fp from token_digest (the last column).
inline constexpr const char* k_pg_share_columns =
    "id, target_type, target_id, visibility, created_at, expires_at, max_views, view_count, last_viewed_at, "
    "revoked_at, revoke_reason, note, created_by, token_digest";
Share pg_share(const PgRow& row);

inline constexpr const char* k_pg_audit_columns =
    "id, ts, event, outcome, status, host(client_ip), share_id, token_fp, request_id, user_agent, actor, "
    "action, detail";
AuditRecord pg_audit_record(const PgRow& row);
// Adds ts, event, outcome, status, client_ip, share_id, token_fp,
// request_id, user_agent, actor, action, detail (the columns a record is
// written with; "" is stored as NULL, a client_ip that is no address too).
PgParams& add_pg_audit_fields(PgParams& params, const AuditRecord& record);

// The backend's admin store and audit storage (common/store_postgres_admin.cpp,
// common/store_postgres_audit.cpp) and the two sides of db copy
// (common/store_postgres_copy.cpp).
std::unique_ptr<AdminStore> open_postgres_admin(const PgSettings& settings);
std::unique_ptr<AuditStorage> open_postgres_audit(const PgSettings& settings);
void export_postgres_rows(const PgSettings& settings, RowSink& sink);
std::unique_ptr<RowImport> open_postgres_import(const PgSettings& settings);

// The advisory locks of the backend (pg_advisory_xact_lock keys): every
// audit insert and every admin write transaction hold theirs until commit.
inline constexpr std::int64_t k_pg_audit_insert_lock = 0x73686c6b61756469;  // "shlkaudi"
inline constexpr std::int64_t k_pg_admin_write_lock = 0x73686c6b61646d6e;   // "shlkadmn"

}  // namespace sharelink
