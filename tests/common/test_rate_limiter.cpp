// Unit tests for the per-client token buckets: maths over injected time, headers, eviction, threads.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/rate_limiter.hpp"

using namespace sharelink;

namespace {

IpAddress ip(std::string_view text) {
  auto parsed = parse_ip(text);
  REQUIRE(parsed);
  return *parsed;
}

IpAddress v4(std::uint32_t n) {
  IpAddress a;
  a.is_v4 = true;
  for (int i = 0; i < 4; ++i)
    a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  return a;
}

// The t= value of the RateLimit header.
int header_t(const RateDecision& d) {
  const std::string header = rate_limit_header(d);
  return std::stoi(header.substr(header.find(";t=") + 3));
}

enum class Op { acquire, peek };

struct Step {
  double now;
  Op op;
  bool allowed;
  double remaining;
  double seconds_until_token;
  int retry_after;
  std::string header;
};

void run_steps(RateLimiter& limiter, const IpAddress& client, const std::vector<Step>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    CAPTURE(i, s.now);
    const RateDecision d = s.op == Op::acquire ? limiter.acquire(client, s.now) : limiter.peek(client, s.now);
    CHECK(d.allowed == s.allowed);
    CHECK(d.remaining == s.remaining);
    CHECK(d.seconds_until_token == Approx(s.seconds_until_token).margin(1e-9));
    CHECK(d.retry_after == s.retry_after);
    CHECK(rate_limit_header(d) == s.header);
    if (!d.allowed) {
      CHECK(d.retry_after >= 1);
      CHECK(d.retry_after >= header_t(d));
    }
  }
}

}  // namespace

TEST_CASE("RateLimiter: bucket maths as time passes", "[rate_limiter]") {
  // 60 per minute = 1 token per second, burst 3.
  RateLimiter limiter(BucketPolicy::per_minute(60, 3), 100);
  run_steps(limiter, ip("198.51.100.7"),
            {
                {0.0, Op::peek, true, 3, 0, 0, R"("per-ip";r=3;t=0)"},  // a new client is full
                {0.0, Op::acquire, true, 2, 1, 0, R"("per-ip";r=2;t=1)"},
                {0.0, Op::acquire, true, 1, 1, 0, R"("per-ip";r=1;t=1)"},
                {0.0, Op::acquire, true, 0, 1, 0, R"("per-ip";r=0;t=1)"},  // burst drained
                {0.0, Op::acquire, false, 0, 1, 1, R"("per-ip";r=0;t=1)"},
                {0.25, Op::acquire, false, 0, 0.75, 1, R"("per-ip";r=0;t=1)"},  // partial token
                {0.25, Op::acquire, false, 0, 0.75, 1, R"("per-ip";r=0;t=1)"},  // refusals take nothing
                {1.0, Op::acquire, true, 0, 1, 0, R"("per-ip";r=0;t=1)"},       // one token refilled
                {2.5, Op::peek, true, 1, 0.5, 0, R"("per-ip";r=1;t=1)"},
                {2.5, Op::acquire, true, 0, 0.5, 0, R"("per-ip";r=0;t=1)"},  // 1.5 tokens: one taken
                {2.75, Op::peek, false, 0, 0.25, 1, R"("per-ip";r=0;t=1)"},
                {3.5, Op::peek, true, 1, 0.5, 0, R"("per-ip";r=1;t=1)"},
                {4.0, Op::peek, true, 2, 1, 0, R"("per-ip";r=2;t=1)"},
                {100.0, Op::peek, true, 3, 0, 0, R"("per-ip";r=3;t=0)"},  // capped at the burst
                {100.0, Op::acquire, true, 2, 1, 0, R"("per-ip";r=2;t=1)"},
            });
}

TEST_CASE("RateLimiter: slow refill gives Retry-After above one second", "[rate_limiter]") {
  // 15 per minute = one token every 4 seconds, burst 2.
  RateLimiter limiter(BucketPolicy::per_minute(15, 2), 100);
  run_steps(limiter, ip("2001:db8::7"),
            {
                {10.0, Op::acquire, true, 1, 4, 0, R"("per-ip";r=1;t=4)"},
                {10.0, Op::acquire, true, 0, 4, 0, R"("per-ip";r=0;t=4)"},
                {10.0, Op::acquire, false, 0, 4, 4, R"("per-ip";r=0;t=4)"},
                {11.5, Op::acquire, false, 0, 2.5, 3, R"("per-ip";r=0;t=3)"},
                {13.9, Op::acquire, false, 0, 0.1, 1, R"("per-ip";r=0;t=1)"},
                {14.0, Op::acquire, true, 0, 4, 0, R"("per-ip";r=0;t=4)"},
                {20.0, Op::peek, true, 1, 2, 0, R"("per-ip";r=1;t=2)"},
            });
}

