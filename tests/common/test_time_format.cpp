// Unit tests of RFC 3339 parsing at the edges of what a TimePoint can hold.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/time_format.hpp"

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

}  // namespace sharelink
