// The share page's stylesheet and script: inline in every page, allowed by their CSP hashes.
#include "common/crypto.hpp"
#include "common/share_page.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

// System fonts, one column, light and dark from prefers-color-scheme. Every
// text colour has at least 4.5:1 contrast on its background in both schemes.
constexpr std::string_view k_style = R"CSS(
:root{color-scheme:light dark;--bg:#f4f2ee;--card:#fff;--ink:#1d1c1a;--muted:#5c5851;--line:#e2ddd5;--focus:#2f45c4;--yes:#1c6a40;--yes-bg:#e3f3e9;--no:#962828;--no-bg:#fbe9e9;--warn:#7a4b00;--warn-bg:#fdf0d9}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--card:#1d1d1d;--ink:#f1efeb;--muted:#b3aea6;--line:#34322f;--focus:#a9b7ff;--yes:#93dbb2;--yes-bg:#163322;--no:#f4abab;--no-bg:#3b1c1c;--warn:#f5cd85;--warn-bg:#3a2b0e}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:40rem;margin:0 auto;padding:3rem 1.25rem 1.5rem}
.hero{display:flex;align-items:center;gap:1.25rem}
.art{flex:none;display:grid;place-items:center;width:5.5rem;height:5.5rem;border-radius:1.125rem;font-size:2.75rem;line-height:1;color:#fff;background:linear-gradient(135deg,#4c5fd7 0%,#9a4fd0 55%,#e0795a 100%);box-shadow:0 .5rem 1.5rem rgba(76,95,215,.25)}
.hero-text{min-width:0}
@media (max-width:30rem){.art{width:4.25rem;height:4.25rem;font-size:2.125rem;border-radius:.875rem}.hero{gap:1rem}}
.eyebrow{margin:0 0 .5rem;font-size:.8125rem;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
h1{margin:0;font-size:clamp(1.875rem,6vw,2.625rem);line-height:1.12;letter-spacing:-.015em;overflow-wrap:anywhere}
.lede{margin:.875rem 0 0;font-size:1.125rem;overflow-wrap:anywhere}
.meta{margin:.5rem 0 0;color:var(--muted);font-variant-numeric:tabular-nums}
.player{margin:2rem 0 0}
audio{display:block;width:100%}
.listen{margin:2rem 0 0;padding:1rem 1.25rem;border:1px dashed var(--line);border-radius:.875rem;color:var(--muted)}
.card{margin:1.5rem 0 0;padding:1.25rem;background:var(--card);border:1px solid var(--line);border-radius:.875rem}
.card h2{margin:0 0 .75rem;font-size:.8125rem;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
.facts{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}
.facts li{display:inline-flex;align-items:center;gap:.45rem;padding:.3rem .8rem;border-radius:999px;font-size:.9375rem;font-weight:600}
.yes{background:var(--yes-bg);color:var(--yes)}
.no{background:var(--no-bg);color:var(--no)}
.credit{background:var(--warn-bg);color:var(--warn)}
.terms{margin:.75rem 0 0;font-size:.875rem;color:var(--muted)}
.note{margin:.5rem 0 0;font-size:.875rem}
.link-facts{margin:1.5rem 0 0;font-size:.9375rem;color:var(--muted)}
.tracks{list-style:none;margin:1.5rem 0 0;padding:0;display:grid;gap:.75rem}
.track{padding:1rem 1.25rem 1.125rem;background:var(--card);border:1px solid var(--line);border-radius:.875rem}
.track-head{display:flex;align-items:baseline;gap:.75rem;margin:0 0 .625rem}
.num{min-width:1.25rem;color:var(--muted);font-variant-numeric:tabular-nums}
.track h2{flex:1;margin:0;font-size:1.0625rem;line-height:1.35;overflow-wrap:anywhere}
.dur{color:var(--muted);font-variant-numeric:tabular-nums}
.track-licence{margin:.625rem 0 0;font-size:.875rem;color:var(--muted)}
.empty{margin:1.5rem 0 0;color:var(--muted)}
.status{margin:1rem 0 0;padding:.75rem 1rem;border-radius:.625rem;background:var(--no-bg);color:var(--no);font-weight:600}
.status:empty{display:none}
.ref{margin:2rem 0 0;font-size:.875rem;color:var(--muted)}
.foot{max-width:40rem;margin:0 auto;padding:1rem 1.25rem 3rem;font-size:.875rem;color:var(--muted)}
code{font:.875em/1 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
:focus-visible{outline:3px solid var(--focus);outline-offset:3px;border-radius:4px}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.embed .page{max-width:none;padding:1rem 1rem .75rem}
.embed .art{width:3.5rem;height:3.5rem;font-size:1.75rem;border-radius:.75rem;box-shadow:none}
.embed .hero{gap:.875rem}
.embed .lede{margin-top:.625rem;font-size:1rem}
.embed .foot{max-width:none;padding:0 1rem .875rem}
.embed h1{font-size:1.375rem}
.embed .eyebrow{margin-bottom:.25rem}
.embed .player{margin-top:.875rem}
.embed .tracks{margin-top:.875rem;gap:.5rem}
.embed .track{padding:.75rem 1rem}
.embed .track-licence,.embed .meta{font-size:.875rem}
)CSS";

// Keeps playback URLs fresh while the page is open (SPEC 12). Reads the page
// session from the data-* attributes of <main>, so this text (and its hash)
// never changes. A paused player gets the fresh URL at once; a playing one
// keeps streaming from the URL it has and switches (at the same position)
// only if that URL stops working. Stops at once, saying why, when the
// refresh is refused (link revoked or expired, session over).
constexpr std::string_view k_script = R"JS(
(function () {
  "use strict";
  var root = document.querySelector("main[data-session]");
  if (!root || !window.fetch) return;
  var session = root.getAttribute("data-session");
  var endpoint = root.getAttribute("data-refresh");
  var status = document.getElementById("playback-status");
  var players = Array.prototype.slice.call(document.querySelectorAll("audio[data-track]"));
  var validUntil = Date.now() + Number(root.getAttribute("data-expires-in")) * 1000;
  var fresh = {};
  var timer = 0;
  var pending = null;
  var stopped = false;

  function schedule(seconds) {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(refresh, Math.max(1, seconds) * 1000);
  }

  function stop(message) {
    stopped = true;
    clearTimeout(timer);
    if (status) status.textContent = message || "Playback has stopped for this link.";
  }

  function seekWhenLoaded(audio, at, play) {
    audio.addEventListener("loadedmetadata", function once() {
      audio.removeEventListener("loadedmetadata", once);
      if (at > 0) audio.currentTime = at;
    });
    if (play) {
      var started = audio.play();
      if (started && started.catch) started.catch(function () {});
    }
  }

  function swap(audio, url, play) {
    var at = audio.currentTime;
    audio.src = url;
    seekWhenLoaded(audio, at, play);
  }

  function apply() {
    players.forEach(function (audio) {
      var url = fresh[audio.getAttribute("data-track")];
      if (url && audio.getAttribute("src") !== url && (audio.paused || audio.ended)) swap(audio, url, false);
    });
  }

  function refresh() {
    if (stopped) return Promise.resolve(false);
    if (pending) return pending;
    pending = fetch(endpoint, {headers: {"X-Page-Session": session}, cache: "no-store", credentials: "omit"})
      .then(function (response) {
        return response.json().then(function (body) {
          if (response.ok) {
            validUntil = Date.now() + body.expires_in * 1000;
            body.tracks.forEach(function (track) { fresh[track.id] = track.playback_url; });
            apply();
            schedule(body.expires_in * 0.75);
            return true;
          }
          if (response.status === 429 || response.status >= 500) {
            schedule(Number(response.headers.get("Retry-After")) || 15);
          } else {
            stop(body.error && body.error.message);
          }
          return false;
        });
      })
      .catch(function () { schedule(15); return false; })
      .then(function (ok) { pending = null; return ok; });
    return pending;
  }

  players.forEach(function (audio) {
    audio.addEventListener("playing", function () { audio.setAttribute("data-playing", ""); });
    audio.addEventListener("pause", function () { audio.removeAttribute("data-playing"); });
    audio.addEventListener("error", function () {
      var play = audio.hasAttribute("data-playing") || !audio.paused;
      var failed = audio.getAttribute("src");
      if (stopped || audio.getAttribute("data-retried") === failed) return;
      audio.setAttribute("data-retried", failed);
      refresh().then(function () {
        var url = fresh[audio.getAttribute("data-track")];
        if (url && url !== failed) swap(audio, url, play);
      });
    });
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() > validUntil - 5000) refresh();
  });
  schedule((validUntil - Date.now()) / 1000 * 0.75);
})();
)JS";

std::string hash_source(std::string_view text) { return "'sha256-" + base64_encode(sha256(text)) + "'"; }

}  // namespace

std::string_view page_style() { return k_style; }
std::string_view page_script() { return k_script; }

const std::string& page_style_hash() {
  static const std::string hash = hash_source(k_style);
  return hash;
}

const std::string& page_script_hash() {
  static const std::string hash = hash_source(k_script);
  return hash;
}

}  // namespace sharelink
