#include "common/byte_range.hpp"

#include <optional>
#include <vector>

#include "common/text.hpp"

namespace sharelink {
namespace {

// 1*DIGIT to a number, saturating at UINT64_MAX; nullopt for anything else.
std::optional<std::uint64_t> parse_digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
  }
  return value;
}

// One non-empty range-spec of the bytes unit.
struct RangeSpec {
  bool suffix = false;                // "-suffix"
  std::uint64_t first = 0;            // int-range
  std::optional<std::uint64_t> last;  // int-range, when given
  std::uint64_t suffix_length = 0;    // suffix-range
};

// nullopt when the element is not an int-range or suffix-range, or last < first.
std::optional<RangeSpec> parse_range_spec(std::string_view element) {
  const std::size_t dash = element.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view before = element.substr(0, dash);
  const std::string_view after = element.substr(dash + 1);
  RangeSpec spec;
  if (before.empty()) {
    const auto suffix = parse_digits(after);
    if (!suffix) return std::nullopt;
    spec.suffix = true;
    spec.suffix_length = *suffix;
    return spec;
  }
  const auto first = parse_digits(before);
  if (!first) return std::nullopt;
  spec.first = *first;
  if (!after.empty()) {
    spec.last = parse_digits(after);
    if (!spec.last || *spec.last < spec.first) return std::nullopt;
  }
  return spec;
}

}  // namespace

ByteRange parse_byte_range(std::string_view header, std::uint64_t size) {
  ByteRange full;
  full.length = size;
  header = trim_ows(header);
  const std::size_t equals = header.find('=');
  if (equals == std::string_view::npos || !equals_ignoring_ascii_case(header.substr(0, equals), "bytes"))
    return full;

  // The list: elements between commas, each trimmed; empty ones skipped.
  std::optional<RangeSpec> only;
  std::size_t ranges = 0;
  std::string_view rest = header.substr(equals + 1);
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view element = trim_ows(rest.substr(0, comma));
    if (!element.empty()) {
      const auto spec = parse_range_spec(element);
      if (!spec) return full;  // one invalid element makes the whole header invalid
      if (++ranges == 1) only = spec;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (ranges != 1) return full;  // no range at all, or several

  ByteRange unsatisfiable;
  unsatisfiable.kind = ByteRange::Kind::unsatisfiable;
  ByteRange partial;
  partial.kind = ByteRange::Kind::partial;
  if (only->suffix) {
    if (only->suffix_length == 0) return unsatisfiable;
    if (size == 0) return full;
    partial.length = only->suffix_length < size ? only->suffix_length : size;
    partial.first = size - partial.length;
    return partial;
  }
  if (only->first >= size) return unsatisfiable;
  const std::uint64_t end = (only->last && *only->last < size - 1) ? *only->last : size - 1;
  partial.first = only->first;
  partial.length = end - only->first + 1;
  return partial;
}

std::string content_range(const ByteRange& range, std::uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.first + range.length - 1) + "/" +
         std::to_string(size);
}

}  // namespace sharelink
