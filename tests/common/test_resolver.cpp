// Unit tests of the one resolver: outcomes, views, licence truth, view counting.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/catalog_store.hpp"
#include "common/crypto.hpp"
#include "common/database.hpp"
#include "common/ids.hpp"
#include "common/installation.hpp"
#include "common/playback_signer.hpp"
#include "common/resolver.hpp"
#include "common/share_store.hpp"
#include "tests/common/temp_dir.hpp"

using namespace sharelink;
using namespace std::chrono_literals;

namespace {

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

struct Fixture {
  testing::TempDir dir{"sharelink-resolver-test"};
  std::filesystem::path db;
  std::unique_ptr<CatalogStore> catalog;
  std::unique_ptr<ShareStore> shares;
  PlaybackSigner signer;

  static PlaybackSigner make_signer() {
    PlaybackConfig config;
    config.ttl_seconds = 300;
    return PlaybackSigner(config, "https://music.example.org", SigningKeys({{"k1", std::string(32, 'k'), {}}}));
  }

  Fixture() : signer(make_signer()) {
    db = dir / "shared-link.db";
    migrate_database(db, SchemaKind::main);
    catalog = std::make_unique<CatalogStore>(db);
    for (const auto& licence : default_licences()) catalog->set_licence(licence);
    shares = std::make_unique<ShareStore>(db);
  }

  std::string add_track(const std::string& id, const std::string& licence_class = "personal_only",
                        bool no_commercial = false, const std::string& version = "2026-01") {
    Track t;
    t.id = id;
    t.title = "Title of " + id;
    t.engine = "studio";
    t.mode = "creation";
    t.measured_duration_seconds = 120.4;
    t.instrumental = true;
    t.licence_class = licence_class;
    t.licence_version = version;
    t.no_commercial = no_commercial;
    t.audio_path = id + ".mp3";
    t.created_at = k_now;
    REQUIRE(catalog->add_track(t));
    return id;
  }

  CreatedShare share(const std::string& type, const std::string& target, std::optional<TimePoint> expires = {},
                     std::optional<std::int64_t> max_views = {}, const std::string& visibility = "link_only") {
    return shares->create({type, target, visibility, expires, max_views, {}, "tester"}, k_now - 1h);
  }
};

ResolveOptions counting() { return {}; }
ResolveOptions offline() {
  ResolveOptions o;
  o.count_view = false;
  return o;
}

}  // namespace

TEST_CASE("Resolver: track share answers the view and counts one view", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_b4d9e1c6a72f");
  auto created = f.share("track", "mtrack_b4d9e1c6a72f", k_now + 72h);
  Resolver resolver(f.db);

  const auto result = resolver.resolve(created.token, counting(), k_now, &f.signer);
  REQUIRE(result.outcome == ResolveOutcome::ok);
  CHECK(result.view_counted);
  CHECK(result.share_id == created.share.id);
  REQUIRE(result.track);
  CHECK(result.track->title == "Title of mtrack_b4d9e1c6a72f");
  CHECK(f.shares->find(created.share.id)->view_count == 1);

  const auto body = nlohmann::ordered_json::parse(render_view(result));
  std::vector<std::string> keys;
  for (auto it = body.begin(); it != body.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"kind", "available", "message", "share", "track", "collection", "tracks"});
  CHECK(body["kind"] == "track");
  CHECK(body["available"] == true);
  CHECK(body["message"].is_null());
  CHECK(body["share"]["expires_at"] == format_rfc3339(k_now + 72h));
  CHECK(body["collection"].is_null());
  CHECK(body["tracks"].is_null());
  std::vector<std::string> track_keys;
  for (auto it = body["track"].begin(); it != body["track"].end(); ++it) track_keys.push_back(it.key());
  CHECK(track_keys == std::vector<std::string>{"id", "title", "engine", "mode", "measured_duration_seconds",
                                               "instrumental", "playback_url", "licence"});
  CHECK(body["track"]["measured_duration_seconds"] == 120.4);
}

