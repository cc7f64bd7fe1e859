// Per-client token buckets with a hard bound on memory (SPEC 6).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/client_address.hpp"

namespace sharelink {

struct BucketPolicy {
  double capacity = 30;           // burst
  double refill_per_second = 1;   // per_minute / 60
  static BucketPolicy per_minute(int per_minute, int burst);
};

struct RateDecision {
  bool allowed = false;
  double remaining = 0;             // whole tokens left after this request (floor)
  double seconds_until_token = 0;   // until one more token (0 when full)
  int retry_after = 0;              // for 429: ceil(seconds_until_token), at least 1
};

// Sharded, each shard behind its own mutex: no global lock on the request
// path. Holds at most max_clients buckets; when full, buckets that have
// refilled to capacity (indistinguishable from new ones) are dropped first,
// then the least recently used. Thread-safe.
class RateLimiter {
 public:
  RateLimiter(BucketPolicy policy, std::size_t max_clients);
  ~RateLimiter();

  // Takes one token if one is available; a refused request takes none.
  // now_seconds is a monotonic clock reading (tests pass any sequence).
  RateDecision acquire(const IpAddress& key, double now_seconds);
  // The bucket's state without taking a token.
  RateDecision peek(const IpAddress& key, double now_seconds);

  // Replaces the policy (SIGHUP). Existing buckets are clamped to the new capacity.
  void set_policy(BucketPolicy policy, std::size_t max_clients);
  BucketPolicy policy() const;
  std::size_t size() const;

  // RateLimit-Policy: "per-ip";q=<burst>;w=<seconds to refill the bucket>
  std::string policy_header() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RateLimit: "per-ip";r=<tokens left>;t=<seconds until one more token, rounded up>
std::string rate_limit_header(const RateDecision& decision);

}  // namespace sharelink
