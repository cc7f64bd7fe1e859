#include "common/catalog_store.hpp"

#include <algorithm>
#include <unordered_set>

#include "common/error.hpp"
#include "common/sqlite_connection.hpp"

namespace sharelink {
namespace {

constexpr const char* k_track_columns =
    "id, title, engine, mode, measured_duration_seconds, instrumental, licence_class, licence_version, "
    "no_commercial, mime_type, audio_path, removed_at, created_at";

Track read_track(SQLite::Statement& st) {
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
  return t;
}

void bind_track(SQLite::Statement& st, const Track& t) {
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
  st.bind(13, static_cast<int64_t>(to_unix_seconds(t.created_at)));
}

}  // namespace

struct CatalogStore::Impl {
  std::unique_ptr<SQLite::Database> db;

  bool exists(const char* table, std::string_view id) {
    SQLite::Statement st(*db, std::string("SELECT 1 FROM ") + table + " WHERE id = ?");
    st.bind(1, std::string(id));
    return st.executeStep();
  }

  std::vector<std::string> member_ids(std::string_view collection_id) {
    SQLite::Statement st(*db, "SELECT track_id FROM collection_tracks WHERE collection_id = ? ORDER BY position");
    st.bind(1, std::string(collection_id));
    std::vector<std::string> ids;
    while (st.executeStep()) ids.push_back(st.getColumn(0).getString());
    return ids;
  }

  void write_members(std::string_view collection_id, const std::vector<std::string>& ids) {
    SQLite::Statement del(*db, "DELETE FROM collection_tracks WHERE collection_id = ?");
    del.bind(1, std::string(collection_id));
    del.exec();
    SQLite::Statement ins(*db, "INSERT INTO collection_tracks (collection_id, position, track_id) VALUES (?, ?, ?)");
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ins.bind(1, std::string(collection_id));
      ins.bind(2, static_cast<int64_t>(i));
      ins.bind(3, ids[i]);
      ins.exec();
      ins.reset();
    }
  }

  bool set_removed(const char* table, std::string_view id, std::optional<TimePoint> removed_at) {
    SQLite::Statement st(*db, std::string("UPDATE ") + table + " SET removed_at = ? WHERE id = ?");
    bind_optional(st, 1, removed_at);
    st.bind(2, std::string(id));
    return st.exec() > 0;
  }
};

CatalogStore::CatalogStore(const std::filesystem::path& db_file) : impl_(std::make_unique<Impl>()) {
  impl_->db = open_connection(db_file, SchemaKind::main);
}

CatalogStore::~CatalogStore() = default;

void CatalogStore::set_licence(const Licence& licence) {
  SQLite::Statement st(*impl_->db,
                       "INSERT INTO licences (licence_class, licence_version, commercial_use, requires_attribution) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (licence_class, licence_version) DO UPDATE SET "
                       "commercial_use = excluded.commercial_use, "
                       "requires_attribution = excluded.requires_attribution");
  st.bind(1, to_string(licence.licence_class));
  st.bind(2, licence.licence_version);
  st.bind(3, licence.commercial_use ? 1 : 0);
  st.bind(4, licence.requires_attribution ? 1 : 0);
  st.exec();
}

std::vector<Licence> CatalogStore::licences() {
  SQLite::Statement st(*impl_->db,
                       "SELECT licence_class, licence_version, commercial_use, requires_attribution FROM licences "
                       "ORDER BY licence_class, licence_version");
  std::vector<Licence> out;
  while (st.executeStep()) {
    // The registry's CHECK constraint admits the four classes only.
    const auto licence_class = parse_licence_class(st.getColumn(0).getText());
    if (!licence_class) throw Error("licence registry holds an unknown class \"" + st.getColumn(0).getString() + "\"");
    out.push_back({*licence_class, st.getColumn(1).getString(), st.getColumn(2).getInt() != 0,
                   st.getColumn(3).getInt() != 0});
  }
  return out;
}

std::optional<Licence> CatalogStore::licence(LicenceClass licence_class, std::string_view licence_version) {
  SQLite::Statement st(*impl_->db,
                       "SELECT commercial_use, requires_attribution FROM licences "
                       "WHERE licence_class = ? AND licence_version = ?");
  st.bind(1, to_string(licence_class));
  st.bind(2, std::string(licence_version));
  if (!st.executeStep()) return std::nullopt;
  return Licence{licence_class, std::string(licence_version), st.getColumn(0).getInt() != 0,
                 st.getColumn(1).getInt() != 0};
}

bool CatalogStore::add_track(const Track& track) {
  SQLite::Statement st(*impl_->db, std::string("INSERT INTO tracks (") + k_track_columns +
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                       "ON CONFLICT (id) DO NOTHING");
  bind_track(st, track);
  return st.exec() > 0;
}

