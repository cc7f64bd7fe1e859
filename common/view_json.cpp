#include "common/view_json.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

#include "common/text.hpp"

namespace sharelink {
namespace {

// The 200 body is written by hand into one string: building a JSON tree first
// cost more than the rest of a collection resolve (one allocation per value,
// an ordered map per object). Output matches nlohmann's dump(): compact, UTF-8
// passed through, only '"', '\' and control characters escaped.

// A JSON string. A byte that starts no well-formed UTF-8 sequence becomes
// U+FFFD, so a stored title can never make the answer invalid JSON.
// Bytes copied as they are: printable ASCII except '"' and '\'.
constexpr std::array<bool, 256> k_plain_json_byte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

// True when none of the eight bytes at p needs a look of its own: no control
// character, no '"' or '\', no byte of a multi-byte sequence. (Each test is
// the classic "has a zero byte" word trick: never a false "none".)
bool plain_json_word(const char* p) {
  constexpr std::uint64_t k_ones = 0x0101010101010101ULL;
  constexpr std::uint64_t k_highs = 0x8080808080808080ULL;
  std::uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
  const auto has_zero = [](std::uint64_t v) { return (v - k_ones) & ~v & k_highs; };
  const std::uint64_t control = (w - k_ones * 0x20) & ~w & k_highs;  // a byte below 0x20
  const std::uint64_t quote = has_zero(w ^ (k_ones * '"'));
  const std::uint64_t backslash = has_zero(w ^ (k_ones * '\\'));
  return ((w & k_highs) | control | quote | backslash) == 0;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr const char* k_hex = k_hex_lower;
  out += '"';
  std::size_t run = 0;  // start of the bytes copied as they are
  std::size_t i = 0;
  while (i < text.size()) {
    while (text.size() - i >= 8 && plain_json_word(text.data() + i)) i += 8;
    while (i < text.size() && k_plain_json_byte[static_cast<unsigned char>(text[i])]) ++i;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length > 0) {
        i += length;
        continue;
      }
    }
    out.append(text.substr(run, i - run));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += k_hex[c >> 4];
          out += k_hex[c & 0x0F];
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD
        }
    }
    run = ++i;
  }
  out.append(text.substr(run));
  out += '"';
}

template <typename Text>
void append_json_nullable(std::string& out, const std::optional<Text>& text) {
  if (text) {
    append_json_string(out, *text);
  } else {
    out += "null";
  }
}

// The shortest text that reads back as the same double; integral values keep
// a ".0" and non-finite ones are null (as nlohmann writes them).
void append_json_number(std::string& out, const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) {
    out += "null";
    return;
  }
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, *value).ptr;
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_json_bool(std::string& out, bool value) { out += value ? "true" : "false"; }

// One JSON value of each type a view holds (a const char* would pick the
// bool overload: it is refused).
void append_json_value(std::string& out, std::string_view text) { append_json_string(out, text); }
void append_json_value(std::string& out, const std::string& text) { append_json_string(out, text); }
void append_json_value(std::string& out, const std::optional<std::string>& text) { append_json_nullable(out, text); }
void append_json_value(std::string& out, const std::optional<std::string_view>& text) {
  append_json_nullable(out, text);
}
void append_json_value(std::string& out, const std::optional<double>& value) { append_json_number(out, value); }
void append_json_value(std::string& out, bool value) { append_json_bool(out, value); }
void append_json_value(std::string& out, const char* text) = delete;

// key is the text before the value, punctuation included (R"(,"title":)").
template <typename Value>
void append_member(std::string& out, std::string_view key, const Value& value) {
  out += key;
  append_json_value(out, value);
}

void append_track(std::string& out, const TrackView& t) {
  append_member(out, R"({"id":)", t.id);
  append_member(out, R"(,"title":)", t.title);
  append_member(out, R"(,"engine":)", t.engine);
  append_member(out, R"(,"mode":)", t.mode);
  append_member(out, R"(,"measured_duration_seconds":)", t.measured_duration_seconds);
  append_member(out, R"(,"instrumental":)", t.instrumental);
  append_member(out, R"(,"playback_url":)", t.playback_url);
  append_member(out, R"(,"licence":{"licence_class":)", t.licence.licence_class);
  append_member(out, R"(,"licence_version":)", t.licence.licence_version);
  append_member(out, R"(,"commercial_use":)", t.licence.commercial_use);
  append_member(out, R"(,"requires_attribution":)", t.licence.requires_attribution);
  out += "}}";
}

// Bytes of one track view besides its strings, for reserving the body once.
constexpr std::size_t k_track_overhead = 256;

std::size_t track_size_hint(const TrackView& t) {
  return k_track_overhead + t.id.size() + t.title.size() + t.engine.size() + t.mode.size() +
         (t.playback_url ? t.playback_url->size() : 0) + t.licence.licence_class.size() +
         t.licence.licence_version.size();
}

}  // namespace

std::string render_view(const ResolveResult& result) {
  const bool available = result.outcome == ResolveOutcome::ok;
  const bool with_tracks = available && result.tracks;
  std::size_t size = 512;
  if (available && result.track) size += track_size_hint(*result.track);
  if (with_tracks) {
    for (const auto& t : *result.tracks) size += track_size_hint(t);
  }
  std::string out;
  out.reserve(size);

  out += R"({"kind":)";
  out += '"';
  out += to_string(result.target_type);
  out += '"';
  out += R"(,"available":)";
  append_json_bool(out, available);
  out += R"(,"message":)";
  if (available) {
    out += "null";
  } else {
    append_json_string(out, k_unavailable_message);
  }
  out += R"(,"share":{"target_type":")";
  out += to_string(result.target_type);
  out += R"(","visibility":")";
  out += to_string(result.visibility);
  out += '"';
  out += R"(,"expires_at":)";
  if (result.expires_at) {
    append_json_string(out, format_rfc3339(*result.expires_at));
  } else {
    out += "null";
  }
  out += R"(},"track":)";
  if (available && result.track) {
    append_track(out, *result.track);
  } else {
    out += "null";
  }
  out += R"(,"collection":)";
  if (available && result.collection) {
    append_member(out, R"({"id":)", result.collection->id);
    append_member(out, R"(,"name":)", result.collection->name);
    append_member(out, R"(,"description":)", result.collection->description);
    out += '}';
  } else {
    out += "null";
  }
  out += R"(,"tracks":)";
  if (with_tracks) {
    out += '[';
    for (std::size_t i = 0; i < result.tracks->size(); ++i) {
      if (i > 0) out += ',';
      append_track(out, (*result.tracks)[i]);
    }
    out += ']';
  } else {
    out += "null";
  }
  out += '}';
  return out;
}

}  // namespace sharelink
