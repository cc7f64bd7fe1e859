// Unit tests of Range parsing (RFC 9110 section 14): the whole table the media route answers from.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/byte_range.hpp"

namespace sharelink {
namespace {

using Kind = ByteRange::Kind;

// What parse_byte_range must answer: a partial range, the whole file
// (first 0, length size) or unsatisfiable (first and length unused).
struct Expected {
  Kind kind;
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
constexpr Expected partial(std::uint64_t first, std::uint64_t length) { return {Kind::partial, first, length}; }
constexpr Expected whole{Kind::full};
constexpr Expected unsatisfiable{Kind::unsatisfiable};

struct Case {
  const char* header;
  std::uint64_t size;
  Expected expected;
};

void check_cases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.header, c.size);
    const ByteRange range = parse_byte_range(c.header, c.size);
    CHECK(range.kind == c.expected.kind);
    if (c.expected.kind == Kind::partial) {
      CHECK(range.first == c.expected.first);
      CHECK(range.length == c.expected.length);
    } else if (c.expected.kind == Kind::full) {
      CHECK(range.first == 0);
      CHECK(range.length == c.size);
    }
  }
}

}  // namespace

TEST_CASE("parse_byte_range: satisfiable single ranges, prefix and suffix", "[byte_range]") {
  check_cases({
      {"bytes=0-9", 100, partial(0, 10)},
      {"bytes=10-19", 100, partial(10, 10)},
      {"bytes=99-99", 100, partial(99, 1)},
      {"bytes=0-0", 1, partial(0, 1)},
      {"bytes=90-", 100, partial(90, 10)},
      {"bytes=0-", 100, partial(0, 100)},
      {"bytes=007-009", 100, partial(7, 3)},
      {"bytes=-5", 100, partial(95, 5)},
      {"bytes=-100", 100, partial(0, 100)},
      {"bytes=-500", 100, partial(0, 100)},
      {"BYTES=1-2", 100, partial(1, 2)},
      {"Bytes=1-2", 100, partial(1, 2)},
      {"  bytes=3-4\t", 100, partial(3, 2)},
  });
}

TEST_CASE("parse_byte_range: an end past the file is clamped, however large", "[byte_range]") {
  check_cases({
      {"bytes=90-200", 100, partial(90, 10)},
      {"bytes=0-18446744073709551614", 100, partial(0, 100)},
      {"bytes=0-18446744073709551615", 100, partial(0, 100)},
      {"bytes=0-18446744073709551616", 100, partial(0, 100)},
      {"bytes=0-99999999999999999999999999999999999999", 100, partial(0, 100)},
      {"bytes=5-18446744073709551615", 18446744073709551615ULL, partial(5, 18446744073709551610ULL)},
      {"bytes=-18446744073709551616", 100, partial(0, 100)},
  });
}

TEST_CASE("parse_byte_range: empty list elements are allowed and skipped (RFC 9110 5.6.1)", "[byte_range]") {
  check_cases({
      {"bytes=0-1,", 100, partial(0, 2)},
      {"bytes=,0-1", 100, partial(0, 2)},
      {"bytes=0-1, ,\t,", 100, partial(0, 2)},
      {"bytes= 0-1 ", 100, partial(0, 2)},
      {"bytes=,", 100, whole},  // no element at all
      {"bytes=, ,", 100, whole},
  });
}

TEST_CASE("parse_byte_range: unsatisfiable ranges", "[byte_range]") {
  check_cases({
      {"bytes=100-", 100, unsatisfiable},
      {"bytes=100-200", 100, unsatisfiable},
      {"bytes=18446744073709551615-", 100, unsatisfiable},
      {"bytes=99999999999999999999999-", 100, unsatisfiable},
      {"bytes=-0", 100, unsatisfiable},
      {"bytes=-0", 0, unsatisfiable},
      {"bytes=0-0", 0, unsatisfiable},
      {"bytes=0-", 0, unsatisfiable},
      {"bytes=0-1,", 0, unsatisfiable},
  });
}

TEST_CASE("parse_byte_range: a non-zero suffix of an empty file is the whole (empty) file", "[byte_range]") {
  check_cases({
      {"bytes=-1", 0, whole},
      {"bytes=-500", 0, whole},
  });
}

TEST_CASE("parse_byte_range: invalid headers are ignored (whole file)", "[byte_range]") {
  check_cases({
      {"", 100, whole},
      {"   ", 100, whole},
      {"bytes=5-2", 100, whole},  // last < first
      {"bytes=9-3", 100, whole},
      {"bytes=0-1,5-2", 100, whole},  // one invalid element spoils the list
      {"items=0-9", 100, whole},      // unknown unit
      {"bytes", 100, whole},
      {"bytes=", 100, whole},
      {"=0-9", 100, whole},
      {"bytes =0-9", 100, whole},     // no whitespace in the unit
      {"bytes= 3 - 4 ", 100, whole},  // nor inside an element
      {"bytes=abc", 100, whole},
      {"garbage", 100, whole},
      {"bytes=-", 100, whole},
      {"bytes=--1", 100, whole},
      {"bytes=1--2", 100, whole},
      {"bytes=+1-2", 100, whole},
      {"bytes=1-+2", 100, whole},
      {"bytes=1-2x", 100, whole},
      {"bytes=0x10-0x20", 100, whole},
      {"bytes=1.5-2", 100, whole},
      {"bytes=0-1;q=1", 100, whole},
      {"bytes=0-1=2", 100, whole},
      {"bytes=\xef\xbc\x90-1", 100, whole},  // a fullwidth digit
      {"bytes=-5-", 100, whole},
  });
}

TEST_CASE("parse_byte_range: several ranges get the whole file", "[byte_range]") {
  check_cases({
      {"bytes=0-1,5-6", 100, whole},
      {"bytes=200-300,0-1", 100, whole},
      {"bytes=0-1, -5", 100, whole},
      {"bytes=0-1,0-1", 100, whole},
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