TEST_CASE("RateLimiter: media policy with inexact refill steps", "[rate_limiter]") {
  // 1200 per minute = 20 per second: 1/20 s is not exact in binary.
  RateLimiter limiter(BucketPolicy::per_minute(1200, 200), 100);
  const IpAddress client = ip("203.0.113.9");
  for (int i = 0; i < 200; ++i) REQUIRE(limiter.acquire(client, 0).allowed);
  CHECK_FALSE(limiter.acquire(client, 0).allowed);
  for (int step = 1; step <= 40; ++step) {
    CAPTURE(step);
    const double now = step * 0.05;
    const RateDecision d = limiter.acquire(client, now);
    CHECK(d.allowed);  // exactly one token per 50 ms
    CHECK(d.remaining == 0);
    CHECK_FALSE(limiter.acquire(client, now).allowed);
  }
}

TEST_CASE("RateLimiter: RateLimit-Policy header", "[rate_limiter]") {
  struct Case {
    int per_minute;
    int burst;
    std::string header;
  };
  const std::vector<Case> cases = {
      {60, 30, R"("per-ip";q=30;w=30)"},      // resolve defaults
      {1200, 200, R"("per-ip";q=200;w=10)"},  // media defaults
      {10, 10, R"("per-ip";q=10;w=60)"},      // miss bucket defaults
      {11, 11, R"("per-ip";q=11;w=60)"},      // 11 / (11/60) is 60.00000000000001 in doubles
      {1, 1, R"("per-ip";q=1;w=60)"},         // one token a minute
      {7, 3, R"("per-ip";q=3;w=26)"},         // 25.7 s rounded up
      {600, 1, R"("per-ip";q=1;w=1)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.per_minute, c.burst);
    CHECK(RateLimiter(BucketPolicy::per_minute(c.per_minute, c.burst), 10).policy_header() == c.header);
  }
}

TEST_CASE("RateLimiter: RateLimit header rounding", "[rate_limiter]") {
  struct Case {
    double remaining;
    double seconds;
    std::string header;
  };
  const std::vector<Case> cases = {
      {0, 0, R"("per-ip";r=0;t=0)"},
      {5, 0, R"("per-ip";r=5;t=0)"},
      {0, 0.2, R"("per-ip";r=0;t=1)"},
      {2, 1.5, R"("per-ip";r=2;t=2)"},
      {0, 1.0000000001, R"("per-ip";r=0;t=1)"},  // float noise is not a second
      {0, 59.99, R"("per-ip";r=0;t=60)"},
  };
  for (const auto& c : cases) {
    RateDecision d;
    d.remaining = c.remaining;
    d.seconds_until_token = c.seconds;
    CHECK(rate_limit_header(d) == c.header);
  }
}

TEST_CASE("RateLimiter: per_minute policy", "[rate_limiter]") {
  const BucketPolicy p = BucketPolicy::per_minute(90, 12);
  CHECK(p.capacity == 12);
  CHECK(p.refill_per_second == Approx(1.5));
}

TEST_CASE("RateLimiter: clients have their own buckets", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 2), 100);
  const IpAddress a = ip("198.51.100.7");
  const IpAddress b = ip("198.51.100.8");
  CHECK(limiter.acquire(a, 0).allowed);
  CHECK(limiter.acquire(a, 0).allowed);
  CHECK_FALSE(limiter.acquire(a, 0).allowed);
  CHECK(limiter.acquire(b, 0).remaining == 1);
  CHECK(limiter.size() == 2);
  // A mapped address is the IPv4 client.
  CHECK_FALSE(limiter.acquire(ip("::ffff:198.51.100.7"), 0).allowed);
}

TEST_CASE("RateLimiter: IPv6 clients keyed by prefix", "[rate_limiter]") {
  struct Case {
    int prefix;
    std::string other;
    bool shared;
  };
  const std::vector<Case> cases = {
      {64, "2001:db8:1:2::b", true},  {64, "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
      {64, "2001:db8:1:3::a", false}, {48, "2001:db8:1:3::a", true},
      {48, "2001:db8:2::a", false},   {128, "2001:db8:1:2::b", false},
      {128, "2001:db8:1:2::a", true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.prefix, c.other);
    RateLimiter limiter(BucketPolicy::per_minute(60, 1), 100);
    REQUIRE(limiter.acquire(client_key(ip("2001:db8:1:2::a"), c.prefix), 0).allowed);
    CHECK(limiter.acquire(client_key(ip(c.other), c.prefix), 0).allowed != c.shared);
  }
}

TEST_CASE("RateLimiter: peek neither takes a token nor adds a client", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 2), 100);
  const IpAddress a = ip("198.51.100.7");
  CHECK(limiter.peek(a, 0).remaining == 2);
  CHECK(limiter.size() == 0);
  limiter.acquire(a, 0);
  CHECK(limiter.peek(a, 0).remaining == 1);
  CHECK(limiter.peek(a, 0).remaining == 1);
  limiter.acquire(a, 0);
  const RateDecision d = limiter.peek(a, 0);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after == 1);
  CHECK(limiter.size() == 1);
}

