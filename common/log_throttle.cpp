#include "common/log_throttle.hpp"

#include <algorithm>

namespace sharelink {
namespace {
constexpr std::string_view k_overflow_key = "\x01overflow";
}  // namespace

LogThrottle::LogThrottle(std::chrono::milliseconds interval, std::size_t max_keys)
    : interval_(interval), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

std::optional<std::uint64_t> LogThrottle::admit(std::string_view key, TimePoint now) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  if (it == entries_.end() && entries_.size() >= max_keys_) {
    it = std::find_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.key == k_overflow_key; });
    if (it == entries_.end()) {
      // The last slot becomes the one every further key shares.
      entries_.back() = Entry{std::string(k_overflow_key), now, 0};
      return 0;
    }
  }
  if (it == entries_.end()) {
    entries_.push_back(Entry{std::string(key), now, 0});
    return 0;
  }
  if (now - it->last_written < interval_) {
    ++it->held_back;
    return std::nullopt;
  }
  const std::uint64_t held_back = it->held_back;
  it->last_written = now;
  it->held_back = 0;
  return held_back;
}

void LogThrottle::reset() { entries_.clear(); }

}  // namespace sharelink
