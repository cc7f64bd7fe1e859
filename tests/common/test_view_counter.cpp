// Unit tests of the view counter: writes at once when idle, batches under load, exact max_views, stop.
#include "common/view_counter.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/database.hpp"
#include "common/error.hpp"
#include "common/playback_signer.hpp"
#include "common/resolver.hpp"
#include "common/share_store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/test_support.hpp"

namespace sharelink {
namespace {

using sharelink::testing::TempDir;
using sharelink::testing::wait_until;
using sharelink::testing::WriteLockHolder;
using sharelink::testing::seed_one_track;
using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z
const std::int64_t k_now_s = 1785000000;

// A migrated database with one track; shares are created per test.
struct Fixture {
  TempDir dir{"sharelink-view-counter-test"};
  std::filesystem::path db = dir / "shared-link.db";
  std::unique_ptr<ShareStore> shares;

  Fixture() {
    seed_one_track(db, k_now);
    shares = std::make_unique<ShareStore>(db);
  }

  CreatedShare share(std::optional<std::int64_t> max_views = {}, std::optional<TimePoint> expires = {}) {
    return shares->create({TargetType::track, testing::k_test_track_id, Visibility::link_only, expires, max_views, {}, "tester"},
                          k_now - 1h);
  }
  std::int64_t views(const std::string& id) { return shares->find(id)->view_count; }
  std::optional<TimePoint> last_viewed(const std::string& id) { return shares->find(id)->last_viewed_at; }
};

// No background thread, and a short busy timeout so a held lock fails a write quickly.
ViewCounterOptions manual(std::size_t max_pending_links = 65536) {
  ViewCounterOptions o;
  o.background = false;
  o.busy_timeout = 10ms;
  o.max_pending_links = max_pending_links;
  return o;
}



}  // namespace

TEST_CASE("ViewCounter: an idle counter writes each view at once", "[view_counter]") {
  Fixture f;
  const auto s = f.share();
  ViewCounter counter(f.db, manual());
  counter.add(s.share.id, k_now_s);
  CHECK(f.views(s.share.id) == 1);
  CHECK(f.last_viewed(s.share.id) == k_now);
  counter.add(s.share.id, k_now_s + 5);
  CHECK(f.views(s.share.id) == 2);
  CHECK(f.last_viewed(s.share.id) == k_now + 5s);
  CHECK(counter.pending_links() == 0);
  CHECK(counter.write_errors() == 0);
}

TEST_CASE("ViewCounter: views arriving while others wait are merged per link and written together",
          "[view_counter]") {
  Fixture f;
  const auto a = f.share();
  const auto b = f.share();
  ViewCounter counter(f.db, manual());
  WriteLockHolder lock(f.db);
  counter.add(a.share.id, k_now_s + 10);  // idle: tries at once, the lock refuses it
  CHECK(counter.write_errors() == 1);
  counter.add(a.share.id, k_now_s);  // an earlier clock reading does not move last_viewed_at back
  counter.add(b.share.id, k_now_s + 3);
  CHECK(counter.write_errors() == 1);  // waiting behind a pending view: no write tried
  CHECK(counter.pending_links() == 2);
  CHECK(f.views(a.share.id) == 0);

  lock.release();
  counter.flush();
  CHECK(counter.pending_links() == 0);
  CHECK(f.views(a.share.id) == 2);
  CHECK(f.last_viewed(a.share.id) == k_now + 10s);
  CHECK(f.views(b.share.id) == 1);
  CHECK(f.last_viewed(b.share.id) == k_now + 3s);
}

TEST_CASE("ViewCounter: a refused flush throws and keeps the views", "[view_counter]") {
  Fixture f;
  const auto s = f.share();
  ViewCounter counter(f.db, manual());
  WriteLockHolder lock(f.db);
  counter.add(s.share.id, k_now_s);
  CHECK_THROWS_AS(counter.flush(), DatabaseUnavailable);
  CHECK(counter.pending_links() == 1);
  CHECK(counter.write_errors() == 2);
  lock.release();
  counter.flush();
  CHECK(f.views(s.share.id) == 1);
}

TEST_CASE("ViewCounter: at the pending bound, add writes at once", "[view_counter]") {
  Fixture f;
  const auto a = f.share();
  const auto b = f.share();
  const auto c = f.share();
  ViewCounter counter(f.db, manual(2));
  WriteLockHolder lock(f.db);
  counter.add(a.share.id, k_now_s);  // idle: refused, pending
  counter.add(b.share.id, k_now_s);  // the bound is reached: tries again
  CHECK(counter.write_errors() == 2);
  lock.release();
  counter.add(c.share.id, k_now_s);  // still at the bound: writes everything
  CHECK(counter.pending_links() == 0);
  CHECK(f.views(a.share.id) == 1);
  CHECK(f.views(b.share.id) == 1);
  CHECK(f.views(c.share.id) == 1);
}

TEST_CASE("ViewCounter: the background thread writes views left pending", "[view_counter]") {
  Fixture f;
  const auto s = f.share();
  ViewCounterOptions options = manual();
  options.background = true;
  options.flush_interval = 1ms;
  ViewCounter counter(f.db, options);
  {
    WriteLockHolder lock(f.db);
    counter.add(s.share.id, k_now_s);
    counter.add(s.share.id, k_now_s);
  }
  wait_until([&] { return f.views(s.share.id) == 2; });
  CHECK(counter.pending_links() == 0);
}

TEST_CASE("ViewCounter: stop writes what is pending", "[view_counter]") {
  Fixture f;
  const auto s = f.share();
  ViewCounter counter(f.db, manual());
  {
    WriteLockHolder lock(f.db);
    counter.add(s.share.id, k_now_s);
    counter.add(s.share.id, k_now_s);
  }
  counter.stop();
  CHECK(f.views(s.share.id) == 2);
  CHECK(counter.views_lost() == 0);

  SECTION("and a view counted after stop is written at once") {
    counter.add(s.share.id, k_now_s);
    CHECK(f.views(s.share.id) == 3);
  }
}

TEST_CASE("ViewCounter: views the database refuses at stop are counted as lost", "[view_counter]") {
  Fixture f;
  const auto s = f.share();
  const auto other = f.share();
  ViewCounter counter(f.db, manual());
  WriteLockHolder lock(f.db);
  counter.add(s.share.id, k_now_s);
  counter.add(s.share.id, k_now_s);
  counter.add(other.share.id, k_now_s);
  counter.stop();
  CHECK(counter.views_lost() == 3);
  CHECK(counter.pending_links() == 0);
  lock.release();
  CHECK(f.views(s.share.id) == 0);
}

TEST_CASE("ViewCounter: take_limited answers by the link's status", "[view_counter]") {
  Fixture f;
  ViewCounter counter(f.db, manual());
  const auto active = f.share(3);
  const auto revoked = f.share(3);
  f.shares->revoke(revoked.share.id, std::nullopt, k_now);
  const auto expired = f.share(3, k_now);  // expires_at <= now
  const auto later = f.share(3, k_now + 1s);
  const auto exhausted = f.share(1);
  REQUIRE(counter.take_limited(exhausted.share.id, k_now_s));

  struct Case {
    std::string name;
    std::string id;
    bool counted;
  };
  const std::vector<Case> cases = {
      {"active", active.share.id, true},          {"revoked", revoked.share.id, false},
      {"expired", expired.share.id, false},       {"expires later", later.share.id, true},
      {"exhausted", exhausted.share.id, false},   {"unknown", "mslink_000000000000", false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(counter.take_limited(c.id, k_now_s) == c.counted);
  }
  CHECK(f.views(active.share.id) == 1);
  CHECK(f.last_viewed(active.share.id) == k_now);
  CHECK(f.views(revoked.share.id) == 0);
  CHECK(f.views(exhausted.share.id) == 1);
}

TEST_CASE("ViewCounter: take_limited serves max_views exactly under concurrency", "[view_counter][concurrency]") {
  Fixture f;
  const auto s = f.share(10);
  ViewCounter counter(f.db);
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (counter.take_limited(s.share.id, k_now_s)) ++served;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(served == 10);
  CHECK(f.views(s.share.id) == 10);
}

TEST_CASE("ViewCounter: a database without the schema is refused with the fix", "[view_counter]") {
  const TempDir dir;
  CHECK_THROWS_WITH(ViewCounter(dir / "missing.db"), Catch::Contains("sharectl init"));
}

TEST_CASE("ViewCounter: the resolver counts through it, exactly for max_views links", "[view_counter][resolver]") {
  Fixture f;
  const auto unlimited = f.share();
  const auto limited = f.share(2);
  ViewCounter counter(f.db, manual());
  Resolver resolver(f.db);
  PlaybackConfig playback;
  const PlaybackSigner signer(playback, "https://music.example.org", SigningKeys({{"k1", std::string(32, 'k'), {}}}));
  ResolveOptions options;
  options.views = &counter;

  WriteLockHolder lock(f.db);  // unlimited views wait; exact ones need the lock
  auto result = resolver.resolve(unlimited.token, options, k_now, &signer);
  CHECK(result.outcome == ResolveOutcome::ok);
  CHECK(result.view_counted);
  CHECK(counter.pending_links() == 1);
  CHECK_THROWS_AS(resolver.resolve(limited.token, options, k_now, &signer), DatabaseUnavailable);
  lock.release();

  for (const auto expected : {ResolveOutcome::ok, ResolveOutcome::ok, ResolveOutcome::limit_reached}) {
    CHECK(resolver.resolve(limited.token, options, k_now, &signer).outcome == expected);
  }
  counter.flush();
  CHECK(f.views(unlimited.share.id) == 1);
  CHECK(f.views(limited.share.id) == 2);
}

}  // namespace sharelink
