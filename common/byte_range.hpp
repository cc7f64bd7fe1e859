// Range request headers (RFC 9110 section 14) applied to a file of known size: what the media route answers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sharelink {

// What one Range header asks of a file of a given size.
struct ByteRange {
  enum class Kind {
    full,           // no usable Range: answer 200 with the whole file
    partial,        // answer 206 with bytes [first, first + length)
    unsatisfiable,  // answer 416 with Content-Range: bytes */size
  };
  Kind kind = Kind::full;
  std::uint64_t first = 0;
  std::uint64_t length = 0;  // for full: size
};

// Interprets one Range field value by RFC 9110's grammar (sections 14.1,
// 14.2 and the list rule of 5.6.1):
//   range-unit "=" range-set, range-set = 1#( first "-" [last] / "-" suffix )
// The unit is compared case-insensitively; spaces and tabs around the value
// and around each list element are ignored; empty list elements are allowed
// and skipped ("bytes=0-1," is the one range 0-1), but at least one element
// must be there. Inside an element there is no whitespace: digits, "-",
// digits. Numbers may have any number of digits and saturate at UINT64_MAX,
// so an end past the file, however large, is clamped like any other.
//
// The answer:
// - full (ignored, RFC 9110 14.2): an empty value, another unit, any syntax
//   error in any element, an element with last < first, and two or more
//   ranges (the server may ignore a multi-range request; answering it with
//   the whole file keeps responses simple for players);
// - unsatisfiable: the one range starts at or past the end of the file, or
//   is the suffix "-0";
// - partial: the one range, its last byte clamped to size - 1; a suffix
//   longer than the file is the whole file. A non-zero suffix of an empty file
//   is satisfiable by the RFC, but no Content-Range can name zero bytes: that
//   one is answered as full (the whole, empty file).
// Thread-safe; never throws.
ByteRange parse_byte_range(std::string_view header, std::uint64_t size);

// "bytes first-last/size" for a partial range.
std::string content_range(const ByteRange& range, std::uint64_t size);

}  // namespace sharelink
