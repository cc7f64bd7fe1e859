// Unit tests of render_view, the resolver's hand-written 200 body: same text as nlohmann's dump, always valid JSON.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/view_json.hpp"
#include "tests/common/test_support.hpp"

namespace sharelink {
namespace {

// The body as nlohmann would write it (SPEC 4's field order): the reference.
nlohmann::ordered_json reference_track(const TrackView& t) {
  nlohmann::ordered_json j;
  j["id"] = t.id;
  j["title"] = t.title;
  j["engine"] = t.engine;
  j["mode"] = t.mode;
  j["measured_duration_seconds"] =
      t.measured_duration_seconds ? nlohmann::ordered_json(*t.measured_duration_seconds) : nullptr;
  j["instrumental"] = t.instrumental;
  j["playback_url"] = t.playback_url ? nlohmann::ordered_json(*t.playback_url) : nullptr;
  j["licence"] = {{"licence_class", t.licence.licence_class},
                  {"licence_version", t.licence.licence_version},
                  {"commercial_use", t.licence.commercial_use},
                  {"requires_attribution", t.licence.requires_attribution}};
  return j;
}

std::string reference_body(const ResolveResult& r) {
  const bool available = r.outcome == ResolveOutcome::ok;
  nlohmann::ordered_json body;
  body["kind"] = to_string(r.target_type);
  body["available"] = available;
  body["message"] = available ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(k_unavailable_message);
  body["share"]["target_type"] = to_string(r.target_type);
  body["share"]["visibility"] = to_string(r.visibility);
  body["share"]["expires_at"] = r.expires_at ? nlohmann::ordered_json(format_rfc3339(*r.expires_at)) : nullptr;
  body["track"] = available && r.track ? reference_track(*r.track) : nullptr;
  if (available && r.collection) {
    body["collection"]["id"] = r.collection->id;
    body["collection"]["name"] = r.collection->name;
    body["collection"]["description"] =
        r.collection->description ? nlohmann::ordered_json(*r.collection->description) : nullptr;
  } else {
    body["collection"] = nullptr;
  }
  if (available && r.tracks) {
    body["tracks"] = nlohmann::ordered_json::array();
    for (const auto& t : *r.tracks) body["tracks"].push_back(reference_track(t));
  } else {
    body["tracks"] = nullptr;
  }
  return body.dump();
}

using sharelink::testing::kept;

TrackView track(std::string id, std::string title = "Late Night Study") {
  TrackView t;
  t.id = kept(std::move(id));
  t.title = kept(std::move(title));
  t.engine = "studio";
  t.mode = "creation";
  t.measured_duration_seconds = 120.4;
  t.instrumental = true;
  t.playback_url = kept("https://music.example.org/v1/music/media/" + std::string(t.id) +
                        "?share=mslink_3a7f2c9e8b14&exp=1&kid=k1&sig=x");
  t.licence = {"personal_only", "2026-01", false, false};
  return t;
}

ResolveResult track_result(TrackView t) {
  ResolveResult r;
  r.outcome = ResolveOutcome::ok;
  r.share_id = "mslink_3a7f2c9e8b14";
  r.target_type = TargetType::track;
  r.visibility = Visibility::link_only;
  r.expires_at = from_unix_seconds(1785234600);
  r.track = std::move(t);
  return r;
}

ResolveResult collection_result(std::vector<TrackView> tracks, std::optional<std::string> description) {
  ResolveResult r;
  r.outcome = ResolveOutcome::ok;
  r.share_id = "mslink_3a7f2c9e8b14";
  r.target_type = TargetType::collection;
  r.visibility = Visibility::public_link;
  r.collection = CollectionView{"mcoll_0123456789ab", "Focus \"deep\" work", std::move(description)};
  r.tracks = std::move(tracks);
  return r;
}

}  // namespace

TEST_CASE("render_view: the same text as the nlohmann reference", "[resolver][render_view]") {
  TrackView bare = track("mtrack_000000000002");
  bare.measured_duration_seconds.reset();
  bare.playback_url.reset();
  bare.instrumental = false;
  bare.licence = {"unclear", "2019", false, true};
  ResolveResult unavailable = track_result(track("mtrack_000000000003"));
  unavailable.outcome = ResolveOutcome::unavailable;
  unavailable.track.reset();
  unavailable.expires_at.reset();
  std::vector<TrackView> hundred;
  for (int i = 0; i < 100; ++i) hundred.push_back(track("mtrack_" + std::to_string(100000000000 + i)));

  struct Case {
    std::string name;
    ResolveResult result;
  };
  const std::vector<Case> cases = {
      {"track", track_result(track("mtrack_b4d9e1c6a72f"))},
      {"nulls and false", track_result(bare)},
      {"unavailable", unavailable},
      {"collection", collection_result({track("mtrack_a"), bare}, "late work")},
      {"collection without description", collection_result({track("mtrack_a")}, std::nullopt)},
      {"collection of removed tracks", collection_result({}, "empty")},
      {"100-track collection", collection_result(hundred, "big")},
      {"escapes", track_result(track("mtrack_e", "q\" b\\ s/ nl\n cr\r tab\t bs\b ff\f nul" + std::string(1, '\0') +
                                                      " x01\x01 x1f\x1f del\x7f"))},
      {"unicode", track_result(track("mtrack_u", "caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x8E\xB5 \xE4\xB8\xAD\xE6\x96\x87"))},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(render_view(c.result) == reference_body(c.result));
  }
}

TEST_CASE("render_view: durations read back as the same number", "[resolver][render_view]") {
  const std::vector<double> values = {120.4, 120.0, 0.0, 0.5, 1.0 / 3.0, 86400.25, 1e-7, 1e20, 123456789012.0, -1.5};
  for (const double value : values) {
    INFO(value);
    TrackView t = track("mtrack_n");
    t.measured_duration_seconds = value;
    const auto parsed = nlohmann::json::parse(render_view(track_result(t)));
    const auto& number = parsed["track"]["measured_duration_seconds"];
    REQUIRE(number.is_number_float());
    CHECK(number.get<double>() == value);
  }
}

TEST_CASE("render_view: a duration that is not finite is null", "[resolver][render_view]") {
  for (const double value : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    TrackView t = track("mtrack_n");
    t.measured_duration_seconds = value;
    CHECK(nlohmann::json::parse(render_view(track_result(t)))["track"]["measured_duration_seconds"].is_null());
  }
}

TEST_CASE("render_view: malformed UTF-8 becomes U+FFFD, never invalid JSON", "[resolver][render_view]") {
  struct Case {
    std::string stored;
    std::string shown;
  };
  const std::vector<Case> cases = {
      {"a\xFFz", "a\xEF\xBF\xBDz"},                   // never a UTF-8 byte
      {"a\xC3", "a\xEF\xBF\xBD"},                      // truncated at the end
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},        // overlong '/'
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // a surrogate
      {"\x80ok", "\xEF\xBF\xBDok"},                    // a lone continuation byte
  };
  for (const auto& c : cases) {
    INFO(nlohmann::json(c.shown).dump());
    const auto parsed = nlohmann::json::parse(render_view(track_result(track("mtrack_x", c.stored))));
    CHECK(parsed["track"]["title"] == c.shown);
  }
}

