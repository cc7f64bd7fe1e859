// Unit tests of parse_track_line: one `sharectl track import` line, checked.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/track_import.hpp"

namespace sharelink {
namespace {

const std::string k_valid =
    R"({"id": "mtrack_a", "title": "Late Night Study", "engine": "studio", "mode": "creation",)"
    R"( "licence_class": "personal_only", "licence_version": "2026-01", "audio_path": "a.mp3")";

std::string line(const std::string& extra = "") { return k_valid + extra + "}"; }

}  // namespace

TEST_CASE("parse_track_line: a valid line", "[track_import]") {
  const ImportedTrack imported = parse_track_line(
      line(R"(, "measured_duration_seconds": 1e300, "instrumental": true, "mime_type": "audio/ogg",)"
           R"( "created_at": "2026-01-02T03:04:05Z", "removed_at": null)"));
  CHECK(imported.track.id == "mtrack_a");
  CHECK(imported.track.title == "Late Night Study");
  CHECK(imported.track.measured_duration_seconds == Approx(1e300));
  CHECK(imported.track.instrumental);
  CHECK(imported.has_mime_type);
  CHECK(imported.track.mime_type == "audio/ogg");
  CHECK(imported.has_created_at);
  CHECK_FALSE(imported.track.removed_at);
}

TEST_CASE("parse_track_line: every problem is a UsageError naming it", "[track_import]") {
  struct Case {
    std::string line;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"not json", "not valid JSON: "},
      {"[1]", "expected a JSON object"},
      {line(R"(, "title": "again")"), "key \"title\" appears twice"},
      {R"({"id": "mtrack_a", "id": "mtrack_b"})", "key \"id\" appears twice"},
      {line(R"(, "instrumental": {"x": 1, "x": 2})"), "key \"x\" appears twice"},
      // A control character in a repeated key is shown escaped, never raw.
      {line(", \"a\x7f" "b\": 1, \"a\x7f" "b\": 2"), "key \"a\\x7fb\" appears twice"},
      {line(R"(, "measured_duration_seconds": 1e400)"), "not valid JSON: number overflow"},
      {line(R"(, "measured_duration_seconds": -1e400)"), "not valid JSON: number overflow"},
      {line(R"(, "measured_duration_seconds": -1)"), "\"measured_duration_seconds\" must be a number >= 0"},
      {line(R"(, "measured_duration_seconds": "12")"), "\"measured_duration_seconds\" must be a number >= 0"},
      {line(R"(, "colour": "blue")"), "unknown key \"colour\""},
      {line(R"(, "mime_type": "audio/\u001b")"), "\"mime_type\": expected a MIME type"},
      {line(R"(, "mime_type": 3)"), "\"mime_type\" must be a non-empty string"},
      {line(R"(, "created_at": "yesterday")"), "\"created_at\" must be an RFC 3339 time"},
      {"{\"id\": \"mtrack_\xff\"}", "not valid JSON: "},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    CHECK_THROWS_AS(parse_track_line(c.line), UsageError);
    CHECK_THROWS_WITH(parse_track_line(c.line), Catch::Contains(c.problem));
  }
}

TEST_CASE("parse_track_line: texts follow the catalogue's rules and limits", "[track_import]") {
  const auto with = [](const std::string& key, const std::string& json_value) {
    std::string text = k_valid;
    const auto at = text.find("\"" + key + "\": \"");
    const auto end = text.find('"', at + key.size() + 5);
    return text.substr(0, at) + "\"" + key + "\": " + json_value + text.substr(end + 1) + "}";
  };
  CHECK(parse_track_line(with("title", "\"" + std::string(300, 't') + "\"")).track.title.size() == 300);
  CHECK_THROWS_WITH(parse_track_line(with("title", "\"" + std::string(301, 't') + "\"")),
                    Catch::Contains("\"title\": expected a non-empty text of at most 300 bytes") &&
                        Catch::EndsWith("got 301 bytes"));
  CHECK_THROWS_WITH(parse_track_line(with("engine", "\"" + std::string(65, 'e') + "\"")),
                    Catch::Contains("\"engine\": expected a non-empty text of at most 64 bytes"));
  for (const char* bad : {R"("a\u0000b")", R"("a\u001bb")", R"("a\rb")", R"("a\u009bb")", R"("a\u007fb")"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH(parse_track_line(with("title", bad)), Catch::StartsWith("\"title\": expected"));
    CHECK_THROWS_WITH(parse_track_line(with("mode", bad)), Catch::StartsWith("\"mode\": expected"));
  }
  CHECK_THROWS_WITH(parse_track_line(with("audio_path", "\"" + std::string(4097, 'a') + "\"")),
                    "\"audio_path\": at most 4096 bytes, got 4097");
}

TEST_CASE("parse_track_line: a parse error quotes the input only escaped", "[track_import]") {
  try {
    parse_track_line("{\"title\": \"\x1b]0;x\x07");
    FAIL("no exception");
  } catch (const UsageError& e) {
    const std::string message = e.what();
    CHECK(message.find('\x1b') == std::string::npos);
    CHECK(message.find('\x07') == std::string::npos);
  }
}

}  // namespace sharelink
