// Clang's thread safety analysis (-Wthread-safety): the attributes, and a mutex and lock it understands.
//
// Under clang the macros below become the capability attributes, and the build with
// SHARELINK_DEVELOPER_WARNINGS=ON checks at compile time that every member marked
// SHARELINK_GUARDED_BY(mutex_) is touched only while mutex_ is held, that a function marked
// SHARELINK_REQUIRES(mutex_) is only called with it held, and SHARELINK_EXCLUDES(mutex_) only
// without. Under g++ they expand to nothing. std::mutex carries no attributes in libstdc++, so the
// annotated classes hold a sharelink::Mutex and lock it with sharelink::MutexLock (or
// sharelink::UniqueLock where a condition variable waits on it); both cost what std::mutex and
// std::lock_guard / std::unique_lock cost.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define SHARELINK_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SHARELINK_THREAD_ANNOTATION(x)
#endif

#define SHARELINK_CAPABILITY(name) SHARELINK_THREAD_ANNOTATION(capability(name))
#define SHARELINK_SCOPED_CAPABILITY SHARELINK_THREAD_ANNOTATION(scoped_lockable)
#define SHARELINK_GUARDED_BY(x) SHARELINK_THREAD_ANNOTATION(guarded_by(x))
#define SHARELINK_PT_GUARDED_BY(x) SHARELINK_THREAD_ANNOTATION(pt_guarded_by(x))
#define SHARELINK_REQUIRES(...) SHARELINK_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define SHARELINK_EXCLUDES(...) SHARELINK_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define SHARELINK_ACQUIRE(...) SHARELINK_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define SHARELINK_RELEASE(...) SHARELINK_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define SHARELINK_TRY_ACQUIRE(...) SHARELINK_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define SHARELINK_RETURN_CAPABILITY(x) SHARELINK_THREAD_ANNOTATION(lock_returned(x))
#define SHARELINK_NO_THREAD_SAFETY_ANALYSIS SHARELINK_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace sharelink {

// std::mutex as a capability the analysis tracks.
class SHARELINK_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() SHARELINK_ACQUIRE() { mutex_.lock(); }
  void unlock() SHARELINK_RELEASE() { mutex_.unlock(); }
  bool try_lock() SHARELINK_TRY_ACQUIRE(true) { return mutex_.try_lock(); }

  // The mutex itself, for a std::condition_variable's wait (see UniqueLock).
  std::mutex& native() SHARELINK_RETURN_CAPABILITY(this) { return mutex_; }

 private:
  std::mutex mutex_;
};

// std::lock_guard over a Mutex: holds it for the scope.
class SHARELINK_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) SHARELINK_ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() SHARELINK_RELEASE() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

// std::unique_lock over a Mutex, for waiting on a std::condition_variable: the analysis takes the
// mutex as held for the whole scope (a wait releases and retakes it, which it does not model).
// unlock()/lock() let a scope drop the mutex for a while, as std::unique_lock's do.
class SHARELINK_SCOPED_CAPABILITY UniqueLock {
 public:
  explicit UniqueLock(Mutex& mutex) SHARELINK_ACQUIRE(mutex) : lock_(mutex.native()) {}
  ~UniqueLock() SHARELINK_RELEASE() = default;
  UniqueLock(const UniqueLock&) = delete;
  UniqueLock& operator=(const UniqueLock&) = delete;

  void unlock() SHARELINK_RELEASE() { lock_.unlock(); }
  void lock() SHARELINK_ACQUIRE() { lock_.lock(); }

  // What std::condition_variable::wait and wait_until take.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace sharelink
