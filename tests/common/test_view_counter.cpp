// Unit tests of the view counter: writes at once when idle, batches under load, exact max_views, stop.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/playback_signer.hpp"
#include "common/resolver.hpp"
#include "common/view_counter.hpp"
#include "tests/common/store_fixtures.hpp"

namespace sharelink {
namespace {

using sharelink::testing::MemoryFixture;
using sharelink::testing::PostgresFixture;
using sharelink::testing::SqliteFixture;
using sharelink::testing::wait_until;
using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

// A store with one track and its view store; shares are created per test.
template <typename Store>
struct Fixture : Store {
  std::unique_ptr<ViewStore> view_store = this->storage().open_view_store();

  Fixture() { this->add_track(testing::make_track(testing::k_test_track_id)); }

  CreatedShare share(std::optional<std::int64_t> max_views = {}, std::optional<TimePoint> expires = {}) {
    return Store::share(testing::new_share(TargetType::track, testing::k_test_track_id, expires, max_views),
                        k_now - 1h);
  }
  std::int64_t views(const std::string& id) { return this->find(id)->view_count; }
  std::optional<TimePoint> last_viewed(const std::string& id) { return this->find(id)->last_viewed_at; }
  // The link as a resolve would have read it just now.
  ShareRecord record(const std::string& id) { return *this->find(id); }
};

// No background thread.
ViewCounterOptions manual(std::size_t max_pending_links = 65536) {
  ViewCounterOptions o;
  o.background = false;
  o.max_pending_links = max_pending_links;
  return o;
}

}  // namespace

TEMPLATE_TEST_CASE("ViewCounter: an idle counter writes each view at once", "[view_counter]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto s = f.share();
  ViewCounter counter(*f.view_store, manual());
  counter.add(s.share.id, k_now);
  CHECK(f.views(s.share.id) == 1);
  CHECK(f.last_viewed(s.share.id) == k_now);
  counter.add(s.share.id, k_now + 5s);
  CHECK(f.views(s.share.id) == 2);
  CHECK(f.last_viewed(s.share.id) == k_now + 5s);
  CHECK(counter.pending_links() == 0);
  CHECK(counter.write_errors() == 0);
}

TEMPLATE_TEST_CASE("ViewCounter: views arriving while others wait are merged per link and written together",
                   "[view_counter]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto a = f.share();
  const auto b = f.share();
  ViewCounter counter(*f.view_store, manual());
  auto lock = f.block_writes();
  counter.add(a.share.id, k_now + 10s);  // idle: tries at once, the lock refuses it
  CHECK(counter.write_errors() == 1);
  counter.add(a.share.id, k_now);  // an earlier clock reading does not move last_viewed_at back
  counter.add(b.share.id, k_now + 3s);
  CHECK(counter.write_errors() == 1);  // waiting behind a pending view: no write tried
  CHECK(counter.pending_links() == 2);
  CHECK(f.views(a.share.id) == 0);

  lock.reset();
  counter.flush();
  CHECK(counter.pending_links() == 0);
  CHECK(f.views(a.share.id) == 2);
  CHECK(f.last_viewed(a.share.id) == k_now + 10s);
  CHECK(f.views(b.share.id) == 1);
  CHECK(f.last_viewed(b.share.id) == k_now + 3s);
}

TEMPLATE_TEST_CASE("ViewCounter: a refused flush throws and keeps the views", "[view_counter]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto s = f.share();
  ViewCounter counter(*f.view_store, manual());
  auto lock = f.block_writes();
  counter.add(s.share.id, k_now);
  CHECK_THROWS_AS(counter.flush(), DatabaseUnavailable);
  CHECK(counter.pending_links() == 1);
  CHECK(counter.write_errors() == 2);
  lock.reset();
  counter.flush();
  CHECK(f.views(s.share.id) == 1);
}

TEMPLATE_TEST_CASE("ViewCounter: at the pending bound, add writes at once", "[view_counter]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto a = f.share();
  const auto b = f.share();
  const auto c = f.share();
  ViewCounter counter(*f.view_store, manual(2));
  auto lock = f.block_writes();
  counter.add(a.share.id, k_now);  // idle: refused, pending
  counter.add(b.share.id, k_now);  // the bound is reached: tries again
  CHECK(counter.write_errors() == 2);
  lock.reset();
  counter.add(c.share.id, k_now);  // still at the bound: writes everything
  CHECK(counter.pending_links() == 0);
  CHECK(f.views(a.share.id) == 1);
  CHECK(f.views(b.share.id) == 1);
  CHECK(f.views(c.share.id) == 1);
}

TEMPLATE_TEST_CASE("ViewCounter: the background thread writes views left pending", "[view_counter]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto s = f.share();
  ViewCounterOptions options = manual();
  options.background = true;
  options.flush_interval = 1ms;
  ViewCounter counter(*f.view_store, options);
  {
    auto lock = f.block_writes();
    counter.add(s.share.id, k_now);
    counter.add(s.share.id, k_now);
  }
  wait_until([&] { return f.views(s.share.id) == 2; });
  CHECK(counter.pending_links() == 0);
}

TEMPLATE_TEST_CASE("ViewCounter: stop writes what is pending", "[view_counter]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto s = f.share();
  ViewCounter counter(*f.view_store, manual());
  {
    auto lock = f.block_writes();
    counter.add(s.share.id, k_now);
    counter.add(s.share.id, k_now);
  }
  counter.stop();
  CHECK(f.views(s.share.id) == 2);
  CHECK(counter.views_lost() == 0);

  SECTION("and a view counted after stop is written at once") {
    counter.add(s.share.id, k_now);
    CHECK(f.views(s.share.id) == 3);
  }
}

TEMPLATE_TEST_CASE("ViewCounter: views the database refuses at stop are counted as lost", "[view_counter]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto s = f.share();
  const auto other = f.share();
  ViewCounter counter(*f.view_store, manual());
  auto lock = f.block_writes();
  counter.add(s.share.id, k_now);
  counter.add(s.share.id, k_now);
  counter.add(other.share.id, k_now);
  counter.stop();
  CHECK(counter.views_lost() == 3);
  CHECK(counter.pending_links() == 0);
  lock.reset();
  CHECK(f.views(s.share.id) == 0);
}

TEMPLATE_TEST_CASE("ViewCounter: take_limited answers by the link's status", "[view_counter]", MemoryFixture,
                   SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  ViewCounter counter(*f.view_store, manual());
  const auto active = f.share(3);
  const auto revoked = f.share(3);
  f.revoke(revoked.share.id, k_now);
  const auto expired = f.share(3, k_now);  // expires_at <= now
  const auto later = f.share(3, k_now + 1s);
  const auto exhausted = f.share(1);
  REQUIRE(counter.take_limited(f.record(exhausted.share.id), k_now));
  ShareRecord unknown;
  unknown.id = "mslink_000000000000";
  unknown.max_views = 3;

  struct Case {
    std::string name;
    ShareRecord share;  // as a resolve read it, just now
    bool counted;
  };
  const std::vector<Case> cases = {
      {"active", f.record(active.share.id), true},        {"revoked", f.record(revoked.share.id), false},
      {"expired", f.record(expired.share.id), false},     {"expires later", f.record(later.share.id), true},
      {"exhausted", f.record(exhausted.share.id), false}, {"unknown", unknown, false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(counter.take_limited(c.share, k_now) == c.counted);
  }
  CHECK(f.views(active.share.id) == 1);
  CHECK(f.last_viewed(active.share.id) == k_now);
  CHECK(f.views(revoked.share.id) == 0);
  CHECK(f.views(expired.share.id) == 0);
  CHECK(f.views(exhausted.share.id) == 1);

  SECTION("a snapshot that missed the last view being taken: the database refuses it") {
    const auto stale = f.record(later.share.id);
    f.set_view_count(later.share.id, 3);
    CHECK_FALSE(counter.take_limited(stale, k_now));
    CHECK(f.views(later.share.id) == 3);
  }
}

TEMPLATE_TEST_CASE("ViewCounter: count takes links with max_views exactly and batches the others",
                   "[view_counter]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  ViewCounter counter(*f.view_store, manual());
  const auto unlimited = f.share();
  const auto limited = f.share(1);
  auto lock = f.block_writes();
  CHECK(counter.count(f.record(unlimited.share.id), k_now));  // kept pending while writes are refused
  CHECK(counter.pending_links() == 1);
  CHECK_THROWS_AS(counter.count(f.record(limited.share.id), k_now), DatabaseUnavailable);  // never waits
  lock.reset();
  CHECK(counter.count(f.record(limited.share.id), k_now));
  CHECK_FALSE(counter.count(f.record(limited.share.id), k_now));
  counter.flush();
  CHECK(f.views(unlimited.share.id) == 1);
  CHECK(f.views(limited.share.id) == 1);
}

TEMPLATE_TEST_CASE("ViewCounter: take_limited serves max_views exactly under concurrency",
                   "[view_counter][concurrency]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto s = f.share(10);
  const ShareRecord as_read = f.record(s.share.id);  // every request read it before any view was taken
  ViewCounter counter(*f.view_store);
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (counter.take_limited(as_read, k_now)) ++served;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(served == 10);
  CHECK(f.views(s.share.id) == 10);
}

TEMPLATE_TEST_CASE("ViewCounter: the resolver counts through it, exactly for max_views links",
                   "[view_counter][resolver]", MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  const auto unlimited = f.share();
  const auto limited = f.share(2);
  ViewCounter counter(*f.view_store, manual());
  const auto reader = f.storage().open_reader();
  PlaybackConfig playback;
  const PlaybackSigner signer(playback, "https://music.example.org",
                              SigningKeys({{"k1", std::string(32, 'k'), {}}}));
  ResolveOptions options;
  options.views = &counter;

  auto lock = f.block_writes();  // unlimited views wait; exact ones need the database
  auto result = resolve(*reader, unlimited.token, options, k_now, &signer);
  CHECK(result.outcome == ResolveOutcome::ok);
  CHECK(result.view_counted);
  CHECK(counter.pending_links() == 1);
  CHECK_THROWS_AS(resolve(*reader, limited.token, options, k_now, &signer), DatabaseUnavailable);
  lock.reset();

  for (const auto expected : {ResolveOutcome::ok, ResolveOutcome::ok, ResolveOutcome::limit_reached}) {
    CHECK(resolve(*reader, limited.token, options, k_now, &signer).outcome == expected);
  }
  counter.flush();
  CHECK(f.views(unlimited.share.id) == 1);
  CHECK(f.views(limited.share.id) == 2);
}

TEST_CASE("ViewCounter: options are checked", "[view_counter]") {
  Fixture<MemoryFixture> f;
  CHECK_THROWS_AS(ViewCounter(*f.view_store, manual(0)), Error);
}

}  // namespace sharelink