TEST_CASE("Resolver: playback URL is signed and expires at min(now + ttl, share expiry)", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  auto long_lived = f.share("track", "mtrack_000000000001");
  auto short_lived = f.share("track", "mtrack_000000000001", k_now + 60s);
  Resolver resolver(f.db);

  const auto a = resolver.resolve(long_lived.token, offline(), k_now, &f.signer);
  const std::string exp_a = std::to_string(to_unix_seconds(k_now) + 300);
  const std::string sig_a = base64url_encode(
      hmac_sha256(std::string(32, 'k'), "v1\nmtrack_000000000001\n" + long_lived.share.id + "\n" + exp_a));
  CHECK(*a.track->playback_url == "https://music.example.org/v1/music/media/mtrack_000000000001?share=" +
                                      long_lived.share.id + "&exp=" + exp_a + "&kid=k1&sig=" + sig_a);

  const auto b = resolver.resolve(short_lived.token, offline(), k_now, &f.signer);
  CHECK(b.track->playback_url->find("&exp=" + std::to_string(to_unix_seconds(k_now) + 60) + "&") !=
        std::string::npos);
}

TEST_CASE("Resolver: outcomes by status, in order of precedence", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  Resolver resolver(f.db);

  struct Case {
    const char* name;
    std::optional<TimePoint> expires;
    std::optional<std::int64_t> max_views;
    int views_before;
    bool revoke;
    ResolveOutcome expected;
  };
  const Case cases[] = {
      {"active", {}, {}, 0, false, ResolveOutcome::ok},
      {"expired", k_now - 1s, {}, 0, false, ResolveOutcome::expired},
      {"expires exactly now", k_now, {}, 0, false, ResolveOutcome::expired},
      {"expires in a second", k_now + 1s, {}, 0, false, ResolveOutcome::ok},
      {"revoked", {}, {}, 0, true, ResolveOutcome::revoked},
      {"revoked beats expired", k_now - 1s, {}, 0, true, ResolveOutcome::revoked},
      {"exhausted", {}, 2, 2, false, ResolveOutcome::limit_reached},
      {"expired beats exhausted", k_now - 1s, 1, 1, false, ResolveOutcome::expired},
      {"one view left", {}, 2, 1, false, ResolveOutcome::ok},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto created = f.share("track", "mtrack_000000000001", c.expires, c.max_views);
      for (int i = 0; i < c.views_before; ++i) {
        REQUIRE(resolver.resolve(created.token, counting(), k_now - 2s, &f.signer).outcome == ResolveOutcome::ok);
      }
      if (c.revoke) f.shares->revoke(created.share.id, "test", k_now - 1s);
      const auto result = resolver.resolve(created.token, counting(), k_now, &f.signer);
      CHECK(result.outcome == c.expected);
      CHECK(result.share_id == created.share.id);
      CHECK(result.view_counted == (c.expected == ResolveOutcome::ok));
    }
  }
}

TEST_CASE("Resolver: unknown and malformed tokens are not found", "[resolver]") {
  Fixture f;
  Resolver resolver(f.db);
  for (const char* token : {"shr_00000000000000000000000000000000", "shr_0000", "SHR_00000000000000000000000000000000",
                            "shr_0000000000000000000000000000000G", "", "../../etc/passwd", "shr_' OR 1=1 --"}) {
    const auto result = resolver.resolve(token, counting(), k_now, &f.signer);
    CHECK(result.outcome == ResolveOutcome::not_found);
    CHECK(result.share_id.empty());
  }
}

TEST_CASE("Resolver: a well-formed token's fingerprint comes back with the answer", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  const auto created = f.share("track", "mtrack_000000000001");
  Resolver resolver(f.db);
  const std::string unknown = "shr_00000000000000000000000000000000";
  CHECK(resolver.resolve(created.token, counting(), k_now, &f.signer).token_fp == token_fingerprint(created.token));
  CHECK(resolver.resolve(unknown, counting(), k_now, &f.signer).token_fp == token_fingerprint(unknown));
  CHECK(resolver.resolve("shr_0000", counting(), k_now, &f.signer).token_fp.empty());  // no lookup, no hash
}

