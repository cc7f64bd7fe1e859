#include "cli/json_format.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "cli/arguments.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"

namespace sharelink {
namespace {

using Json = nlohmann::ordered_json;

// Two-space indentation; invalid UTF-8 in operator text is replaced, not fatal.
std::string serialise(const Json& document, bool compact = false) {
  return document.dump(compact ? -1 : 2, ' ', false, Json::error_handler_t::replace);
}

Json time_or_null(const std::optional<TimePoint>& t) { return t ? Json(format_rfc3339(*t)) : Json(nullptr); }

template <typename T>
Json value_or_null(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

Json text_or_null(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

}  // namespace

JsonObject& JsonObject::add(std::string key, std::string_view value) {
  return add_raw(std::move(key), serialise(Json(std::string(value)), true));
}
JsonObject& JsonObject::add(std::string key, std::int64_t value) {
  return add_raw(std::move(key), std::to_string(value));
}
JsonObject& JsonObject::add(std::string key, bool value) {
  return add_raw(std::move(key), value ? "true" : "false");
}
JsonObject& JsonObject::add_null(std::string key) { return add_raw(std::move(key), "null"); }
JsonObject& JsonObject::add_raw(std::string key, std::string value) {
  fields_.emplace_back(std::move(key), std::move(value));
  return *this;
}

std::string JsonObject::dump() const {
  Json object = Json::object();
  for (const auto& [key, value] : fields_) object[key] = Json::parse(value);
  return serialise(object);
}

std::string json_array(const std::vector<std::string>& documents) {
  Json array = Json::array();
  for (const auto& document : documents) array.push_back(Json::parse(document));
  return serialise(array);
}

std::string json_strings(const std::vector<std::string>& texts) { return serialise(Json(texts)); }

std::string licence_json(const Licence& licence) {
  return serialise(Json{{"licence_class", to_string(licence.licence_class)},
                        {"licence_version", licence.licence_version},
                        {"commercial_use", licence.commercial_use},
                        {"requires_attribution", licence.requires_attribution}});
}

std::string track_json(const Track& track) {
  return serialise(Json{{"id", track.id},
                        {"title", track.title},
                        {"engine", track.engine},
                        {"mode", track.mode},
                        {"measured_duration_seconds", value_or_null(track.measured_duration_seconds)},
                        {"instrumental", track.instrumental},
                        {"licence_class", track.licence_class},
                        {"licence_version", track.licence_version},
                        {"no_commercial", track.no_commercial},
                        {"mime_type", track.mime_type},
                        {"audio_path", track.audio_path},
                        {"removed_at", time_or_null(track.removed_at)},
                        {"created_at", format_rfc3339(track.created_at)}});
}

std::string collection_json(const Collection& collection) {
  return serialise(Json{{"id", collection.id},
                        {"name", collection.name},
                        {"description", value_or_null(collection.description)},
                        {"track_ids", collection.track_ids},
                        {"removed_at", time_or_null(collection.removed_at)},
                        {"created_at", format_rfc3339(collection.created_at)}});
}

std::string created_share_json(const CreatedShare& created, std::string_view url, std::string_view page_url) {
  const Share& share = created.share;
  return serialise(Json{{"id", share.id},
                        {"token", created.token},
                        {"url", url},
                        {"page_url", page_url},
                        {"target_type", to_string(share.target_type)},
                        {"target_id", share.target_id},
                        {"visibility", to_string(share.visibility)},
                        {"expires_at", time_or_null(share.expires_at)},
                        {"max_views", value_or_null(share.max_views)},
                        {"created_at", format_rfc3339(share.created_at)}});
}

std::string share_json(const ShareReport& report) {
  const Share& share = report.share;
  Json object{{"id", share.id},
              {"target_type", to_string(share.target_type)},
              {"target_id", share.target_id},
              {"visibility", to_string(share.visibility)},
              {"created_at", format_rfc3339(share.created_at)},
              {"expires_at", time_or_null(share.expires_at)},
              {"max_views", value_or_null(share.max_views)},
              {"view_count", share.view_count},
              {"last_viewed_at", time_or_null(share.last_viewed_at)},
              {"revoked_at", time_or_null(share.revoked_at)},
              {"revoke_reason", value_or_null(share.revoke_reason)},
              {"note", value_or_null(share.note)},
              {"created_by", share.created_by},
              {"status", to_string(report.status)},
              {"target_removed", report.target_removed},
              {"token_fp", share.token_fp}};
  if (report.audit) {
    Json by_outcome = Json::object();
    for (const auto& [outcome, count] : report.audit->resolves_by_outcome) by_outcome[outcome] = count;
    object["audit"] =
        Json{{"last_resolve", time_or_null(report.audit->last_resolve)}, {"resolves_by_outcome", by_outcome}};
  }
  return serialise(object);
}

std::string resolve_json(int status, std::string_view body) {
  return serialise(Json{{"status", status}, {"body", Json::parse(body)}});
}

std::string pretty_json(std::string_view document) { return serialise(Json::parse(document)); }

std::string audit_record_json(const AuditRecord& record, bool compact) {
  return serialise(Json{{"id", record.id},
                        {"ts", format_rfc3339_millis(record.ts)},
                        {"event", text_or_null(record.event)},
                        {"outcome", text_or_null(record.outcome)},
                        {"status", value_or_null(record.status)},
                        {"client_ip", text_or_null(record.client_ip)},
                        {"share_id", text_or_null(record.share_id)},
                        {"token_fp", text_or_null(record.token_fp)},
                        {"request_id", text_or_null(record.request_id)},
                        {"user_agent", text_or_null(record.user_agent)},
                        {"actor", text_or_null(record.actor)},
                        {"action", text_or_null(record.action)},
                        {"detail", text_or_null(record.detail)}},
                   compact);
}

std::string audit_stats_json(const AuditStats& stats) {
  Json by_outcome = Json::object();
  for (const auto& [outcome, count] : stats.by_outcome) by_outcome[outcome] = count;
  Json top_clients = Json::array();
  for (const auto& [ip, count] : stats.top_clients)
    top_clients.push_back(Json{{"client_ip", ip}, {"count", count}});
  return serialise(Json{{"total", stats.total}, {"by_outcome", by_outcome}, {"top_clients", top_clients}});
}

}  // namespace sharelink
