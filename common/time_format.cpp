#include "common/time_format.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "common/text.hpp"

namespace sharelink {
namespace {

using namespace std::chrono;

// Reads exactly n digits at text[pos]; -1 if any is not a digit.
int read_digits(std::string_view text, std::size_t pos, std::size_t n) {
  if (pos + n > text.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::string format_with_millis(TimePoint t, bool with_millis) {
  const auto ms = time_point_cast<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buffer[40];
  const int year = static_cast<int>(ymd.year());
  const unsigned month = static_cast<unsigned>(ymd.month());
  const unsigned mday = static_cast<unsigned>(ymd.day());
  const auto hour = static_cast<int>(hms.hours().count());
  const auto minute = static_cast<int>(hms.minutes().count());
  const auto second = static_cast<int>(hms.seconds().count());
  if (with_millis) {
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year, month, mday, hour, minute,
                  second, static_cast<int>(hms.subseconds().count()));
  } else {
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", year, month, mday, hour, minute, second);
  }
  return buffer;
}

#ifdef SHARELINK_TEST_HOOKS
// Test builds only: the whole seconds written in the file that
// SHARELINK_TEST_CLOCK_OFFSET_FILE names, read at every call, so that a
// black-box test can move a running daemon past an expiry instead of sleeping.
// No variable, no file or anything but one signed integer: no offset.
seconds test_clock_offset() {
  const char* const file = std::getenv("SHARELINK_TEST_CLOCK_OFFSET_FILE");
  if (file == nullptr || *file == '\0') return seconds{0};
  std::FILE* in = std::fopen(file, "r");
  if (in == nullptr) return seconds{0};
  char buffer[32];
  const std::size_t length = std::fread(buffer, 1, sizeof buffer, in);
  std::fclose(in);
  const std::string_view text = trim(std::string_view(buffer, length));
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return seconds{0};
  return seconds{value};
}
#endif

}  // namespace

bool test_hooks_enabled() {
#ifdef SHARELINK_TEST_HOOKS
  return true;
#else
  return false;
#endif
}

TimePoint system_clock_now() {
#ifdef SHARELINK_TEST_HOOKS
  return system_clock::now() + test_clock_offset();
#else
  return system_clock::now();
#endif
}

std::int64_t to_unix_seconds(TimePoint t) { return floor<seconds>(t.time_since_epoch()).count(); }
std::int64_t to_unix_millis(TimePoint t) { return floor<milliseconds>(t.time_since_epoch()).count(); }
TimePoint from_unix_seconds(std::int64_t s) { return TimePoint{seconds{s}}; }
TimePoint from_unix_millis(std::int64_t ms) { return TimePoint{milliseconds{ms}}; }

std::string format_rfc3339(TimePoint t) { return format_with_millis(floor<seconds>(t), false); }
std::string format_rfc3339_millis(TimePoint t) { return format_with_millis(t, true); }

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  if (text.size() < 20) return std::nullopt;
  const int y = read_digits(text, 0, 4), mo = read_digits(text, 5, 2), d = read_digits(text, 8, 2);
  const int h = read_digits(text, 11, 2), mi = read_digits(text, 14, 2), s = read_digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;  // 60: leap second, folded below

  std::size_t pos = 19;
  milliseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    int scale = 100, ms = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ms += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    fraction = milliseconds{ms};
  }
  if (pos >= text.size()) return std::nullopt;
  minutes offset{0};
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int oh = read_digits(text, pos + 1, 2), om = read_digits(text, pos + 4, 2);
    if (oh < 0 || om < 0 || pos + 3 >= text.size() || text[pos + 3] != ':' || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = hours{oh} + minutes{om};
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  // In seconds first: a TimePoint counts nanoseconds in 64 bits (about 1677 to
  // 2262), and converting a time outside that range would overflow.
  const seconds utc = sys_days{ymd}.time_since_epoch() + hours{h} + minutes{mi} + seconds{s == 60 ? 59 : s} -
                      offset;
  const auto earliest = ceil<seconds>(TimePoint::min().time_since_epoch());
  const auto latest = floor<seconds>(TimePoint::max().time_since_epoch()) - seconds{1};
  if (utc < earliest || utc > latest) return std::nullopt;
  return TimePoint{duration_cast<system_clock::duration>(utc) + duration_cast<system_clock::duration>(fraction)};
}

std::optional<std::chrono::seconds> parse_span(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const auto digits = text.substr(0, text.size() - 1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value <= 0) return std::nullopt;
  constexpr std::int64_t k_max = 100LL * 365 * 86400;  // a century is plenty and cannot overflow
  std::int64_t factor = 0;
  switch (unit) {
    case 's': factor = 1; break;
    case 'm': factor = 60; break;
    case 'h': factor = 3600; break;
    case 'd': factor = 86400; break;
    default: return std::nullopt;
  }
  if (value > k_max / factor) return std::nullopt;
  return seconds{value * factor};
}

std::optional<TimePoint> parse_time_or_span(std::string_view text, TimePoint now, bool past) {
  if (auto t = parse_rfc3339(text)) return t;
  if (auto span = parse_span(text)) return past ? now - *span : now + *span;
  return std::nullopt;
}

}  // namespace sharelink
