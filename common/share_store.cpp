#include "common/share_store.hpp"

#include "common/ids.hpp"
#include "common/sqlite_connection.hpp"

namespace sharelink {
namespace {

constexpr const char* k_share_columns =
    "id, target_type, target_id, visibility, created_at, expires_at, max_views, view_count, last_viewed_at, "
    "revoked_at, revoke_reason, note, created_by, token_digest";

Share read_share(SQLite::Statement& st) {
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
  // The fingerprint is the digest's first 12 hex characters: both are SHA-256 of the token.
  s.token_fp = st.getColumn(13).getString().substr(0, 12);
  return s;
}

}  // namespace

struct ShareStore::Impl {
  std::unique_ptr<SQLite::Database> db;

  std::optional<Share> find_where(const char* column, const std::string& value) {
    SQLite::Statement st(*db, std::string("SELECT ") + k_share_columns + " FROM shares WHERE " + column + " = ?");
    st.bind(1, value);
    if (!st.executeStep()) return std::nullopt;
    return read_share(st);
  }
};

ShareStore::ShareStore(const std::filesystem::path& db_file) : impl_(std::make_unique<Impl>()) {
  impl_->db = open_connection(db_file, SchemaKind::main);
}

ShareStore::~ShareStore() = default;

CreatedShare ShareStore::create(const NewShare& request, TimePoint now) {
  CreatedShare created;
  created.token = new_share_token();
  Share& s = created.share;
  s.id = new_share_id();
  s.target_type = request.target_type;
  s.target_id = request.target_id;
  s.visibility = request.visibility;
  s.created_at = std::chrono::floor<std::chrono::seconds>(now);
  s.expires_at = request.expires_at;
  s.max_views = request.max_views;
  s.note = request.note;
  s.created_by = request.created_by;
  const std::string digest = token_digest(created.token);
  s.token_fp = digest.substr(0, 12);

  SQLite::Statement st(*impl_->db,
                       "INSERT INTO shares (id, token_digest, target_type, target_id, visibility, created_at, "
                       "expires_at, max_views, note, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, s.id);
  st.bind(2, digest);
  st.bind(3, to_string(s.target_type));
  st.bind(4, s.target_id);
  st.bind(5, to_string(s.visibility));
  st.bind(6, static_cast<int64_t>(to_unix_seconds(s.created_at)));
  bind_optional(st, 7, s.expires_at);
  bind_optional(st, 8, s.max_views);
  bind_optional(st, 9, s.note);
  st.bind(10, s.created_by);
  st.exec();
  return created;
}

std::optional<Share> ShareStore::find(std::string_view id) { return impl_->find_where("id", std::string(id)); }

std::optional<Share> ShareStore::find_by_token(std::string_view token) {
  if (!is_share_token(token)) return std::nullopt;
  return impl_->find_where("token_digest", token_digest(token));
}

std::vector<Share> ShareStore::list(std::optional<ShareStatus> status, std::optional<std::string> target,
                                    TimePoint now) {
  std::string sql = std::string("SELECT ") + k_share_columns + " FROM shares";
  if (target) sql += " WHERE target_id = ?";
  sql += " ORDER BY created_at DESC, rowid DESC";
  SQLite::Statement st(*impl_->db, sql);
  if (target) st.bind(1, *target);
  std::vector<Share> out;
  while (st.executeStep()) {
    Share s = read_share(st);
    if (!status || share_status(s, now) == *status) out.push_back(std::move(s));
  }
  return out;
}

bool ShareStore::revoke(std::string_view id, std::optional<std::string> reason, TimePoint now) {
  SQLite::Statement st(*impl_->db,
                       "UPDATE shares SET revoked_at = coalesce(revoked_at, ?1), "
                       "revoke_reason = CASE WHEN revoked_at IS NULL THEN ?2 ELSE revoke_reason END WHERE id = ?3");
  st.bind(1, static_cast<int64_t>(to_unix_seconds(now)));
  bind_optional(st, 2, reason);
  st.bind(3, std::string(id));
  return st.exec() > 0;
}

bool ShareStore::expire(std::string_view id, TimePoint at) {
  SQLite::Statement st(*impl_->db, "UPDATE shares SET expires_at = ? WHERE id = ?");
  st.bind(1, static_cast<int64_t>(to_unix_seconds(at)));
  st.bind(2, std::string(id));
  return st.exec() > 0;
}

bool ShareStore::target_removed(const Share& share) {
  const char* table = share.target_type == TargetType::collection ? "collections" : "tracks";
  SQLite::Statement st(*impl_->db, std::string("SELECT removed_at IS NOT NULL FROM ") + table + " WHERE id = ?");
  st.bind(1, share.target_id);
  if (!st.executeStep()) return true;
  return st.getColumn(0).getInt() != 0;
}

}  // namespace sharelink
