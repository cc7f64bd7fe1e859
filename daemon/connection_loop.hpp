// Keep-alive connections served by a fixed set of worker threads: an idle connection waits in epoll, not on a thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/blocking_wait.hpp"
#include "common/thread_annotations.hpp"
#include "daemon/connection_stream.hpp"

namespace sharelink {

// The daemon's connections and the threads that serve them. A worker thread
// serves a connection only while it has a request to answer: once an answer
// has left and nothing more has arrived, the connection is parked in an
// epoll set and the thread goes on to whichever connection is ready next.
// So `threads` bounds how many requests are handled at once, not how many
// clients may keep a connection open, and an idle client costs a few
// hundred bytes instead of a thread (its stack, its share of malloc's caches,
// a wake-up per request).
//
// The worker threads wait in epoll_wait on one epoll set (the kernel wakes
// one of them per ready event), each connection registered one-shot, so a
// connection is served by one thread at a time. A busy thread finds the next
// ready connection without sleeping.
//
// At most `running` of the threads run at once (serving, or waiting in
// epoll_wait for the next ready connection); the others stand by. A worker
// that begins a BlockingWait (a socket that would block, a full audit queue,
// a commit to wait for) passes its turn to one standing by, and takes it back
// at the end of the wait, so a slow client never keeps the others from the
// CPU. So `threads` bounds the requests in progress, and `running` how many
// take turns on the cores: with more running threads than cores, a request
// whose thread loses the CPU waits for every other one's time slice, and its
// latency grows with the thread count (tests/bench/README.md). A worker that
// came back from a wait while `running` others run stands by after its
// request, before taking another connection.
//
// Limits: at most max_connections open at once (adopt() waits for room: the
// rest wait in the kernel's listen backlog, not in our memory); at most
// max_requests per connection; a parked connection is closed after
// idle_timeout without a request (checked every k_idle_tick).
//
// Thread-safe: adopt() comes from the accept thread, shutdown() from the
// thread that owns the loop; serve_request runs on the worker threads.
class ConnectionLoop {
 public:
  struct Limits {
    std::size_t threads = 1;
    std::size_t running = 0;  // threads that run at once; 0: all of them
    std::size_t max_connections = 64;
    std::size_t max_requests = 1000;
    std::chrono::milliseconds idle_timeout{5000};
    std::chrono::milliseconds read_timeout{5000};   // within a request (ConnectionStream)
    std::chrono::milliseconds write_timeout{5000};
  };
  // Answers the request whose head the connection has begun to receive (last:
  // it is the connection's last one). Returns whether the connection may
  // carry another request. Runs on a worker thread, with the connection as
  // that thread's current_connection().
  using ServeRequest = std::function<bool(ConnectionStream&, bool last)>;

  static constexpr std::chrono::milliseconds k_idle_tick{250};

  // Starts the worker threads. Throws Error if the kernel refuses an epoll
  // set, a timer or an eventfd.
  ConnectionLoop(Limits limits, ServeRequest serve_request);
  // shutdown(), if it has not been called.
  ~ConnectionLoop();
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Takes an accepted socket: it is served as soon as a request arrives on
  // it. Waits while max_connections are open. After shutdown(), closes it.
  void adopt(int fd) SHARELINK_EXCLUDES(mutex_);

  // Takes no more connections. Those open are served as before (a request
  // that arrives is answered; an idle one is closed at its timeout); returns
  // once all are closed and the threads have ended.
  void shutdown() SHARELINK_EXCLUDES(mutex_);

  // Connections open, parked or being served.
  std::size_t open_connections() const SHARELINK_EXCLUDES(mutex_);
  // Connections parked (open, waiting for their next request).
  std::size_t parked_connections() const SHARELINK_EXCLUDES(mutex_);

