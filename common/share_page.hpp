// The share page of SPEC 12: HTML for people rendered from a resolver answer, its wording, and its CSP.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/public_errors.hpp"
#include "common/resolver.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// What a page needs besides the resolver's answer. Every string is plain
// text or a URL; the renderer escapes all of them.
struct PageContext {
  std::string site_name;  // page.site_name: og:site_name and the footer
  std::string page_url;   // {public_base_url}/s/{token}: og:url
  // The oEmbed discovery URL (embedding on); empty: no discovery link.
  std::string oembed_url;
  // The compact player of /s/{token}/embed instead of the full page.
  bool embed = false;
  // A link-preview fetcher (or HEAD): meta tags and facts, no player.
  bool preview = false;
  // The page session the refresh script sends; empty: no script (the page
  // plays the URLs it was served with until they expire).
  std::string session;
  std::string refresh_url;         // the refresh route (absolute URL)
  int playback_expires_in = 0;     // seconds until the served URLs expire
  TimePoint now;                   // for "expires in" wording
};

// A 200 page: track, collection, or the removed-content page (outcome
// unavailable). result.outcome must be ok or unavailable. Every catalogue
// string is HTML-escaped; one <audio controls preload="none"> per track
// (none for previews and removed content). Thread-safe.
std::string render_share_page(const ResolveResult& result, const PageContext& context);

// An error page with the human message of error, its code and the request
// id; retry_after (seconds) is shown for RATE_LIMITED. Never shows an
// internal detail. Thread-safe.
std::string render_error_page(PublicError error, std::string_view request_id, int retry_after,
                              const PageContext& context);

// True when render_share_page puts a player (and so the script) on the page.
bool page_has_player(const ResolveResult& result, const PageContext& context);

// Where a page may load things from, for its Content-Security-Policy.
struct CspSources {
  bool script = false;                     // the page's one script (by hash)
  std::vector<std::string> media;          // playback URL prefixes ("https://h/v1/music/media/")
  std::vector<std::string> connect;        // the refresh route
  std::vector<std::string> frame_ancestors;  // empty: 'none'
};

// default-src 'none'; the page's style (and script) by SHA-256 hash; media-src
// and connect-src only when given; base-uri, form-action 'none';
// frame-ancestors the given origins or 'none'. Never 'unsafe-inline' or
// 'unsafe-eval'. Thread-safe.
std::string content_security_policy(const CspSources& sources);

// The page's inline stylesheet and script, and their CSP hash sources
// ("'sha256-...'", base64 of the SHA-256 of the exact text).
std::string_view page_style();
std::string_view page_script();
const std::string& page_style_hash();
const std::string& page_script_hash();

// "m:ss", or "h:mm:ss" from an hour on, rounded to the nearest second;
// empty for an unknown, negative or non-finite duration.
std::string format_duration(std::optional<double> seconds);

// A link's expiry as people read it: "28 July 2026 at 10:30 UTC".
std::string format_expiry(TimePoint t);

// Licence facts in plain words.
struct LicenceWords {
  std::string commercial;   // "Commercial use allowed" | "Not for commercial use"
  std::string attribution;  // "Credit required" | "No credit required"
  std::string terms;        // "Licence personal_only, version 2026-01"
  std::string note;         // for class unclear: why the strict terms apply; else empty
};
LicenceWords licence_words(const LicenceFacts& facts);

// og:description: what it is, its length and its licence in a few words.
std::string page_description(const ResolveResult& result);

// "scheme://host[:port]" of an absolute http(s) URL; empty if it is not one.
std::string url_origin(std::string_view url);

// The oEmbed iframe size of a page: width and height for the content,
// clamped to maxwidth / maxheight when given (each at least 1).
struct EmbedSize {
  int width = 0;
  int height = 0;
};
EmbedSize embed_size(const ResolveResult& result, std::optional<int> max_width, std::optional<int> max_height);

// The refresh route's 200 body: {"expires_in": N, "tracks": [{"id", "playback_url"}]},
// the tracks of result (a track share: its one track) in order, each with
// its fresh URL; expires_in is the seconds the URLs stay valid.
std::string render_playback_refresh(const ResolveResult& result, int expires_in);

// The oEmbed 1.0 "rich" answer for an available page: version, type, title,
// provider_name, provider_url, html (an <iframe> of embed_url, its attributes
// escaped), width, height.
std::string render_oembed(const ResolveResult& result, std::string_view site_name, std::string_view provider_url,
                          std::string_view embed_url, EmbedSize size);

}  // namespace sharelink
