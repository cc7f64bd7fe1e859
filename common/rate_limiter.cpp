#include "common/rate_limiter.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "common/thread_annotations.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_shard_count = 64;
// Fewer shards for small bounds: LRU order means little in a shard of 2.
constexpr std::size_t k_min_shard_buckets = 16;
constexpr std::uint32_t k_none = std::numeric_limits<std::uint32_t>::max();
// Floating-point noise in token counts and times (1/20 s is not exact in
// binary): a bucket 1e-6 tokens short of a whole token counts as having it.
constexpr double k_epsilon = 1e-6;
// How many of the least recently used buckets are checked for a full one
// before the least recently used is dropped.
constexpr int k_eviction_probe = 8;
constexpr std::size_t k_min_table = 16;
constexpr double k_min_refill = 1e-9;

using Key = std::array<std::uint8_t, 16>;

// One client. The whole state is one number: the clock reading at which the
// bucket is (or was) full again; tokens(now) = capacity - max(0, full_at - now) * refill.
// A bucket with full_at <= now is indistinguishable from a new one.
struct Bucket {
  Key key;
  double full_at;
  std::uint32_t hash;  // low 32 bits of the keyed hash: home slot in the index
  std::uint32_t prev;  // towards the most recently used
  std::uint32_t next;  // towards the least recently used
};
static_assert(sizeof(Bucket) == 40, "per-client memory is documented in rate_limiter.hpp");

Key key_bytes(const IpAddress& a) {
  if (!a.is_v4) return a.bytes;
  Key out{};
  out[10] = 0xff;
  out[11] = 0xff;
  std::copy_n(a.bytes.begin(), 4, out.begin() + 12);
  return out;
}

BucketPolicy normalised(BucketPolicy p) {
  p.capacity = std::max(1.0, std::floor(p.capacity + k_epsilon));
  if (!(p.refill_per_second >= k_min_refill)) p.refill_per_second = k_min_refill;  // also NaN
  return p;
}

// Whole seconds, rounded up, ignoring float noise.
long long ceil_seconds(double seconds) {
  return static_cast<long long>(std::max(0.0, std::ceil(seconds - k_epsilon)));
}

// Negative only when now is earlier than a reading the bucket has seen.
double tokens_at(const BucketPolicy& p, double full_at, double now) {
  return p.capacity - std::max(0.0, full_at - now) * p.refill_per_second;
}

RateDecision describe(const BucketPolicy& p, double tokens, bool allowed) {
  RateDecision d;
  d.allowed = allowed;
  const double whole = std::max(0.0, std::floor(tokens + k_epsilon));
  d.remaining = whole;
  if (tokens + k_epsilon < p.capacity) {
    d.seconds_until_token = std::max(0.0, (whole + 1 - tokens) / p.refill_per_second);
  }
  if (!allowed) {
    d.retry_after = static_cast<int>(
        std::clamp<long long>(ceil_seconds(d.seconds_until_token), 1, std::numeric_limits<int>::max()));
  }
  return d;
}

// A fixed-capacity map from client key to Bucket: buckets in one vector,
// linked in LRU order, found through an open-addressing index of bucket
// positions (linear probing, load <= 1/2, backward-shift deletion: no
// tombstones). Not thread-safe: guarded by its Shard's mutex.
class BucketTable {
 public:
  std::size_t size() const { return buckets_.size(); }
  std::size_t capacity() const { return capacity_; }
  double clock() const { return clock_; }
  void advance_clock(double now) { clock_ = std::max(clock_, now); }

  // Empties the table and sets its bound and clock, releasing memory.
  void reset(std::size_t capacity, double clock) {
    std::vector<Bucket>().swap(buckets_);
    std::vector<std::uint32_t>().swap(slots_);
    head_ = tail_ = k_none;
    capacity_ = capacity;
    clock_ = clock;
  }

