#include "common/view_counter.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/error.hpp"
#include "common/sqlite_connection.hpp"

namespace sharelink {
namespace {

// Views of one link waiting to be written.
struct PendingViews {
  std::int64_t count = 0;
  std::int64_t last_viewed_at = 0;
};

using PendingMap = std::unordered_map<std::string, PendingViews>;

void merge(PendingMap& into, const std::string& share_id, const PendingViews& views) {
  PendingViews& p = into[share_id];
  p.count += views.count;
  p.last_viewed_at = std::max(p.last_viewed_at, views.last_viewed_at);
}

}  // namespace

struct ViewCounter::Impl {
  Impl(const std::filesystem::path& file, const ViewCounterOptions& opts)
      : options(opts),
        db(open_connection(file, SchemaKind::main, ConnectionThreading::one_thread_at_a_time)),  // under write_mutex
        take_limited(*db,
                     "UPDATE shares SET view_count = view_count + 1, last_viewed_at = ?2 "
                     "WHERE id = ?1 AND (max_views IS NULL OR view_count < max_views) "
                     "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)"),
        add_views(*db,
                  "UPDATE shares SET view_count = view_count + ?2, "
                  "last_viewed_at = max(coalesce(last_viewed_at, ?3), ?3) WHERE id = ?1") {
    if (options.max_pending_links == 0) throw Error("view counter needs room for at least one pending link");
    db->setBusyTimeout(static_cast<int>(options.busy_timeout.count()));
    if (options.background) thread = std::thread([this] { run(); });
  }

  // Writes everything pending in one transaction. On failure the views go
  // back to pending and DatabaseUnavailable is thrown.
  void write_pending() {
    std::lock_guard write_lock(write_mutex);
    PendingMap batch;
    {
      std::lock_guard lock(pending_mutex);
      batch.swap(pending);
      writing = true;
    }
    if (batch.empty()) {
      std::lock_guard lock(pending_mutex);
      writing = false;
      return;
    }
    try {
      with_write_transaction(*db, [&] {
        for (const auto& [share_id, views] : batch) {
          StatementScope scope(add_views);
          add_views.bind(1, share_id);
          add_views.bind(2, static_cast<int64_t>(views.count));
          add_views.bind(3, static_cast<int64_t>(views.last_viewed_at));
          add_views.exec();
        }
      });
    } catch (const SQLite::Exception& e) {
      errors.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(pending_mutex);
      for (const auto& [share_id, views] : batch) merge(pending, share_id, views);
      writing = false;
      throw DatabaseUnavailable(std::string("writing view counts: ") + e.what());
    }
    std::lock_guard lock(pending_mutex);
    writing = false;
  }

  // The background thread: writes pending views every flush_interval.
  void run() {
    std::unique_lock lock(pending_mutex);
    while (!stopping) {
      wake.wait_for(lock, options.flush_interval, [&] { return stopping; });
      if (stopping || pending.empty()) continue;
      lock.unlock();
      try {
        write_pending();
      } catch (const DatabaseUnavailable&) {
        // Kept pending and counted; the next round retries.
      }
      lock.lock();
    }
  }

  const ViewCounterOptions options;
  // Declared before the statements: they must be destroyed first.
  std::unique_ptr<SQLite::Database> db;   // guarded by write_mutex
  SQLite::Statement take_limited;         // guarded by write_mutex
  SQLite::Statement add_views;            // guarded by write_mutex
  std::mutex write_mutex;

  mutable std::mutex pending_mutex;
  std::condition_variable wake;  // stop
  PendingMap pending;            // guarded by pending_mutex
  bool writing = false;          // guarded by pending_mutex: a write of pending views is under way
  bool stopping = false;         // guarded by pending_mutex

  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> lost{0};
  std::mutex stop_mutex;
  std::thread thread;
};

ViewCounter::ViewCounter(const std::filesystem::path& db_file, ViewCounterOptions options) {
  try {
    impl_ = std::make_unique<Impl>(db_file, options);
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable("cannot open database " + db_file.string() + ": " + e.what());
  }
}

ViewCounter::~ViewCounter() { stop(); }

bool ViewCounter::take_limited(std::string_view share_id, std::int64_t now_s) {
  std::lock_guard write_lock(impl_->write_mutex);
  try {
    StatementScope scope(impl_->take_limited);
    impl_->take_limited.bind(1, std::string(share_id));
    impl_->take_limited.bind(2, static_cast<int64_t>(now_s));
    return impl_->take_limited.exec() == 1;
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable(std::string("counting a view: ") + e.what());
  }
}

void ViewCounter::add(std::string_view share_id, std::int64_t now_s) {
  {
    std::lock_guard lock(impl_->pending_mutex);
    const bool idle = impl_->pending.empty() && !impl_->writing;
    merge(impl_->pending, std::string(share_id), {1, now_s});
    const bool full = impl_->pending.size() >= impl_->options.max_pending_links;
    // Under load, the write under way or the background thread takes it.
    if (!idle && !full && !impl_->stopping) return;
  }
  try {
    impl_->write_pending();
  } catch (const DatabaseUnavailable&) {
    // Kept pending and counted in write_errors(); retried by the next write.
  }
}

void ViewCounter::flush() { impl_->write_pending(); }

void ViewCounter::stop() {
  std::lock_guard stop_lock(impl_->stop_mutex);
  {
    std::lock_guard lock(impl_->pending_mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  try {
    impl_->write_pending();
  } catch (const DatabaseUnavailable&) {
    std::lock_guard lock(impl_->pending_mutex);
    std::uint64_t views = 0;
    for (const auto& [share_id, pending] : impl_->pending) views += static_cast<std::uint64_t>(pending.count);
    impl_->pending.clear();
    impl_->lost.fetch_add(views, std::memory_order_relaxed);
  }
}

std::size_t ViewCounter::pending_links() const {
  std::lock_guard lock(impl_->pending_mutex);
  return impl_->pending.size();
}

std::uint64_t ViewCounter::write_errors() const { return impl_->errors.load(std::memory_order_relaxed); }
std::uint64_t ViewCounter::views_lost() const { return impl_->lost.load(std::memory_order_relaxed); }

}  // namespace sharelink
