#include "common/share_page.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/html.hpp"
#include "common/view_json.hpp"

namespace sharelink {
namespace {

constexpr const char* k_months[] = {"January", "February", "March",     "April",   "May",      "June",
                                    "July",    "August",   "September", "October", "November", "December"};

// Builds one page: every text goes through text() or attr(), so nothing
// from the catalogue reaches the output unescaped.
class Html {
 public:
  Html& raw(std::string_view markup) {
    out_.append(markup);
    return *this;
  }
  Html& text(std::string_view value) {
    append_html_escaped(out_, value);
    return *this;
  }
  // name="value", with a leading space.
  Html& attr(std::string_view name, std::string_view value) {
    out_.append(" ").append(name).append("=\"");
    append_html_escaped(out_, value);
    out_.append("\"");
    return *this;
  }
  // <meta property|name="key" content="value">
  Html& meta(std::string_view kind, std::string_view key, std::string_view content) {
    raw("<meta").attr(kind, key).attr("content", content).raw(">\n");
    return *this;
  }
  std::string take() { return std::move(out_); }
  void reserve(std::size_t n) { out_.reserve(n); }

 private:
  std::string out_;
};

const std::vector<TrackView>& tracks_of(const ResolveResult& result) {
  static const std::vector<TrackView> none;
  return result.tracks ? *result.tracks : none;
}

bool same_licence(const LicenceFacts& a, const LicenceFacts& b) {
  return a.licence_class == b.licence_class && a.licence_version == b.licence_version &&
         a.commercial_use == b.commercial_use && a.requires_attribution == b.requires_attribution;
}

// The one licence every track of the page has, if they all have the same.
std::optional<LicenceFacts> common_licence(const ResolveResult& result) {
  if (result.track) return result.track->licence;
  const auto& tracks = tracks_of(result);
  if (tracks.empty()) return std::nullopt;
  for (const auto& t : tracks) {
    if (!same_licence(t.licence, tracks.front().licence)) return std::nullopt;
  }
  return tracks.front().licence;
}

std::optional<double> total_duration(const std::vector<TrackView>& tracks) {
  double total = 0;
  for (const auto& t : tracks) {
    if (!t.measured_duration_seconds || !std::isfinite(*t.measured_duration_seconds)) return std::nullopt;
    total += *t.measured_duration_seconds;
  }
  return total;
}

std::string count_words(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// "Instrumental · 2:00" for a track; "3 tracks · 12:04" for a collection.
std::string meta_line(const ResolveResult& result) {
  std::vector<std::string> parts;
  if (result.track) {
    if (result.track->instrumental) parts.emplace_back("Instrumental");
    if (auto d = format_duration(result.track->measured_duration_seconds); !d.empty()) parts.push_back(d);
  } else {
    const auto& tracks = tracks_of(result);
    parts.push_back(count_words(tracks.size(), "track", "tracks"));
    if (!tracks.empty()) {
      if (auto d = format_duration(total_duration(tracks)); !d.empty()) parts.push_back(d);
    }
  }
  std::string line;
  for (const auto& part : parts) {
    if (!line.empty()) line += " \xC2\xB7 ";  // middle dot
    line += part;
  }
  return line;
}

std::string views_sentence(const ResolveResult& result) {
  if (!result.max_views) return {};
  const std::int64_t left = std::max<std::int64_t>(0, *result.max_views - result.view_count);
  if (left == 0) {
    return result.view_counted ? "It cannot be opened again, so keep this page open to listen."
                               : "It cannot be opened again.";
  }
  if (left == 1) return "It can be opened once more.";
  return "It can be opened " + std::to_string(left) + " more times.";
}

void link_facts(Html& html, const ResolveResult& result) {
  const std::string views = views_sentence(result);
  if (!result.expires_at && views.empty()) return;
  html.raw("<p class=\"link-facts\">");
  if (result.expires_at) {
    html.raw("This link expires on <time").attr("datetime", format_rfc3339(*result.expires_at)).raw(">");
    html.text(format_expiry(*result.expires_at)).raw("</time>.");
    if (!views.empty()) html.raw(" ");
  }
  html.text(views).raw("</p>\n");
}

void licence_card(Html& html, const LicenceFacts& facts) {
  const LicenceWords words = licence_words(facts);
  html.raw("<section class=\"card\" aria-labelledby=\"licence-heading\">\n<h2 id=\"licence-heading\">Licence</h2>\n");
  html.raw("<ul class=\"facts\">\n<li class=\"").raw(facts.commercial_use ? "yes" : "no");
  html.raw("\"><span aria-hidden=\"true\">").raw(facts.commercial_use ? "\xE2\x9C\x93" : "\xE2\x9C\x95");
  html.raw("</span>").text(words.commercial).raw("</li>\n<li class=\"").raw(facts.requires_attribution ? "credit" : "yes");
  html.raw("\"><span aria-hidden=\"true\">").raw(facts.requires_attribution ? "!" : "\xE2\x9C\x93");
  html.raw("</span>").text(words.attribution).raw("</li>\n</ul>\n");
  html.raw("<p class=\"terms\">").text(words.terms).raw("</p>\n");
  if (!words.note.empty()) html.raw("<p class=\"note\">").text(words.note).raw("</p>\n");
  html.raw("</section>\n");
}

std::string licence_line(const LicenceFacts& facts) {
  const LicenceWords words = licence_words(facts);
  std::string line = words.commercial + " \xC2\xB7 " + words.attribution + " \xC2\xB7 ";
  line.append(facts.licence_class).append(" ").append(facts.licence_version);
  return line;
}

void audio_player(Html& html, const TrackView& track) {
  html.raw("<audio controls preload=\"none\"");
  if (track.playback_url) html.attr("src", *track.playback_url);
  html.attr("data-track", track.id).attr("aria-label", "Play " + std::string(track.title)).raw("></audio>\n");
}

void head(Html& html, std::string_view title, const PageContext& context, bool noindex,
          const ResolveResult* result) {
  html.raw("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
  html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  html.raw("<meta name=\"color-scheme\" content=\"light dark\">\n");
  if (noindex) html.raw("<meta name=\"robots\" content=\"noindex\">\n");
  html.raw("<title>").text(title).raw(" \xC2\xB7 ").text(context.site_name).raw("</title>\n");
  if (result != nullptr) {
    const std::string description = page_description(*result);
    const std::string_view og_title =
        result->outcome == ResolveOutcome::ok
            ? (result->track ? result->track->title : (result->collection ? result->collection->name : title))
            : title;
    html.meta("name", "description", description);
    html.meta("property", "og:title", og_title);
    html.meta("property", "og:type",
              result->target_type == TargetType::collection ? "music.playlist" : "music.song");
    html.meta("property", "og:url", context.page_url);
    html.meta("property", "og:site_name", context.site_name);
    html.meta("property", "og:description", description);
    html.meta("name", "twitter:card", "summary");
    // Only a playable page is embeddable: /oembed answers 404 for removed content.
    if (!context.oembed_url.empty() && !context.embed && result->outcome == ResolveOutcome::ok) {
      html.raw("<link rel=\"alternate\" type=\"application/json+oembed\"").attr("href", context.oembed_url);
      html.attr("title", og_title).raw(">\n");
    }
  }
  // An empty icon: browsers do not ask the server for /favicon.ico.
  html.raw("<link rel=\"icon\" href=\"data:,\">\n");
  html.raw("<style>").raw(page_style()).raw("</style>\n</head>\n");
}

void foot(Html& html, const PageContext& context, bool script, bool shared = true) {
  html.raw("<footer class=\"foot\">").raw(shared ? "Shared via " : "").text(context.site_name).raw("</footer>\n");
  if (script) html.raw("<script>").raw(page_script()).raw("</script>\n");
  html.raw("</body>\n</html>\n");
}

void open_main(Html& html, const PageContext& context, bool with_session) {
  html.raw("<main class=\"page\"");
  if (with_session) {
    html.attr("data-session", context.session).attr("data-refresh", context.refresh_url);
    html.attr("data-expires-in", std::to_string(context.playback_expires_in));
  }
  html.raw(">\n");
}

}  // namespace

bool page_has_player(const ResolveResult& result, const PageContext& context) {
  return result.outcome == ResolveOutcome::ok && !context.preview;
}

namespace {

// The parts every 200 page shares: head, body, <main> (with the page session
// when the page plays), the hero with title and meta line.
void open_page(Html& html, const ResolveResult& result, const PageContext& context, std::string_view title,
               bool script) {
  head(html, title, context, result.visibility != Visibility::public_link, &result);
  html.raw(context.embed ? "<body class=\"embed\">\n" : "<body>\n");
  open_main(html, context, script);
}

void hero(Html& html, const ResolveResult& result, bool collection, std::string_view title) {
  // A cover tile made of a gradient and a note (no image to fetch).
  html.raw("<header class=\"hero\">\n<div class=\"art\" aria-hidden=\"true\">");
  html.raw(collection ? "\xE2\x99\xAB" : "\xE2\x99\xAA").raw("</div>\n<div class=\"hero-text\">\n");
  html.raw("<p class=\"eyebrow\">").raw(collection ? "Shared collection" : "Shared track").raw("</p>\n");
  html.raw("<h1>").text(title).raw("</h1>\n");
  if (const std::string meta = meta_line(result); !meta.empty()) html.raw("<p class=\"meta\">").text(meta).raw("</p>\n");
  html.raw("</div>\n</header>\n");
}

void status_line(Html& html) {
  html.raw("<p id=\"playback-status\" class=\"status\" role=\"status\" aria-live=\"polite\"></p>\n");
}

void close_page(Html& html, const ResolveResult& result, const PageContext& context, bool script) {
  if (!context.embed) link_facts(html, result);
  html.raw("</main>\n");
  foot(html, context, script);
}

// Template: a track.
std::string track_page(const ResolveResult& result, const PageContext& context) {
  const TrackView& track = *result.track;
  const bool player = page_has_player(result, context);
  const bool script = player && !context.session.empty();
  Html html;
  html.reserve(8192);
  open_page(html, result, context, track.title, script);
  hero(html, result, false, track.title);
  if (player) {
    html.raw("<div class=\"player\">\n");
    audio_player(html, track);
    html.raw("</div>\n");
    status_line(html);
  } else {
    html.raw("<p class=\"listen\">Open this link in a web browser to listen.</p>\n");
  }
  if (context.embed) {
    html.raw("<p class=\"meta\">").text(licence_line(track.licence)).raw("</p>\n");
  } else {
    licence_card(html, track.licence);
  }
  close_page(html, result, context, script);
  return html.take();
}

// Template: a collection (its tracks in order; one licence card when they all share one).
std::string collection_page(const ResolveResult& result, const PageContext& context) {
  const std::string name = result.collection ? result.collection->name : to_string(result.target_type);
  const auto& tracks = tracks_of(result);
  const bool player = page_has_player(result, context);
  const bool script = player && !context.session.empty() && !tracks.empty();
  Html html;
  html.reserve(8192 + 640 * tracks.size());
  open_page(html, result, context, name, script);
  hero(html, result, true, name);
  if (result.collection && result.collection->description && !result.collection->description->empty()) {
    html.raw("<p class=\"lede\">").text(*result.collection->description).raw("</p>\n");
  }
  if (!player) html.raw("<p class=\"listen\">Open this link in a web browser to listen.</p>\n");
  if (player && !tracks.empty()) status_line(html);
  const auto shared_licence = common_licence(result);
  const bool licence_per_track = !shared_licence || context.embed;
  if (!licence_per_track && !tracks.empty()) licence_card(html, *shared_licence);
  if (tracks.empty()) {
    html.raw("<p class=\"empty\">There are no tracks in this collection right now.</p>\n");
  } else {
    html.raw("<ol class=\"tracks\">\n");
    std::size_t number = 0;
    for (const auto& track : tracks) {
      ++number;
      html.raw("<li class=\"track\">\n<div class=\"track-head\"><span class=\"num\" aria-hidden=\"true\">");
      html.raw(std::to_string(number)).raw("</span><h2>").text(track.title).raw("</h2>");
      if (auto d = format_duration(track.measured_duration_seconds); !d.empty()) {
        html.raw("<span class=\"dur\"><span class=\"sr\">Duration </span>").text(d).raw("</span>");
      }
      html.raw("</div>\n");
      if (player) audio_player(html, track);
      if (licence_per_track) html.raw("<p class=\"track-licence\">").text(licence_line(track.licence)).raw("</p>\n");
      html.raw("</li>\n");
    }
    html.raw("</ol>\n");
  }
  close_page(html, result, context, script);
  return html.take();
}

// Template: content removed by its creator (no player).
std::string removed_page(const ResolveResult& result, const PageContext& context) {
  Html html;
  open_page(html, result, context, "No longer available", false);
  html.raw("<p class=\"eyebrow\">")
      .raw(result.target_type == TargetType::collection ? "Shared collection" : "Shared track");
  html.raw("</p>\n<h1>This music is no longer available</h1>\n<p class=\"lede\">").text(k_unavailable_message);
  html.raw("</p>\n</main>\n");
  foot(html, context, false);
  return html.take();
}

}  // namespace

std::string render_share_page(const ResolveResult& result, const PageContext& context) {
  if (result.outcome != ResolveOutcome::ok) return removed_page(result, context);
  if (result.track) return track_page(result, context);
  return collection_page(result, context);
}

std::string render_error_page(PublicError error, std::string_view request_id, int retry_after,
                              const PageContext& context) {
  struct Words {
    const char* heading;
    const char* text;
  };
  Words words{"Something went wrong", "Please try again later."};
  switch (error) {
    case PublicError::share_not_found:
      words = {"This link does not lead anywhere",
               "Check that you have the whole link. If someone sent it to you, ask them for a new one."};
      break;
    case PublicError::share_revoked:
      words = {"This link has been turned off",
               "The person who shared it has revoked it. Ask them for a new link if you still need the music."};
      break;
    case PublicError::share_expired:
      words = {"This link has expired",
               "It was valid until a set date that has passed. Ask the person who shared it for a new link."};
      break;
    case PublicError::share_limit_reached:
      words = {"This link has been used up",
               "It could be opened a limited number of times, and every one has been used. Ask the person "
               "who shared it for a new link."};
      break;
    case PublicError::rate_limited:
      words = {"Too many requests", "This address has opened too many links in a short time."};
      break;
    case PublicError::bad_request:
      words = {"This request could not be understood", "Check the link and try again."};
      break;
    case PublicError::not_found:
      words = {"Page not found", "There is nothing at this address."};
      break;
    case PublicError::method_not_allowed:
      words = {"This page cannot take that request", "A share page can only be opened (GET or HEAD); nothing can be sent to it."};
      break;
    case PublicError::service_unavailable:
      words = {"Temporarily unavailable", "The service cannot answer right now. Please try again in a moment."};
      break;
    default:
      break;
  }
  Html html;
  head(html, words.heading, context, true, nullptr);
  html.raw(context.embed ? "<body class=\"embed\">\n" : "<body>\n");
  html.raw("<main class=\"page\">\n<p class=\"eyebrow\">Error ").raw(std::to_string(http_status(error)));
  html.raw("</p>\n<h1>").text(words.heading).raw("</h1>\n<p class=\"lede\">").text(words.text).raw("</p>\n");
  if (error == PublicError::rate_limited && retry_after > 0) {
    html.raw("<p class=\"meta\">Try again in ").text(count_words(static_cast<std::size_t>(retry_after), "second", "seconds"));
    html.raw(".</p>\n");
  }
  html.raw("<p class=\"ref\">Code <code>").text(error_code(error)).raw("</code> \xC2\xB7 Request id <code>");
  html.text(request_id).raw("</code></p>\n</main>\n");
  foot(html, context, false, false);
  return html.take();
}

std::string content_security_policy(const CspSources& sources) {
  std::string csp = "default-src 'none'; style-src " + page_style_hash();
  if (sources.script) csp += "; script-src " + page_script_hash();
  auto list = [&](const char* directive, const std::vector<std::string>& values) {
    if (values.empty()) return;
    csp += "; ";
    csp += directive;
    for (const auto& value : values) csp += " " + value;
  };
  list("media-src", sources.media);
  list("connect-src", sources.connect);
  csp += "; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors";
  if (sources.frame_ancestors.empty()) {
    csp += " 'none'";
  } else {
    for (const auto& origin : sources.frame_ancestors) csp += " " + origin;
  }
  return csp;
}

std::string format_duration(std::optional<double> seconds) {
  if (!seconds || !std::isfinite(*seconds) || *seconds < 0 || *seconds > 1e9) return {};
  const auto total = static_cast<long long>(std::llround(*seconds));
  const long long h = total / 3600;
  const long long m = (total / 60) % 60;
  const long long s = total % 60;
  auto two = [](long long v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  if (h > 0) return std::to_string(h) + ":" + two(m) + ":" + two(s);
  return std::to_string(m) + ":" + two(s);
}

std::string format_expiry(TimePoint t) {
  const std::time_t seconds = static_cast<std::time_t>(to_unix_seconds(t));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  auto two = [](int v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  return std::to_string(utc.tm_mday) + " " + k_months[utc.tm_mon] + " " + std::to_string(utc.tm_year + 1900) +
         " at " + two(utc.tm_hour) + ":" + two(utc.tm_min) + " UTC";
}

LicenceWords licence_words(const LicenceFacts& facts) {
  LicenceWords words;
  words.commercial = facts.commercial_use ? "Commercial use allowed" : "Not for commercial use";
  words.attribution = facts.requires_attribution ? "Credit required" : "No credit required";
  words.terms.append("Licence ")
      .append(facts.licence_class)
      .append(", version ")
      .append(facts.licence_version);
  if (facts.licence_class == "unclear") {
    words.note = "The licence of this music is unclear, so the strictest terms apply until it is cleared.";
  }
  return words;
}

std::string page_description(const ResolveResult& result) {
  if (result.outcome != ResolveOutcome::ok) return "This music is no longer available.";
  std::string text;
  if (result.track) {
    text = result.track->instrumental ? "Instrumental track" : "Track";
    if (auto d = format_duration(result.track->measured_duration_seconds); !d.empty()) text += ", " + d;
  } else {
    const auto& tracks = tracks_of(result);
    text = "Collection of " + count_words(tracks.size(), "track", "tracks");
    if (!tracks.empty()) {
      if (auto d = format_duration(total_duration(tracks)); !d.empty()) text += ", " + d;
    }
  }
  if (const auto licence = common_licence(result)) {
    const LicenceWords words = licence_words(*licence);
    std::string attribution = words.attribution;
    attribution[0] = static_cast<char>(attribution[0] - 'A' + 'a');
    text += ". " + words.commercial + ", " + attribution + ".";
  } else if (!tracks_of(result).empty()) {
    text += ". Licence terms vary by track.";
  } else {
    text += ".";
  }
  return text;
}

std::string url_origin(std::string_view url) {
  std::size_t scheme_end = 0;
  if (url.starts_with("http://")) {
    scheme_end = 7;
  } else if (url.starts_with("https://")) {
    scheme_end = 8;
  } else {
    return {};
  }
  const std::size_t end = url.find_first_of("/?#", scheme_end);
  if (end == scheme_end) return {};
  return std::string(url.substr(0, end));
}

EmbedSize embed_size(const ResolveResult& result, std::optional<int> max_width, std::optional<int> max_height) {
  EmbedSize size;
  size.width = 480;
  if (result.target_type == TargetType::collection) {
    const auto n = static_cast<int>(std::min<std::size_t>(tracks_of(result).size(), 5));
    size.height = 110 + 128 * std::max(n, 1);
  } else {
    size.height = 190;
  }
  if (max_width) size.width = std::max(1, std::min(size.width, *max_width));
  if (max_height) size.height = std::max(1, std::min(size.height, *max_height));
  return size;
}

std::string render_playback_refresh(const ResolveResult& result, int expires_in) {
  nlohmann::ordered_json body;
  body["expires_in"] = expires_in;
  body["tracks"] = nlohmann::ordered_json::array();
  auto add = [&](const TrackView& track) {
    nlohmann::ordered_json entry;
    entry["id"] = track.id;
    entry["playback_url"] = track.playback_url ? nlohmann::ordered_json(*track.playback_url) : nullptr;
    body["tracks"].push_back(std::move(entry));
  };
  if (result.track) add(*result.track);
  for (const auto& track : tracks_of(result)) add(track);
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string render_oembed(const ResolveResult& result, std::string_view site_name, std::string_view provider_url,
                          std::string_view embed_url, EmbedSize size) {
  const std::string_view title = result.track
                                     ? result.track->title
                                     : (result.collection ? std::string_view(result.collection->name) : "");
  Html iframe;
  iframe.raw("<iframe").attr("src", embed_url).attr("width", std::to_string(size.width));
  iframe.attr("height", std::to_string(size.height)).attr("title", title);
  iframe.raw(" loading=\"lazy\" style=\"border:0\"></iframe>");
  nlohmann::ordered_json body;
  body["version"] = "1.0";
  body["type"] = "rich";
  body["title"] = title;
  body["provider_name"] = site_name;
  body["provider_url"] = provider_url;
  body["html"] = iframe.take();
  body["width"] = size.width;
  body["height"] = size.height;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sharelink
