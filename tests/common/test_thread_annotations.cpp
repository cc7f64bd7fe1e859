// Unit tests of the annotated mutex and locks (common/thread_annotations.hpp): they lock and unlock
// what they say, so the compile-time analysis describes what runs.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>

#include "common/thread_annotations.hpp"

namespace sharelink {
namespace {

// Whether another thread can take mutex now (it gives it back at once).
bool free_elsewhere(Mutex& mutex) SHARELINK_NO_THREAD_SAFETY_ANALYSIS {
  return std::async(std::launch::async, [&mutex]() SHARELINK_NO_THREAD_SAFETY_ANALYSIS {
           if (!mutex.try_lock()) return false;
           mutex.unlock();
           return true;
         }).get();
}

}  // namespace

TEST_CASE("MutexLock holds the mutex for its scope", "[thread_annotations]") {
  Mutex mutex;
  CHECK(free_elsewhere(mutex));
  {
    const MutexLock lock(mutex);
    CHECK_FALSE(free_elsewhere(mutex));
  }
  CHECK(free_elsewhere(mutex));
}

TEST_CASE("UniqueLock holds the mutex, lets go and takes it again", "[thread_annotations]") {
  Mutex mutex;
  {
    UniqueLock lock(mutex);
    CHECK_FALSE(free_elsewhere(mutex));
    CHECK(lock.native().owns_lock());
    CHECK(lock.native().mutex() == &mutex.native());
    lock.unlock();
    CHECK(free_elsewhere(mutex));
    lock.lock();
    CHECK_FALSE(free_elsewhere(mutex));
  }
  CHECK(free_elsewhere(mutex));
}

TEST_CASE("UniqueLock serves a condition variable's wait", "[thread_annotations]") {
  Mutex mutex;
  std::condition_variable changed;
  bool ready = false;
  auto setter = std::async(std::launch::async, [&]() SHARELINK_NO_THREAD_SAFETY_ANALYSIS {
    const MutexLock lock(mutex);
    ready = true;
    changed.notify_one();
  });
  {
    UniqueLock lock(mutex);
    while (!ready) changed.wait(lock.native());
    CHECK(ready);
  }
  setter.get();
  CHECK(free_elsewhere(mutex));
}

}  // namespace sharelink
