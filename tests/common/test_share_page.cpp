// Unit tests of the share page: templates of every kind, licence words, link facts, durations, CSP, oEmbed.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "common/crypto.hpp"
#include "common/share_page.hpp"
#include "common/text.hpp"
#include "common/view_json.hpp"
#include "tests/common/test_support.hpp"

using namespace sharelink;
using namespace std::chrono_literals;

namespace {

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

using sharelink::testing::kept;

LicenceFacts licence(const std::string& cls, bool commercial, bool attribution) {
  return {kept(cls), "2026-01", commercial, attribution};
}

TrackView track(const std::string& id, const std::string& title, std::optional<double> seconds = 120.4,
                LicenceFacts facts = licence("personal_only", false, false)) {
  TrackView t;
  t.id = kept(id);
  t.title = kept(title);
  t.engine = "studio";
  t.mode = "creation";
  t.measured_duration_seconds = seconds;
  t.instrumental = true;
  t.playback_url = kept("https://music.example.org/v1/music/media/" + id +
                        "?share=mslink_3a7f2c9e8b14&exp=1&kid=k1&sig=s");
  t.licence = facts;
  return t;
}

ResolveResult track_result(TrackView t = track("mtrack_b4d9e1c6a72f", "Late Night Study")) {
  ResolveResult r;
  r.outcome = ResolveOutcome::ok;
  r.share_id = "mslink_3a7f2c9e8b14";
  r.target_type = TargetType::track;
  r.visibility = Visibility::link_only;
  r.track = std::move(t);
  r.view_counted = true;
  r.view_count = 1;
  return r;
}

ResolveResult collection_result(std::vector<TrackView> tracks, std::optional<std::string> description = "Late work") {
  ResolveResult r;
  r.outcome = ResolveOutcome::ok;
  r.share_id = "mslink_3a7f2c9e8b14";
  r.target_type = TargetType::collection;
  r.visibility = Visibility::public_link;
  r.collection = CollectionView{"mcoll_7d2e9a4b1c05", "Focus Sessions", std::move(description)};
  r.tracks = std::move(tracks);
  r.view_counted = true;
  r.view_count = 1;
  return r;
}

PageContext context() {
  PageContext c;
  c.site_name = "Studio Nord";
  c.page_url = "https://music.example.org/s/shr_00000000000000000000000000000001";
  c.session = "ps1.k1.mslink_3a7f2c9e8b14.req_5f0c1e2d3a4b6c7d.1785043200.sig";
  c.refresh_url = "https://music.example.org/v1/music/page/playback";
  c.playback_expires_in = 300;
  c.now = k_now;
  return c;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("Share page: a track page shows title, duration, player, licence, meta tags", "[share_page]") {
  const std::string html = render_share_page(track_result(), context());
  CHECK(html.rfind("<!doctype html>\n<html lang=\"en\">", 0) == 0);
  CHECK(contains(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
  CHECK(contains(html, "<title>Late Night Study \xC2\xB7 Studio Nord</title>"));
  CHECK(contains(html, "<h1>Late Night Study</h1>"));
  CHECK(contains(html, "<p class=\"meta\">Instrumental \xC2\xB7 2:00</p>"));
  CHECK(count(html, "<audio controls preload=\"none\"") == 1);
  CHECK(contains(html, "src=\"https://music.example.org/v1/music/media/mtrack_b4d9e1c6a72f?share=mslink_3a7f2c9e8b14&amp;exp=1&amp;kid=k1&amp;sig=s\""));
  CHECK(contains(html, "aria-label=\"Play Late Night Study\""));
  CHECK(contains(html, "Not for commercial use"));
  CHECK(contains(html, "No credit required"));
  CHECK(contains(html, "Licence personal_only, version 2026-01"));
  // SPEC 12 meta tags.
  CHECK(contains(html, "<meta property=\"og:title\" content=\"Late Night Study\">"));
  CHECK(contains(html, "<meta property=\"og:type\" content=\"music.song\">"));
  CHECK(contains(html, "<meta property=\"og:url\" content=\"https://music.example.org/s/shr_00000000000000000000000000000001\">"));
  CHECK(contains(html, "<meta property=\"og:site_name\" content=\"Studio Nord\">"));
  CHECK(contains(html, "<meta property=\"og:description\" content=\"Instrumental track, 2:00. Not for commercial use, no credit required.\">"));
  CHECK(contains(html, "<meta name=\"twitter:card\" content=\"summary\">"));
  CHECK(contains(html, "<meta name=\"robots\" content=\"noindex\">"));  // link_only
  // The refresh script and its session.
  CHECK(contains(html, "data-session=\"ps1.k1.mslink_3a7f2c9e8b14.req_5f0c1e2d3a4b6c7d.1785043200.sig\""));
  CHECK(contains(html, "data-refresh=\"https://music.example.org/v1/music/page/playback\""));
  CHECK(contains(html, "data-expires-in=\"300\""));
  CHECK(contains(html, "<script>" + std::string(page_script()) + "</script>"));
  CHECK(contains(html, "<style>" + std::string(page_style()) + "</style>"));
  CHECK(contains(html, "<footer class=\"foot\">Shared via Studio Nord</footer>"));
  CHECK_FALSE(contains(html, "application/json+oembed"));  // embedding off
  // No inline handlers or styles: the CSP allows neither.
  CHECK_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+=)")));
  CHECK_FALSE(contains(html, " style=\""));
}

TEST_CASE("Share page: a title made of markup is text", "[share_page]") {
  const std::string evil = "<script>alert(1)</script><img src=x onerror=\"alert(2)\">&'";
  auto r = track_result(track("mtrack_b4d9e1c6a72f", evil));
  const std::string html = render_share_page(r, context());
  const std::string escaped =
      "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&amp;&#39;";
  CHECK(contains(html, "<h1>" + escaped + "</h1>"));
  CHECK(contains(html, "<meta property=\"og:title\" content=\"" + escaped + "\">"));
  CHECK(contains(html, "aria-label=\"Play " + escaped + "\""));
  CHECK_FALSE(contains(html, "<script>alert"));
  CHECK_FALSE(contains(html, "<img"));
  CHECK(count(html, "<script>") == 1);  // only the page's own
}

TEST_CASE("Share page: a collection lists its tracks in order with durations", "[share_page]") {
  auto r = collection_result({track("mtrack_000000000003", "Third", 59.6), track("mtrack_000000000001", "First", 3725),
                              track("mtrack_000000000002", "Second", std::nullopt)});
  const std::string html = render_share_page(r, context());
  CHECK(contains(html, "<h1>Focus Sessions</h1>"));
  CHECK(contains(html, "<p class=\"lede\">Late work</p>"));
  CHECK(contains(html, "<p class=\"meta\">3 tracks</p>"));  // total unknown: one duration is
  CHECK(count(html, "<audio controls preload=\"none\"") == 3);
  const auto third = html.find("<h2>Third</h2>");
  const auto first = html.find("<h2>First</h2>");
  const auto second = html.find("<h2>Second</h2>");
  CHECK(third < first);
  CHECK(first < second);
  CHECK(contains(html, "<h2>Third</h2><span class=\"dur\"><span class=\"sr\">Duration </span>1:00</span>"));
  CHECK(contains(html, "<h2>First</h2><span class=\"dur\"><span class=\"sr\">Duration </span>1:02:05</span>"));
  CHECK(contains(html, "<h2>Second</h2></div>"));  // unknown duration: none shown
  CHECK(contains(html, "<meta property=\"og:type\" content=\"music.playlist\">"));
  CHECK(contains(html, "<meta property=\"og:title\" content=\"Focus Sessions\">"));
  CHECK_FALSE(contains(html, "name=\"robots\""));  // public
  // One licence for all: shown once, not per track.
  CHECK(count(html, "Licence personal_only, version 2026-01") == 1);
  CHECK_FALSE(contains(html, "class=\"track-licence\""));
}

TEST_CASE("Share page: tracks with different licences each show theirs", "[share_page]") {
  auto r = collection_result({track("mtrack_000000000001", "A", 60, licence("commercial_cleared", true, false)),
                              track("mtrack_000000000002", "B", 60, licence("unclear", false, true))},
                             std::nullopt);
  const std::string html = render_share_page(r, context());
  CHECK_FALSE(contains(html, "class=\"lede\""));  // no description
  CHECK(contains(html, "<p class=\"meta\">2 tracks \xC2\xB7 2:00</p>"));
  CHECK(contains(html, "<p class=\"track-licence\">Commercial use allowed \xC2\xB7 No credit required \xC2\xB7 commercial_cleared 2026-01</p>"));
  CHECK(contains(html, "<p class=\"track-licence\">Not for commercial use \xC2\xB7 Credit required \xC2\xB7 unclear 2026-01</p>"));
  CHECK_FALSE(contains(html, "id=\"licence-heading\""));
  CHECK(contains(html, "content=\"Collection of 2 tracks, 2:00. Licence terms vary by track.\""));
}

TEST_CASE("Share page: an empty collection says so", "[share_page]") {
  const std::string html = render_share_page(collection_result({}), context());
  CHECK(contains(html, "There are no tracks in this collection right now."));
  CHECK(contains(html, "<p class=\"meta\">0 tracks</p>"));
  CHECK_FALSE(contains(html, "<audio"));
}

TEST_CASE("Share page: every licence class in plain words", "[share_page]") {
  const auto [cls, commercial, attribution, commercial_words, attribution_words, note] =
      GENERATE(table<std::string, bool, bool, std::string, std::string, bool>({
          {"commercial_cleared", true, false, "Commercial use allowed", "No credit required", false},
          {"commercial_enterprise", true, false, "Commercial use allowed", "No credit required", false},
          {"commercial_cleared", false, false, "Not for commercial use", "No credit required", false},  // no_commercial
          {"personal_only", false, false, "Not for commercial use", "No credit required", false},
          {"unclear", false, true, "Not for commercial use", "Credit required", true},
          {"commercial_cleared", true, true, "Commercial use allowed", "Credit required", false},
      }));
  INFO(cls << " " << commercial << " " << attribution);
  const LicenceFacts facts = licence(cls, commercial, attribution);
  const LicenceWords words = licence_words(facts);
  CHECK(words.commercial == commercial_words);
  CHECK(words.attribution == attribution_words);
  CHECK(words.terms == "Licence " + cls + ", version 2026-01");
  CHECK(words.note.empty() == !note);
  const std::string html = render_share_page(track_result(track("mtrack_b4d9e1c6a72f", "T", 60, facts)), context());
  CHECK(contains(html, commercial_words + "</li>"));
  CHECK(contains(html, attribution_words + "</li>"));
  CHECK(contains(html, commercial ? "<li class=\"yes\">" : "<li class=\"no\">"));
  CHECK(contains(html, words.terms));
  CHECK(contains(html, "The licence of this music is unclear") == note);
}

TEST_CASE("Share page: expiry and views-left lines when they apply", "[share_page]") {
  struct Case {
    std::optional<TimePoint> expires_at;
    std::optional<std::int64_t> max_views;
    std::int64_t view_count;
    bool counted;
    std::string expected;  // empty: no line
  };
  const TimePoint expiry = from_unix_seconds(1785234600);  // 2026-07-28T10:30:00Z
  const std::vector<Case> cases = {
      {std::nullopt, std::nullopt, 5, true, ""},
      {expiry, std::nullopt, 5, true,
       "<p class=\"link-facts\">This link expires on <time datetime=\"2026-07-28T10:30:00Z\">28 July 2026 at 10:30 "
       "UTC</time>.</p>"},
      {std::nullopt, 5, 2, true, "<p class=\"link-facts\">It can be opened 3 more times.</p>"},
      {std::nullopt, 3, 2, true, "<p class=\"link-facts\">It can be opened once more.</p>"},
      {std::nullopt, 1, 1, true,
       "<p class=\"link-facts\">It cannot be opened again, so keep this page open to listen.</p>"},
      {std::nullopt, 1, 1, false, "<p class=\"link-facts\">It cannot be opened again.</p>"},
      {std::nullopt, 2, 7, true,
       "<p class=\"link-facts\">It cannot be opened again, so keep this page open to listen.</p>"},
      {expiry, 10, 1, true,
       "<p class=\"link-facts\">This link expires on <time datetime=\"2026-07-28T10:30:00Z\">28 July 2026 at 10:30 "
       "UTC</time>. It can be opened 9 more times.</p>"},
  };
  for (const auto& c : cases) {
    INFO(c.expected);
    auto r = track_result();
    r.expires_at = c.expires_at;
    r.max_views = c.max_views;
    r.view_count = c.view_count;
    r.view_counted = c.counted;
    const std::string html = render_share_page(r, context());
    if (c.expected.empty()) {
      CHECK_FALSE(contains(html, "<p class=\"link-facts\">"));
    } else {
      CHECK(contains(html, c.expected));
    }
  }
}

TEST_CASE("Share page: previews and HEAD get the facts and no player or script", "[share_page]") {
  PageContext c = context();
  c.preview = true;
  c.session.clear();
  auto r = track_result();
  r.track->playback_url.reset();
  const std::string html = render_share_page(r, c);
  CHECK(contains(html, "<meta property=\"og:title\" content=\"Late Night Study\">"));
  CHECK(contains(html, "Open this link in a web browser to listen."));
  CHECK_FALSE(contains(html, "<audio"));
  CHECK_FALSE(contains(html, "<script"));
  CHECK_FALSE(contains(html, "data-session"));
  CHECK_FALSE(page_has_player(r, c));
  CHECK(page_has_player(r, context()));
}

TEST_CASE("Share page: without a session the page plays its URLs and has no script", "[share_page]") {
  PageContext c = context();
  c.session.clear();
  const std::string html = render_share_page(track_result(), c);
  CHECK(contains(html, "<audio controls preload=\"none\" src=\""));
  CHECK_FALSE(contains(html, "<script"));
}

TEST_CASE("Share page: removed content is a page with the message and no player", "[share_page]") {
  for (const char* kind : {"track", "collection"}) {
    INFO(kind);
    ResolveResult r;
    r.outcome = ResolveOutcome::unavailable;
    r.target_type = *parse_target_type(kind);
    r.visibility = Visibility::link_only;
    const std::string html = render_share_page(r, context());
    CHECK(contains(html, "<h1>This music is no longer available</h1>"));
    CHECK(contains(html, std::string(k_unavailable_message)));
    CHECK(contains(html, "<meta property=\"og:description\" content=\"This music is no longer available.\">"));
    CHECK(contains(html, std::string("og:type\" content=\"") + (kind == std::string("track") ? "music.song" : "music.playlist")));
    CHECK_FALSE(contains(html, "<audio"));
    CHECK_FALSE(contains(html, "<script"));
    PageContext embeddable = context();
    embeddable.oembed_url = "https://music.example.org/oembed?url=x&format=json";
    CHECK_FALSE(contains(render_share_page(r, embeddable), "application/json+oembed"));  // /oembed answers 404
  }
}

TEST_CASE("Share page: the oEmbed discovery link when embedding is on", "[share_page]") {
  PageContext c = context();
  c.oembed_url = "https://music.example.org/oembed?url=https%3A%2F%2Fmusic.example.org%2Fs%2Fshr_1&format=json";
  const std::string html = render_share_page(track_result(), c);
  CHECK(contains(html, "<link rel=\"alternate\" type=\"application/json+oembed\" href=\"https://music.example.org/oembed?url=https%3A%2F%2Fmusic.example.org%2Fs%2Fshr_1&amp;format=json\" title=\"Late Night Study\">"));
  c.embed = true;
  const std::string embed = render_share_page(track_result(), c);
  CHECK(contains(embed, "<body class=\"embed\">"));
  CHECK_FALSE(contains(embed, "application/json+oembed"));
  CHECK(contains(embed, "<footer class=\"foot\">Shared via Studio Nord</footer>"));
  CHECK_FALSE(contains(embed, "class=\"card\""));  // compact: the licence in one line
  CHECK(contains(embed, "<audio controls preload=\"none\""));
  CHECK(contains(embed, "Not for commercial use \xC2\xB7 No credit required \xC2\xB7 personal_only 2026-01"));
}

TEST_CASE("Share page: each error page has its message, code and request id", "[share_page]") {
  const auto [error, heading] = GENERATE(table<PublicError, std::string>({
      {PublicError::share_not_found, "This link does not lead anywhere"},
      {PublicError::share_revoked, "This link has been turned off"},
      {PublicError::share_expired, "This link has expired"},
      {PublicError::share_limit_reached, "This link has been used up"},
      {PublicError::rate_limited, "Too many requests"},
      {PublicError::bad_request, "This request could not be understood"},
      {PublicError::not_found, "Page not found"},
      {PublicError::method_not_allowed, "This page cannot take that request"},
      {PublicError::internal_error, "Something went wrong"},
      {PublicError::service_unavailable, "Temporarily unavailable"},
  }));
  const std::string html = render_error_page(error, "req_5f0c1e2d3a4b6c7d", 7, context());
  INFO(error_code(error));
  CHECK(contains(html, "<h1>" + heading + "</h1>"));
  CHECK(contains(html, "<title>" + heading + " \xC2\xB7 Studio Nord</title>"));
  CHECK(contains(html, "Error " + std::to_string(http_status(error))));
  CHECK(contains(html, "Code <code>" + std::string(error_code(error)) + "</code>"));
  CHECK(contains(html, "Request id <code>req_5f0c1e2d3a4b6c7d</code>"));
  CHECK(contains(html, "<meta name=\"robots\" content=\"noindex\">"));
  CHECK(contains(html, "Try again in 7 seconds.") == (error == PublicError::rate_limited));
  CHECK(contains(html, "<footer class=\"foot\">Studio Nord</footer>"));
  CHECK_FALSE(contains(html, "og:title"));
  CHECK_FALSE(contains(html, "<script"));
}

TEST_CASE("format_duration: m:ss, h:mm:ss past an hour, nothing when unknown", "[share_page]") {
  const auto [seconds, text] = GENERATE(table<std::optional<double>, std::string>({
      {0.0, "0:00"},
      {0.4, "0:00"},
      {0.5, "0:01"},
      {4.0, "0:04"},
      {59.6, "1:00"},
      {120.4, "2:00"},
      {605, "10:05"},
      {3599.4, "59:59"},
      {3599.5, "1:00:00"},
      {3725, "1:02:05"},
      {36000, "10:00:00"},
      {std::nullopt, ""},
      {-1.0, ""},
      {std::numeric_limits<double>::quiet_NaN(), ""},
      {std::numeric_limits<double>::infinity(), ""},
  }));
  INFO(seconds.value_or(-99));
  CHECK(format_duration(seconds) == text);
}

TEST_CASE("format_expiry: day, month name, year and UTC time", "[share_page]") {
  CHECK(format_expiry(from_unix_seconds(1785234600)) == "28 July 2026 at 10:30 UTC");
  CHECK(format_expiry(from_unix_seconds(0)) == "1 January 1970 at 00:00 UTC");
  CHECK(format_expiry(from_unix_seconds(1798761599)) == "31 December 2026 at 23:59 UTC");
}

TEST_CASE("content_security_policy: strict by default, each source only when given", "[share_page]") {
  const std::string style = page_style_hash();
  const std::string script = page_script_hash();
  CHECK(style == "'sha256-" + base64_encode(sha256(page_style())) + "'");
  CHECK(script == "'sha256-" + base64_encode(sha256(page_script())) + "'");

  CHECK(content_security_policy({}) ==
        "default-src 'none'; style-src " + style +
            "; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");

  CspSources player;
  player.script = true;
  player.media = {"https://music.example.org/v1/music/media/"};
  player.connect = {"https://music.example.org/v1/music/page/playback"};
  CHECK(content_security_policy(player) ==
        "default-src 'none'; style-src " + style + "; script-src " + script +
            "; media-src https://music.example.org/v1/music/media/"
            "; connect-src https://music.example.org/v1/music/page/playback"
            "; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");

  CspSources embed = player;
  embed.frame_ancestors = {"https://blog.example.org", "http://localhost:8080"};
  const std::string framed = content_security_policy(embed);
  CHECK(framed.ends_with("; frame-ancestors https://blog.example.org http://localhost:8080"));
  for (const auto& policy : {content_security_policy({}), content_security_policy(player), framed}) {
    CHECK_FALSE(contains(policy, "unsafe"));
    CHECK_FALSE(contains(policy, "*"));
  }
}

TEST_CASE("url_origin and percent_encode", "[share_page]") {
  CHECK(url_origin("https://music.example.org/base/x?y") == "https://music.example.org");
  CHECK(url_origin("http://127.0.0.1:8787") == "http://127.0.0.1:8787");
  CHECK(url_origin("http://[::1]:9/x") == "http://[::1]:9");
  CHECK(url_origin("ftp://x/y").empty());
  CHECK(url_origin("https:///x").empty());
  CHECK(percent_encode("https://h/s/shr_1?a=b&c") == "https%3A%2F%2Fh%2Fs%2Fshr_1%3Fa%3Db%26c");
  CHECK(percent_encode("A-z_0.9~") == "A-z_0.9~");
}

TEST_CASE("render_playback_refresh: the tracks' fresh URLs and their lifetime", "[share_page]") {
  auto r = collection_result({track("mtrack_000000000001", "A"), track("mtrack_000000000002", "B")});
  const auto body = nlohmann::json::parse(render_playback_refresh(r, 42));
  CHECK(body["expires_in"] == 42);
  REQUIRE(body["tracks"].size() == 2);
  CHECK(body["tracks"][0]["id"] == "mtrack_000000000001");
  CHECK(body["tracks"][1]["playback_url"] == *r.tracks->at(1).playback_url);
  CHECK(nlohmann::json::parse(render_playback_refresh(track_result(), 5))["tracks"].size() == 1);
}

TEST_CASE("render_oembed: oEmbed 1.0 rich with an escaped iframe, sized within the maxima", "[share_page]") {
  auto r = track_result(track("mtrack_b4d9e1c6a72f", "Say \"hi\" <b>"));
  const auto body = nlohmann::json::parse(render_oembed(r, "Studio Nord", "https://music.example.org/",
                                                        "https://music.example.org/s/shr_1/embed",
                                                        embed_size(r, std::nullopt, std::nullopt)));
  CHECK(body["version"] == "1.0");
  CHECK(body["type"] == "rich");
  CHECK(body["title"] == "Say \"hi\" <b>");
  CHECK(body["provider_name"] == "Studio Nord");
  CHECK(body["width"] == 480);
  CHECK(body["height"] == 190);
  CHECK(body["html"] == "<iframe src=\"https://music.example.org/s/shr_1/embed\" width=\"480\" height=\"190\" "
                        "title=\"Say &quot;hi&quot; &lt;b&gt;\" loading=\"lazy\" style=\"border:0\"></iframe>");
  const EmbedSize small = embed_size(r, 300, 100);
  CHECK((small.width == 300 && small.height == 100));
  const EmbedSize larger = embed_size(r, 2000, 2000);
  CHECK((larger.width == 480 && larger.height == 190));
  auto c = collection_result({track("mtrack_000000000001", "A"), track("mtrack_000000000002", "B")});
  CHECK(embed_size(c, std::nullopt, std::nullopt).height > embed_size(r, std::nullopt, std::nullopt).height);
}

TEST_CASE("Share page: a 20-track collection page stays under 30 KB", "[share_page]") {
  std::vector<TrackView> tracks;
  for (int i = 0; i < 20; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "mtrack_%012d", i);
    tracks.push_back(track(id, "A track with a fairly long title, number " + std::to_string(i), 245.5,
                           licence(i % 2 ? "commercial_cleared" : "personal_only", i % 2 == 1, false)));
    // A playback URL of realistic length (builtin mode, 43-character signature).
    tracks.back().playback_url =
        kept("https://music.example.org/v1/music/media/" + std::string(id) +
             "?share=mslink_3a7f2c9e8b14&exp=1785000300&kid=k20261124a&sig=" + std::string(43, 's'));
  }
  const std::string html = render_share_page(collection_result(tracks), context());
  INFO(html.size());
  CHECK(html.size() < 30 * 1024);
}
