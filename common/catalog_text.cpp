#include "common/catalog_text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/error.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_max_quoted_bytes = 200;

[[noreturn]] void fail(std::string_view what, std::string_view expected, std::string_view text) {
  throw UsageError(std::string(what) + ": expected " + std::string(expected) + ", got " + quote_value(text));
}

bool is_mime_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$&^_.+-").find(c) != std::string_view::npos;
  });
}

void append_escape(std::string& out, const char* format, unsigned value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, format, value);
  out += buffer;
}

// visible_text's escaping, appended to out; quotes and backslashes too when asked.
void append_visible(std::string& out, std::string_view text, bool escape_quotes) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    const auto lead = static_cast<unsigned char>(text[i]);
    if (length == 0) {
      append_escape(out, "\\x%02x", lead);
      i += 1;
      continue;
    }
    if (length == 1 && (lead < 0x20 || lead == 0x7f || (escape_quotes && (lead == '"' || lead == '\\')))) {
      append_escape(out, "\\x%02x", lead);
    } else if (length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      append_escape(out, "\\u%04x", static_cast<unsigned char>(text[i + 1]));  // U+0080..U+009F
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
}

}  // namespace

std::string visible_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_visible(out, text, false);
  return out;
}

std::string quote_value(std::string_view value) {
  std::string out = "\"";
  const bool cut = value.size() > k_max_quoted_bytes;
  // Never cut a UTF-8 sequence in two (its start would show as invalid bytes).
  append_visible(out, utf8_prefix(value, k_max_quoted_bytes), true);
  if (cut) out += "...";
  return out + "\"";
}

bool is_clean_text(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return false;
    const auto lead = static_cast<unsigned char>(text[i]);
    if (length == 1 && (lead < 0x20 || lead == 0x7f)) return false;
    // U+0080..U+009F are C2 80..C2 9F.
    if (length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) return false;
    i += length;
  }
  return true;
}

std::string parse_text(std::string_view what, std::string_view text, std::size_t max_bytes) {
  const std::string expected = "a non-empty text of at most " + std::to_string(max_bytes) +
                               " bytes (valid UTF-8, no control characters)";
  if (text.size() > max_bytes) {
    throw UsageError(std::string(what) + ": expected " + expected + ", got " + std::to_string(text.size()) +
                     " bytes");
  }
  if (text.empty() || !is_clean_text(text)) fail(what, expected, text);
  return std::string(text);
}

LicenceClass parse_licence_class_arg(std::string_view what, std::string_view text) {
  const auto licence_class = parse_licence_class(text);
  if (!licence_class) {
    throw UsageError(std::string(what) + ": unknown licence class " + quote_value(text) +
                     " (one of commercial_cleared, commercial_enterprise, personal_only, unclear)");
  }
  return *licence_class;
}

std::string parse_licence_version(std::string_view what, std::string_view text) {
  const bool valid = !text.empty() && text.size() <= 32 && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (!valid) fail(what, "a licence version of 1 to 32 of A-Z a-z 0-9 . _ - (e.g. 2026-01)", text);
  return std::string(text);
}

std::string parse_mime_type(std::string_view what, std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || text.size() > k_max_mime_type_bytes ||
      !is_mime_token(text.substr(0, slash)) || !is_mime_token(text.substr(slash + 1))) {
    fail(what, "a MIME type such as audio/mpeg", text);
  }
  return std::string(text);
}

}  // namespace sharelink
