#include "common/reader_pool.hpp"

#include <algorithm>
#include <utility>

#include "common/blocking_wait.hpp"

namespace sharelink {

ReaderPool::Lease::Lease(ReaderPool& pool, std::unique_ptr<CatalogReader> reader)
    : pool_(&pool), reader_(std::move(reader)) {}

ReaderPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), reader_(std::move(other.reader_)) {}

ReaderPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->give_back(std::move(reader_));
}

void ReaderPool::Lease::discard() { reader_.reset(); }

ReaderPool::ReaderPool(StorageBackend& storage, std::size_t max_connections)
    : storage_(storage), max_connections_(std::max<std::size_t>(1, max_connections)) {}

ReaderPool::~ReaderPool() = default;

ReaderPool::Lease ReaderPool::acquire() {
  UniqueLock lock(mutex_);
  if (idle_.empty() && open_ >= max_connections_) {
    const BlockingWait waiting;  // for a request that waits itself (a slow client, a commit)
    while (idle_.empty() && open_ >= max_connections_) returned_.wait(lock.native());
  }
  if (!idle_.empty()) {
    auto reader = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(reader));
  }
  ++open_;  // this slot is ours while the connection opens, outside the lock
  lock.unlock();
  try {
    return Lease(*this, storage_.open_reader());
  } catch (...) {
    lock.lock();
    --open_;
    lock.unlock();
    returned_.notify_one();
    throw;
  }
}

void ReaderPool::give_back(std::unique_ptr<CatalogReader> reader) {
  {
    const MutexLock lock(mutex_);
    if (reader) {
      idle_.push_back(std::move(reader));
    } else {
      --open_;
    }
  }
  returned_.notify_one();
}

std::size_t ReaderPool::open_connections() const {
  const MutexLock lock(mutex_);
  return open_;
}

}  // namespace sharelink