 private:
  // The turns to run (Limits::running): the hooks of each worker's BlockingWaits.
  class Turns final : public BlockingWaitHooks {
   public:
    explicit Turns(std::size_t limit) : limit_(limit) {}
    // Waits for a turn.
    void take() SHARELINK_EXCLUDES(mutex_);
    // Gives the turn to a worker standing by, if one is.
    void give_back() SHARELINK_EXCLUDES(mutex_);
    // Between two connections: stands by while more than the limit run.
    void settle() SHARELINK_EXCLUDES(mutex_);
    void wait_begins() noexcept override { give_back(); }
    void wait_ends() noexcept override { running_.fetch_add(1); }  // until its next settle(), one more runs

   private:
    bool try_take();

    const std::size_t limit_;
    std::atomic<std::size_t> running_{0};
    std::atomic<std::size_t> standing_by_{0};
    Mutex mutex_;
    std::condition_variable room_;  // a turn was given back
  };

  enum class SlotState : std::uint8_t { free, parked, serving };
  static constexpr std::uint32_t k_none = UINT32_MAX;

  // One open connection. Slots are reused; the generation tells a stale epoll
  // event (one that fired just before its connection was closed) from a live one.
  struct Slot {
    std::unique_ptr<ConnectionStream> connection;  // null while a worker serves it
    std::uint32_t generation = 0;
    SlotState state = SlotState::free;
    std::size_t requests_left = 0;
    std::chrono::steady_clock::time_point parked_at;
    std::uint32_t older = k_none;  // the idle list: parked slots, oldest first
    std::uint32_t newer = k_none;
  };
  // A connection a worker has taken out of its slot to serve.
  struct Claim {
    std::uint32_t index = k_none;
    std::unique_ptr<ConnectionStream> connection;
    std::size_t requests_left = 0;
  };

  void work() SHARELINK_EXCLUDES(mutex_);
  Claim claim(std::uint64_t key) SHARELINK_EXCLUDES(mutex_);
  void serve(Claim claim) SHARELINK_EXCLUDES(mutex_);
  // Parks a served connection again (arms its one-shot event).
  void park(Claim claim) SHARELINK_EXCLUDES(mutex_);
  // Closes a connection and frees its slot.
  void close(Claim claim) SHARELINK_EXCLUDES(mutex_);
  void close_idle() SHARELINK_EXCLUDES(mutex_);
  // Takes a parked connection out of the idle list and frees its slot; the
  // caller closes it (by dropping it).
  std::unique_ptr<ConnectionStream> remove_parked(std::uint32_t index) SHARELINK_REQUIRES(mutex_);
  void release_slot(std::uint32_t index) SHARELINK_REQUIRES(mutex_);
  void link_newest(std::uint32_t index) SHARELINK_REQUIRES(mutex_);
  void unlink(std::uint32_t index) SHARELINK_REQUIRES(mutex_);
  std::uint64_t key_of(std::uint32_t index) const SHARELINK_REQUIRES(mutex_);
  // Wakes every worker for good once shutdown() has been called and the last connection closed.
  void finish_if_done() SHARELINK_REQUIRES(mutex_);

  const Limits limits_;
  const ServeRequest serve_request_;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;  // k_idle_tick: closes idle connections
  int done_fd_ = -1;   // eventfd, readable once the loop is done

  mutable Mutex mutex_;
  std::condition_variable room_;  // a connection closed, or shutdown
  std::vector<Slot> slots_ SHARELINK_GUARDED_BY(mutex_);
  std::vector<std::uint32_t> free_slots_ SHARELINK_GUARDED_BY(mutex_);
  std::size_t open_ SHARELINK_GUARDED_BY(mutex_) = 0;
  std::size_t parked_ SHARELINK_GUARDED_BY(mutex_) = 0;
  std::uint32_t oldest_ SHARELINK_GUARDED_BY(mutex_) = k_none;
  std::uint32_t newest_ SHARELINK_GUARDED_BY(mutex_) = k_none;
  bool shutting_down_ SHARELINK_GUARDED_BY(mutex_) = false;
  bool done_ SHARELINK_GUARDED_BY(mutex_) = false;
  bool joined_ = false;  // shutdown()'s own thread only

  std::unique_ptr<Turns> turns_;  // null: every thread runs
  std::vector<std::thread> workers_;
};

}  // namespace sharelink
