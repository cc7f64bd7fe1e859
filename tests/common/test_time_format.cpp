// Unit tests of common/time_format.hpp: RFC 3339 formatting and parsing, spans, the wall clock's test offset.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/time_format.hpp"
#include "tests/common/temp_dir.hpp"

namespace sharelink {

TEST_CASE("parse_rfc3339: times a TimePoint cannot hold are refused, not overflowed", "[time_format]") {
  for (const char* text : {"0272-01-02T03:04:05Z", "0001-01-01T00:00:00Z", "1677-09-21T00:00:00Z",
                           "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z", "2262-04-11T23:47:16Z"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_rfc3339(text));
  }
  const auto early = parse_rfc3339("1677-09-22T00:00:00Z");
  REQUIRE(early);
  CHECK(format_rfc3339(*early) == "1677-09-22T00:00:00Z");
  const auto late = parse_rfc3339("2262-04-11T00:00:00Z");
  REQUIRE(late);
  CHECK(format_rfc3339(*late) == "2262-04-11T00:00:00Z");
  // The offset counts: this is 2262-04-12T01:00:00Z.
  CHECK_FALSE(parse_rfc3339("2262-04-11T23:00:00-02:00"));
}

TEST_CASE("parse_rfc3339: ordinary times, offsets and fractions", "[time_format]") {
  const auto t = parse_rfc3339("2026-07-28T10:30:00.250+02:00");
  REQUIRE(t);
  CHECK(to_unix_millis(*t) == 1785227400250);
  CHECK(format_rfc3339_millis(*t) == "2026-07-28T08:30:00.250Z");
  CHECK(to_unix_seconds(*parse_rfc3339("1970-01-01T00:00:00Z")) == 0);
  CHECK(to_unix_seconds(*parse_rfc3339("1969-12-31T23:59:59Z")) == -1);
}

TEST_CASE("format_rfc3339 and format_rfc3339_millis", "[time_format]") {
  const auto [ms, seconds_text, millis_text] = GENERATE(table<std::int64_t, std::string, std::string>({
      {0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"},
      {1, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.001Z"},
      {999, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.999Z"},  // truncated, never rounded up
      {-1, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.999Z"},
      {951782400000, "2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z"},  // leap day
      {1785227400250, "2026-07-28T08:30:00Z", "2026-07-28T08:30:00.250Z"},
      {4102444799999, "2099-12-31T23:59:59Z", "2099-12-31T23:59:59.999Z"},
  }));
  CAPTURE(ms);
  const TimePoint t = from_unix_millis(ms);
  CHECK(format_rfc3339(t) == seconds_text);
  CHECK(format_rfc3339_millis(t) == millis_text);
  CHECK(to_unix_millis(t) == ms);
  CHECK(parse_rfc3339(millis_text) == t);
}

TEST_CASE("parse_rfc3339: accepted forms", "[time_format]") {
  const auto [text, unix_ms] = GENERATE(table<std::string, std::int64_t>({
      {"2026-07-28T10:30:00Z", 1785234600000},
      {"2026-07-28t10:30:00z", 1785234600000},  // lowercase t and z
      {"2026-07-28T10:30:00+00:00", 1785234600000},
      {"2026-07-28T10:30:00-00:00", 1785234600000},
      {"2026-07-28T12:30:00+02:00", 1785234600000},
      {"2026-07-28T05:00:00-05:30", 1785234600000},
      {"2026-07-28T10:30:00.5Z", 1785234600500},
      {"2026-07-28T10:30:00.123Z", 1785234600123},
      {"2026-07-28T10:30:00.123999Z", 1785234600123},  // beyond milliseconds: cut
      {"2016-12-31T23:59:60Z", 1483228799000},         // a leap second folds into :59
      {"2024-02-29T00:00:00Z", 1709164800000},
  }));
  CAPTURE(text);
  const auto t = parse_rfc3339(text);
  REQUIRE(t);
  CHECK(to_unix_millis(*t) == unix_ms);
}

TEST_CASE("parse_rfc3339: refused forms", "[time_format]") {
  const std::string text = GENERATE(as<std::string>{},
                                    "",
                                    "2026-07-28",                  // a date alone
                                    "2026-07-28T10:30:00",         // no offset
                                    "2026-07-28 10:30:00Z",        // space for T
                                    "2026-07-28T10:30Z",           // no seconds
                                    "2026-7-28T10:30:00Z",         // one-digit month
                                    "2026/07/28T10:30:00Z",
                                    "2026-13-01T00:00:00Z",        // month 13
                                    "2026-00-01T00:00:00Z",
                                    "2026-02-29T00:00:00Z",        // not a leap year
                                    "2026-04-31T00:00:00Z",
                                    "2026-07-28T24:00:00Z",
                                    "2026-07-28T10:60:00Z",
                                    "2026-07-28T10:30:61Z",
                                    "2026-07-28T10:30:00.Z",       // a dot without digits
                                    "2026-07-28T10:30:00+0200",    // offset without colon
                                    "2026-07-28T10:30:00+02",
                                    "2026-07-28T10:30:00+24:00",
                                    "2026-07-28T10:30:00+02:60",
                                    "2026-07-28T10:30:00ZZ",       // trailing text
                                    "2026-07-28T10:30:00Z ",
                                    " 2026-07-28T10:30:00Z",
                                    "+026-07-28T10:30:00Z",
                                    "2026-07-28T10:30:00UTC");
  CAPTURE(text);
  CHECK_FALSE(parse_rfc3339(text));
}

TEST_CASE("parse_span: a positive integer and one unit", "[time_format]") {
  const auto [text, seconds] = GENERATE(table<std::string, std::optional<std::int64_t>>({
      {"90s", 90},
      {"1s", 1},
      {"15m", 900},
      {"12h", 43200},
      {"7d", 604800},
      {"36500d", 3153600000},       // a century: the largest span
      {"3153600000s", 3153600000},
      {"36501d", std::nullopt},     // more than a century
      {"3153600001s", std::nullopt},
      {"99999999999999999999d", std::nullopt},  // does not fit 64 bits
      {"0s", std::nullopt},
      {"-5m", std::nullopt},
      {"+5m", std::nullopt},
      {"5", std::nullopt},          // no unit
      {"s", std::nullopt},          // no number
      {"", std::nullopt},
      {"5w", std::nullopt},         // no such unit
      {"5S", std::nullopt},         // units are lowercase
      {"5 s", std::nullopt},
      {"1.5h", std::nullopt},
      {"5ss", std::nullopt},
  }));
  CAPTURE(text);
  const auto span = parse_span(text);
  REQUIRE(span.has_value() == seconds.has_value());
  if (seconds) CHECK(span->count() == *seconds);
}

TEST_CASE("parse_time_or_span: a time, or a span back or forward from now", "[time_format]") {
  const TimePoint now = from_unix_seconds(1785234600);
  const auto [text, past, expected] = GENERATE(table<std::string, bool, std::optional<std::int64_t>>({
      {"7d", true, 1785234600 - 604800},
      {"7d", false, 1785234600 + 604800},
      {"90s", false, 1785234690},
      {"2026-01-01T00:00:00Z", true, 1767225600},  // a time is a time either way
      {"2026-01-01T00:00:00Z", false, 1767225600},
      {"yesterday", true, std::nullopt},
      {"0d", false, std::nullopt},
      {"", false, std::nullopt},
  }));
  CAPTURE(text, past);
  const auto t = parse_time_or_span(text, now, past);
  REQUIRE(t.has_value() == expected.has_value());
  if (expected) CHECK(to_unix_seconds(*t) == *expected);
}

TEST_CASE("to_unix_seconds rounds toward the past", "[time_format]") {
  CHECK(to_unix_seconds(from_unix_millis(1999)) == 1);
  CHECK(to_unix_seconds(from_unix_millis(-1)) == -1);
  CHECK(to_unix_seconds(from_unix_millis(-1000)) == -1);
  CHECK(to_unix_seconds(from_unix_millis(-1001)) == -2);
  CHECK(from_unix_seconds(-2) == from_unix_millis(-2000));
}

TEST_CASE("system_clock_now: the test offset file moves the wall clock in test builds only", "[time_format]") {
  testing::TempDir dir;
  const auto file = dir.path() / "offset";
  const auto offset_of = [&](const std::string& content) {
    std::ofstream(file) << content;
    const auto before = std::chrono::system_clock::now();
    const auto now = system_clock_now();
    return std::chrono::round<std::chrono::seconds>(now - before).count();
  };
  REQUIRE(setenv("SHARELINK_TEST_CLOCK_OFFSET_FILE", file.c_str(), 1) == 0);
  const std::int64_t expected_hour = test_hooks_enabled() ? 3600 : 0;
  CHECK(offset_of("3600\n") == expected_hour);
  CHECK(offset_of("-7200") == (test_hooks_enabled() ? -7200 : 0));
  // Anything but one integer is no offset.
  for (const char* text : {"", "12s", "1.5", "ten", "99999999999999999999999"}) {
    CAPTURE(text);
    CHECK(offset_of(text) == 0);
  }
  std::filesystem::remove(file);
  CHECK(offset_of("") == 0);  // written again: empty
  std::filesystem::remove(file);
  const auto before = std::chrono::system_clock::now();
  CHECK(std::chrono::round<std::chrono::seconds>(system_clock_now() - before).count() == 0);  // no file
  REQUIRE(unsetenv("SHARELINK_TEST_CLOCK_OFFSET_FILE") == 0);
  std::ofstream(file) << "3600";
  const auto unset_before = std::chrono::system_clock::now();
  CHECK(std::chrono::round<std::chrono::seconds>(system_clock_now() - unset_before).count() == 0);
}

}  // namespace sharelink
