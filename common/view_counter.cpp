#include "common/view_counter.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/thread_annotations.hpp"

namespace sharelink {
namespace {

// Views of one link waiting to be written.
struct PendingViews {
  std::int64_t count = 0;
  TimePoint last_viewed_at;
};

using PendingMap = std::unordered_map<std::string, PendingViews>;

void merge(PendingMap& into, const std::string& share_id, const PendingViews& views) {
  PendingViews& p = into[share_id];
  p.count += views.count;
  p.last_viewed_at = std::max(p.last_viewed_at, views.last_viewed_at);
}

}  // namespace

struct ViewCounter::Impl {
  Impl(ViewStore& view_store, const ViewCounterOptions& opts) : options(opts), store(view_store) {
    if (options.max_pending_links == 0) throw Error("view counter needs room for at least one pending link");
    if (options.background) thread = std::thread([this] { run(); });
  }

  // Writes everything pending in one transaction. On failure the views go
  // back to pending and the store's error (DatabaseUnavailable, or Error) is
  // rethrown.
  void write_pending() SHARELINK_EXCLUDES(write_mutex, pending_mutex) {
    const MutexLock write_lock(write_mutex);
    PendingMap batch;
    {
      const MutexLock lock(pending_mutex);
      batch.swap(pending);
      writing = true;
    }
    if (batch.empty()) {
      const MutexLock lock(pending_mutex);
      writing = false;
      return;
    }
    std::vector<ViewIncrement> increments;
    increments.reserve(batch.size());
    for (const auto& [share_id, views] : batch) increments.push_back({share_id, views.count, views.last_viewed_at});
    try {
      store.add_views(increments);
    } catch (const std::exception&) {
      errors.fetch_add(1, std::memory_order_relaxed);
      const MutexLock lock(pending_mutex);
      for (const auto& [share_id, views] : batch) merge(pending, share_id, views);
      writing = false;
      throw;
    }
    const MutexLock lock(pending_mutex);
    writing = false;
  }

  // The background thread: writes pending views every flush_interval.
  void run() SHARELINK_EXCLUDES(pending_mutex) {
    UniqueLock lock(pending_mutex);
    while (!stopping) {
      // Until flush_interval has passed or stop() says so (the condition is read with the lock held).
      const auto deadline = std::chrono::steady_clock::now() + options.flush_interval;
      while (!stopping && wake.wait_until(lock.native(), deadline) == std::cv_status::no_timeout) {
      }
      if (stopping || pending.empty()) continue;
      lock.unlock();
      try {
        write_pending();
      } catch (const std::exception&) {
        // Kept pending and counted; the next round retries.
      }
      lock.lock();
    }
  }

  const ViewCounterOptions options;
  ViewStore& store;        // thread-safe itself
  Mutex write_mutex;  // one write of pending views at a time

  mutable Mutex pending_mutex;
  std::condition_variable wake;  // stop
  PendingMap pending SHARELINK_GUARDED_BY(pending_mutex);
  bool writing SHARELINK_GUARDED_BY(pending_mutex) = false;  // a write of pending views is under way
  bool stopping SHARELINK_GUARDED_BY(pending_mutex) = false;

  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> lost{0};
  Mutex stop_mutex;
  std::thread thread;
};

ViewCounter::ViewCounter(ViewStore& store, ViewCounterOptions options)
    : impl_(std::make_unique<Impl>(store, options)) {}

ViewCounter::~ViewCounter() { stop(); }

bool ViewCounter::count(const ShareRecord& share, TimePoint now) {
  if (share.max_views) return take_limited(share, now);
  add(share.id, now);  // no limit to check: written in a batch
  return true;
}

bool ViewCounter::take_limited(const ShareRecord& share, TimePoint now) {
  if (share_status(share, now) != ShareStatus::active) return false;
  return impl_->store.take_view_under_limit(share.id, now);
}

void ViewCounter::add(std::string_view share_id, TimePoint now) {
  {
    const MutexLock lock(impl_->pending_mutex);
    const bool idle = impl_->pending.empty() && !impl_->writing;
    merge(impl_->pending, std::string(share_id), {1, now});
    const bool full = impl_->pending.size() >= impl_->options.max_pending_links;
    // Under load, the write under way or the background thread takes it.
    if (!idle && !full && !impl_->stopping) return;
  }
  try {
    impl_->write_pending();
  } catch (const std::exception&) {
    // Kept pending and counted in write_errors(); retried by the next write.
  }
}

void ViewCounter::flush() { impl_->write_pending(); }

void ViewCounter::stop() {
  const MutexLock stop_lock(impl_->stop_mutex);
  {
    const MutexLock lock(impl_->pending_mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  try {
    impl_->write_pending();
  } catch (const std::exception&) {
    const MutexLock lock(impl_->pending_mutex);
    std::uint64_t views = 0;
    for (const auto& [share_id, pending] : impl_->pending) views += static_cast<std::uint64_t>(pending.count);
    impl_->pending.clear();
    impl_->lost.fetch_add(views, std::memory_order_relaxed);
  }
}

std::size_t ViewCounter::pending_links() const {
  const MutexLock lock(impl_->pending_mutex);
  return impl_->pending.size();
}

std::uint64_t ViewCounter::write_errors() const { return impl_->errors.load(std::memory_order_relaxed); }
std::uint64_t ViewCounter::views_lost() const { return impl_->lost.load(std::memory_order_relaxed); }

}  // namespace sharelink
