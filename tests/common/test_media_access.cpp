// Unit tests of the media route's library side: share/track checks and safe file opening.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/media_access.hpp"
#include "tests/common/store_fixtures.hpp"
#include "tests/common/temp_dir.hpp"

namespace sharelink {
namespace {

using sharelink::testing::MemoryFixture;
using sharelink::testing::PostgresFixture;
using sharelink::testing::SqliteFixture;
using sharelink::testing::TempDir;

using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

void write_file(const std::filesystem::path& file, const std::string& data) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << data;
}

// A store with the licence registry, and a reader to check against.
template <typename Store>
struct Fixture : Store {
  std::unique_ptr<CatalogReader> reader = this->storage().open_reader();

  std::string add_track(const std::string& id, const std::string& mime = "audio/ogg") {
    Track t = testing::make_track(id, "personal_only", false, "2026-01", k_now - 48h);
    t.mime_type = mime;
    Store::add_track(t);
    return id;
  }

  std::string add_collection(const std::string& id, const std::vector<std::string>& track_ids) {
    CollectionRecord c;
    c.id = id;
    c.name = "Collection " + id;
    c.created_at = k_now - 48h;
    Store::add_collection(c, track_ids);
    return id;
  }

  std::string share(TargetType type, const std::string& target, std::optional<TimePoint> expires = {},
                    std::optional<std::int64_t> max_views = {}, Visibility visibility = Visibility::link_only) {
    return Store::share(testing::new_share(type, target, expires, max_views, visibility), k_now - 1h).share.id;
  }

  MediaGrant check(const std::string& share_id, const std::string& track_id) {
    return check_media(*reader, share_id, track_id, k_now);
  }
};

}  // namespace

// --- check_media ---------------------------------------------------------

TEMPLATE_TEST_CASE("check_media: track share grants its track's file and mime type", "[media_access]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001", "audio/flac");
  const auto share_id = f.share(TargetType::track, "mtrack_000000000001", std::nullopt, std::nullopt,
                                Visibility::public_link);

  const MediaGrant grant = f.check(share_id, "mtrack_000000000001");
  CHECK(grant.outcome == MediaOutcome::ok);
  CHECK(grant.audio_path == "album/mtrack_000000000001.ogg");
  CHECK(grant.mime_type == "audio/flac");
  CHECK(grant.visibility == Visibility::public_link);
}

TEMPLATE_TEST_CASE("check_media: revoked and expired shares answer their status, exhausted ones still play",
                   "[media_access]", MemoryFixture, SqliteFixture, PostgresFixture) {
  struct Case {
    const char* name;
    std::optional<TimePoint> expires_at;
    std::optional<std::int64_t> max_views;
    int views_taken;
    bool revoked;
    MediaOutcome expected;
  };
  const std::vector<Case> cases = {
      {"active, expiring later", k_now + 1s, 2, 1, false, MediaOutcome::ok},
      {"revoked", std::nullopt, std::nullopt, 0, true, MediaOutcome::revoked},
      {"expired exactly now", k_now, std::nullopt, 0, false, MediaOutcome::expired},
      {"expired earlier", k_now - 1s, std::nullopt, 0, false, MediaOutcome::expired},
      // SPEC 5: exhaustion stops new views, not the playback of a view already counted.
      {"max_views reached", std::nullopt, 2, 2, false, MediaOutcome::ok},
      {"max_views passed (raised count)", std::nullopt, 1, 5, false, MediaOutcome::ok},
      {"revoked beats expired and exhausted", k_now - 1s, 1, 1, true, MediaOutcome::revoked},
      {"expired and exhausted", k_now - 1s, 1, 1, false, MediaOutcome::expired},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      Fixture<TestType> f;
      f.add_track("mtrack_000000000001");
      const auto share_id = f.share(TargetType::track, "mtrack_000000000001", c.expires_at, c.max_views);
      if (c.views_taken > 0) f.set_view_count(share_id, c.views_taken);
      if (c.revoked) f.revoke(share_id, k_now - 1s);
      const MediaGrant grant = f.check(share_id, "mtrack_000000000001");
      CHECK(grant.outcome == c.expected);
      CHECK(grant.visibility == Visibility::link_only);
      if (c.expected != MediaOutcome::ok) CHECK(grant.audio_path.empty());
    }
  }
}

