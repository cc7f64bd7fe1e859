// Unit tests of the one resolver: outcomes, views, licence truth, view counting; on every store.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/playback_signer.hpp"
#include "common/resolver.hpp"
#include "common/text.hpp"
#include "common/view_json.hpp"
#include "common/view_counter.hpp"
#include "tests/common/store_fixtures.hpp"

using namespace sharelink;
using namespace std::chrono_literals;
using sharelink::testing::make_track;
using sharelink::testing::MemoryFixture;
using sharelink::testing::new_share;
using sharelink::testing::PostgresFixture;
using sharelink::testing::SqliteFixture;

namespace {

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

PlaybackSigner make_signer() {
  PlaybackConfig config;
  config.ttl_seconds = 300;
  return PlaybackSigner(config, "https://music.example.org", SigningKeys({{"k1", std::string(32, 'k'), {}}}));
}

// A backend fixture with a reader, a view counter (no background thread:
// views of unlimited links are written at once when nothing else waits) and
// a signer.
template <typename Store>
struct Fixture : Store {
  PlaybackSigner signer = make_signer();
  std::unique_ptr<ViewStore> view_store = this->storage().open_view_store();
  ViewCounter views{*view_store, ViewCounterOptions{.background = false}};
  std::unique_ptr<CatalogReader> reader = this->storage().open_reader();

  std::string add_track(const std::string& id, const std::string& licence_class = "personal_only",
                        bool no_commercial = false, const std::string& version = "2026-01") {
    Store::add_track(make_track(id, licence_class, no_commercial, version, k_now));
    return id;
  }
  CreatedShare share(TargetType type, const std::string& target, std::optional<TimePoint> expires = {},
                     std::optional<std::int64_t> max_views = {}) {
    return Store::share(new_share(type, target, expires, max_views), k_now - 1h);
  }
  ResolveOptions as(Requester requester) { return ResolveOptions{requester, &views}; }
  ResolveResult visit(const std::string& token, TimePoint now = k_now) {
    return resolve(*reader, token, as(Requester::visitor), now, &signer);
  }
  ResolveResult look(const std::string& token) {
    return resolve(*reader, token, as(Requester::operator_check), k_now, &signer);
  }
  std::int64_t views_of(const CreatedShare& created) { return this->find(created.share.id)->view_count; }
};

}  // namespace

TEMPLATE_TEST_CASE("Resolver: track share answers the view and counts one view", "[resolver]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_b4d9e1c6a72f");
  auto created = f.share(TargetType::track, "mtrack_b4d9e1c6a72f", k_now + 72h);

  const auto result = f.visit(created.token);
  REQUIRE(result.outcome == ResolveOutcome::ok);
  CHECK(result.view_counted);
  CHECK(result.share_id == created.share.id);
  REQUIRE(result.track);
  CHECK(result.track->title == "Title of mtrack_b4d9e1c6a72f");
  CHECK(f.views_of(created) == 1);

  const auto body = nlohmann::ordered_json::parse(render_view(result));
  std::vector<std::string> keys;
  for (auto it = body.begin(); it != body.end(); ++it) keys.push_back(it.key());
  CHECK(keys ==
        std::vector<std::string>{"kind", "available", "message", "share", "track", "collection", "tracks"});
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

TEMPLATE_TEST_CASE("Resolver: playback URL is signed and expires at min(now + ttl, share expiry)",
                   "[resolver]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  auto long_lived = f.share(TargetType::track, "mtrack_000000000001");
  auto short_lived = f.share(TargetType::track, "mtrack_000000000001", k_now + 60s);

  const auto a = f.look(long_lived.token);
  const std::string exp_a = std::to_string(to_unix_seconds(k_now) + 300);
  const std::string sig_a = base64url_encode(
      hmac_sha256(std::string(32, 'k'), "v1\nmtrack_000000000001\n" + long_lived.share.id + "\n" + exp_a));
  CHECK(*a.track->playback_url == "https://music.example.org/v1/music/media/mtrack_000000000001?share=" +
                                      long_lived.share.id + "&exp=" + exp_a + "&kid=k1&sig=" + sig_a);

  const auto b = f.look(short_lived.token);
  CHECK(b.track->playback_url->find("&exp=" + std::to_string(to_unix_seconds(k_now) + 60) + "&") !=
        std::string::npos);
}

