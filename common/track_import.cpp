#include "common/track_import.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/catalog_text.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/time_format.hpp"

namespace sharelink {
namespace {

using Json = nlohmann::json;

constexpr const char* k_track_keys[] = {
    "id",           "title",         "engine",          "mode",          "measured_duration_seconds",
    "instrumental", "licence_class", "licence_version", "no_commercial", "mime_type",
    "audio_path",   "removed_at",    "created_at"};

std::string required_string(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) throw UsageError(std::string("missing required key \"") + key + "\"");
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw UsageError(std::string("\"") + key + "\" must be a non-empty string");
  }
  return it->get<std::string>();
}

std::string required_text(const Json& object, const char* key, std::size_t max_bytes) {
  return parse_text(std::string("\"") + key + "\"", required_string(object, key), max_bytes);
}

bool optional_bool(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return false;
  if (!it->is_boolean()) throw UsageError(std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

std::optional<TimePoint> optional_time(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  std::optional<TimePoint> t;
  if (it->is_string()) t = parse_rfc3339(it->get_ref<const std::string&>());
  if (!t)
    throw UsageError(std::string("\"") + key + "\" must be an RFC 3339 time (2026-07-28T10:30:00Z) or null");
  return t;
}

// nlohmann prefixes its messages with "[json.exception.parse_error.101] ".
std::string without_exception_tag(const std::string& message) {
  const auto end = message.find("] ");
  return message.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? message.substr(end + 2)
                                                                               : message;
}

// Parses line, refusing a key given twice in one object (nlohmann keeps the
// last silently): the parser callback sees every key as it is read.
Json parse_object_without_duplicates(std::string_view line) {
  std::vector<std::set<std::string>> keys_per_object;
  const Json::parser_callback_t callback = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        keys_per_object.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        keys_per_object.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys_per_object.back().insert(parsed.get<std::string>()).second) {
          // Quoted and made visible: the key is a stranger's text and the message reaches a terminal.
          throw UsageError("key " + quote_value(parsed.get<std::string>()) + " appears twice");
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(line, callback);
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for a number no double can hold (1e400).
    // The message quotes the input it stopped at: shown escaped.
    throw UsageError("not valid JSON: " + visible_text(without_exception_tag(e.what())));
  }
}

}  // namespace

ImportedTrack parse_track_line(std::string_view line) {
  const Json object = parse_object_without_duplicates(line);
  if (!object.is_object())
    throw UsageError("expected a JSON object with the keys of \"sharectl track show --json\"");
  static const std::set<std::string> known(std::begin(k_track_keys), std::end(k_track_keys));
  for (const auto& [key, value] : object.items()) {
    if (!known.contains(key)) throw UsageError("unknown key " + quote_value(key));
  }

  ImportedTrack imported;
  Track& track = imported.track;
  track.id = required_string(object, "id");
  if (!is_track_id(track.id))
    throw UsageError("\"id\": expected " + std::string(k_track_id_form) + ", got " + quote_value(track.id));
  track.title = required_text(object, "title", k_max_title_bytes);
  track.engine = required_text(object, "engine", k_max_engine_bytes);
  track.mode = required_text(object, "mode", k_max_mode_bytes);
  track.licence_class =
      to_string(parse_licence_class_arg("\"licence_class\"", required_string(object, "licence_class")));
  track.licence_version =
      parse_licence_version("\"licence_version\"", required_string(object, "licence_version"));
  track.audio_path = required_string(object, "audio_path");
  if (track.audio_path.size() > k_max_audio_path_bytes) {
    throw UsageError("\"audio_path\": at most " + std::to_string(k_max_audio_path_bytes) + " bytes, got " +
                     std::to_string(track.audio_path.size()));
  }
  if (const auto it = object.find("measured_duration_seconds"); it != object.end() && !it->is_null()) {
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0) {
      throw UsageError("\"measured_duration_seconds\" must be a number >= 0 or null");
    }
    track.measured_duration_seconds = it->get<double>();
  }
  track.instrumental = optional_bool(object, "instrumental");
  track.no_commercial = optional_bool(object, "no_commercial");
  if (object.contains("mime_type")) {
    track.mime_type = parse_mime_type("\"mime_type\"", required_string(object, "mime_type"));
    imported.has_mime_type = true;
  }
  track.removed_at = optional_time(object, "removed_at");
  if (const auto created_at = optional_time(object, "created_at")) {
    track.created_at = *created_at;
    imported.has_created_at = true;
  }
  return imported;
}

}  // namespace sharelink
