// The SQLite backend's row readers and binders, one per table.
#include "common/store_sqlite_rows.hpp"

#include "common/error.hpp"

namespace sharelink {
namespace {

// The columns a Track and a CatalogTrack have alike, in the order both
// column lists start with: id .. no_commercial (0 .. 8).
template <typename TrackLike>
void read_track_head(SQLite::Statement& st, TrackLike& t) {
  t.id = st.getColumn(0).getString();
  t.title = st.getColumn(1).getString();
  t.engine = st.getColumn(2).getString();
  t.mode = st.getColumn(3).getString();
  t.measured_duration_seconds = optional_real(st.getColumn(4));
  t.instrumental = st.getColumn(5).getInt() != 0;
  t.licence_class = st.getColumn(6).getString();
  t.licence_version = st.getColumn(7).getString();
  t.no_commercial = st.getColumn(8).getInt() != 0;
}

// id, target_type, target_id, visibility (0 .. 3): how both share column lists start.
void read_share_head(SQLite::Statement& st, ShareRecord& s) {
  s.id = st.getColumn(0).getString();
  s.target_type = read_target_type(st.getColumn(1));
  s.target_id = st.getColumn(2).getString();
  s.visibility = read_visibility(st.getColumn(3));
}

void bind_text_no_copy(SQLite::Statement& st, int index, const std::string& text) {
  if (text.empty()) {
    st.bind(index);
  } else {
    st.bindNoCopy(index, text);
  }
}

std::int64_t seconds(TimePoint time) { return static_cast<std::int64_t>(to_unix_seconds(time)); }

}  // namespace

Licence sqlite_licence(SQLite::Statement& st) {
  // The registry's CHECK constraint admits the four classes only.
  const auto licence_class = parse_licence_class(st.getColumn(0).getText());
  if (!licence_class) {
    throw Error("the licence registry holds an unknown class \"" + st.getColumn(0).getString() + "\"");
  }
  return {*licence_class, st.getColumn(1).getString(), st.getColumn(2).getInt() != 0,
          st.getColumn(3).getInt() != 0};
}

void bind_sqlite_licence(SQLite::Statement& st, const Licence& l) {
  st.bind(1, to_string(l.licence_class));
  st.bind(2, l.licence_version);
  st.bind(3, l.commercial_use ? 1 : 0);
  st.bind(4, l.requires_attribution ? 1 : 0);
}

Track sqlite_track(SQLite::Statement& st) {
  Track t;
  read_track_head(st, t);
  t.mime_type = st.getColumn(9).getString();
  t.audio_path = st.getColumn(10).getString();
  t.removed_at = optional_time(st.getColumn(11));
  t.created_at = from_unix_seconds(st.getColumn(12).getInt64());
  return t;
}

void bind_sqlite_track(SQLite::Statement& st, const Track& t) {
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
  st.bind(13, seconds(t.created_at));
}

CatalogTrack sqlite_catalog_track(SQLite::Statement& st) {
  CatalogTrack t;
  read_track_head(st, t);
  t.audio_path = st.getColumn(9).getString();
  t.removed_at = optional_time(st.getColumn(10));
  const SQLite::Column registry_commercial = st.getColumn(11);
  if (!registry_commercial.isNull()) {
    t.registry = LicenceTerms{registry_commercial.getInt() != 0, st.getColumn(12).getInt() != 0};
  }
  return t;
}

CollectionRecord sqlite_collection(SQLite::Statement& st) {
  CollectionRecord c;
  c.id = st.getColumn(0).getString();
  c.name = st.getColumn(1).getString();
  c.description = optional_text(st.getColumn(2));
  c.removed_at = optional_time(st.getColumn(3));
  c.created_at = from_unix_seconds(st.getColumn(4).getInt64());
  return c;
}

void bind_sqlite_collection(SQLite::Statement& st, const CollectionRecord& c) {
  st.bind(1, c.id);
  st.bind(2, c.name);
  bind_optional(st, 3, c.description);
  bind_optional(st, 4, c.removed_at);
  st.bind(5, seconds(c.created_at));
}

ShareRecord sqlite_share_record(SQLite::Statement& st) {
  ShareRecord s;
  read_share_head(st, s);
  s.expires_at = optional_time(st.getColumn(4));
  s.max_views = optional_int(st.getColumn(5));
  s.view_count = st.getColumn(6).getInt64();
  s.revoked_at = optional_time(st.getColumn(7));
  return s;
}

Share sqlite_share(SQLite::Statement& st) {
  Share s;
  read_share_head(st, s);
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

void bind_sqlite_share(SQLite::Statement& st, const Share& s, const std::string& token_digest) {
  st.bind(1, s.id);
  st.bind(2, token_digest);
  st.bind(3, to_string(s.target_type));
  st.bind(4, s.target_id);
  st.bind(5, to_string(s.visibility));
  st.bind(6, seconds(s.created_at));
  bind_optional(st, 7, s.expires_at);
  bind_optional(st, 8, s.max_views);
  st.bind(9, static_cast<std::int64_t>(s.view_count));
  bind_optional(st, 10, s.last_viewed_at);
  bind_optional(st, 11, s.revoked_at);
  bind_optional(st, 12, s.revoke_reason);
  bind_optional(st, 13, s.note);
  st.bind(14, s.created_by);
}

AuditRecord sqlite_audit_record(SQLite::Statement& st) {
  AuditRecord record;
  record.id = st.getColumn(0).getInt64();
  record.ts = from_unix_millis(st.getColumn(1).getInt64());
  record.event = text_or_empty(st.getColumn(2));
  record.outcome = text_or_empty(st.getColumn(3));
  if (!st.getColumn(4).isNull()) record.status = st.getColumn(4).getInt();
  record.client_ip = text_or_empty(st.getColumn(5));
  record.share_id = text_or_empty(st.getColumn(6));
  record.token_fp = text_or_empty(st.getColumn(7));
  record.request_id = text_or_empty(st.getColumn(8));
  record.user_agent = text_or_empty(st.getColumn(9));
  record.actor = text_or_empty(st.getColumn(10));
  record.action = text_or_empty(st.getColumn(11));
  record.detail = text_or_empty(st.getColumn(12));
  return record;
}

void bind_sqlite_audit_fields(SQLite::Statement& st, int first, const AuditRecord& record) {
  st.bind(first, static_cast<std::int64_t>(to_unix_millis(record.ts)));
  st.bindNoCopy(first + 1, record.event);
  st.bindNoCopy(first + 2, record.outcome);
  if (record.status) {
    st.bind(first + 3, *record.status);
  } else {
    st.bind(first + 3);
  }
  int index = first + 4;
  for (const std::string* text : {&record.client_ip, &record.share_id, &record.token_fp, &record.request_id,
                                  &record.user_agent, &record.actor, &record.action, &record.detail}) {
    bind_text_no_copy(st, index++, *text);
  }
}

}  // namespace sharelink