TEMPLATE_TEST_CASE("Resolver: outcomes by status, in order of precedence", "[resolver]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");

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
      auto created = f.share(TargetType::track, "mtrack_000000000001", c.expires, c.max_views);
      for (int i = 0; i < c.views_before; ++i) {
        REQUIRE(f.visit(created.token, k_now - 2s).outcome == ResolveOutcome::ok);
      }
      if (c.revoke) f.revoke(created.share.id, k_now - 1s);
      const auto result = f.visit(created.token);
      CHECK(result.outcome == c.expected);
      CHECK(result.share_id == created.share.id);
      CHECK(result.view_counted == (c.expected == ResolveOutcome::ok));
      CHECK(f.views_of(created) == c.views_before + (c.expected == ResolveOutcome::ok ? 1 : 0));
    }
  }
}

TEMPLATE_TEST_CASE("Resolver: unknown and malformed tokens are not found", "[resolver]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  for (const char* token :
       {"shr_00000000000000000000000000000000", "shr_0000", "SHR_00000000000000000000000000000000",
        "shr_0000000000000000000000000000000G", "", "../../etc/passwd", "shr_' OR 1=1 --"}) {
    const auto result = f.visit(token);
    CHECK(result.outcome == ResolveOutcome::not_found);
    CHECK(result.share_id.empty());
  }
}

TEMPLATE_TEST_CASE("Resolver: a well-formed token's fingerprint comes back with the answer", "[resolver]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  const auto created = f.share(TargetType::track, "mtrack_000000000001");
  const std::string unknown = "shr_00000000000000000000000000000000";
  CHECK(f.visit(created.token).token_fp == token_fingerprint(created.token));
  CHECK(f.visit(unknown).token_fp == token_fingerprint(unknown));
  CHECK(f.visit("shr_0000").token_fp.empty());  // no lookup, no hash
}

TEMPLATE_TEST_CASE("Resolver: removed content answers unavailable and counts no view", "[resolver]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  auto track_share = f.share(TargetType::track, "mtrack_000000000001", {}, 5);
  auto dangling = f.share(TargetType::track, "mtrack_00000000dead");
  f.set_track_removed("mtrack_000000000001", k_now - 1s);

  const auto result = f.visit(track_share.token);
  CHECK(result.outcome == ResolveOutcome::unavailable);
  CHECK_FALSE(result.view_counted);
  CHECK(f.views_of(track_share) == 0);
  const auto body = nlohmann::json::parse(render_view(result));
  CHECK(body["available"] == false);
  CHECK(body["message"] == std::string(k_unavailable_message));
  CHECK(body["track"].is_null());
  CHECK(body["collection"].is_null());
  CHECK(body["tracks"].is_null());

  // A target that does not exist at all answers the same way.
  CHECK(f.visit(dangling.token).outcome == ResolveOutcome::unavailable);
  CHECK(f.views_of(dangling) == 0);

  // Restoring brings it back: the next resolve sees it.
  f.set_track_removed("mtrack_000000000001", std::nullopt);
  CHECK(f.visit(track_share.token).outcome == ResolveOutcome::ok);
}

