// Fuzzes `sharectl track import` lines: an accepted line holds only what the catalogue allows.
#include <string>

#include "common/catalog_text.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/track_import.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace sharelink;
using sharelink::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line = sharelink::fuzz::text_of(data, size);
  try {
    const ImportedTrack imported = parse_track_line(line);
    const Track& track = imported.track;
    require(is_track_id(track.id), "the id has the SPEC 2 form");
    require(!track.title.empty() && track.title.size() <= k_max_title_bytes && is_clean_text(track.title),
            "the title is clean and within its limit");
    require(!track.engine.empty() && track.engine.size() <= k_max_engine_bytes && is_clean_text(track.engine),
            "the engine is clean and within its limit");
    require(!track.mode.empty() && track.mode.size() <= k_max_mode_bytes && is_clean_text(track.mode),
            "the mode is clean and within its limit");
    require(!imported.has_mime_type || (track.mime_type.size() <= k_max_mime_type_bytes &&
                                        is_clean_text(track.mime_type)),
            "a given MIME type is clean and within its limit");
    require(!track.audio_path.empty() && track.audio_path.size() <= k_max_audio_path_bytes,
            "the audio path is within its limit");
    require(!track.measured_duration_seconds || *track.measured_duration_seconds >= 0,
            "a duration is not negative");
  } catch (const UsageError& e) {
    require(is_clean_text(e.what()), "a problem's description prints safely on a terminal");
  }
  return 0;
}
