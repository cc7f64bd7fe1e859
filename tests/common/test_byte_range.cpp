// Unit tests of Range parsing (RFC 9110 section 14): the whole table the media route answers from.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/byte_range.hpp"

namespace sharelink {
namespace {

using Kind = ByteRange::Kind;

struct Case {
  const char* header;
  std::uint64_t size;
  Kind kind;
  std::uint64_t first;
  std::uint64_t length;
};

void check_cases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.header, c.size);
    const ByteRange range = parse_byte_range(c.header, c.size);
    CHECK(range.kind == c.kind);
    if (c.kind != Kind::unsatisfiable) {
      CHECK(range.first == c.first);
      CHECK(range.length == c.length);
    }
  }
}

}  // namespace

TEST_CASE("parse_byte_range: satisfiable single ranges, prefix and suffix", "[byte_range]") {
  check_cases({
      {"bytes=0-9", 100, Kind::partial, 0, 10},
      {"bytes=10-19", 100, Kind::partial, 10, 10},
      {"bytes=99-99", 100, Kind::partial, 99, 1},
      {"bytes=0-0", 1, Kind::partial, 0, 1},
      {"bytes=90-", 100, Kind::partial, 90, 10},
      {"bytes=0-", 100, Kind::partial, 0, 100},
      {"bytes=007-009", 100, Kind::partial, 7, 3},
      {"bytes=-5", 100, Kind::partial, 95, 5},
      {"bytes=-100", 100, Kind::partial, 0, 100},
      {"bytes=-500", 100, Kind::partial, 0, 100},
      {"BYTES=1-2", 100, Kind::partial, 1, 2},
      {"Bytes=1-2", 100, Kind::partial, 1, 2},
      {"  bytes=3-4\t", 100, Kind::partial, 3, 2},
  });
}

TEST_CASE("parse_byte_range: an end past the file is clamped, however large", "[byte_range]") {
  check_cases({
      {"bytes=90-200", 100, Kind::partial, 90, 10},
      {"bytes=0-18446744073709551614", 100, Kind::partial, 0, 100},
      {"bytes=0-18446744073709551615", 100, Kind::partial, 0, 100},
      {"bytes=0-18446744073709551616", 100, Kind::partial, 0, 100},
      {"bytes=0-99999999999999999999999999999999999999", 100, Kind::partial, 0, 100},
      {"bytes=5-18446744073709551615", 18446744073709551615ULL, Kind::partial, 5, 18446744073709551610ULL},
      {"bytes=-18446744073709551616", 100, Kind::partial, 0, 100},
  });
}

TEST_CASE("parse_byte_range: empty list elements are allowed and skipped (RFC 9110 5.6.1)", "[byte_range]") {
  check_cases({
      {"bytes=0-1,", 100, Kind::partial, 0, 2},
      {"bytes=,0-1", 100, Kind::partial, 0, 2},
      {"bytes=0-1, ,\t,", 100, Kind::partial, 0, 2},
      {"bytes= 0-1 ", 100, Kind::partial, 0, 2},
      {"bytes=,", 100, Kind::full, 0, 100},  // no element at all
      {"bytes=, ,", 100, Kind::full, 0, 100},
  });
}

TEST_CASE("parse_byte_range: unsatisfiable ranges", "[byte_range]") {
  check_cases({
      {"bytes=100-", 100, Kind::unsatisfiable, 0, 0},
      {"bytes=100-200", 100, Kind::unsatisfiable, 0, 0},
      {"bytes=18446744073709551615-", 100, Kind::unsatisfiable, 0, 0},
      {"bytes=99999999999999999999999-", 100, Kind::unsatisfiable, 0, 0},
      {"bytes=-0", 100, Kind::unsatisfiable, 0, 0},
      {"bytes=-0", 0, Kind::unsatisfiable, 0, 0},
      {"bytes=0-0", 0, Kind::unsatisfiable, 0, 0},
      {"bytes=0-", 0, Kind::unsatisfiable, 0, 0},
      {"bytes=0-1,", 0, Kind::unsatisfiable, 0, 0},
  });
}

TEST_CASE("parse_byte_range: a non-zero suffix of an empty file is the whole (empty) file", "[byte_range]") {
  check_cases({
      {"bytes=-1", 0, Kind::full, 0, 0},
      {"bytes=-500", 0, Kind::full, 0, 0},
  });
}

TEST_CASE("parse_byte_range: invalid headers are ignored (whole file)", "[byte_range]") {
  check_cases({
      {"", 100, Kind::full, 0, 100},
      {"   ", 100, Kind::full, 0, 100},
      {"bytes=5-2", 100, Kind::full, 0, 100},  // last < first
      {"bytes=9-3", 100, Kind::full, 0, 100},
      {"bytes=0-1,5-2", 100, Kind::full, 0, 100},  // one invalid element spoils the list
      {"items=0-9", 100, Kind::full, 0, 100},      // unknown unit
      {"bytes", 100, Kind::full, 0, 100},
      {"bytes=", 100, Kind::full, 0, 100},
      {"=0-9", 100, Kind::full, 0, 100},
      {"bytes =0-9", 100, Kind::full, 0, 100},     // no whitespace in the unit
      {"bytes= 3 - 4 ", 100, Kind::full, 0, 100},  // nor inside an element
      {"bytes=abc", 100, Kind::full, 0, 100},
      {"garbage", 100, Kind::full, 0, 100},
      {"bytes=-", 100, Kind::full, 0, 100},
      {"bytes=--1", 100, Kind::full, 0, 100},
      {"bytes=1--2", 100, Kind::full, 0, 100},
      {"bytes=+1-2", 100, Kind::full, 0, 100},
      {"bytes=1-+2", 100, Kind::full, 0, 100},
      {"bytes=1-2x", 100, Kind::full, 0, 100},
      {"bytes=0x10-0x20", 100, Kind::full, 0, 100},
      {"bytes=1.5-2", 100, Kind::full, 0, 100},
      {"bytes=0-1;q=1", 100, Kind::full, 0, 100},
      {"bytes=0-1=2", 100, Kind::full, 0, 100},
      {"bytes=\xef\xbc\x90-1", 100, Kind::full, 0, 100},  // a fullwidth digit
      {"bytes=-5-", 100, Kind::full, 0, 100},
  });
}

TEST_CASE("parse_byte_range: several ranges get the whole file", "[byte_range]") {
  check_cases({
      {"bytes=0-1,5-6", 100, Kind::full, 0, 100},
      {"bytes=200-300,0-1", 100, Kind::full, 0, 100},
      {"bytes=0-1, -5", 100, Kind::full, 0, 100},
      {"bytes=0-1,0-1", 100, Kind::full, 0, 100},
  });
}

TEST_CASE("parse_byte_range: a NUL byte is not part of any grammar", "[byte_range]") {
  const std::string header("bytes=0-1\0", 10);
  CHECK(parse_byte_range(header, 100).kind == Kind::full);
}

TEST_CASE("content_range: first-last/size of a partial range", "[byte_range]") {
  CHECK(content_range(parse_byte_range("bytes=0-9", 100), 100) == "bytes 0-9/100");
  CHECK(content_range(parse_byte_range("bytes=-5", 100), 100) == "bytes 95-99/100");
  CHECK(content_range(parse_byte_range("bytes=90-200", 100), 100) == "bytes 90-99/100");
  CHECK(content_range(parse_byte_range("bytes=0-18446744073709551615", 100), 100) == "bytes 0-99/100");
}

}  // namespace sharelink