  Bucket* find(const Key& key, std::uint32_t hash) {
    if (slots_.empty()) return nullptr;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t p = hash & mask;; p = (p + 1) & mask) {
      const std::uint32_t i = slots_[p];
      if (i == k_none) return nullptr;
      if (buckets_[i].hash == hash && buckets_[i].key == key) return &buckets_[i];
    }
  }

  // Marks b as the most recently used.
  void touch(Bucket& b) {
    const auto i = index_of(b);
    if (head_ == i) return;
    unlink(i);
    push_front(i);
  }

  // Adds a bucket (the key must be absent). At capacity, first one of the
  // k_eviction_probe least recently used buckets that is full at now is
  // dropped, else the least recently used one. O(1) amortised.
  void insert(const Key& key, std::uint32_t hash, double full_at, double now) {
    std::uint32_t i = k_none;
    if (buckets_.size() >= capacity_) {
      i = victim(now);
      unlink(i);
      erase_slot(i);
    } else {
      if (buckets_.size() == buckets_.capacity()) {
        buckets_.reserve(std::min(capacity_, std::max(k_min_table, buckets_.size() * 2)));
      }
      i = static_cast<std::uint32_t>(buckets_.size());
      buckets_.push_back({});
      if (slots_.size() < 2 * buckets_.size()) grow_index();
    }
    buckets_[i] = Bucket{key, full_at, hash, k_none, k_none};
    place_slot(i);
    push_front(i);
  }

  // Every bucket, most recently used first.
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t i = head_; i != k_none; i = buckets_[i].next) f(buckets_[i]);
  }

 private:
  std::uint32_t index_of(const Bucket& b) const { return static_cast<std::uint32_t>(&b - buckets_.data()); }

  std::uint32_t victim(double now) const {
    std::uint32_t i = tail_;
    for (int n = 0; n < k_eviction_probe && i != k_none; ++n, i = buckets_[i].prev) {
      if (buckets_[i].full_at <= now) return i;
    }
    return tail_;
  }

  void unlink(std::uint32_t i) {
    Bucket& b = buckets_[i];
    (b.prev == k_none ? head_ : buckets_[b.prev].next) = b.next;
    (b.next == k_none ? tail_ : buckets_[b.next].prev) = b.prev;
    b.prev = b.next = k_none;
  }

  void push_front(std::uint32_t i) {
    buckets_[i].prev = k_none;
    buckets_[i].next = head_;
    if (head_ != k_none) buckets_[head_].prev = i;
    head_ = i;
    if (tail_ == k_none) tail_ = i;
  }

  void place_slot(std::uint32_t i) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t p = buckets_[i].hash & mask;
    while (slots_[p] != k_none) p = (p + 1) & mask;
    slots_[p] = i;
  }

  void erase_slot(std::uint32_t i) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t hole = buckets_[i].hash & mask;
    while (slots_[hole] != i) hole = (hole + 1) & mask;
    // Move later members of the probe run back into the hole unless their
    // home slot lies cyclically in (hole, j]: lookups never meet a gap.
    for (std::size_t j = (hole + 1) & mask; slots_[j] != k_none; j = (j + 1) & mask) {
      const std::size_t home = buckets_[slots_[j]].hash & mask;
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = k_none;
  }

  void grow_index() {
    std::size_t n = k_min_table;
    while (n < 2 * buckets_.size()) n *= 2;
    slots_.assign(n, k_none);
    for (std::uint32_t i = 0; i + 1 < buckets_.size(); ++i)
      place_slot(i);  // the new last one is placed by insert
  }

  std::vector<Bucket> buckets_;
  std::vector<std::uint32_t> slots_;  // bucket positions; k_none = empty; size a power of two
  std::uint32_t head_ = k_none;       // most recently used
  std::uint32_t tail_ = k_none;       // least recently used
  std::size_t capacity_ = 0;
  double clock_ = std::numeric_limits<double>::lowest();  // latest now seen
};

// Own cache line each, so threads working on different shards do not contend.
struct alignas(64) Shard {
  Mutex mutex;
  BucketTable table SHARELINK_GUARDED_BY(mutex);
};

}  // namespace

BucketPolicy BucketPolicy::per_minute(int per_minute, int burst) {
  BucketPolicy p;
  p.capacity = burst;
  p.refill_per_second = per_minute / 60.0;
  return p;
}

// Locking: a request locks exactly one shard, chosen by the keyed hash among
// the first active_shards_ (max_clients / 16, between 1 and 64). set_policy
// locks all 64 in index order and rebuilds; policy_ and active_shards_ change
// only then, so holding any one shard lock makes them stable. A request
// re-checks active_shards_ after locking and retries if a rebuild moved its
// key to another shard meanwhile.
struct RateLimiter::Impl {
  std::array<Shard, k_shard_count> shards_;
  std::atomic<std::size_t> active_shards_{1};
  BucketPolicy policy_;  // guarded by all shard mutexes (written with all held)

  template <class F>
  RateDecision with_shard(const IpAddress& address, F&& f) {
    const Key key = key_bytes(address);
    const std::uint64_t hash = IpAddressHash{}(address);
    while (true) {
      const std::size_t n = active_shards_.load(std::memory_order_acquire);
      Shard& shard = shards_[(hash >> 32) % n];
      const MutexLock lock(shard.mutex);
      if (active_shards_.load(std::memory_order_relaxed) != n) continue;
      return f(shard.table, key, static_cast<std::uint32_t>(hash));
    }
  }

