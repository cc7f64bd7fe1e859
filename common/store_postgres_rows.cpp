// The PostgreSQL backend's row readers and writers: one per table, shared by the reader, the admin store,
// the audit storage and db copy.
#include "common/client_address.hpp"
#include "common/error.hpp"
#include "common/store_postgres.hpp"

namespace sharelink {
namespace {

// The columns a Track and a CatalogTrack have alike, in the order both
// column lists start with: id .. no_commercial (0 .. 8).
template <typename TrackLike>
void read_track_head(const PgRow& row, TrackLike& t) {
  t.id = row.string(0);
  t.title = row.string(1);
  t.engine = row.string(2);
  t.mode = row.string(3);
  t.measured_duration_seconds = row.optional_float64(4);
  t.instrumental = row.boolean(5);
  t.licence_class = row.string(6);
  t.licence_version = row.string(7);
  t.no_commercial = row.boolean(8);
}

// id, target_type, target_id, visibility (0 .. 3): how both share column lists start.
void read_share_head(const PgRow& row, ShareRecord& s) {
  s.id = row.string(0);
  s.target_type = pg_target_type(row, 1);
  s.target_id = row.string(2);
  s.visibility = pg_visibility(row, 3);
}

PgParams& add_text(PgParams& params, const std::string& text) {
  return text.empty() ? params.add_null() : params.add(text);
}

}  // namespace

TargetType pg_target_type(const PgRow& row, int column) {
  if (const auto type = parse_target_type(row.text(column))) return *type;
  throw Error("a share link has an unknown target_type \"" + row.string(column) + "\"");
}

Visibility pg_visibility(const PgRow& row, int column) {
  if (const auto visibility = parse_visibility(row.text(column))) return *visibility;
  throw Error("a share link has an unknown visibility \"" + row.string(column) + "\"");
}

Licence pg_licence(const PgRow& row, int first_column) {
  const auto licence_class = parse_licence_class(row.text(first_column));
  if (!licence_class) {
    throw Error("the licence registry holds an unknown class \"" + row.string(first_column) + "\"");
  }
  return {*licence_class, row.string(first_column + 1), row.boolean(first_column + 2),
          row.boolean(first_column + 3)};
}

std::string pg_client_ip(const PgRow& row, int column) {
  if (row.is_null(column)) return {};
  const auto text = row.text(column);
  const auto address = parse_ip(text);
  return address ? address->to_string() : std::string(text);
}

Track pg_track(const PgRow& row) {
  Track t;
  read_track_head(row, t);
  t.mime_type = row.string(9);
  t.audio_path = row.string(10);
  t.removed_at = pg_optional_seconds(row, 11);
  t.created_at = from_unix_seconds(row.int64(12));
  return t;
}

PgParams pg_track_params(const Track& t) {
  PgParams params;
  params.add(t.id)
      .add(t.title)
      .add(t.engine)
      .add(t.mode)
      .add(t.measured_duration_seconds)
      .add(t.instrumental)
      .add(t.licence_class)
      .add(t.licence_version)
      .add(t.no_commercial)
      .add(t.mime_type)
      .add(t.audio_path)
      .add(pg_seconds_param(t.removed_at))
      .add(to_unix_seconds(t.created_at));
  return params;
}

CatalogTrack pg_catalog_track(const PgRow& row) {
  CatalogTrack t;
  read_track_head(row, t);
  t.audio_path = row.string(9);
  t.removed_at = pg_optional_seconds(row, 10);
  if (!row.is_null(11)) t.registry = LicenceTerms{row.boolean(11), row.boolean(12)};
  return t;
}

CollectionRecord pg_collection(const PgRow& row) {
  CollectionRecord c;
  c.id = row.string(0);
  c.name = row.string(1);
  c.description = pg_optional_text(row, 2);
  c.removed_at = pg_optional_seconds(row, 3);
  c.created_at = from_unix_seconds(row.int64(4));
  return c;
}

ShareRecord pg_share_record(const PgRow& row) {
  ShareRecord s;
  read_share_head(row, s);
  s.expires_at = pg_optional_seconds(row, 4);
  s.max_views = row.optional_int64(5);
  s.view_count = row.int64(6);
  s.revoked_at = pg_optional_seconds(row, 7);
  return s;
}

Share pg_share(const PgRow& row) {
  Share s;
  read_share_head(row, s);
  s.created_at = from_unix_seconds(row.int64(4));
  s.expires_at = pg_optional_seconds(row, 5);
  s.max_views = row.optional_int64(6);
  s.view_count = row.int64(7);
  s.last_viewed_at = pg_optional_seconds(row, 8);
  s.revoked_at = pg_optional_seconds(row, 9);
  s.revoke_reason = pg_optional_text(row, 10);
  s.note = pg_optional_text(row, 11);
  s.created_by = row.string(12);
  // The fingerprint is the digest's first 12 hex characters: both are SHA-256 of the token.
  s.token_fp = row.string(13).substr(0, 12);
  return s;
}

AuditRecord pg_audit_record(const PgRow& row) {
  AuditRecord record;
  record.id = row.int64(0);
  record.ts = from_unix_millis(row.int64(1));
  record.event = row.string(2);
  record.outcome = row.string(3);
  if (const auto status = row.optional_int64(4)) record.status = static_cast<int>(*status);
  record.client_ip = pg_client_ip(row, 5);
  record.share_id = row.optional_string(6).value_or("");
  record.token_fp = row.optional_string(7).value_or("");
  record.request_id = row.optional_string(8).value_or("");
  record.user_agent = row.optional_string(9).value_or("");
  record.actor = row.optional_string(10).value_or("");
  record.action = row.optional_string(11).value_or("");
  record.detail = row.optional_string(12).value_or("");
  return record;
}

PgParams& add_pg_audit_fields(PgParams& params, const AuditRecord& record) {
  params.add(to_unix_millis(record.ts)).add(record.event).add(record.outcome);
  if (record.status) {
    params.add(*record.status);
  } else {
    params.add_null();
  }
  // Text that is not an address cannot be stored as inet (the whole batch
  // would fail): it is stored as absent.
  const auto address = record.client_ip.empty() ? std::nullopt : parse_ip(record.client_ip);
  if (address) {
    params.add(address->to_string());
  } else {
    params.add_null();
  }
  add_text(params, record.share_id);
  add_text(params, record.token_fp);
  add_text(params, record.request_id);
  add_text(params, record.user_agent);
  add_text(params, record.actor);
  add_text(params, record.action);
  add_text(params, record.detail);
  return params;
}

}  // namespace sharelink
