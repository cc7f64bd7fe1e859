#include "daemon/connection_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/logfmt.hpp"

namespace sharelink {
namespace {

// epoll keys that are not connections (a connection's key is its generation
// and slot index, and slot indexes stay far below these).
constexpr std::uint64_t k_timer_key = UINT64_MAX;
constexpr std::uint64_t k_done_key = UINT64_MAX - 1;

// A parked connection's event: its next request has begun to arrive, or the
// client has closed (then serving it reads the end and closes it).
constexpr std::uint32_t k_parked_events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;

int checked(int fd, const char* what) {
  if (fd < 0) throw Error(std::string("cannot create the connection loop's ") + what + ": " + std::strerror(errno));
  return fd;
}

void add_to_epoll(int epoll_fd, int fd, std::uint32_t events, std::uint64_t key) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = key;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    throw Error(std::string("cannot watch a descriptor with epoll: ") + std::strerror(errno));
  }
}

}  // namespace

ConnectionLoop::ConnectionLoop(Limits limits, ServeRequest serve_request)
    : limits_(limits), serve_request_(std::move(serve_request)) {
  try {
    epoll_fd_ = checked(::epoll_create1(EPOLL_CLOEXEC), "epoll set");
    timer_fd_ = checked(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timer");
    done_fd_ = checked(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
    itimerspec tick{};
    tick.it_interval.tv_nsec = std::chrono::nanoseconds(k_idle_tick).count();
    tick.it_value = tick.it_interval;
    if (::timerfd_settime(timer_fd_, 0, &tick, nullptr) != 0) checked(-1, "timer");
    add_to_epoll(epoll_fd_, timer_fd_, EPOLLIN, k_timer_key);
    add_to_epoll(epoll_fd_, done_fd_, EPOLLIN, k_done_key);
  } catch (...) {
    for (const int fd : {epoll_fd_, timer_fd_, done_fd_}) {
      if (fd >= 0) ::close(fd);
    }
    throw;
  }
  if (limits_.running != 0 && limits_.running < limits_.threads)
    turns_ = std::make_unique<Turns>(limits_.running);
  workers_.reserve(limits_.threads);
  for (std::size_t i = 0; i < limits_.threads; ++i) workers_.emplace_back([this] { work(); });
}

ConnectionLoop::~ConnectionLoop() { shutdown(); }

void ConnectionLoop::adopt(int fd) {
  // The peer address is read before the lock.
  auto connection = std::make_unique<ConnectionStream>(fd, limits_.read_timeout, limits_.write_timeout);
  UniqueLock lock(mutex_);
  while (open_ >= limits_.max_connections && !shutting_down_) room_.wait(lock.native());
  if (shutting_down_) return;  // connection's destructor closes the socket
  std::uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.state = SlotState::parked;
  slot.requests_left = limits_.max_requests;
  slot.parked_at = std::chrono::steady_clock::now();
  const int socket = connection->socket();
  slot.connection = std::move(connection);
  link_newest(index);
  ++open_;
  ++parked_;
  // Registered under the lock: until then no timeout can close the socket.
  epoll_event event{};
  event.events = k_parked_events;
  event.data.u64 = key_of(index);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, socket, &event) != 0) {
    log_event(LogLevel::error, "cannot watch a connection with epoll; closing it", {{"error", std::strerror(errno)}});
    const std::unique_ptr<ConnectionStream> unwatched = remove_parked(index);
  }
}

void ConnectionLoop::shutdown() {
  {
    const MutexLock lock(mutex_);
    if (joined_) return;
    shutting_down_ = true;
    finish_if_done();
  }
  room_.notify_all();
  for (auto& worker : workers_) worker.join();
  joined_ = true;
  for (const int fd : {epoll_fd_, timer_fd_, done_fd_}) ::close(fd);
}

std::size_t ConnectionLoop::open_connections() const {
  const MutexLock lock(mutex_);
  return open_;
}

