// Unit tests of the domain rules: share status, licence truth, the view rule, playback expiry, removed
// content.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/domain.hpp"

namespace sharelink {
namespace {

using namespace std::chrono_literals;

const TimePoint k_now = from_unix_seconds(1785000000);  // 2026-07-25T17:20:00Z

}  // namespace

TEST_CASE("share_status: SPEC 3 precedence, table", "[domain]") {
  struct Case {
    const char* name;
    std::optional<TimePoint> revoked_at;
    std::optional<TimePoint> expires_at;
    std::optional<std::int64_t> max_views;
    std::int64_t view_count;
    ShareStatus expected;
  };
  const std::vector<Case> cases = {
      {"no limits", {}, {}, {}, 0, ShareStatus::active},
      {"many views, no max_views", {}, {}, {}, 1000000, ShareStatus::active},
      {"expires in a second", {}, k_now + 1s, {}, 0, ShareStatus::active},
      {"expires exactly now", {}, k_now, {}, 0, ShareStatus::expired},
      {"expired a second ago", {}, k_now - 1s, {}, 0, ShareStatus::expired},
      {"one view left", {}, {}, 2, 1, ShareStatus::active},
      {"max_views reached", {}, {}, 2, 2, ShareStatus::exhausted},
      {"past max_views", {}, {}, 2, 3, ShareStatus::exhausted},
      {"revoked", k_now - 1h, {}, {}, 0, ShareStatus::revoked},
      {"revoked in the future still counts", k_now + 1h, {}, {}, 0, ShareStatus::revoked},
      {"revoked beats expired", k_now - 1h, k_now - 1s, {}, 0, ShareStatus::revoked},
      {"revoked beats exhausted", k_now - 1h, {}, 1, 1, ShareStatus::revoked},
      {"expired beats exhausted", {}, k_now - 1s, 1, 1, ShareStatus::expired},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ShareRecord share;
    share.id = "mslink_000000000001";
    share.revoked_at = c.revoked_at;
    share.expires_at = c.expires_at;
    share.max_views = c.max_views;
    share.view_count = c.view_count;
    CHECK(share_status(share, k_now) == c.expected);
  }
}

TEST_CASE("resolve_outcome: one outcome per status", "[domain]") {
  CHECK(resolve_outcome(ShareStatus::active) == ResolveOutcome::ok);
  CHECK(resolve_outcome(ShareStatus::revoked) == ResolveOutcome::revoked);
  CHECK(resolve_outcome(ShareStatus::expired) == ResolveOutcome::expired);
  CHECK(resolve_outcome(ShareStatus::exhausted) == ResolveOutcome::limit_reached);
}

TEST_CASE("licence_facts: never overstated, table", "[domain][licence]") {
  const LicenceTerms commercial{true, false};
  const LicenceTerms personal{false, false};
  const LicenceTerms attribution{false, true};
  const LicenceTerms generous{true, false};
  struct Case {
    const char* name;
    std::optional<LicenceTerms> registry;
    const char* licence_class;
    bool no_commercial;
    bool commercial_use;
    bool requires_attribution;
  };
  const std::vector<Case> cases = {
      {"registry grants commercial use", commercial, "commercial_cleared", false, true, false},
      {"the track narrows commercial use", commercial, "commercial_cleared", true, false, false},
      {"enterprise as the registry says", commercial, "commercial_enterprise", false, true, false},
      {"personal only", personal, "personal_only", false, false, false},
      {"no_commercial on a personal track changes nothing", personal, "personal_only", true, false, false},
      {"attribution as the registry says", attribution, "personal_only", false, false, true},
      {"not in the registry", std::nullopt, "commercial_cleared", false, false, true},
      {"unclear, even if the registry is generous", generous, "unclear", false, false, true},
      {"a class outside the four", generous, "gold", false, false, true},
      {"an empty class", generous, "", false, false, true},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const LicenceFacts facts = licence_facts(c.registry, c.licence_class, "2026-01", c.no_commercial);
    CHECK(facts.licence_class == c.licence_class);
    CHECK(facts.licence_version == "2026-01");
    CHECK(facts.commercial_use == c.commercial_use);
    CHECK(facts.requires_attribution == c.requires_attribution);
  }
}

TEST_CASE("licence_facts: of a catalogue track and its registry entry", "[domain][licence]") {
  Track track;
  track.licence_class = "commercial_cleared";
  track.licence_version = "2026-01";
  const Licence entry{LicenceClass::commercial_cleared, "2026-01", true, true};
  auto facts = licence_facts(track, entry);
  CHECK(facts.commercial_use);
  CHECK(facts.requires_attribution);
  track.no_commercial = true;
  facts = licence_facts(track, entry);
  CHECK_FALSE(facts.commercial_use);
  facts = licence_facts(track, std::nullopt);
  CHECK_FALSE(facts.commercial_use);
  CHECK(facts.requires_attribution);
}

TEST_CASE("playback_expiry: min(now + ttl, share expiry) in whole seconds", "[domain]") {
  struct Case {
    const char* name;
    TimePoint now;
    std::optional<TimePoint> share_expires_at;
    TimePoint expected;
  };
  const std::vector<Case> cases = {
      {"no share expiry", k_now, std::nullopt, k_now + 300s},
      {"share expires later", k_now, k_now + 301s, k_now + 300s},
      {"share expires at the same time", k_now, k_now + 300s, k_now + 300s},
      {"share expires sooner", k_now, k_now + 60s, k_now + 60s},
      {"the fraction of now is dropped", k_now + 999ms, std::nullopt, k_now + 300s},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(playback_expiry(c.now, 300s, c.share_expires_at) == c.expected);
  }
}

TEST_CASE("playback_continues: used-up views keep playing, revoked and expired links stop", "[domain]") {
  struct Case {
    ShareStatus status;
    bool plays;
  };
  const std::vector<Case> cases = {
      {ShareStatus::active, true},
      {ShareStatus::exhausted, true},  // SPEC 5: exhaustion stops new views, not a counted one's playback
      {ShareStatus::revoked, false},
      {ShareStatus::expired, false},
  };
  for (const auto& c : cases) {
    INFO(to_string(c.status));
    CHECK(playback_continues(c.status) == c.plays);
  }
}

TEST_CASE("the view rule: only a visitor's ok answer counts a view", "[domain]") {
  struct Case {
    Requester requester;
    const char* name;
    bool mints;
    bool counts_on_ok;
  };
  const std::vector<Case> cases = {
      {Requester::visitor, "visitor", true, true},
      {Requester::head_request, "HEAD", true, false},
      {Requester::preview_fetcher, "link-preview fetcher", false, false},
      {Requester::operator_check, "sharectl resolve", true, false},
      {Requester::look_up, "look-up (oEmbed)", false, false},
  };
  const ResolveOutcome others[] = {ResolveOutcome::unavailable, ResolveOutcome::not_found,
                                   ResolveOutcome::revoked, ResolveOutcome::expired,
                                   ResolveOutcome::limit_reached};
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(mints_playback(c.requester) == c.mints);
    CHECK(counts_view(c.requester, ResolveOutcome::ok) == c.counts_on_ok);
    for (const auto outcome : others) {
      INFO(to_string(outcome));
      CHECK_FALSE(counts_view(c.requester, outcome));
    }
  }
}