  // Installs a policy and bound; existing state is carried over (see set_policy).
  // Holds every shard's lock, a set the analysis cannot name: checked by hand.
  void rebuild(const BucketPolicy& next_policy, std::size_t max_clients) SHARELINK_NO_THREAD_SAFETY_ANALYSIS {
    std::array<std::unique_lock<std::mutex>, k_shard_count> locks;
    for (std::size_t i = 0; i < k_shard_count; ++i) locks[i] = std::unique_lock(shards_[i].mutex.native());

    double clock = std::numeric_limits<double>::lowest();
    for (const Shard& s : shards_) clock = std::max(clock, s.table.clock());

    struct Kept {
      Key key;
      std::uint32_t hash;
      double full_at;
    };
    std::vector<Kept> kept;
    for (const Shard& s : shards_) {
      s.table.for_each([&](const Bucket& b) {
        const double tokens = tokens_at(policy_, b.full_at, clock);
        if (tokens + k_epsilon >= next_policy.capacity) return;  // full under the new policy: same as absent
        kept.push_back(
            {b.key, b.hash, clock + (next_policy.capacity - tokens) / next_policy.refill_per_second});
      });
    }
    // Inserted nearest-to-full first, so on a smaller bound the most drained survive.
    std::sort(kept.begin(), kept.end(), [](const Kept& a, const Kept& b) { return a.full_at < b.full_at; });

    const std::size_t n = std::clamp<std::size_t>(max_clients / k_min_shard_buckets, 1, k_shard_count);
    for (std::size_t i = 0; i < k_shard_count; ++i) {
      // Shares differ by at most one and add up to max_clients exactly.
      const std::size_t share = i < n ? max_clients / n + (i < max_clients % n ? 1 : 0) : 0;
      shards_[i].table.reset(share, clock);
    }
    policy_ = next_policy;
    active_shards_.store(n, std::memory_order_release);

    for (const Kept& k : kept) {
      IpAddress address;
      address.bytes = k.key;  // the IPv6 form hashes like the IPv4 one
      const std::uint64_t hash = IpAddressHash{}(address);
      shards_[(hash >> 32) % n].table.insert(k.key, k.hash, k.full_at, clock);
    }
  }
};

RateLimiter::RateLimiter(BucketPolicy policy, std::size_t max_clients) : impl_(std::make_unique<Impl>()) {
  set_policy(policy, max_clients);
}

RateLimiter::~RateLimiter() = default;

RateDecision RateLimiter::acquire(const IpAddress& key, double now_seconds) {
  return impl_->with_shard(key, [&](BucketTable& table, const Key& k, std::uint32_t hash) {
    const BucketPolicy& p = impl_->policy_;
    table.advance_clock(now_seconds);
    Bucket* b = table.find(k, hash);
    const double tokens = b ? tokens_at(p, b->full_at, now_seconds) : p.capacity;
    const bool allowed = tokens + k_epsilon >= 1;
    if (b == nullptr) {
      // capacity >= 1, so a new client is always allowed.
      table.insert(k, hash, now_seconds + 1 / p.refill_per_second, now_seconds);
    } else {
      // A refused client is still an active one: it stays most recently used.
      table.touch(*b);
      if (allowed) b->full_at = std::max(b->full_at, now_seconds) + 1 / p.refill_per_second;
    }
    return describe(p, allowed ? std::max(0.0, tokens - 1) : tokens, allowed);
  });
}

RateDecision RateLimiter::peek(const IpAddress& key, double now_seconds) {
  return impl_->with_shard(key, [&](BucketTable& table, const Key& k, std::uint32_t hash) {
    const BucketPolicy& p = impl_->policy_;
    table.advance_clock(now_seconds);
    const Bucket* b = table.find(k, hash);
    const double tokens = b ? tokens_at(p, b->full_at, now_seconds) : p.capacity;
    return describe(p, tokens, tokens + k_epsilon >= 1);
  });
}

void RateLimiter::set_policy(BucketPolicy policy, std::size_t max_clients) {
  impl_->rebuild(normalised(policy), std::max<std::size_t>(1, max_clients));
}

BucketPolicy RateLimiter::policy() const {
  const MutexLock lock(impl_->shards_[0].mutex);
  return impl_->policy_;
}

std::size_t RateLimiter::size() const {
  std::size_t total = 0;
  for (Shard& s : impl_->shards_) {
    const MutexLock lock(s.mutex);
    total += s.table.size();
  }
  return total;
}

std::string RateLimiter::policy_header() const {
  const BucketPolicy p = policy();
  return "\"per-ip\";q=" + std::to_string(static_cast<long long>(p.capacity)) +
         ";w=" + std::to_string(ceil_seconds(p.capacity / p.refill_per_second));
}

std::string rate_limit_header(const RateDecision& decision) {
  return "\"per-ip\";r=" + std::to_string(static_cast<long long>(std::max(0.0, decision.remaining))) +
         ";t=" + std::to_string(ceil_seconds(decision.seconds_until_token));
}

}  // namespace sharelink