std::size_t ConnectionLoop::parked_connections() const {
  const MutexLock lock(mutex_);
  return parked_;
}

void ConnectionLoop::work() {
  if (turns_) {
    set_blocking_wait_hooks(turns_.get());
    turns_->take();
  }
  struct EndOfTurn {
    Turns* turns;
    ~EndOfTurn() {
      if (!turns) return;
      set_blocking_wait_hooks(nullptr);
      turns->give_back();  // the next one standing by sees the end too
    }
  } const end_of_turn{turns_.get()};
  for (;;) {
    epoll_event event{};
    const int ready = ::epoll_wait(epoll_fd_, &event, 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      log_event(LogLevel::error, "epoll_wait failed; a worker thread ends", {{"error", std::strerror(errno)}});
      return;
    }
    if (ready == 0) continue;
    if (event.data.u64 == k_done_key) return;  // stays readable: every worker sees it
    if (event.data.u64 == k_timer_key) {
      close_idle();
      continue;
    }
    Claim claimed = claim(event.data.u64);
    if (claimed.connection) serve(std::move(claimed));
    if (turns_) turns_->settle();
  }
}

bool ConnectionLoop::Turns::try_take() {
  std::size_t running = running_.load();
  while (running < limit_) {
    if (running_.compare_exchange_weak(running, running + 1)) return true;
  }
  return false;
}

void ConnectionLoop::Turns::take() {
  if (try_take()) return;
  UniqueLock lock(mutex_);
  // Counted before the check (both sequentially consistent): a give_back()
  // that the check misses sees this count and notifies under the lock.
  standing_by_.fetch_add(1);
  while (!try_take()) room_.wait(lock.native());
  standing_by_.fetch_sub(1);
}

void ConnectionLoop::Turns::give_back() {
  running_.fetch_sub(1);
  if (standing_by_.load() == 0) return;
  { const MutexLock lock(mutex_); }  // a worker between its check and its wait is now waiting
  room_.notify_one();
}

void ConnectionLoop::Turns::settle() {
  std::size_t running = running_.load(std::memory_order_relaxed);
  while (running > limit_) {
    // Still at the limit after this one leaves: no one to wake.
    if (running_.compare_exchange_weak(running, running - 1)) {
      take();
      return;
    }
  }
}

ConnectionLoop::Claim ConnectionLoop::claim(std::uint64_t key) {
  const auto index = static_cast<std::uint32_t>(key);
  const MutexLock lock(mutex_);
  // An event of a connection closed since (by its timeout) is stale: its slot
  // is free, or holds a newer connection of another generation.
  if (index >= slots_.size() || key_of(index) != key || slots_[index].state != SlotState::parked) return {};
  Slot& slot = slots_[index];
  unlink(index);
  slot.state = SlotState::serving;
  --parked_;
  return {index, std::move(slot.connection), slot.requests_left};
}

void ConnectionLoop::serve(Claim claimed) {
  bool more = true;
  {
    ConnectionStream& connection = *claimed.connection;
    const CurrentConnection current(connection);
    for (;;) {
      connection.begin_request();
      const bool last = claimed.requests_left == 1;
      try {
        more = serve_request_(connection, last);
        // The answer leaves before the connection waits for its next request.
        if (!connection.flush()) more = false;
      } catch (const std::exception& e) {
        log_event(LogLevel::error, "a connection failed; closing it", {{"error", e.what()}});
        more = false;
      }
      if (--claimed.requests_left == 0) more = false;
      // The next request already read (pipelined) is answered at once;
      // otherwise the connection waits in the epoll set.
      if (!more || !connection.has_buffered_input()) break;
    }
  }
  if (more) {
    park(std::move(claimed));
  } else {
    close(std::move(claimed));
  }
}