TEMPLATE_TEST_CASE("check_media: a track the share does not include is not found", "[media_access]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  f.add_track("mtrack_000000000002");
  f.add_track("mtrack_000000000003");
  f.add_collection("mcoll_000000000001", {"mtrack_000000000001", "mtrack_000000000002"});
  const auto track_share = f.share(TargetType::track, "mtrack_000000000001");
  const auto collection_share = f.share(TargetType::collection, "mcoll_000000000001");

  CHECK(f.check(track_share, "mtrack_000000000001").outcome == MediaOutcome::ok);
  CHECK(f.check(track_share, "mtrack_000000000002").outcome == MediaOutcome::not_found);
  CHECK(f.check(collection_share, "mtrack_000000000002").outcome == MediaOutcome::ok);
  CHECK(f.check(collection_share, "mtrack_000000000003").outcome == MediaOutcome::not_found);
  CHECK(f.check(collection_share, "mcoll_000000000001").outcome == MediaOutcome::not_found);
}

TEMPLATE_TEST_CASE("check_media: unknown share, unknown track and missing collection are not found",
                   "[media_access]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  const auto dangling_track = f.share(TargetType::track, "mtrack_00000000dead");
  const auto dangling_collection = f.share(TargetType::collection, "mcoll_00000000dead");

  const MediaGrant unknown = f.check("mslink_000000000000", "mtrack_000000000001");
  CHECK(unknown.outcome == MediaOutcome::not_found);
  CHECK(unknown.visibility == Visibility::link_only);
  CHECK(f.check(dangling_track, "mtrack_00000000dead").outcome == MediaOutcome::not_found);
  CHECK(f.check(dangling_collection, "mtrack_000000000001").outcome == MediaOutcome::not_found);
}

TEMPLATE_TEST_CASE("check_media: sees sharectl's changes at once on the same connection", "[media_access]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  f.add_track("mtrack_000000000002");
  f.add_collection("mcoll_000000000001", {"mtrack_000000000001", "mtrack_000000000002"});
  const auto track_share = f.share(TargetType::track, "mtrack_000000000002");
  const auto collection_share = f.share(TargetType::collection, "mcoll_000000000001");
  const auto revoked_share = f.share(TargetType::collection, "mcoll_000000000001");
  // Warm every statement first, so a kept read snapshot would show.
  REQUIRE(f.check(track_share, "mtrack_000000000002").outcome == MediaOutcome::ok);
  REQUIRE(f.check(collection_share, "mtrack_000000000001").outcome == MediaOutcome::ok);
  REQUIRE(f.check(collection_share, "mtrack_000000000002").outcome == MediaOutcome::ok);
  REQUIRE(f.check(revoked_share, "mtrack_000000000001").outcome == MediaOutcome::ok);

  SECTION("share revoked") {
    f.revoke(revoked_share, k_now);
    CHECK(f.check(revoked_share, "mtrack_000000000001").outcome == MediaOutcome::revoked);
    CHECK(f.check(collection_share, "mtrack_000000000001").outcome == MediaOutcome::ok);
  }
  SECTION("share expired") {
    f.expire(collection_share, k_now);
    CHECK(f.check(collection_share, "mtrack_000000000001").outcome == MediaOutcome::expired);
  }
  SECTION("track dropped from the collection") {
    f.set_collection_tracks("mcoll_000000000001", {"mtrack_000000000002"});
    CHECK(f.check(collection_share, "mtrack_000000000001").outcome == MediaOutcome::not_found);
    CHECK(f.check(collection_share, "mtrack_000000000002").outcome == MediaOutcome::ok);
  }
  SECTION("collection removed, then restored") {
    f.set_collection_removed("mcoll_000000000001", k_now);
    CHECK(f.check(collection_share, "mtrack_000000000001").outcome == MediaOutcome::not_found);
    f.set_collection_removed("mcoll_000000000001", std::nullopt);
    CHECK(f.check(collection_share, "mtrack_000000000001").outcome == MediaOutcome::ok);
  }
  SECTION("track removed, in a track share and in a collection") {
    f.set_track_removed("mtrack_000000000002", k_now);
    CHECK(f.check(track_share, "mtrack_000000000002").outcome == MediaOutcome::not_found);
    CHECK(f.check(collection_share, "mtrack_000000000002").outcome == MediaOutcome::not_found);
    CHECK(f.check(collection_share, "mtrack_000000000001").outcome == MediaOutcome::ok);
  }
}

