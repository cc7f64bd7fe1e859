// Test support shared by the unit tests: waiting for another thread, holding
// a database's write lock, text for hand-built views.
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>


namespace sharelink::testing {

// Text a hand-built view points into (a TrackView does not own its text: its
// result's catalogue rows do); kept for the whole test run.
inline std::string_view kept(std::string text) {
  static std::deque<std::string> texts;
  return texts.emplace_back(std::move(text));
}

// Waits for a condition another thread brings about; fails rather than hangs.
template <typename Predicate>
void wait_until(Predicate predicate) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > give_up) FAIL("condition not reached");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Holds the database's write lock from another connection, as a long sharectl
// transaction or a stuck process would.
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const std::filesystem::path& file) {
    REQUIRE(sqlite3_open(file.c_str(), &db_) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~WriteLockHolder() { release(); }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;
  void release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

// The track most tests share.
inline constexpr const char* k_test_track_id = "mtrack_000000000001";

}  // namespace sharelink::testing
