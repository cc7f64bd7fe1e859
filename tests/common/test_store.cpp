// Unit tests of the storage interface's contract (common/store.hpp), the same on every store.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "common/store.hpp"
#include "tests/common/store_fixtures.hpp"

namespace sharelink {
namespace {

using sharelink::testing::make_track;
using sharelink::testing::MemoryFixture;
using sharelink::testing::new_share;
using sharelink::testing::PostgresFixture;
using sharelink::testing::SqliteFixture;
using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

void check_same_share(const ShareRecord& a, const ShareRecord& b) {
  CHECK(a.id == b.id);
  CHECK(a.target_type == b.target_type);
  CHECK(a.target_id == b.target_id);
  CHECK(a.visibility == b.visibility);
  CHECK(a.expires_at == b.expires_at);
  CHECK(a.max_views == b.max_views);
  CHECK(a.view_count == b.view_count);
  CHECK(a.revoked_at == b.revoked_at);
}

}  // namespace

// The share page's refresh finds its link by id (the page session names the
// link, never the token): every field as share_by_digest reads it, as it is now.
TEMPLATE_TEST_CASE("CatalogReader: share_by_id reads the link as share_by_digest does, as it is now",
                   "[store]", MemoryFixture, SqliteFixture, PostgresFixture) {
  TestType f;
  f.add_track(make_track("mtrack_000000000001"));
  const auto created = f.share(
      new_share(TargetType::track, "mtrack_000000000001", k_now + 1h, 3, Visibility::public_link), k_now);
  const auto open = f.share(new_share(TargetType::collection, "mcoll_000000000001"), k_now);
  const auto reader = f.storage().open_reader();

  const auto by_id = reader->share_by_id(created.share.id);
  const auto by_digest = reader->share_by_digest(token_digest(created.token));
  REQUIRE(by_id);
  REQUIRE(by_digest);
  check_same_share(*by_id, *by_digest);
  CHECK(by_id->target_type == TargetType::track);
  CHECK(by_id->visibility == Visibility::public_link);
  CHECK(by_id->expires_at == k_now + 1h);
  CHECK(by_id->max_views == 3);
  CHECK(by_id->view_count == 0);
  CHECK_FALSE(by_id->revoked_at);

  const auto unlimited = reader->share_by_id(open.share.id);
  REQUIRE(unlimited);
  CHECK(unlimited->target_type == TargetType::collection);
  CHECK(unlimited->visibility == Visibility::link_only);
  CHECK_FALSE(unlimited->expires_at);
  CHECK_FALSE(unlimited->max_views);

  // Views counted and a revocation committed elsewhere are read at the next call.
  f.set_view_count(created.share.id, 3);
  f.revoke(created.share.id, k_now + 1s);
  const auto now = reader->share_by_id(created.share.id);
  REQUIRE(now);
  CHECK(now->view_count == 3);
  CHECK(now->revoked_at == k_now + 1s);
  check_same_share(*now, *reader->share_by_digest(token_digest(created.token)));

  CHECK_FALSE(reader->share_by_id("mslink_000000000000"));
  CHECK_FALSE(reader->share_by_id(std::string(created.token)));  // a token is not an id
}

// The refresh mints a URL for each of the share's current tracks: a track
// share's track, or the collection's tracks in order with their files.
TEMPLATE_TEST_CASE("CatalogReader: a refresh's reads, the track and the collection's tracks as they are now",
                   "[store]", MemoryFixture, SqliteFixture, PostgresFixture) {
  TestType f;
  for (const char* id : {"mtrack_000000000001", "mtrack_000000000002", "mtrack_000000000003"}) {
    f.add_track(make_track(id));
  }
  CollectionRecord c;
  c.id = "mcoll_000000000001";
  c.name = "Focus";
  c.created_at = k_now;
  f.add_collection(c, {"mtrack_000000000002", "mtrack_000000000003", "mtrack_000000000001"});
  const auto reader = f.storage().open_reader();

  const auto tracks_of = [&](const std::string& collection_id) {
    std::vector<std::string> seen;
    ReadSnapshot snapshot(*reader);
    const CollectionRows rows = reader->collection_tracks(collection_id);
    for (const CatalogTrack& t : *rows) {
      CHECK(t.audio_path == "album/" + t.id + ".ogg");
      REQUIRE(t.registry);  // personal_only@2026-01 is in the default registry
      seen.push_back(t.id + (t.removed_at ? " removed" : ""));
    }
    snapshot.end();
    return seen;
  };
  CHECK(tracks_of(c.id) ==
        std::vector<std::string>{"mtrack_000000000002", "mtrack_000000000003", "mtrack_000000000001"});

  // sharectl changes between two refreshes: a removal, a new order, a track dropped.
  f.set_track_removed("mtrack_000000000003", k_now);
  f.set_collection_tracks(c.id, {"mtrack_000000000001", "mtrack_000000000003"});
  CHECK(tracks_of(c.id) == std::vector<std::string>{"mtrack_000000000001", "mtrack_000000000003 removed"});
  f.set_collection_removed(c.id, k_now);
  CHECK(reader->collection(c.id)->removed_at == k_now);
  CHECK(tracks_of("mcoll_00000000dead").empty());

  const auto track = reader->track("mtrack_000000000002");
  REQUIRE(track);
  CHECK(track->audio_path == "album/mtrack_000000000002.ogg");
  CHECK_FALSE(track->removed_at);
  CHECK(reader->track("mtrack_000000000003")->removed_at == k_now);
  CHECK_FALSE(reader->track("mtrack_00000000dead"));
}

}  // namespace sharelink