TEST_CASE("the removed-content rule: missing or removed content is unavailable", "[domain]") {
  Track track;
  track.id = "mtrack_000000000001";
  CHECK(content_available(std::optional<Track>(track)));
  CHECK(listed_in_collection(track));
  CHECK_FALSE(content_available(std::optional<Track>()));
  track.removed_at = k_now;
  CHECK_FALSE(content_available(std::optional<Track>(track)));
  CHECK_FALSE(listed_in_collection(track));

  CollectionRecord collection;
  collection.id = "mcoll_000000000001";
  CHECK(content_available(std::optional<CollectionRecord>(collection)));
  CHECK_FALSE(content_available(std::optional<CollectionRecord>()));
  collection.removed_at = k_now;
  CHECK_FALSE(content_available(std::optional<CollectionRecord>(collection)));
}

TEST_CASE("typed values: to_string and parse round trip the spec's spellings", "[domain]") {
  for (const auto type : {TargetType::track, TargetType::collection}) {
    CHECK(parse_target_type(to_string(type)) == type);
  }
  for (const auto visibility : {Visibility::link_only, Visibility::public_link}) {
    CHECK(parse_visibility(to_string(visibility)) == visibility);
  }
  for (const auto licence_class : {LicenceClass::commercial_cleared, LicenceClass::commercial_enterprise,
                                   LicenceClass::personal_only, LicenceClass::unclear}) {
    CHECK(parse_licence_class(to_string(licence_class)) == licence_class);
  }
  for (const auto status :
       {ShareStatus::active, ShareStatus::revoked, ShareStatus::expired, ShareStatus::exhausted}) {
    CHECK(parse_share_status(to_string(status)) == status);
  }
  CHECK(std::string(to_string(Visibility::public_link)) == "public");
  CHECK(std::string(to_string(TargetType::collection)) == "collection");
  for (const char* text : {"", "Track", "public_link", "link-only", "all", "gold", " track"}) {
    INFO(text);
    CHECK_FALSE(parse_target_type(text));
    CHECK_FALSE(parse_visibility(text));
    CHECK_FALSE(parse_licence_class(text));
    CHECK_FALSE(parse_share_status(text));
  }
}

}  // namespace sharelink