TEST_CASE("Resolver: removed content answers unavailable and counts no view", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  auto track_share = f.share("track", "mtrack_000000000001", {}, 5);
  f.catalog->set_track_removed("mtrack_000000000001", k_now - 1s);
  Resolver resolver(f.db);

  const auto result = resolver.resolve(track_share.token, counting(), k_now, &f.signer);
  CHECK(result.outcome == ResolveOutcome::unavailable);
  CHECK_FALSE(result.view_counted);
  CHECK(f.shares->find(track_share.share.id)->view_count == 0);
  const auto body = nlohmann::json::parse(render_view(result));
  CHECK(body["available"] == false);
  CHECK(body["message"] == std::string(k_unavailable_message));
  CHECK(body["track"].is_null());
  CHECK(body["collection"].is_null());
  CHECK(body["tracks"].is_null());

  // Restoring brings it back: the next resolve sees it.
  f.catalog->set_track_removed("mtrack_000000000001", std::nullopt);
  CHECK(resolver.resolve(track_share.token, counting(), k_now, &f.signer).outcome == ResolveOutcome::ok);
}

TEST_CASE("Resolver: collection keeps its order and leaves out removed tracks", "[resolver]") {
  Fixture f;
  for (const char* id : {"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"}) f.add_track(id);
  Collection c;
  c.id = "mcoll_000000000001";
  c.name = "Focus";
  c.created_at = k_now;
  REQUIRE(f.catalog->add_collection(c));
  REQUIRE(f.catalog->append_tracks(c.id, {"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"},
                                   nullptr) == CatalogStore::MembershipChange::ok);
  auto created = f.share("collection", c.id);
  Resolver resolver(f.db);

  auto result = resolver.resolve(created.token, offline(), k_now, &f.signer);
  REQUIRE(result.outcome == ResolveOutcome::ok);
  REQUIRE(result.tracks);
  std::vector<std::string> ids;
  for (const auto& t : *result.tracks) ids.push_back(t.id);
  CHECK(ids == std::vector<std::string>{"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"});
  const auto body = nlohmann::json::parse(render_view(result));
  CHECK(body["kind"] == "collection");
  CHECK(body["track"].is_null());
  CHECK(body["collection"]["name"] == "Focus");
  CHECK(body["collection"]["description"].is_null());

  f.catalog->set_track_removed("mtrack_000000000001", k_now);
  result = resolver.resolve(created.token, offline(), k_now, &f.signer);
  REQUIRE(result.tracks->size() == 2);
  CHECK((*result.tracks)[0].id == "mtrack_000000000003");
  CHECK((*result.tracks)[1].id == "mtrack_000000000002");

  SECTION("all tracks removed: still available, with an empty list") {
    f.catalog->set_track_removed("mtrack_000000000003", k_now);
    f.catalog->set_track_removed("mtrack_000000000002", k_now);
    result = resolver.resolve(created.token, offline(), k_now, &f.signer);
    CHECK(result.outcome == ResolveOutcome::ok);
    CHECK(nlohmann::json::parse(render_view(result))["tracks"] == nlohmann::json::array());
  }
  SECTION("the collection itself removed: unavailable") {
    f.catalog->set_collection_removed(c.id, k_now);
    result = resolver.resolve(created.token, counting(), k_now, &f.signer);
    CHECK(result.outcome == ResolveOutcome::unavailable);
    CHECK_FALSE(result.view_counted);
  }
}

TEST_CASE("Resolver: licence truth is never overstated", "[resolver][licence]") {
  struct Case {
    const char* licence_class;
    const char* version;
    bool no_commercial;
    bool commercial_use;
    bool requires_attribution;
  };
  const Case cases[] = {
      {"commercial_cleared", "2026-01", false, true, false},
      {"commercial_cleared", "2026-01", true, false, false},  // the track narrows
      {"commercial_enterprise", "2026-01", false, true, false},
      {"personal_only", "2026-01", false, false, false},
      {"unclear", "2026-01", false, false, true},
      {"commercial_cleared", "2099-09", false, false, true},  // not in the registry
  };
  for (const auto& c : cases) {
    Fixture f;
    f.add_track("mtrack_000000000001", c.licence_class, c.no_commercial, c.version);
    auto created = f.share("track", "mtrack_000000000001");
    Resolver resolver(f.db);
    const auto result = resolver.resolve(created.token, offline(), k_now, &f.signer);
    INFO(c.licence_class << "@" << c.version << " no_commercial=" << c.no_commercial);
    REQUIRE(result.track);
    CHECK(result.track->licence.licence_class == c.licence_class);
    CHECK(result.track->licence.licence_version == c.version);
    CHECK(result.track->licence.commercial_use == c.commercial_use);
    CHECK(result.track->licence.requires_attribution == c.requires_attribution);
  }
}