TEMPLATE_TEST_CASE("check_media: never counts a view", "[media_access]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  const auto share_id = f.share(TargetType::track, "mtrack_000000000001", std::nullopt, 1);
  for (int i = 0; i < 3; ++i) REQUIRE(f.check(share_id, "mtrack_000000000001").outcome == MediaOutcome::ok);
  const auto share = f.find(share_id);
  REQUIRE(share);
  CHECK(share->view_count == 0);
  CHECK_FALSE(share->last_viewed_at);
}

TEST_CASE("check_media: storage failures propagate and the snapshot is ended", "[media_access]") {
  Fixture<MemoryFixture> f;
  f.add_track("mtrack_000000000001");
  const auto share_id = f.share(TargetType::track, "mtrack_000000000001");
  f.data().refuse_all = true;
  CHECK_THROWS_AS(f.check(share_id, "mtrack_000000000001"), DatabaseUnavailable);
  CHECK_FALSE(dynamic_cast<testing::MemoryReader&>(*f.reader).in_snapshot());
  f.data().refuse_all = false;
  CHECK(f.check(share_id, "mtrack_000000000001").outcome == MediaOutcome::ok);
}

TEST_CASE("check_media: media outcomes by status and audit outcomes of SPEC 7", "[media_access]") {
  CHECK(media_outcome(ShareStatus::active) == MediaOutcome::ok);
  CHECK(media_outcome(ShareStatus::revoked) == MediaOutcome::revoked);
  CHECK(media_outcome(ShareStatus::expired) == MediaOutcome::expired);
  CHECK(media_outcome(ShareStatus::exhausted) == MediaOutcome::ok);  // SPEC 5: used-up links still play
  CHECK(audit_outcome(MediaOutcome::ok) == MetricOutcome::ok);
  CHECK(audit_outcome(MediaOutcome::not_found) == MetricOutcome::not_found);
  CHECK(audit_outcome(MediaOutcome::revoked) == MetricOutcome::share_inactive);
  CHECK(audit_outcome(MediaOutcome::expired) == MetricOutcome::share_inactive);
  CHECK(to_string(audit_outcome(MediaOutcome::expired)) == "share_inactive");
}

// --- open_media_file -----------------------------------------------------

namespace {

struct MediaRootFixture {
  TempDir dir;
  std::filesystem::path root = dir.path() / "media";
  std::filesystem::path outside = dir.path() / "outside";

  MediaRootFixture() {
    write_file(root / "album" / "song.ogg", "0123456789");
    write_file(outside / "secret.ogg", "SECRET");
  }
};

std::string read_all(const MediaFile& file) {
  std::string data(file.size(), '\0');
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t n = file.read_at(done, data.data() + done, data.size() - done);
    REQUIRE(n > 0);
    done += n;
  }
  return data;
}

}  // namespace

TEST_CASE("open_media_file: opens a regular file inside media_root", "[media_access]") {
  MediaRootFixture f;
  const MediaFileOpen opened = open_media_file(f.root, "album/song.ogg");
  REQUIRE(opened.status == MediaFileStatus::ok);
  REQUIRE(opened.file);
  CHECK(opened.file->size() == 10);
  CHECK(read_all(*opened.file) == "0123456789");

  char buffer[4];
  CHECK(opened.file->read_at(7, buffer, sizeof buffer) == 3);
  CHECK(std::string(buffer, 3) == "789");
  CHECK(opened.file->read_at(10, buffer, sizeof buffer) == 0);
  CHECK(opened.file->read_at(1000, buffer, sizeof buffer) == 0);
}

TEST_CASE("open_media_file: paths that could escape are refused before any lookup", "[media_access]") {
  MediaRootFixture f;
  // The outside file exists, so only the lexical check can refuse these.
  const std::vector<std::string> paths = {
      "",
      "/" + (f.outside / "secret.ogg").string(),
      (f.outside / "secret.ogg").string(),
      "../outside/secret.ogg",
      "album/../../outside/secret.ogg",
      "album/..",
      "..",
      std::string("album/song.ogg\0../x", 19),
  };
  for (const auto& path : paths) {
    CAPTURE(path);
    const MediaFileOpen opened = open_media_file(f.root, path);
    CHECK(opened.status == MediaFileStatus::invalid_path);
    CHECK_FALSE(opened.file);
  }
  // Names that merely contain dots are fine.
  write_file(f.root / "..a" / "b..ogg", "x");
  CHECK(open_media_file(f.root, "..a/b..ogg").status == MediaFileStatus::ok);
  CHECK(open_media_file(f.root, "./album/song.ogg").status == MediaFileStatus::ok);
}

