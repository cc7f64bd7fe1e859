// shared-linkd's view counter: exact and atomic for links with max_views, batched for links without.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/domain.hpp"
#include "common/store.hpp"

namespace sharelink {

struct ViewCounterOptions {
  // How long a view of a link without max_views may wait before the
  // background thread writes it. A write costs the readers of the process
  // too (for SQLite, see SqliteViewStore), so writes stay about one per
  // second. Default 1 s.
  std::chrono::milliseconds flush_interval{1000};
  // Distinct links whose views may wait at once; at the bound, add() writes
  // at once (and so waits for a write under way). At least 1, default 65536
  // (a few MB).
  std::size_t max_pending_links = 65536;
  // False: no background thread; views left pending wait for the next write,
  // flush() or stop() (tests).
  bool background = true;
};

// Why: one database write per answered request costs about as much as the
// rest of the request, and slows the readers down too. Counting the views of
// unlimited links in memory and writing them in one transaction per
// flush_interval keeps writes rare.
//
// Links with max_views never wait: take_limited() checks and increments in
// one atomic step of the ViewStore, so a link with max_views = N is served
// exactly N times (SPEC 3).
// Views of other links are written at once when nothing else is pending and
// no write is under way (so an idle daemon shows each view to the very next
// `sharectl share inspect`); under load they are merged per link and written
// within flush_interval. stop() writes what is left.
//
// Threading: every method may be called from any thread. The ViewStore is
// thread-safe itself; writes of pending views take turns under write_mutex
// (one batch at a time); the pending views are guarded by their own mutex,
// held only to merge or take them.
class ViewCounter {
 public:
  // Counts into store (which must outlive the counter) and starts the
  // background thread unless options.background is false. Throws Error if
  // options.max_pending_links is 0.
  explicit ViewCounter(ViewStore& store, ViewCounterOptions options = {});
  // Calls stop().
  ~ViewCounter();
  ViewCounter(const ViewCounter&) = delete;
  ViewCounter& operator=(const ViewCounter&) = delete;

  // Counts one view of share, as the caller read it (its snapshot) at now:
  // take_limited() for a link with max_views, add() for the others. True if
  // counted; false as take_limited() says. Throws as take_limited().
  bool count(const ShareRecord& share, TimePoint now);

  // Takes one view at once, atomically with the max_views check (what links
  // with max_views need): true if counted; false if share, as read, is not
  // active at now (revoked, expired, exhausted: share_status), or if the
  // database finds its last view taken meanwhile or the link gone. Throws
  // DatabaseUnavailable (or Error) from the ViewStore.
  bool take_limited(const ShareRecord& share, TimePoint now);

  // Counts one view of a link without max_views (view_count + 1,
  // last_viewed_at at least now). Never throws for a database failure: the
  // view stays pending, is retried, and is counted in write_errors().
  void add(std::string_view share_id, TimePoint now);

  // Writes every pending view now. Throws the store's error
  // (DatabaseUnavailable, or Error) if the write fails; the views then stay
  // pending.
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