TEMPLATE_TEST_CASE("Resolver: collection keeps its order and leaves out removed tracks", "[resolver]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  for (const char* id : {"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"})
    f.add_track(id);
  CollectionRecord c;
  c.id = "mcoll_000000000001";
  c.name = "Focus";
  c.created_at = k_now;
  f.add_collection(c, {"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"});
  auto created = f.share(TargetType::collection, c.id);

  auto result = f.look(created.token);
  REQUIRE(result.outcome == ResolveOutcome::ok);
  REQUIRE(result.tracks);
  std::vector<std::string> ids;
  for (const auto& t : *result.tracks) ids.emplace_back(t.id);
  CHECK(ids == std::vector<std::string>{"mtrack_000000000003", "mtrack_000000000001", "mtrack_000000000002"});
  const auto body = nlohmann::json::parse(render_view(result));
  CHECK(body["kind"] == "collection");
  CHECK(body["track"].is_null());
  CHECK(body["collection"]["name"] == "Focus");
  CHECK(body["collection"]["description"].is_null());
  // Again, with nothing committed in between (SQLite: the reader's kept rows):
  // the first answer took nothing from them.
  const ResolveResult again = f.look(created.token);
  REQUIRE(again.tracks);
  CHECK(render_view(again) == render_view(result));
  CHECK((*again.tracks)[0].title == (*result.tracks)[0].title);
  CHECK_FALSE((*again.tracks)[0].title.empty());

  const std::string again_body = render_view(again);

  f.set_track_removed("mtrack_000000000001", k_now);
  result = f.look(created.token);
  REQUIRE(result.tracks->size() == 2);
  CHECK((*result.tracks)[0].id == "mtrack_000000000003");
  CHECK((*result.tracks)[1].id == "mtrack_000000000002");
  // A view's text lives in the rows its result holds: the change above
  // dropped the reader's kept rows, and the earlier answer still reads whole
  // (the ASan build reports a view that outlived its rows).
  CHECK(render_view(again) == again_body);
  CHECK((*again.tracks)[1].id == "mtrack_000000000001");

  SECTION("all tracks removed: still available, with an empty list") {
    f.set_track_removed("mtrack_000000000003", k_now);
    f.set_track_removed("mtrack_000000000002", k_now);
    result = f.look(created.token);
    CHECK(result.outcome == ResolveOutcome::ok);
    CHECK(nlohmann::json::parse(render_view(result))["tracks"] == nlohmann::json::array());
  }
  SECTION("the collection itself removed: unavailable") {
    f.set_collection_removed(c.id, k_now);
    result = f.visit(created.token);
    CHECK(result.outcome == ResolveOutcome::unavailable);
    CHECK_FALSE(result.view_counted);
    CHECK(f.views_of(created) == 0);
  }
  SECTION("a collection that does not exist: unavailable") {
    const auto dangling = f.share(TargetType::collection, "mcoll_00000000dead");
    CHECK(f.visit(dangling.token).outcome == ResolveOutcome::unavailable);
  }
}

TEMPLATE_TEST_CASE("Resolver: licence truth is never overstated", "[resolver][licence]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
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
    Fixture<TestType> f;
    f.add_track("mtrack_000000000001", c.licence_class, c.no_commercial, c.version);
    auto created = f.share(TargetType::track, "mtrack_000000000001");
    const auto result = f.look(created.token);
    INFO(c.licence_class << "@" << c.version << " no_commercial=" << c.no_commercial);
    REQUIRE(result.track);
    CHECK(result.track->licence.licence_class == c.licence_class);
    CHECK(result.track->licence.licence_version == c.version);
    CHECK(result.track->licence.commercial_use == c.commercial_use);
    CHECK(result.track->licence.requires_attribution == c.requires_attribution);
  }
}

TEMPLATE_TEST_CASE("Resolver: the view rule by requester", "[resolver]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  auto created = f.share(TargetType::track, "mtrack_000000000001", {}, 1);
  struct Case {
    Requester requester;
    const char* name;
    bool playback;
  };
  const Case cases[] = {{Requester::head_request, "HEAD", true},
                        {Requester::preview_fetcher, "link-preview fetcher", false},
                        {Requester::operator_check, "sharectl resolve", true},
                        {Requester::look_up, "look-up (oEmbed)", false}};
  for (const auto& c : cases) {
    INFO(c.name);
    for (int i = 0; i < 3; ++i) {
      const auto result = resolve(*f.reader, created.token, f.as(c.requester), k_now, &f.signer);
      REQUIRE(result.outcome == ResolveOutcome::ok);
      CHECK_FALSE(result.view_counted);
      CHECK(result.track->playback_url.has_value() == c.playback);
      CHECK(nlohmann::json::parse(render_view(result))["track"]["playback_url"].is_null() == !c.playback);
    }
  }
  CHECK(f.views_of(created) == 0);
  // The one view a visitor may take is still there.
  CHECK(f.visit(created.token).view_counted);
  CHECK(f.visit(created.token).outcome == ResolveOutcome::limit_reached);
}

