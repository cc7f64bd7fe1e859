// Private to the SQLite backend (common/store_sqlite*.cpp): one row reader and one binder per table,
// shared by the reader, the admin store, the audit storage and db copy.
#pragma once

#include <string>

#include "common/audit_record.hpp"
#include "common/domain.hpp"
#include "common/store_sqlite_connection.hpp"

namespace sharelink {

// Each reader reads the current row of st over the columns its k_sqlite_*
// list selects, in that order, and throws Error for a value the schema does
// not allow. Each binder binds the same columns, from parameter 1 on.

inline constexpr const char* k_sqlite_licence_columns =
    "licence_class, licence_version, commercial_use, requires_attribution";
Licence sqlite_licence(SQLite::Statement& st);
void bind_sqlite_licence(SQLite::Statement& st, const Licence& licence);

inline constexpr const char* k_sqlite_track_columns =
    "id, title, engine, mode, measured_duration_seconds, instrumental, licence_class, licence_version, "
    "no_commercial, mime_type, audio_path, removed_at, created_at";
Track sqlite_track(SQLite::Statement& st);
void bind_sqlite_track(SQLite::Statement& st, const Track& track);

// What the reader selects of a track (k_sqlite_catalog_track_columns, from
// tracks t joined to the registry l): the track's terms and the registry's,
// l.* NULL when the registry has no entry.
inline constexpr const char* k_sqlite_catalog_track_columns =
    "t.id, t.title, t.engine, t.mode, t.measured_duration_seconds, t.instrumental, t.licence_class, "
    "t.licence_version, t.no_commercial, t.audio_path, t.removed_at, l.commercial_use, l.requires_attribution";
CatalogTrack sqlite_catalog_track(SQLite::Statement& st);

inline constexpr const char* k_sqlite_collection_columns = "id, name, description, removed_at, created_at";
CollectionRecord sqlite_collection(SQLite::Statement& st);
void bind_sqlite_collection(SQLite::Statement& st, const CollectionRecord& collection);

// Share links are read as s, with their batched views v (schema/main/0002):
// a link's view count is s.view_count + v.views, its last view the later of
// s.last_viewed_at and v.viewed_at. Conditions after it name s's columns.
inline constexpr const char* k_sqlite_shares_from =
    " FROM shares s LEFT JOIN share_views v ON v.share_id = s.id";

// What the resolver needs of a share link.
inline constexpr const char* k_sqlite_share_record_columns =
    "s.id, s.target_type, s.target_id, s.visibility, s.expires_at, s.max_views, "
    "s.view_count + coalesce(v.views, 0), s.revoked_at";
ShareRecord sqlite_share_record(SQLite::Statement& st);

// Every column but rowid; token_fp from token_digest (the last column).
inline constexpr const char* k_sqlite_share_columns =
    "s.id, s.target_type, s.target_id, s.visibility, s.created_at, s.expires_at, s.max_views, "
    "s.view_count + coalesce(v.views, 0), "
    "CASE WHEN v.viewed_at IS NULL THEN s.last_viewed_at "
    "ELSE max(coalesce(s.last_viewed_at, 0), v.viewed_at) END, "
    "s.revoked_at, s.revoke_reason, s.note, s.created_by, s.token_digest";
Share sqlite_share(SQLite::Statement& st);
// Binds the columns of k_sqlite_insert_share_columns.
inline constexpr const char* k_sqlite_insert_share_columns =
    "id, token_digest, target_type, target_id, visibility, created_at, expires_at, max_views, view_count, "
    "last_viewed_at, revoked_at, revoke_reason, note, created_by";
void bind_sqlite_share(SQLite::Statement& st, const Share& share, const std::string& token_digest);

inline constexpr const char* k_sqlite_audit_columns =
    "id, ts, event, outcome, status, client_ip, share_id, token_fp, request_id, user_agent, actor, action, detail";
AuditRecord sqlite_audit_record(SQLite::Statement& st);
// Binds ts, event, outcome, status, client_ip, share_id, token_fp,
// request_id, user_agent, actor, action, detail from parameter first on
// ("" as NULL), without SQLite copying the text: record must stay unchanged
// until the statement has run.
void bind_sqlite_audit_fields(SQLite::Statement& st, int first, const AuditRecord& record);

// A nullable text column; "" for NULL.
inline std::string text_or_empty(const SQLite::Column& column) {
  return column.isNull() ? std::string() : column.getString();
}

}  // namespace sharelink
