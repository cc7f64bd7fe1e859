#include "cli/arguments.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/error.hpp"

namespace sharelink {
namespace {

constexpr std::string_view k_time_forms =
    "an RFC 3339 time (2026-07-28T10:30:00Z) or a span (90s, 15m, 12h, 7d)";

[[noreturn]] void fail(std::string_view flag, std::string_view expected, std::string_view text) {
  throw UsageError(std::string(flag) + ": expected " + std::string(expected) + ", got " + quote_value(text));
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::int64_t parse_whole_number(std::string_view flag, std::string_view text, std::int64_t min,
                                std::int64_t max, std::string_view unit) {
  std::string expected = "a whole number";
  if (!unit.empty()) expected += " of " + std::string(unit);
  expected += max == INT64_MAX ? " >= " + std::to_string(min)
                               : " from " + std::to_string(min) + " to " + std::to_string(max);
  if (!all_digits(text)) fail(flag, expected, text);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range)
    value = INT64_MAX;
  else if (ec != std::errc() || end != text.data() + text.size())
    fail(flag, expected, text);
  if (value < min || value > max) fail(flag, expected, text);
  return value;
}

double parse_seconds(std::string_view flag, std::string_view text) {
  constexpr std::string_view expected = "a number of seconds >= 0";
  double value = 0;
  // from_chars rejects a sign "+" and spaces; isfinite rejects "inf" and "nan".
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      value < 0) {
    fail(flag, expected, text);
  }
  return value;
}

bool parse_yes_no(std::string_view flag, std::string_view text) {
  if (text == "yes") return true;
  if (text == "no") return false;
  fail(flag, "yes or no", text);
}

std::string parse_choice(std::string_view flag, std::string_view text, std::span<const std::string_view> choices) {
  std::string listed;
  for (auto choice : choices) {
    if (choice == text) return std::string(text);
    listed += (listed.empty() ? "" : ", ") + std::string(choice);
  }
  fail(flag, "one of " + listed, text);
}

std::string parse_choice(std::string_view flag, std::string_view text,
                         std::initializer_list<std::string_view> choices) {
  return parse_choice(flag, text, std::span<const std::string_view>(choices.begin(), choices.size()));
}

TimePoint parse_time_arg(std::string_view flag, std::string_view text, TimePoint now, bool past) {
  if (auto t = parse_time_or_span(text, now, past)) return *t;
  fail(flag, k_time_forms, text);
}

std::chrono::seconds parse_span_arg(std::string_view flag, std::string_view text) {
  if (auto span = parse_span(text)) return *span;
  fail(flag, "a span (90s, 15m, 12h, 7d)", text);
}

Visibility parse_visibility_arg(std::string_view flag, std::string_view text) {
  return *parse_visibility(parse_choice(flag, text, {"link_only", "public"}));
}

std::string audio_path_inside(std::string_view what, std::string_view path,
                              const std::filesystem::path& media_root) {
  namespace fs = std::filesystem;
  if (path.empty()) throw UsageError(std::string(what) + ": the audio path is empty");
  if (path.size() > k_max_audio_path_bytes) {
    throw UsageError(std::string(what) + ": at most " + std::to_string(k_max_audio_path_bytes) + " bytes, got " +
                     std::to_string(path.size()));
  }
  const fs::path root = fs::absolute(media_root).lexically_normal();
  const fs::path given(path);
  const fs::path full = (given.is_absolute() ? given : root / given).lexically_normal();
  const fs::path relative = full.lexically_relative(root);
  std::string text = relative.generic_string();
  if (relative.empty() || text == "." || text == ".." || text.rfind("../", 0) == 0 ||
      relative.is_absolute()) {
    throw UsageError(std::string(what) + ": " + quote_value(path) + " lies outside playback.media_root " +
                     root.string() + " (give a path inside it)");
  }
  return text;
}

std::string guess_mime_type(std::string_view audio_path) {
  std::string extension = std::filesystem::path(audio_path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  struct Guess {
    std::string_view extension;
    std::string_view mime;
  };
  static constexpr Guess k_guesses[] = {
      {".mp3", "audio/mpeg"}, {".ogg", "audio/ogg"},   {".oga", "audio/ogg"},
      {".opus", "audio/ogg"}, {".flac", "audio/flac"}, {".wav", "audio/wav"},
      {".m4a", "audio/mp4"},  {".aac", "audio/mp4"},   {".webm", "audio/webm"},
  };
  for (const auto& guess : k_guesses) {
    if (guess.extension == extension) return std::string(guess.mime);
  }
  return "audio/mpeg";
}

}  // namespace sharelink
