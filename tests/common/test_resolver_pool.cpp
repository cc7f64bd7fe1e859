// Unit tests of the resolver pool: lending, the connection bound, discarding, open failures.
#include "common/resolver_pool.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "common/database.hpp"
#include "common/error.hpp"
#include "common/share_store.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/test_support.hpp"

namespace sharelink {
namespace {

using sharelink::testing::TempDir;
using sharelink::testing::wait_until;
using sharelink::testing::seed_one_track;
using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);

// A migrated database with one track share; token is its raw token.
struct Fixture {
  TempDir dir{"sharelink-resolver-pool-test"};
  std::filesystem::path db = dir / "shared-link.db";
  std::string token;

  Fixture() {
    seed_one_track(db, k_now);
    token = ShareStore(db).create({TargetType::track, testing::k_test_track_id, Visibility::link_only, {}, {}, {}, "tester"}, k_now).token;
  }
};

ResolveOptions offline() {
  ResolveOptions o;
  o.count_view = false;
  o.mint_playback = false;
  return o;
}


}  // namespace

TEST_CASE("ResolverPool: connections open on demand and are lent again", "[resolver_pool]") {
  Fixture f;
  ResolverPool pool(f.db, 4);
  CHECK(pool.open_connections() == 0);
  Resolver* first = nullptr;
  {
    auto lease = pool.acquire();
    first = &*lease;
    CHECK(lease->resolve(f.token, offline(), k_now, nullptr).outcome == ResolveOutcome::ok);
    CHECK(pool.open_connections() == 1);
  }
  auto again = pool.acquire();
  CHECK(&*again == first);
  CHECK(pool.open_connections() == 1);
  auto second = pool.acquire();  // the first is lent: a second connection opens
  CHECK(&*second != first);
  CHECK(pool.open_connections() == 2);
}

TEST_CASE("ResolverPool: at the bound a borrower waits for a return", "[resolver_pool]") {
  Fixture f;
  ResolverPool pool(f.db, 1);
  auto held = std::make_unique<ResolverPool::Lease>(pool.acquire());
  std::atomic<bool> borrowed{false};
  std::thread borrower([&] {
    auto lease = pool.acquire();
    borrowed = true;
  });
  CHECK(pool.open_connections() == 1);
  held.reset();
  wait_until([&] { return borrowed.load(); });
  borrower.join();
  CHECK(pool.open_connections() == 1);
}

TEST_CASE("ResolverPool: a discarded connection frees its slot", "[resolver_pool]") {
  Fixture f;
  ResolverPool pool(f.db, 1);
  Resolver* discarded = nullptr;
  {
    auto lease = pool.acquire();
    discarded = &*lease;
    lease.discard();
  }
  CHECK(pool.open_connections() == 0);
  auto fresh = pool.acquire();
  CHECK(pool.open_connections() == 1);
  CHECK(fresh->resolve(f.token, offline(), k_now, nullptr).outcome == ResolveOutcome::ok);
  (void)discarded;
}

TEST_CASE("ResolverPool: a connection that cannot open throws and frees its slot", "[resolver_pool]") {
  const TempDir dir;
  ResolverPool pool(dir / "missing.db", 1);
  CHECK_THROWS_AS(pool.acquire(), Error);
  CHECK(pool.open_connections() == 0);
  CHECK_THROWS_WITH(pool.acquire(), Catch::Contains("sharectl init"));  // no slot leaked: no wait
}

TEST_CASE("ResolverPool: many threads share a few connections", "[resolver_pool][concurrency]") {
  Fixture f;
  ResolverPool pool(f.db, 2);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto lease = pool.acquire();
        if (lease->resolve(f.token, offline(), k_now, nullptr).outcome == ResolveOutcome::ok) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 400);
  CHECK(pool.open_connections() <= 2);
}

}  // namespace sharelink