TEST_CASE("Resolver: a registry entry of class unclear never grants commercial use", "[resolver][licence]") {
  const Licence generous{"unclear", "2026-02", true, false};
  const auto facts = licence_facts(generous, "unclear", "2026-02", false);
  CHECK_FALSE(facts.commercial_use);
  CHECK(facts.requires_attribution);
}

TEST_CASE("Resolver: without minting, playback URLs are null and no view is counted", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  auto created = f.share("track", "mtrack_000000000001", {}, 1);
  Resolver resolver(f.db);
  ResolveOptions preview;
  preview.count_view = false;
  preview.mint_playback = false;
  for (int i = 0; i < 3; ++i) {
    const auto result = resolver.resolve(created.token, preview, k_now, &f.signer);
    REQUIRE(result.outcome == ResolveOutcome::ok);
    CHECK_FALSE(result.track->playback_url);
    CHECK(nlohmann::json::parse(render_view(result))["track"]["playback_url"].is_null());
  }
  CHECK(f.shares->find(created.share.id)->view_count == 0);
}

TEST_CASE("Resolver: changes committed elsewhere are seen by the very next resolve", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  auto created = f.share("track", "mtrack_000000000001");
  Resolver resolver(f.db);
  REQUIRE(resolver.resolve(created.token, counting(), k_now, &f.signer).outcome == ResolveOutcome::ok);
  ShareStore other_connection(f.db);
  other_connection.revoke(created.share.id, std::nullopt, k_now);
  CHECK(resolver.resolve(created.token, counting(), k_now, &f.signer).outcome == ResolveOutcome::revoked);
}

