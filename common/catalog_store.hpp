// The catalogue the resolver reads: licence registry, tracks, collections (read/write, for sharectl).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/domain.hpp"

namespace sharelink {

// Read/write access to the catalogue over one SQLite connection of its own.
// Not thread-safe: one CatalogStore per thread. Requires the current schema
// (throws Error otherwise). Database failures throw Error; domain answers
// (unknown id, duplicate) are return values.
class CatalogStore {
 public:
  explicit CatalogStore(const std::filesystem::path& db_file);
  ~CatalogStore();
  CatalogStore(const CatalogStore&) = delete;
  CatalogStore& operator=(const CatalogStore&) = delete;

  // Inserts or replaces one registry entry.
  void set_licence(const Licence& licence);
  std::vector<Licence> licences();
  std::optional<Licence> licence(LicenceClass licence_class, std::string_view licence_version);

  // Inserts a new track; false if the id is taken.
  bool add_track(const Track& track);
  // Inserts or updates every track (by id) in one transaction: all or nothing.
  void upsert_tracks(const std::vector<Track>& tracks);
  std::optional<Track> track(std::string_view id);
  std::vector<Track> tracks();
  // Sets or clears removed_at; false if the id is unknown.
  bool set_track_removed(std::string_view id, std::optional<TimePoint> removed_at);

  // Inserts a new collection (track_ids ignored); false if the id is taken.
  bool add_collection(const CollectionRecord& collection);
  std::optional<Collection> collection(std::string_view id);
  std::vector<Collection> collections();
  bool set_collection_removed(std::string_view id, std::optional<TimePoint> removed_at);

  enum class MembershipChange { ok, unknown_collection, unknown_track, duplicate_track, not_member };
  // Appends tracks in the given order; all or nothing. On failure, offender
  // names the first offending track id.
  MembershipChange append_tracks(std::string_view collection_id, const std::vector<std::string>& track_ids,
                                 std::string* offender);
  // Removes tracks from the collection, keeping the order of the rest; all or nothing.
  MembershipChange drop_tracks(std::string_view collection_id, const std::vector<std::string>& track_ids,
                               std::string* offender);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sharelink
