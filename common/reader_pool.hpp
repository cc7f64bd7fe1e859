// A bounded pool of CatalogReaders (one database connection each) that shared-linkd's worker threads borrow
// per request.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <vector>

#include "common/store.hpp"
#include "common/thread_annotations.hpp"

namespace sharelink {

// Why a pool rather than a connection per worker thread: the daemon may run
// many worker threads (server.threads, up to 4096), but only a few can use the
// database at once on a small machine, and every connection costs memory
// and the database's own bookkeeping (for SQLite, see
// SqliteStorage::reader_connections). The backend says how many suit the
// machine (StorageBackend::reader_connections).
//
// Threading: acquire() and the leases may be used from any thread; the idle
// list is guarded by mutex_. A reader is used by one thread at a time: the
// one holding its lease.
class ReaderPool {
 public:
  // One borrowed reader; returned to the pool when the lease ends.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    CatalogReader& operator*() const { return *reader_; }
    CatalogReader* operator->() const { return reader_.get(); }
    // Closes the connection instead of returning it (after a database
    // failure), so that a later acquire() opens a fresh one.
    void discard();

   private:
    friend class ReaderPool;
    Lease(ReaderPool& pool, std::unique_ptr<CatalogReader> reader);
    ReaderPool* pool_;
    std::unique_ptr<CatalogReader> reader_;
  };

  // At most max_connections (at least 1) readers of storage, opened on first
  // need and kept open. storage must outlive the pool.
  ReaderPool(StorageBackend& storage, std::size_t max_connections);
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Borrows an idle reader, opens one if fewer than max_connections exist,
  // else waits for one to come back. Throws what StorageBackend::open_reader
  // throws (DatabaseUnavailable) if a new connection cannot be opened; the
  // slot stays free.
  Lease acquire() SHARELINK_EXCLUDES(mutex_);

  // Connections open now, idle or lent.
  std::size_t open_connections() const SHARELINK_EXCLUDES(mutex_);

 private:
  void give_back(std::unique_ptr<CatalogReader> reader) SHARELINK_EXCLUDES(mutex_);  // null: discarded

  StorageBackend& storage_;
  const std::size_t max_connections_;
  mutable Mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<CatalogReader>> idle_ SHARELINK_GUARDED_BY(mutex_);
  std::size_t open_ SHARELINK_GUARDED_BY(mutex_) = 0;  // idle + lent (+ being opened)
};

}  // namespace sharelink