TEST_CASE("Resolver: max_views is served exactly N times under concurrency", "[resolver][concurrency]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  auto created = f.share("track", "mtrack_000000000001", {}, 10);
  constexpr int k_threads = 8;
  constexpr int k_attempts = 25;
  std::atomic<int> served{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      Resolver resolver(f.db);  // one connection per thread, as in the daemon
      for (int i = 0; i < k_attempts; ++i) {
        const auto outcome = resolver.resolve(created.token, counting(), k_now, &f.signer).outcome;
        if (outcome == ResolveOutcome::ok) ++served;
        else if (outcome == ResolveOutcome::limit_reached) ++refused;
        else ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(served == 10);
  CHECK(refused == k_threads * k_attempts - 10);
  CHECK(other == 0);
  CHECK(f.shares->find(created.share.id)->view_count == 10);
}

TEST_CASE("Resolver: a database of another schema version is refused with the fix", "[resolver]") {
  const testing::TempDir dir;
  CHECK_THROWS_WITH(Resolver(dir / "missing.db"), Catch::Contains("sharectl init"));
}

TEST_CASE("Resolver: public error mapping", "[resolver]") {
  CHECK(http_status(public_error(ResolveOutcome::not_found)) == 404);
  CHECK(std::string(error_code(public_error(ResolveOutcome::revoked))) == "SHARE_REVOKED");
  CHECK(std::string(error_code(public_error(ResolveOutcome::expired))) == "SHARE_EXPIRED");
  CHECK(std::string(error_code(public_error(ResolveOutcome::limit_reached))) == "SHARE_LIMIT_REACHED");
  CHECK(http_status(public_error(ResolveOutcome::limit_reached)) == 410);
  const auto body = nlohmann::ordered_json::parse(error_body(PublicError::share_expired, "req_5f0c1e2d3a4b6c7d"));
  CHECK(body.dump() ==
        R"({"success":false,"error":{"code":"SHARE_EXPIRED","message":"This share link has expired.","request_id":"req_5f0c1e2d3a4b6c7d"}})");
}

TEST_CASE("Resolver: the answer carries the view limit and the count including its own view", "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  auto limited = f.share("track", "mtrack_000000000001", {}, 3);
  Resolver resolver(f.db);
  auto first = resolver.resolve(limited.token, counting(), k_now, &f.signer);
  CHECK(first.max_views == std::optional<std::int64_t>(3));
  CHECK(first.view_count == 1);
  ResolveOptions exact;
  exact.exact_view_count = true;
  // A view counted elsewhere meanwhile (another daemon thread or process) is seen with exact_view_count.
  Resolver other(f.db);
  REQUIRE(other.resolve(limited.token, counting(), k_now, &f.signer).view_counted);
  auto third = resolver.resolve(limited.token, exact, k_now, &f.signer);
  CHECK(third.view_count == 3);
  auto offline_look = resolver.resolve(limited.token, offline(), k_now, &f.signer);
  CHECK(offline_look.outcome == ResolveOutcome::limit_reached);
  auto unlimited = f.share("track", "mtrack_000000000001");
  auto open = resolver.resolve(unlimited.token, counting(), k_now, &f.signer);
  CHECK_FALSE(open.max_views);
  CHECK(open.view_count == 1);
}

TEST_CASE("Resolver: playback_for_share mints fresh URLs without counting, for exhausted links too",
          "[resolver]") {
  Fixture f;
  f.add_track("mtrack_000000000001");
  f.add_track("mtrack_000000000002");
  Collection c;
  c.id = "mcoll_000000000001";
  c.name = "Focus";
  c.created_at = k_now;
  REQUIRE(f.catalog->add_collection(c));
  REQUIRE(f.catalog->append_tracks(c.id, {"mtrack_000000000002", "mtrack_000000000001"}, nullptr) ==
          CatalogStore::MembershipChange::ok);
  Resolver resolver(f.db);

  auto once = f.share("collection", c.id, k_now + 100s, 1);
  REQUIRE(resolver.resolve(once.token, counting(), k_now, &f.signer).view_counted);  // now exhausted
  auto refreshed = resolver.playback_for_share(once.share.id, k_now + 10s, f.signer);
  REQUIRE(refreshed.outcome == ResolveOutcome::ok);
  REQUIRE(refreshed.tracks);
  REQUIRE(refreshed.tracks->size() == 2);
  CHECK(refreshed.tracks->at(0).id == "mtrack_000000000002");
  const std::string& url = *refreshed.tracks->at(0).playback_url;
  CHECK(url.find("exp=" + std::to_string(to_unix_seconds(k_now + 100s))) != std::string::npos);  // capped by the link
  CHECK(f.shares->find(once.share.id)->view_count == 1);  // no view counted

  // Removed tracks drop out; a removed collection is unavailable.
  f.catalog->set_track_removed("mtrack_000000000002", k_now);
  CHECK(resolver.playback_for_share(once.share.id, k_now + 10s, f.signer).tracks->size() == 1);
  f.catalog->set_collection_removed(c.id, k_now);
  CHECK(resolver.playback_for_share(once.share.id, k_now + 10s, f.signer).outcome == ResolveOutcome::unavailable);

  // Expired and revoked links are refused; unknown ids are not found.
  CHECK(resolver.playback_for_share(once.share.id, k_now + 100s, f.signer).outcome == ResolveOutcome::expired);
  auto track_share = f.share("track", "mtrack_000000000001");
  CHECK(resolver.playback_for_share(track_share.share.id, k_now, f.signer).track->id == "mtrack_000000000001");
  f.shares->revoke(track_share.share.id, "test", k_now);
  CHECK(resolver.playback_for_share(track_share.share.id, k_now, f.signer).outcome == ResolveOutcome::revoked);
  CHECK(resolver.playback_for_share("mslink_000000000000", k_now, f.signer).outcome == ResolveOutcome::not_found);
  CHECK(resolver.playback_for_share("junk", k_now, f.signer).outcome == ResolveOutcome::not_found);
}