TEST_CASE("RateLimiter: a clock that goes back only delays refill", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 2), 100);
  const IpAddress a = ip("198.51.100.7");
  limiter.acquire(a, 10);
  limiter.acquire(a, 10);
  const RateDecision d = limiter.acquire(a, 5);
  CHECK_FALSE(d.allowed);
  CHECK(d.remaining == 0);
  CHECK(d.seconds_until_token == Approx(6));
  CHECK(limiter.acquire(a, 11).allowed);
}

TEST_CASE("RateLimiter: degenerate policies are made safe", "[rate_limiter]") {
  BucketPolicy p;
  p.capacity = 0;
  p.refill_per_second = 0;
  RateLimiter limiter(p, 10);
  CHECK(limiter.policy().capacity == 1);
  CHECK(limiter.policy().refill_per_second > 0);
  const IpAddress a = ip("198.51.100.7");
  CHECK(limiter.acquire(a, 0).allowed);
  const RateDecision d = limiter.acquire(a, 0);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after >= 1);  // huge, but an int
  // A bound of zero clients is one.
  limiter.set_policy(BucketPolicy::per_minute(60, 1), 0);
  limiter.acquire(ip("198.51.100.8"), 0);
  limiter.acquire(ip("198.51.100.9"), 0);
  CHECK(limiter.size() == 1);
}

TEST_CASE("RateLimiter: set_policy clamps buckets and changes the rate", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 30), 100);
  const IpAddress partial = ip("198.51.100.1");
  const IpAddress drained = ip("198.51.100.2");
  const IpAddress idle = ip("198.51.100.3");
  limiter.acquire(idle, 0);
  for (int i = 0; i < 5; ++i) limiter.acquire(partial, 100);
  for (int i = 0; i < 30; ++i) limiter.acquire(drained, 100);
  REQUIRE(limiter.size() == 3);

  limiter.set_policy(BucketPolicy::per_minute(120, 10), 100);
  CHECK(limiter.policy().capacity == 10);
  CHECK(limiter.policy_header() == R"("per-ip";q=10;w=5)");
  CHECK(limiter.size() == 1);                         // idle and partial are full under the new policy
  CHECK(limiter.peek(partial, 100).remaining == 10);  // 25 tokens clamped to 10
  const RateDecision d = limiter.peek(drained, 100);  // still empty
  CHECK_FALSE(d.allowed);
  CHECK(d.seconds_until_token == Approx(0.5));  // refills at the new rate
  CHECK(limiter.acquire(drained, 100.5).allowed);

  // Raising the capacity hands out no tokens at once.
  for (int i = 0; i < 3; ++i) limiter.acquire(partial, 100.5);
  REQUIRE(limiter.peek(partial, 100.5).remaining == 7);
  limiter.set_policy(BucketPolicy::per_minute(120, 50), 100);
  CHECK(limiter.peek(partial, 100.5).remaining == 7);
  CHECK(limiter.peek(partial, 101).remaining == 8);
}

TEST_CASE("RateLimiter: set_policy to a smaller bound keeps the most drained", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 30), 100);
  const IpAddress light = ip("198.51.100.1");
  const IpAddress heavy = ip("198.51.100.2");
  limiter.acquire(heavy, 0);
  for (int i = 0; i < 30; ++i) limiter.acquire(heavy, 0);
  limiter.acquire(light, 0);  // most recently used, but nearly full
  limiter.set_policy(BucketPolicy::per_minute(60, 30), 1);
  CHECK(limiter.size() == 1);
  CHECK_FALSE(limiter.peek(heavy, 0).allowed);
  CHECK(limiter.peek(light, 0).remaining == 30);
}

