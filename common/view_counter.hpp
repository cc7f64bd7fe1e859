// shared-linkd's view counter: exact and atomic for links with max_views, batched for links without.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

namespace sharelink {

struct ViewCounterOptions {
  // How long a view of a link without max_views may wait before the
  // background thread writes it. Each write makes every other connection of
  // the process drop its page cache (with a million links, about 2 MB of
  // index pages each to read again), so writes stay about one per second.
  // Default 1 s.
  std::chrono::milliseconds flush_interval{1000};
  // Distinct links whose views may wait at once; at the bound, add() writes
  // at once (and so waits for a write under way). At least 1, default 65536
  // (a few MB).
  std::size_t max_pending_links = 65536;
  // How long one write waits for another connection's lock (sharectl)
  // before it counts as failed. Default 5000 ms.
  std::chrono::milliseconds busy_timeout{5000};
  // False: no background thread; views left pending wait for the next write,
  // flush() or stop() (tests).
  bool background = true;
};

// Why: one SQLite write per answered request costs about as much as the rest
// of the request, and every commit empties the page cache of every other
// connection of the process (WAL readers see a changed database). Counting
// the views of unlimited links in memory and writing them in one transaction
// per flush_interval keeps reads cached and writes rare.
//
// Links with max_views never wait: take_limited() checks and increments in
// one UPDATE, so a link with max_views = N is served exactly N times (SPEC 3).
// Views of other links are written at once when nothing else is pending and
// no write is under way (so an idle daemon shows each view to the very next
// `sharectl share inspect`); under load they are merged per link and written
// within flush_interval. stop() writes what is left.
//
// Threading: every method may be called from any thread. The one SQLite
// connection is used under write_mutex (take_limited and every write of
// pending views take turns there, so the process never contends with itself
// for SQLite's write lock); the pending views are guarded by their own mutex,
// held only to merge or take them.
class ViewCounter {
 public:
  // Opens db_file (current schema required; throws Error naming the fix) and
  // starts the background thread unless options.background is false.
  explicit ViewCounter(const std::filesystem::path& db_file, ViewCounterOptions options = {});
  // Calls stop().
  ~ViewCounter();
  ViewCounter(const ViewCounter&) = delete;
  ViewCounter& operator=(const ViewCounter&) = delete;

  // Takes one view at once, atomically with the status check (what links
  // with max_views need): true if counted; false if the link is revoked,
  // expired (expires_at <= now_s), exhausted, or gone. Throws
  // DatabaseUnavailable.
  bool take_limited(std::string_view share_id, std::int64_t now_s);

  // Counts one view of a link without max_views (view_count + 1,
  // last_viewed_at at least now_s). Never throws for a database failure: the
  // view stays pending, is retried, and is counted in write_errors().
  void add(std::string_view share_id, std::int64_t now_s);

  // Writes every pending view now. Throws DatabaseUnavailable if the write
  // fails; the views then stay pending.
  void flush();

  // Ends the background thread and writes what is pending. Idempotent; never
  // throws: views that cannot be written are counted in views_lost(). add()
  // after stop() writes at once.
  void stop();

  // Links with views waiting to be written.
  std::size_t pending_links() const;
  // Failed writes of pending views (each retried).
  std::uint64_t write_errors() const;
  // Views given up at stop() because the database refused them.
  std::uint64_t views_lost() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sharelink