TEMPLATE_TEST_CASE("Resolver: changes committed elsewhere are seen by the very next resolve", "[resolver]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  auto created = f.share(TargetType::track, "mtrack_000000000001");
  REQUIRE(f.visit(created.token).outcome == ResolveOutcome::ok);
  f.revoke(created.share.id, k_now);  // through another connection
  CHECK(f.visit(created.token).outcome == ResolveOutcome::revoked);
}

TEMPLATE_TEST_CASE("Resolver: max_views is served exactly N times under concurrency",
                   "[resolver][concurrency]", MemoryFixture, SqliteFixture, PostgresFixture) {
  TestType store{StorageOptions{}};
  store.add_track(make_track("mtrack_000000000001"));
  auto created = store.share(new_share(TargetType::track, "mtrack_000000000001", {}, 10), k_now - 1h);
  const auto view_store = store.storage().open_view_store();
  ViewCounter views(*view_store);  // the daemon's one counter, its thread on
  const PlaybackSigner signer = make_signer();
  constexpr int k_threads = 8;
  constexpr int k_attempts = 25;
  std::atomic<int> served{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      const auto reader = store.storage().open_reader();  // one connection per thread, as the pool lends them
      for (int i = 0; i < k_attempts; ++i) {
        const auto outcome =
            resolve(*reader, created.token, ResolveOptions{Requester::visitor, &views}, k_now, &signer)
                .outcome;
        if (outcome == ResolveOutcome::ok)
          ++served;
        else if (outcome == ResolveOutcome::limit_reached)
          ++refused;
        else
          ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(served == 10);
  CHECK(refused == k_threads * k_attempts - 10);
  CHECK(other == 0);
  CHECK(store.find(created.share.id)->view_count == 10);
}

TEST_CASE("Resolver: a count that loses a race answers the link's status as it is now", "[resolver]") {
  Fixture<MemoryFixture> f;
  f.add_track("mtrack_000000000001");
  struct Case {
    const char* name;
    std::function<void(Fixture<MemoryFixture>&, const std::string&)> meanwhile;
    ResolveOutcome expected;
  };
  const std::vector<Case> cases = {
      {"another request took the last view",
       [](auto& fx, const std::string& id) { fx.set_view_count(id, 1); }, ResolveOutcome::limit_reached},
      {"the last view taken, then the link revoked",
       [](auto& fx, const std::string& id) {
         fx.set_view_count(id, 1);
         fx.revoke(id, k_now);
       },
       ResolveOutcome::revoked},
      {"the last view taken, then the link expired",
       [](auto& fx, const std::string& id) {
         fx.set_view_count(id, 1);
         fx.expire(id, k_now);
       },
       ResolveOutcome::expired},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto created = f.share(TargetType::track, "mtrack_000000000001", {}, 1);
    bool fired = false;
    f.data().before_take = [&] {
      if (fired) return;
      fired = true;
      c.meanwhile(f, created.share.id);
    };
    const auto result = f.visit(created.token);
    f.data().before_take = nullptr;
    CHECK(result.outcome == c.expected);
    CHECK_FALSE(result.view_counted);
    CHECK(result.share_id == created.share.id);
    CHECK_FALSE(result.track);
  }
}

TEST_CASE("Resolver: reads one snapshot and ends it, also when storage fails", "[resolver]") {
  Fixture<MemoryFixture> f;
  f.add_track("mtrack_000000000001");
  auto created = f.share(TargetType::track, "mtrack_000000000001");
  auto& reader = dynamic_cast<testing::MemoryReader&>(*f.reader);
  REQUIRE(f.visit(created.token).outcome == ResolveOutcome::ok);
  CHECK_FALSE(reader.in_snapshot());
  f.data().refuse_all = true;
  CHECK_THROWS_AS(f.visit(created.token), DatabaseUnavailable);
  CHECK_FALSE(reader.in_snapshot());
  f.data().refuse_all = false;
  CHECK(f.visit(created.token).outcome == ResolveOutcome::ok);
}

TEST_CASE("Resolver: a visitor's resolve needs a view counter", "[resolver]") {
  Fixture<MemoryFixture> f;
  f.add_track("mtrack_000000000001");
  auto created = f.share(TargetType::track, "mtrack_000000000001");
  CHECK_THROWS_AS(
      resolve(*f.reader, created.token, ResolveOptions{Requester::visitor, nullptr}, k_now, &f.signer),
      Error);
  CHECK(
      resolve(*f.reader, created.token, ResolveOptions{Requester::operator_check, nullptr}, k_now, &f.signer)
          .outcome == ResolveOutcome::ok);
  CHECK(f.views_of(created) == 0);
}

TEST_CASE("Resolver: public error mapping", "[resolver]") {
  CHECK(http_status(public_error(ResolveOutcome::not_found)) == 404);
  CHECK(std::string(error_code(public_error(ResolveOutcome::revoked))) == "SHARE_REVOKED");
  CHECK(std::string(error_code(public_error(ResolveOutcome::expired))) == "SHARE_EXPIRED");
  CHECK(std::string(error_code(public_error(ResolveOutcome::limit_reached))) == "SHARE_LIMIT_REACHED");
  CHECK(http_status(public_error(ResolveOutcome::limit_reached)) == 410);
  const auto body =
      nlohmann::ordered_json::parse(error_body(PublicError::share_expired, "req_5f0c1e2d3a4b6c7d"));
  CHECK(
      body.dump() ==
      R"({"success":false,"error":{"code":"SHARE_EXPIRED","message":"This share link has expired.","request_id":"req_5f0c1e2d3a4b6c7d"}})");
}

TEMPLATE_TEST_CASE("Resolver: the answer carries the view limit and the count including its own view",
                   "[resolver]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  auto limited = f.share(TargetType::track, "mtrack_000000000001", {}, 3);
  auto first = f.visit(limited.token);
  CHECK(first.max_views == std::optional<std::int64_t>(3));
  CHECK(first.view_count == 1);
  ResolveOptions exact = f.as(Requester::visitor);
  exact.exact_view_count = true;
  // A view counted elsewhere meanwhile (another daemon thread or process) is seen with exact_view_count.
  const auto other = f.storage().open_reader();
  REQUIRE(resolve(*other, limited.token, f.as(Requester::visitor), k_now, &f.signer).view_counted);
  auto third = resolve(*f.reader, limited.token, exact, k_now, &f.signer);
  CHECK(third.view_count == 3);
  auto offline_look = f.look(limited.token);
  CHECK(offline_look.outcome == ResolveOutcome::limit_reached);
  CHECK(offline_look.max_views == std::optional<std::int64_t>(3));
  CHECK(offline_look.view_count == 3);
  auto unlimited = f.share(TargetType::track, "mtrack_000000000001");
  auto open = f.visit(unlimited.token);
  CHECK_FALSE(open.max_views);
  CHECK(open.view_count == 1);
}

TEST_CASE("Resolver: exact_view_count sees a view counted between the snapshot and its own", "[resolver]") {
  Fixture<MemoryFixture> f;
  f.add_track("mtrack_000000000001");
  for (const bool exact : {false, true}) {
    INFO("exact_view_count " << exact);
    auto created = f.share(TargetType::track, "mtrack_000000000001", {}, 5);
    bool fired = false;
    f.data().before_take = [&] {
      if (fired) return;
      fired = true;
      f.set_view_count(created.share.id, 1);  // another request's view, after this one's snapshot
    };
    ResolveOptions options = f.as(Requester::visitor);
    options.exact_view_count = exact;
    const auto result = resolve(*f.reader, created.token, options, k_now, &f.signer);
    f.data().before_take = nullptr;
    REQUIRE(result.view_counted);
    CHECK(f.views_of(created) == 2);
    CHECK(result.view_count == (exact ? 2 : 1));  // without it, as of the snapshot plus its own view
  }
}

TEMPLATE_TEST_CASE("Resolver: playback_for_share mints fresh URLs without counting, for exhausted links too",
                   "[resolver]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  f.add_track("mtrack_000000000001");
  f.add_track("mtrack_000000000002");
  CollectionRecord c;
  c.id = "mcoll_000000000001";
  c.name = "Focus";
  c.created_at = k_now;
  f.add_collection(c, {"mtrack_000000000002", "mtrack_000000000001"});

  auto once = f.share(TargetType::collection, c.id, k_now + 100s, 1);
  REQUIRE(f.visit(once.token).view_counted);  // now exhausted
  auto refreshed = playback_for_share(*f.reader, once.share.id, k_now + 10s, f.signer);
  REQUIRE(refreshed.outcome == ResolveOutcome::ok);
  REQUIRE(refreshed.tracks);
  REQUIRE(refreshed.tracks->size() == 2);
  CHECK(refreshed.tracks->at(0).id == "mtrack_000000000002");
  const std::string_view url = *refreshed.tracks->at(0).playback_url;
  CHECK(url.find("exp=" + std::to_string(to_unix_seconds(k_now + 100s))) != std::string::npos);  // capped by the link
  CHECK(f.views_of(once) == 1);  // no view counted
  CHECK_FALSE(refreshed.view_counted);

  // Removed tracks drop out; a removed collection is unavailable.
  f.set_track_removed("mtrack_000000000002", k_now);
  CHECK(playback_for_share(*f.reader, once.share.id, k_now + 10s, f.signer).tracks->size() == 1);
  f.set_collection_removed(c.id, k_now);
  CHECK(playback_for_share(*f.reader, once.share.id, k_now + 10s, f.signer).outcome ==
        ResolveOutcome::unavailable);

  // Expired and revoked links are refused; unknown ids are not found.
  CHECK(playback_for_share(*f.reader, once.share.id, k_now + 100s, f.signer).outcome == ResolveOutcome::expired);
  auto track_share = f.share(TargetType::track, "mtrack_000000000001");
  CHECK(playback_for_share(*f.reader, track_share.share.id, k_now, f.signer).track->id == "mtrack_000000000001");
  f.revoke(track_share.share.id, k_now);
  CHECK(playback_for_share(*f.reader, track_share.share.id, k_now, f.signer).outcome == ResolveOutcome::revoked);
  CHECK(playback_for_share(*f.reader, "mslink_000000000000", k_now, f.signer).outcome == ResolveOutcome::not_found);
  CHECK(playback_for_share(*f.reader, "junk", k_now, f.signer).outcome == ResolveOutcome::not_found);
}

TEST_CASE("Resolver: playback_for_share reads one snapshot and ends it, also when storage fails", "[resolver]") {
  Fixture<MemoryFixture> f;
  f.add_track("mtrack_000000000001");
  auto created = f.share(TargetType::track, "mtrack_000000000001");
  auto& reader = dynamic_cast<testing::MemoryReader&>(*f.reader);
  REQUIRE(playback_for_share(reader, created.share.id, k_now, f.signer).outcome == ResolveOutcome::ok);
  CHECK_FALSE(reader.in_snapshot());
  f.data().refuse_all = true;
  CHECK_THROWS_AS(playback_for_share(reader, created.share.id, k_now, f.signer), DatabaseUnavailable);
  CHECK_FALSE(reader.in_snapshot());
  f.data().refuse_all = false;
}
