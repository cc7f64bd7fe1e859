// Unit tests of the reader pool: lending, the connection bound, discarding, open failures.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/reader_pool.hpp"
#include "common/resolver.hpp"
#include "tests/common/store_fixtures.hpp"

namespace sharelink {
namespace {

using sharelink::testing::MemoryFixture;
using sharelink::testing::PostgresFixture;
using sharelink::testing::SqliteFixture;
using sharelink::testing::wait_until;

const TimePoint k_now = from_unix_seconds(1785000000);

// A store with one track share; token is its raw token.
template <typename Store>
struct Fixture : Store {
  std::string token;

  Fixture() {
    this->add_track(testing::make_track(testing::k_test_track_id));
    token = this->share(testing::new_share(TargetType::track, testing::k_test_track_id), k_now).token;
  }
  ResolveOutcome look(CatalogReader& reader) {
    return resolve(reader, token, ResolveOptions{Requester::operator_check, nullptr}, k_now, nullptr).outcome;
  }
};

}  // namespace

TEMPLATE_TEST_CASE("ReaderPool: connections open on demand and are lent again", "[reader_pool]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  ReaderPool pool(f.storage(), 4);
  CHECK(pool.open_connections() == 0);
  CatalogReader* first = nullptr;
  {
    auto lease = pool.acquire();
    first = &*lease;
    CHECK(f.look(*lease) == ResolveOutcome::ok);
    CHECK(pool.open_connections() == 1);
  }
  auto again = pool.acquire();
  CHECK(&*again == first);
  CHECK(pool.open_connections() == 1);
  auto second = pool.acquire();  // the first is lent: a second connection opens
  CHECK(&*second != first);
  CHECK(pool.open_connections() == 2);
}

TEST_CASE("ReaderPool: at the bound a borrower waits for a return", "[reader_pool]") {
  Fixture<MemoryFixture> f;
  ReaderPool pool(f.storage(), 1);
  auto held = std::make_unique<ReaderPool::Lease>(pool.acquire());
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
  CHECK(f.data().readers_opened == 1);
}

TEST_CASE("ReaderPool: a discarded connection frees its slot", "[reader_pool]") {
  Fixture<MemoryFixture> f;
  ReaderPool pool(f.storage(), 1);
  {
    auto lease = pool.acquire();
    lease.discard();
  }
  CHECK(pool.open_connections() == 0);
  auto fresh = pool.acquire();
  CHECK(pool.open_connections() == 1);
  CHECK(f.data().readers_opened == 2);
  CHECK(f.look(*fresh) == ResolveOutcome::ok);
}

TEST_CASE("ReaderPool: a connection that cannot open throws and frees its slot", "[reader_pool]") {
  Fixture<MemoryFixture> f;
  ReaderPool pool(f.storage(), 1);
  f.data().refuse_connections = true;
  CHECK_THROWS_AS(pool.acquire(), DatabaseUnavailable);
  CHECK(pool.open_connections() == 0);
  CHECK_THROWS_AS(pool.acquire(), DatabaseUnavailable);  // no slot leaked: no wait
  f.data().refuse_connections = false;
  auto lease = pool.acquire();
  CHECK(pool.open_connections() == 1);
}

TEMPLATE_TEST_CASE("ReaderPool: many threads share a few connections", "[reader_pool][concurrency]",
                   MemoryFixture, SqliteFixture, PostgresFixture) {
  Fixture<TestType> f;
  ReaderPool pool(f.storage(), 2);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto lease = pool.acquire();
        if (f.look(*lease) == ResolveOutcome::ok) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 400);
  CHECK(pool.open_connections() <= 2);
}

}  // namespace sharelink
