#include "common/resolver.hpp"

#include <algorithm>
#include <span>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/playback_signer.hpp"
#include "common/store.hpp"
#include "common/view_counter.hpp"

namespace sharelink {
namespace {

// Fills v with a catalogue track as a view shows it; v's text points into t.
void fill_view(TrackView& v, const CatalogTrack& t) {
  v.licence = licence_facts(t.registry, t.licence_class, t.licence_version, t.no_commercial);
  v.id = t.id;
  v.title = t.title;
  v.engine = t.engine;
  v.mode = t.mode;
  v.measured_duration_seconds = t.measured_duration_seconds;
  v.instrumental = t.instrumental;
}

// Fills result's share fields from share.
void fill_share(ResolveResult& result, const ShareRecord& share) {
  result.share_id = share.id;
  result.target_type = share.target_type;
  result.visibility = share.visibility;
  result.expires_at = share.expires_at;
  result.max_views = share.max_views;
  result.view_count = share.view_count;
}

// What a result's views point into: the catalogue rows (a collection's,
// shared with the reader's kept rows, or a track share's own) and the
// playback URLs minted for them, back to back in one buffer.
struct ViewText {
  CollectionRows members;
  std::optional<CatalogTrack> track;
  std::string playback_urls;
};

// Fills result with share's target (track or collection, with playback URLs
// when mint), inside the caller's read snapshot; result.outcome is ok on
// entry and becomes unavailable for removed content.
void read_target(CatalogReader& reader, const ShareRecord& share, ResolveResult& result, bool mint, TimePoint now,
                 const PlaybackSigner* signer) {
  std::optional<PlaybackSigner::ShareMinter> minter;  // set when URLs are minted
  if (mint && signer != nullptr) {
    const TimePoint expiry =
        playback_expiry(now, std::chrono::seconds(signer->ttl_seconds()), share.expires_at);
    minter.emplace(signer->minter(share.id, to_unix_seconds(expiry), now));
  }
  auto text = std::make_shared<ViewText>();
  std::string& urls = text->playback_urls;
  std::vector<std::size_t> url_ends;  // where each view's URL ends in urls
  auto fill = [&](TrackView& view, const CatalogTrack& track) {
    fill_view(view, track);
    if (!minter) return;
    minter->mint_to(urls, track.id, track.audio_path);
    url_ends.push_back(urls.size());
  };
  // The views are pointed at their URLs once all are minted: the buffer may
  // move as it grows.
  const auto point_urls = [&](std::span<TrackView> views) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < url_ends.size(); ++i) {
      views[i].playback_url = std::string_view(urls).substr(start, url_ends[i] - start);
      start = url_ends[i];
    }
  };

  if (share.target_type == TargetType::track) {
    auto track = reader.track(share.target_id);
    if (!content_available(track)) {
      result.outcome = ResolveOutcome::unavailable;
      return;
    }
    const CatalogTrack& row = text->track.emplace(std::move(*track));
    if (minter) urls.reserve(minter->size_hint(row.id));
    TrackView& view = result.track.emplace();
    fill(view, row);
    point_urls({&view, 1});
    result.text = std::move(text);
    return;
  }

  auto collection = reader.collection(share.target_id);
  if (!content_available(collection)) {
    result.outcome = ResolveOutcome::unavailable;
    return;
  }
  result.collection = CollectionView{std::move(collection->id), std::move(collection->name),
                                     std::move(collection->description)};
  text->members = reader.collection_tracks(share.target_id);
  const std::vector<CatalogTrack>& members = *text->members;
  std::vector<TrackView>& tracks = result.tracks.emplace();
  tracks.reserve(members.size());
  if (minter && !members.empty()) {
    urls.reserve(members.size() * minter->size_hint(members.front().id));
    url_ends.reserve(members.size());
  }
  for (const CatalogTrack& member : members) {
    if (listed_in_collection(member)) fill(tracks.emplace_back(), member);
  }
  point_urls(tracks);
  result.text = std::move(text);
}

}  // namespace

PublicError public_error(ResolveOutcome outcome) {
  switch (outcome) {
    case ResolveOutcome::revoked: return PublicError::share_revoked;
    case ResolveOutcome::expired: return PublicError::share_expired;
    case ResolveOutcome::limit_reached: return PublicError::share_limit_reached;
    default: return PublicError::share_not_found;
  }
}

ResolveResult resolve(CatalogReader& reader, std::string_view token, const ResolveOptions& options, TimePoint now,
                      const PlaybackSigner* signer) {
  if (options.views == nullptr && counts_view(options.requester, ResolveOutcome::ok)) {
    throw Error("resolve: a visitor's resolve needs a view counter");
  }
  ResolveResult result;
  if (!is_share_token(token)) return result;  // not_found, no lookup

  const std::string digest = token_digest(token);
  result.token_fp = digest.substr(0, 12);  // token_fingerprint(token), without hashing twice
  std::optional<ShareRecord> share;
  {
    ReadSnapshot snapshot(reader);
    share = reader.share_by_digest(digest);
    if (share) {
      fill_share(result, *share);
      result.outcome = resolve_outcome(share_status(*share, now));
      if (result.outcome == ResolveOutcome::ok) {
        read_target(reader, *share, result, mints_playback(options.requester), now, signer);
      }
    }
    snapshot.end();
  }
  if (!share || !counts_view(options.requester, result.outcome)) return result;

  // The view is counted after the snapshot has ended: a backend's write never
  // waits inside a read transaction of the same request.
  if (!options.views->count(*share, now)) {
    // Lost a race: answer with the link's status as it is now.
    ResolveResult lost;
    lost.share_id = result.share_id;
    lost.target_type = result.target_type;
    lost.visibility = result.visibility;
    lost.token_fp = result.token_fp;
    if (const auto current = reader.share_by_digest(digest)) {
      lost.expires_at = current->expires_at;
      lost.max_views = current->max_views;
      lost.view_count = current->view_count;
      lost.outcome = resolve_outcome(share_status(*current, now));
    }
    if (lost.outcome == ResolveOutcome::ok) lost.outcome = ResolveOutcome::limit_reached;
    return lost;
  }
  result.view_counted = true;
  result.view_count = share->view_count + 1;
  if (options.exact_view_count && share->max_views) {
    // Views that concurrent requests counted since the snapshot (never fewer than ours).
    if (const auto current = reader.share_by_digest(digest)) {
      result.view_count = std::max(result.view_count, current->view_count);
    }
  }
  return result;
}

ResolveResult playback_for_share(CatalogReader& reader, std::string_view share_id, TimePoint now,
                                 const PlaybackSigner& signer) {
  ResolveResult result;
  if (!is_share_id(share_id)) return result;  // not_found, no lookup
  ReadSnapshot snapshot(reader);
  if (const auto share = reader.share_by_id(std::string(share_id))) {
    fill_share(result, *share);
    const ShareStatus status = share_status(*share, now);
    result.outcome = playback_continues(status) ? ResolveOutcome::ok : resolve_outcome(status);
    if (result.outcome == ResolveOutcome::ok) read_target(reader, *share, result, true, now, &signer);
  }
  snapshot.end();
  return result;
}

}  // namespace sharelink
