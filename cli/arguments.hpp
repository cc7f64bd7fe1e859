// Checked parsing of operator-supplied values: each failure is a UsageError naming the flag, the value and
// what is allowed. (The checks of catalogue texts live in common/catalog_text.hpp, shared with track import.)
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "common/catalog_text.hpp"
#include "common/domain.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// A whole number in [min, max] written in decimal digits (no sign, no spaces).
// Digit strings too large for int64 saturate to INT64_MAX, so "huge" values
// reach range checks and clamping rather than being called malformed. Throws
// UsageError "FLAG: expected a whole number[ of UNIT] >= MIN, got "TEXT"".
std::int64_t parse_whole_number(std::string_view flag, std::string_view text, std::int64_t min,
                                std::int64_t max = INT64_MAX, std::string_view unit = {});

// A finite decimal number of seconds >= 0. Throws UsageError otherwise.
double parse_seconds(std::string_view flag, std::string_view text);

// "yes" or "no". Throws UsageError otherwise.
bool parse_yes_no(std::string_view flag, std::string_view text);

// One of the given words. Throws UsageError listing them otherwise.
std::string parse_choice(std::string_view flag, std::string_view text, std::span<const std::string_view> choices);
std::string parse_choice(std::string_view flag, std::string_view text,
                         std::initializer_list<std::string_view> choices);

// RFC 3339, or a span ("7d") counted from now: backwards when past is true,
// forwards otherwise. Throws UsageError showing both accepted forms.
TimePoint parse_time_arg(std::string_view flag, std::string_view text, TimePoint now, bool past);

// A span "90s", "15m", "12h", "7d". Throws UsageError otherwise.
std::chrono::seconds parse_span_arg(std::string_view flag, std::string_view text);

// link_only or public. Throws UsageError listing them otherwise.
Visibility parse_visibility_arg(std::string_view flag, std::string_view text);

// The path of an audio file relative to media_root (generic form, "/" separated).
// A relative path is taken from media_root; an absolute one must lie inside it
// after lexical normalisation. Throws UsageError (naming what, e.g. "--audio")
// when the path is empty, escapes media_root or names media_root itself.
std::string audio_path_inside(std::string_view what, std::string_view path,
                              const std::filesystem::path& media_root);

// The MIME type guessed from an audio file's extension (mp3 audio/mpeg,
// ogg/oga/opus audio/ogg, flac audio/flac, wav audio/wav, m4a/aac audio/mp4,
// webm audio/webm), else audio/mpeg.
std::string guess_mime_type(std::string_view audio_path);

}  // namespace sharelink