void ConnectionLoop::park(Claim claimed) {
  claimed.connection->release_idle_memory();
  const MutexLock lock(mutex_);
  Slot& slot = slots_[claimed.index];
  const int socket = claimed.connection->socket();
  slot.connection = std::move(claimed.connection);
  slot.requests_left = claimed.requests_left;
  slot.parked_at = std::chrono::steady_clock::now();
  slot.state = SlotState::parked;
  link_newest(claimed.index);
  ++parked_;
  // Armed under the lock: once armed, another worker may claim the
  // connection (and close its socket), and only the lock orders that after
  // this call (the kernel's ordering is invisible to ThreadSanitizer; arming
  // after the lock was no faster in an A/B: tests/bench/README.md).
  epoll_event event{};
  event.events = k_parked_events;
  event.data.u64 = key_of(claimed.index);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, socket, &event) != 0) {
    log_event(LogLevel::error, "cannot watch a connection with epoll; closing it", {{"error", std::strerror(errno)}});
    const std::unique_ptr<ConnectionStream> unwatched = remove_parked(claimed.index);
  }
}

void ConnectionLoop::close(Claim claimed) {
  claimed.connection->finish();  // may linger (close_after_answer): outside the lock
  claimed.connection.reset();
  {
    const MutexLock lock(mutex_);
    release_slot(claimed.index);
  }
  room_.notify_one();
}

void ConnectionLoop::close_idle() {
  std::uint64_t ticks = 0;
  if (::read(timer_fd_, &ticks, sizeof ticks) != static_cast<ssize_t>(sizeof ticks)) return;  // another worker took it
  std::vector<std::unique_ptr<ConnectionStream>> expired;
  {
    const MutexLock lock(mutex_);
    const auto cutoff = std::chrono::steady_clock::now() - limits_.idle_timeout;
    while (oldest_ != k_none && slots_[oldest_].parked_at <= cutoff) {
      // The slot is freed now and its generation moves on, so an event that
      // fires before the socket is closed below is stale.
      expired.push_back(remove_parked(oldest_));
    }
  }
  if (expired.empty()) return;
  expired.clear();  // closes the sockets
  room_.notify_all();
}

std::unique_ptr<ConnectionStream> ConnectionLoop::remove_parked(std::uint32_t index) {
  unlink(index);
  --parked_;
  std::unique_ptr<ConnectionStream> connection = std::move(slots_[index].connection);
  release_slot(index);
  return connection;
}

void ConnectionLoop::release_slot(std::uint32_t index) {
  Slot& slot = slots_[index];
  slot.connection.reset();
  slot.state = SlotState::free;
  ++slot.generation;
  free_slots_.push_back(index);
  --open_;
  finish_if_done();
}

void ConnectionLoop::link_newest(std::uint32_t index) {
  Slot& slot = slots_[index];
  slot.older = newest_;
  slot.newer = k_none;
  if (newest_ != k_none) {
    slots_[newest_].newer = index;
  } else {
    oldest_ = index;
  }
  newest_ = index;
}

void ConnectionLoop::unlink(std::uint32_t index) {
  Slot& slot = slots_[index];
  if (slot.older != k_none) {
    slots_[slot.older].newer = slot.newer;
  } else {
    oldest_ = slot.newer;
  }
  if (slot.newer != k_none) {
    slots_[slot.newer].older = slot.older;
  } else {
    newest_ = slot.older;
  }
  slot.older = slot.newer = k_none;
}

std::uint64_t ConnectionLoop::key_of(std::uint32_t index) const {
  return (static_cast<std::uint64_t>(slots_[index].generation) << 32) | index;
}

void ConnectionLoop::finish_if_done() {
  if (!shutting_down_ || open_ != 0 || done_) return;
  done_ = true;
  const std::uint64_t one = 1;
  if (::write(done_fd_, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) {
    log_event(LogLevel::error, "cannot wake the worker threads to end", {{"error", std::strerror(errno)}});
  }
}

}  // namespace sharelink