TEST_CASE("RateLimiter: a full client table drops full buckets before the LRU", "[rate_limiter]") {
  // Three clients fit (one shard below 32 clients). 1 token per second, burst 2.
  RateLimiter limiter(BucketPolicy::per_minute(60, 2), 3);
  const IpAddress a = ip("198.51.100.1"), b = ip("198.51.100.2"), c = ip("198.51.100.3");
  const IpAddress d = ip("198.51.100.4"), e = ip("198.51.100.5"), f = ip("198.51.100.6");
  limiter.acquire(a, 0);  // full again at 1
  limiter.acquire(b, 0);
  limiter.acquire(b, 0);  // full again at 2
  limiter.acquire(c, 0);  // full again at 1
  // At 1.5, a (least recently used) and c are full, b is not.
  limiter.acquire(d, 1.5);  // drops a
  limiter.acquire(e, 1.5);  // drops c, not b, though b is the least recently used
  CHECK(limiter.size() == 3);
  CHECK(limiter.peek(b, 1.5).remaining == 1);
  // Nothing full any more: the least recently used (b) goes.
  limiter.acquire(f, 1.5);
  CHECK(limiter.size() == 3);
  CHECK(limiter.peek(b, 1.5).remaining == 2);
  CHECK(limiter.peek(d, 1.5).remaining == 1);
  CHECK(limiter.peek(e, 1.5).remaining == 1);
  CHECK(limiter.peek(f, 1.5).remaining == 1);
}

TEST_CASE("RateLimiter: a refused request keeps the client in use", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 1), 2);
  const IpAddress abuser = ip("198.51.100.1");
  const IpAddress other = ip("198.51.100.2");
  limiter.acquire(abuser, 0);
  limiter.acquire(other, 0);
  CHECK_FALSE(limiter.acquire(abuser, 0.5).allowed);  // refused, but now most recently used
  limiter.acquire(ip("198.51.100.3"), 0.5);           // drops other
  CHECK_FALSE(limiter.acquire(abuser, 0.5).allowed);
  CHECK(limiter.peek(other, 0.5).allowed);
}

TEST_CASE("RateLimiter: a million addresses stay within max_clients", "[rate_limiter]") {
  constexpr std::size_t k_max_clients = 1000;
  RateLimiter limiter(BucketPolicy::per_minute(60, 5), k_max_clients);
  const IpAddress active = ip("2001:db8::1");
  double now = 0;
  for (int i = 0; i < 5; ++i) REQUIRE(limiter.acquire(active, now).allowed);

  bool flood_allowed = true;
  bool active_refused = true;
  bool within_bound = true;
  for (std::uint32_t i = 0; i < 1'000'000; ++i) {
    now += 1e-9;  // a millisecond in all: the active client gains no whole token
    flood_allowed &= limiter.acquire(v4(0x0a000000u + i), now).allowed;
    if (i % 3 == 0) active_refused &= !limiter.acquire(active, now).allowed;
    if (i < 5000 || i % 1000 == 0) within_bound &= limiter.size() <= k_max_clients;
  }
  CHECK(flood_allowed);   // every newcomer starts full
  CHECK(active_refused);  // the active client was never evicted (a new bucket would allow it)
  CHECK(within_bound);
  CHECK(limiter.size() == k_max_clients);  // the bound is exact and is reached
  // The most recent newcomers are still known.
  CHECK(limiter.peek(v4(0x0a000000u + 999'999), now).remaining == 4);
}

TEST_CASE("RateLimiter: IPv6 flood within max_clients", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 5), 100);
  for (std::uint32_t i = 0; i < 20'000; ++i) {
    IpAddress a = ip("2001:db8::");
    a.bytes[4] = static_cast<std::uint8_t>(i >> 8);
    a.bytes[5] = static_cast<std::uint8_t>(i);
    limiter.acquire(a, 0);
    limiter.acquire(a, 0);
  }
  CHECK(limiter.size() == 100);
}

TEST_CASE("RateLimiter: concurrent requests from one client take exactly the burst", "[rate_limiter]") {
  RateLimiter limiter(BucketPolicy::per_minute(60, 30), 1000);
  const IpAddress client = ip("198.51.100.7");
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.acquire(client, 42.0).allowed) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(allowed == 30);
}

TEST_CASE("RateLimiter: concurrent clients while the policy changes", "[rate_limiter]") {
  // Shard counts change between 1 and 62 while requests run (best run under
  // SHARELINK_SANITIZE=thread): no request is lost to a moving shard.
  RateLimiter limiter(BucketPolicy::per_minute(60, 30), 1000);
  std::atomic<bool> stop{false};
  std::atomic<long> progress{0};
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint32_t i = 0; !stop; ++i) {
        limiter.acquire(v4(0x0b000000u + t * 0x100000u + (i & 0xfffff)), 0);
        ++progress;
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    const long seen = progress;
    while (progress < seen + 200) std::this_thread::yield();
    limiter.set_policy(BucketPolicy::per_minute(60, 30), round % 2 == 0 ? 10 : 1000);
    CHECK(limiter.size() <= 1000);
  }
  stop = true;
  for (auto& thread : threads) thread.join();
  CHECK(limiter.size() <= 1000);
  limiter.set_policy(BucketPolicy::per_minute(60, 30), 10);
  CHECK(limiter.size() <= 10);
}
