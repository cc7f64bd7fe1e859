#include "common/domain.hpp"

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace sharelink {
namespace {

// The enumerator whose to_string is text, if any.
template <typename Enum>
std::optional<Enum> parse_one_of(std::string_view text, std::initializer_list<Enum> values) {
  for (const Enum value : values) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

}  // namespace

const char* to_string(TargetType type) {
  switch (type) {
    case TargetType::track:
      return "track";
    case TargetType::collection:
      return "collection";
  }
  return "track";
}

std::optional<TargetType> parse_target_type(std::string_view text) {
  return parse_one_of(text, {TargetType::track, TargetType::collection});
}

const char* to_string(Visibility visibility) {
  switch (visibility) {
    case Visibility::link_only:
      return "link_only";
    case Visibility::public_link:
      return "public";
  }
  return "link_only";
}

std::optional<Visibility> parse_visibility(std::string_view text) {
  return parse_one_of(text, {Visibility::link_only, Visibility::public_link});
}

const char* to_string(LicenceClass licence_class) {
  switch (licence_class) {
    case LicenceClass::commercial_cleared:
      return "commercial_cleared";
    case LicenceClass::commercial_enterprise:
      return "commercial_enterprise";
    case LicenceClass::personal_only:
      return "personal_only";
    case LicenceClass::unclear:
      return "unclear";
  }
  return "unclear";
}

std::optional<LicenceClass> parse_licence_class(std::string_view text) {
  return parse_one_of(text, {LicenceClass::commercial_cleared, LicenceClass::commercial_enterprise,
                             LicenceClass::personal_only, LicenceClass::unclear});
}

const char* to_string(ShareStatus status) {
  switch (status) {
    case ShareStatus::active:
      return "active";
    case ShareStatus::revoked:
      return "revoked";
    case ShareStatus::expired:
      return "expired";
    case ShareStatus::exhausted:
      return "exhausted";
  }
  return "active";
}

std::optional<ShareStatus> parse_share_status(std::string_view text) {
  return parse_one_of(
      text, {ShareStatus::active, ShareStatus::revoked, ShareStatus::expired, ShareStatus::exhausted});
}

ShareStatus share_status(const ShareRecord& share, TimePoint now) {
  if (share.revoked_at) return ShareStatus::revoked;
  if (share.expires_at && *share.expires_at <= now) return ShareStatus::expired;
  if (share.max_views && share.view_count >= *share.max_views) return ShareStatus::exhausted;
  return ShareStatus::active;
}

LicenceFacts licence_facts(const std::optional<LicenceTerms>& registry, std::string_view licence_class,
                           std::string_view licence_version, bool no_commercial) {
  LicenceFacts facts;
  const auto known_class = parse_licence_class(licence_class);
  facts.licence_class = licence_class;
  facts.licence_version = licence_version;
  if (!registry || !known_class || *known_class == LicenceClass::unclear) {
    facts.commercial_use = false;
    facts.requires_attribution = true;
    return facts;
  }
  facts.commercial_use = registry->commercial_use && !no_commercial;
  facts.requires_attribution = registry->requires_attribution;
  return facts;
}

LicenceFacts licence_facts(const Track& track, const std::optional<Licence>& registry_entry) {
  std::optional<LicenceTerms> terms;
  if (registry_entry) terms = registry_entry->terms();
  return licence_facts(terms, track.licence_class, track.licence_version, track.no_commercial);
}

TimePoint playback_expiry(TimePoint now, std::chrono::seconds ttl,
                          const std::optional<TimePoint>& share_expires_at) {
  const TimePoint until = std::chrono::floor<std::chrono::seconds>(now) + ttl;
  return share_expires_at ? std::min(until, *share_expires_at) : until;
}

const char* to_string(ResolveOutcome outcome) {
  switch (outcome) {
    case ResolveOutcome::ok:
      return "ok";
    case ResolveOutcome::unavailable:
      return "unavailable";
    case ResolveOutcome::not_found:
      return "not_found";
    case ResolveOutcome::revoked:
      return "revoked";
    case ResolveOutcome::expired:
      return "expired";
    case ResolveOutcome::limit_reached:
      return "limit_reached";
  }
  return "error";
}

ResolveOutcome resolve_outcome(ShareStatus status) {
  switch (status) {
    case ShareStatus::active:
      return ResolveOutcome::ok;
    case ShareStatus::revoked:
      return ResolveOutcome::revoked;
    case ShareStatus::expired:
      return ResolveOutcome::expired;
    case ShareStatus::exhausted:
      return ResolveOutcome::limit_reached;
  }
  return ResolveOutcome::not_found;
}

bool playback_continues(ShareStatus status) {
  return status == ShareStatus::active || status == ShareStatus::exhausted;
}

bool mints_playback(Requester requester) {
  return requester == Requester::visitor || requester == Requester::head_request ||
         requester == Requester::operator_check;
}

bool counts_view(Requester requester, ResolveOutcome outcome) {
  return requester == Requester::visitor && outcome == ResolveOutcome::ok;
}

}  // namespace sharelink