void CatalogStore::upsert_tracks(const std::vector<Track>& tracks) {
  with_write_transaction(*impl_->db, [&] {
    SQLite::Statement st(*impl_->db,
                         std::string("INSERT INTO tracks (") + k_track_columns +
                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                             "title = excluded.title, engine = excluded.engine, mode = excluded.mode, "
                             "measured_duration_seconds = excluded.measured_duration_seconds, "
                             "instrumental = excluded.instrumental, licence_class = excluded.licence_class, "
                             "licence_version = excluded.licence_version, no_commercial = excluded.no_commercial, "
                             "mime_type = excluded.mime_type, audio_path = excluded.audio_path, "
                             "removed_at = excluded.removed_at");
    for (const auto& track : tracks) {
      bind_track(st, track);
      st.exec();
      st.reset();
    }
  });
}

std::optional<Track> CatalogStore::track(std::string_view id) {
  SQLite::Statement st(*impl_->db, std::string("SELECT ") + k_track_columns + " FROM tracks WHERE id = ?");
  st.bind(1, std::string(id));
  if (!st.executeStep()) return std::nullopt;
  return read_track(st);
}

std::vector<Track> CatalogStore::tracks() {
  SQLite::Statement st(*impl_->db, std::string("SELECT ") + k_track_columns + " FROM tracks ORDER BY created_at, id");
  std::vector<Track> out;
  while (st.executeStep()) out.push_back(read_track(st));
  return out;
}

bool CatalogStore::set_track_removed(std::string_view id, std::optional<TimePoint> removed_at) {
  return impl_->set_removed("tracks", id, removed_at);
}

bool CatalogStore::add_collection(const CollectionRecord& collection) {
  SQLite::Statement st(*impl_->db,
                       "INSERT INTO collections (id, name, description, removed_at, created_at) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (id) DO NOTHING");
  st.bind(1, collection.id);
  st.bind(2, collection.name);
  bind_optional(st, 3, collection.description);
  bind_optional(st, 4, collection.removed_at);
  st.bind(5, static_cast<int64_t>(to_unix_seconds(collection.created_at)));
  return st.exec() > 0;
}

std::optional<Collection> CatalogStore::collection(std::string_view id) {
  SQLite::Statement st(*impl_->db,
                       "SELECT id, name, description, removed_at, created_at FROM collections WHERE id = ?");
  st.bind(1, std::string(id));
  if (!st.executeStep()) return std::nullopt;
  Collection c;
  c.id = st.getColumn(0).getString();
  c.name = st.getColumn(1).getString();
  c.description = optional_text(st.getColumn(2));
  c.removed_at = optional_time(st.getColumn(3));
  c.created_at = from_unix_seconds(st.getColumn(4).getInt64());
  c.track_ids = impl_->member_ids(c.id);
  return c;
}

std::vector<Collection> CatalogStore::collections() {
  std::vector<std::string> ids;
  {
    SQLite::Statement st(*impl_->db, "SELECT id FROM collections ORDER BY created_at, id");
    while (st.executeStep()) ids.push_back(st.getColumn(0).getString());
  }
  std::vector<Collection> out;
  for (const auto& id : ids) {
    if (auto c = collection(id)) out.push_back(std::move(*c));
  }
  return out;
}

bool CatalogStore::set_collection_removed(std::string_view id, std::optional<TimePoint> removed_at) {
  return impl_->set_removed("collections", id, removed_at);
}

CatalogStore::MembershipChange CatalogStore::append_tracks(std::string_view collection_id,
                                                           const std::vector<std::string>& track_ids,
                                                           std::string* offender) {
  MembershipChange result = MembershipChange::ok;
  with_write_transaction(*impl_->db, [&] {
    if (!impl_->exists("collections", collection_id)) {
      result = MembershipChange::unknown_collection;
      return;
    }
    auto members = impl_->member_ids(collection_id);
    std::unordered_set<std::string> present(members.begin(), members.end());
    for (const auto& id : track_ids) {
      if (!impl_->exists("tracks", id)) {
        result = MembershipChange::unknown_track;
      } else if (!present.insert(id).second) {
        result = MembershipChange::duplicate_track;
      }
      if (result != MembershipChange::ok) {
        if (offender) *offender = id;
        return;
      }
      members.push_back(id);
    }
    impl_->write_members(collection_id, members);
  });
  return result;
}

CatalogStore::MembershipChange CatalogStore::drop_tracks(std::string_view collection_id,
                                                         const std::vector<std::string>& track_ids,
                                                         std::string* offender) {
  MembershipChange result = MembershipChange::ok;
  with_write_transaction(*impl_->db, [&] {
    if (!impl_->exists("collections", collection_id)) {
      result = MembershipChange::unknown_collection;
      return;
    }
    auto members = impl_->member_ids(collection_id);
    for (const auto& id : track_ids) {
      const auto it = std::find(members.begin(), members.end(), id);
      if (it == members.end()) {
        result = MembershipChange::not_member;
        if (offender) *offender = id;
        return;
      }
      members.erase(it);
    }
    impl_->write_members(collection_id, members);
  });
  return result;
}

}  // namespace sharelink
