#include "common/resolver_pool.hpp"

#include <algorithm>
#include <utility>

namespace sharelink {

ResolverPool::Lease::Lease(ResolverPool& pool, std::unique_ptr<Resolver> resolver)
    : pool_(&pool), resolver_(std::move(resolver)) {}

ResolverPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), resolver_(std::move(other.resolver_)) {}

ResolverPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->give_back(std::move(resolver_));
}

void ResolverPool::Lease::discard() { resolver_.reset(); }

ResolverPool::ResolverPool(std::filesystem::path db_file, std::size_t max_connections)
    : db_file_(std::move(db_file)), max_connections_(std::max<std::size_t>(1, max_connections)) {}

ResolverPool::~ResolverPool() = default;

ResolverPool::Lease ResolverPool::acquire() {
  std::unique_lock lock(mutex_);
  returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
  if (!idle_.empty()) {
    auto resolver = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(resolver));
  }
  ++open_;  // this slot is ours while the connection opens, outside the lock
  lock.unlock();
  try {
    return Lease(*this, std::make_unique<Resolver>(db_file_));
  } catch (...) {
    lock.lock();
    --open_;
    lock.unlock();
    returned_.notify_one();
    throw;
  }
}

void ResolverPool::give_back(std::unique_ptr<Resolver> resolver) {
  {
    std::lock_guard lock(mutex_);
    if (resolver) {
      idle_.push_back(std::move(resolver));
    } else {
      --open_;
    }
  }
  returned_.notify_one();
}

std::size_t ResolverPool::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace sharelink
