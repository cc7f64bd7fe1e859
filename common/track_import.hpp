// One line of `sharectl track import`: a JSON object with the keys of `track show --json`, checked.
#pragma once

#include <string_view>

#include "common/domain.hpp"

namespace sharelink {

struct ImportedTrack {
  Track track;
  bool has_mime_type = false;
  bool has_created_at = false;
};

// Parses and checks one import line: valid JSON (a number too large for a
// double is an error, not infinity), one object, no key twice, only known
// keys, their types, the id form (SPEC 2), the licence class and version,
// times (RFC 3339), the texts by catalog_text's rules and limits (title,
// engine, mode, mime_type) and the audio path's length. Throws UsageError
// describing the first problem (the caller adds FILE:LINE). id, title,
// engine, mode, licence_class, licence_version and audio_path are required;
// audio_path is returned as written (the caller resolves it against
// media_root). Thread-safe.
ImportedTrack parse_track_line(std::string_view line);

}  // namespace sharelink