TEST_CASE("render_view: every byte that needs escaping is found at any position of a long string",
          "[resolver][render_view]") {
  // The writer copies plain text eight bytes at a time: a special byte in
  // any lane of a word, or in the tail after the last whole word, is escaped.
  const std::vector<std::string> specials = {"\"", "\\", std::string(1, '\0'), "\x01", "\x1f", "\n",
                                             "\x7f", "\xC3\xA9", "\xE2\x80\x94", "\xF0\x9F\x8E\xB5"};
  // Malformed UTF-8: nlohmann refuses it, so the title is checked after parsing.
  const std::vector<std::string> malformed = {"\xFF", "\x80", "\xC3"};
  for (std::size_t at = 0; at <= 24; ++at) {
    INFO("at " << at);
    for (const auto& special : specials) {
      std::string title(24, 'a');
      title.insert(at, special);
      const ResolveResult result = track_result(track("mtrack_x", title));
      CHECK(render_view(result) == reference_body(result));
    }
    for (const auto& bad : malformed) {
      std::string title(24, 'a');
      title.insert(at, bad);
      std::string shown(24, 'a');
      shown.insert(at, "\xEF\xBF\xBD");
      CHECK(nlohmann::json::parse(render_view(track_result(track("mtrack_x", title))))["track"]["title"] == shown);
    }
  }
}

}  // namespace sharelink
