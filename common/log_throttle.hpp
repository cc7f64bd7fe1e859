// Rate limiting of repeated log lines: the first of each distinct event at once, then at most one per interval.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sharelink {

// Decides which lines of a stream of repeated events reach the log. Each
// distinct key (a failure's reason, a kind of refusal) is written the first
// time it is seen, then at most once per interval, each written line
// carrying how many of its events were held back since the last one. At most
// max_keys keys are remembered; beyond that, new keys share one slot (so a
// flood of distinct reasons cannot grow memory or the log).
//
// Threading: none; the owner serialises calls. Time is passed in, so tests
// drive it without sleeping.
class LogThrottle {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit LogThrottle(std::chrono::milliseconds interval, std::size_t max_keys = 16);

  // nullopt: hold this event back (counted). Otherwise: write it; the value
  // is the number of events of this key held back since its last line.
  std::optional<std::uint64_t> admit(std::string_view key, TimePoint now);
  // Forgets every key (the condition that caused them is over).
  void reset();

 private:
  struct Entry {
    std::string key;
    TimePoint last_written;
    std::uint64_t held_back = 0;
  };
  std::chrono::milliseconds interval_;
  std::size_t max_keys_;
  std::vector<Entry> entries_;  // the last one is the overflow slot when full
};

}  // namespace sharelink
