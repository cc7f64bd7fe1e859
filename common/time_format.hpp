// Wall-clock time: the injectable clock, RFC 3339 formatting/parsing and relative spans.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sharelink {

using TimePoint = std::chrono::system_clock::time_point;

// Returns "now". Production code uses system_clock_now; tests inject fixed or
// stepping clocks instead of sleeping.
using Clock = std::function<TimePoint()>;
// The wall clock. In a build with SHARELINK_TEST_HOOKS (tests only, never the
// package) it adds the whole seconds written in the file named by the
// environment variable SHARELINK_TEST_CLOCK_OFFSET_FILE, read at each call, so
// black-box tests can step a running daemon past an expiry. Thread-safe.
TimePoint system_clock_now();
// True in a build with SHARELINK_TEST_HOOKS.
bool test_hooks_enabled();

std::int64_t to_unix_seconds(TimePoint t);
std::int64_t to_unix_millis(TimePoint t);
TimePoint from_unix_seconds(std::int64_t s);
TimePoint from_unix_millis(std::int64_t ms);

// "2026-07-28T10:30:00Z" (seconds precision, always UTC).
std::string format_rfc3339(TimePoint t);
// "2026-07-28T10:30:00.123Z" (milliseconds, for the audit log).
std::string format_rfc3339_millis(TimePoint t);

// Accepts RFC 3339 with "Z" or a numeric offset, optional fractional seconds
// (a lowercase "t"/"z" too). nullopt when the text is not a valid time, or
// names one a TimePoint cannot hold (before 1677-09-22 or after 2262-04-11).
std::optional<TimePoint> parse_rfc3339(std::string_view text);

// "90s", "15m", "12h", "7d" (a positive integer and one unit). nullopt otherwise.
std::optional<std::chrono::seconds> parse_span(std::string_view text);

// A point in time from the CLI: RFC 3339, or a span counted back from now
// ("7d" = seven days ago) when past is true, forward when false.
std::optional<TimePoint> parse_time_or_span(std::string_view text, TimePoint now, bool past);

}  // namespace sharelink
