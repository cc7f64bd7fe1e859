// A bounded pool of Resolvers (one SQLite connection each) that shared-linkd's worker threads borrow per request.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "common/resolver.hpp"

namespace sharelink {

// Why a pool rather than a connection per worker thread: the daemon runs one
// thread per keep-alive connection (hundreds), but only a few can use SQLite
// at once on a small machine. With hundreds of connections, WAL readers
// compete for the WAL's few read-mark slots, and the losers sleep inside
// SQLite and retry (the largest part of the tail latency measured); and every
// connection keeps its own page cache, so memory grew with the thread count.
//
// Threading: acquire() and the leases may be used from any thread; the idle
// list is guarded by mutex_. A Resolver is used by one thread at a time: the
// one holding its lease.
class ResolverPool {
 public:
  // One borrowed Resolver; returned to the pool when the lease ends.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Resolver& operator*() const { return *resolver_; }
    Resolver* operator->() const { return resolver_.get(); }
    // Closes the connection instead of returning it (after a database
    // failure), so that a later acquire() opens a fresh one.
    void discard();

   private:
    friend class ResolverPool;
    Lease(ResolverPool& pool, std::unique_ptr<Resolver> resolver);
    ResolverPool* pool_;
    std::unique_ptr<Resolver> resolver_;
  };

  // At most max_connections (at least 1) Resolvers on db_file, opened on
  // first need and kept open.
  ResolverPool(std::filesystem::path db_file, std::size_t max_connections);
  ~ResolverPool();
  ResolverPool(const ResolverPool&) = delete;
  ResolverPool& operator=(const ResolverPool&) = delete;

  // Borrows an idle Resolver, opens one if fewer than max_connections exist,
  // else waits for one to come back. Throws DatabaseUnavailable or Error if a
  // new connection cannot be opened (the slot stays free).
  Lease acquire();

  // Connections open now, idle or lent.
  std::size_t open_connections() const;

 private:
  void give_back(std::unique_ptr<Resolver> resolver);  // null: discarded

  const std::filesystem::path db_file_;
  const std::size_t max_connections_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Resolver>> idle_;  // guarded by mutex_
  std::size_t open_ = 0;                         // guarded by mutex_: idle + lent (+ being opened)
};

}  // namespace sharelink
