// Per-client token buckets with a hard bound on memory (SPEC 6).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/client_address.hpp"

namespace sharelink {

struct BucketPolicy {
  double capacity = 30;          // burst; a RateLimiter uses floor(capacity), at least 1
  double refill_per_second = 1;  // per_minute / 60; must be > 0
  // capacity = burst, refill_per_second = per_minute / 60.
  static BucketPolicy per_minute(int per_minute, int burst);
};

struct RateDecision {
  bool allowed = false;
  double remaining = 0;            // whole tokens left after this request (floor)
  double seconds_until_token = 0;  // until one more token (0 when full)
  int retry_after = 0;             // for 429: ceil(seconds_until_token), at least 1; 0 when allowed
};

// Sharded, each shard behind its own mutex: no global lock on the request
// path. Holds at most max_clients buckets; when full, buckets that have
// refilled to capacity (indistinguishable from new ones) are dropped first,
// then the least recently used. Thread-safe.
//
// Sharding: up to 64 shards of at least 16 buckets each (one shard when
// max_clients < 32), chosen by IpAddressHash, whose per-process key keeps
// strangers from aiming at one shard. The bound is exact: shard shares differ
// by at most one and add up to max_clients, so a shard can fill before the
// total does. Eviction in a full shard checks the 8 least recently used
// buckets for a full one, else drops the least recently used: O(1) per
// request. A refused request counts as use (an active abuser keeps its empty
// bucket). Memory: 40 bytes per client plus 8 to 16 bytes of index, so about
// 5 MB at the default 100000. Token counts within 1e-6 of a whole token count
// as that token (float noise).
class RateLimiter {
 public:
  RateLimiter(BucketPolicy policy, std::size_t max_clients);
  ~RateLimiter();

  // Takes one token if one is available; a refused request takes none.
  // now_seconds is a monotonic clock reading (tests pass any sequence; a
  // reading earlier than a previous one only delays refill).
  RateDecision acquire(const IpAddress& key, double now_seconds);
  // The bucket's state without taking a token; allowed says whether a token
  // is available. Never adds a bucket.
  RateDecision peek(const IpAddress& key, double now_seconds);

  // Replaces the policy (SIGHUP). Each bucket keeps its tokens as of the
  // latest now_seconds seen, clamped to the new capacity, and refills at the
  // new rate; a bucket that is then full is dropped (same as new). A raised
  // capacity hands out no tokens at once. If the new bound is smaller, the
  // most drained buckets are kept. Locks every shard once: O(size()).
  // max_clients is at least 1.
  void set_policy(BucketPolicy policy, std::size_t max_clients);
  BucketPolicy policy() const;
  // Buckets held now (locks each shard in turn: for tests and metrics).
  std::size_t size() const;

  // RateLimit-Policy: "per-ip";q=<burst>;w=<seconds to refill the bucket, rounded up>
  std::string policy_header() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RateLimit: "per-ip";r=<tokens left>;t=<seconds until one more token, rounded up>
// (t=0 for a full bucket).
std::string rate_limit_header(const RateDecision& decision);

}  // namespace sharelink