TEST_CASE("open_media_file: symlinks are followed only while they stay inside", "[media_access]") {
  MediaRootFixture f;
  std::filesystem::create_symlink(f.outside / "secret.ogg", f.root / "escape.ogg");
  std::filesystem::create_directory_symlink(f.outside, f.root / "escape_dir");
  std::filesystem::create_symlink("album/song.ogg", f.root / "inside.ogg");
  std::filesystem::create_symlink("../media/album/song.ogg", f.root / "out_and_back.ogg");

  CHECK(open_media_file(f.root, "escape.ogg").status == MediaFileStatus::outside_root);
  CHECK(open_media_file(f.root, "escape_dir/secret.ogg").status == MediaFileStatus::outside_root);
  CHECK(open_media_file(f.root, "inside.ogg").status == MediaFileStatus::ok);
  CHECK(open_media_file(f.root, "out_and_back.ogg").status == MediaFileStatus::ok);
}

TEST_CASE("open_media_file: a symlinked media_root is resolved before the containment check",
          "[media_access]") {
  MediaRootFixture f;
  const auto link = f.dir.path() / "media-link";
  std::filesystem::create_directory_symlink(f.root, link);
  const MediaFileOpen opened = open_media_file(link, "album/song.ogg");
  REQUIRE(opened.status == MediaFileStatus::ok);
  CHECK(read_all(*opened.file) == "0123456789");
}

TEST_CASE("open_media_file: missing, unreadable and non-regular files", "[media_access]") {
  MediaRootFixture f;
  std::filesystem::create_symlink("loop_b", f.root / "loop_a");
  std::filesystem::create_symlink("loop_a", f.root / "loop_b");
  std::filesystem::create_symlink("nowhere.ogg", f.root / "dangling.ogg");
  REQUIRE(::mkfifo((f.root / "fifo").c_str(), 0600) == 0);

  struct Case {
    const char* path;
    MediaFileStatus expected;
  };
  const std::vector<Case> cases = {
      {"album/absent.ogg", MediaFileStatus::missing},
      {"absent_dir/song.ogg", MediaFileStatus::missing},
      {"album/song.ogg/below", MediaFileStatus::missing},
      {"dangling.ogg", MediaFileStatus::missing},
      {"loop_a", MediaFileStatus::unreadable},
      {"album", MediaFileStatus::not_regular},
      {"album/", MediaFileStatus::not_regular},
      {"fifo", MediaFileStatus::not_regular},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    const MediaFileOpen opened = open_media_file(f.root, c.path);
    CHECK(opened.status == c.expected);
    CHECK_FALSE(opened.file);
  }
}

TEST_CASE("open_media_file: a media_root that does not resolve throws Error naming it", "[media_access]") {
  TempDir dir;
  const auto root = dir.path() / "no-such-media";
  CHECK_THROWS_AS(open_media_file(root, "song.ogg"), Error);
  CHECK_THROWS_WITH(open_media_file(root, "song.ogg"), Catch::Contains(root.string()));
}

TEST_CASE("MediaFile: a read error throws Error", "[media_access]") {
  TempDir dir;
  const int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(fd >= 0);
  const MediaFile file(fd, 10);  // a directory: pread fails with EISDIR
  char buffer[4];
  CHECK_THROWS_AS(file.read_at(0, buffer, sizeof buffer), Error);
}

TEST_CASE("MediaFileStatus: names for logs", "[media_access]") {
  CHECK(std::string(to_string(MediaFileStatus::ok)) == "ok");
  CHECK(std::string(to_string(MediaFileStatus::invalid_path)) == "invalid_path");
  CHECK(std::string(to_string(MediaFileStatus::outside_root)) == "outside_root");
  CHECK(std::string(to_string(MediaFileStatus::missing)) == "missing");
  CHECK(std::string(to_string(MediaFileStatus::unreadable)) == "unreadable");
  CHECK(std::string(to_string(MediaFileStatus::not_regular)) == "not_regular");
}

}  // namespace sharelink
