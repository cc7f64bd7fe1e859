// A thread that is about to wait for something other than the CPU says so, for the pool that runs it.
#pragma once

namespace sharelink {

// What a thread pool does when one of its threads begins and ends a wait:
// ConnectionLoop lets another worker run requests meanwhile. Both are called
// on the waiting thread itself.
class BlockingWaitHooks {
 public:
  virtual void wait_begins() noexcept = 0;
  virtual void wait_ends() noexcept = 0;

 protected:
  ~BlockingWaitHooks() = default;
};

// Makes hooks (or nullptr: none) the calling thread's for its lifetime, or
// until it is called again.
void set_blocking_wait_hooks(BlockingWaitHooks* hooks) noexcept;

// For its scope, the calling thread waits on a socket, a queue or another
// process, not on the CPU: a poll(2), a condition variable whose signal
// depends on another thread's I/O. Outside a pool with hooks, it costs a
// thread-local read. Short waits for a mutex are not marked: a mutex is held
// for computation, and a thread waiting for one soon runs again.
class BlockingWait {
 public:
  BlockingWait() noexcept;
  ~BlockingWait();
  BlockingWait(const BlockingWait&) = delete;
  BlockingWait& operator=(const BlockingWait&) = delete;

 private:
  BlockingWaitHooks* hooks_;
};

}  // namespace sharelink
