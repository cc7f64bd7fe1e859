// sharectl share create/list/inspect/revoke/expire and resolve: share links and the offline resolver.
#include <iostream>

#include "cli/arguments.hpp"
#include "cli/commands.hpp"
#include "cli/human_output.hpp"
#include "cli/json_format.hpp"
#include "common/admin.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/playback_signer.hpp"
#include "common/resolver.hpp"
#include "common/view_json.hpp"
#include "common/signing_keys.hpp"

namespace sharelink {
namespace {

ShareReport report_of(Context& context, Share share) {
  ShareReport report;
  report.status = share_status(share, context.now());
  report.target_removed = target_removed(context.admin(), share);
  report.share = std::move(share);
  return report;
}

// An id (mslink_...) or a raw token; anything else is not found.
std::optional<Share> find_share(Context& context, const std::string& reference) {
  if (is_share_id(reference)) return context.admin().share(reference);
  if (is_share_token(reference)) return find_share_by_token(context.admin(), reference);
  return std::nullopt;
}

std::string views_text(const Share& share) {
  return std::to_string(share.view_count) + (share.max_views ? "/" + std::to_string(*share.max_views) : "");
}

void print_share(const ShareReport& report) {
  const Share& share = report.share;
  Fields fields = {
      {"id", share.id},
      {"status", to_string(report.status)},
      {"target", std::string(to_string(share.target_type)) + " " + share.target_id +
                     (report.target_removed ? " (removed)" : "")},
      {"visibility", to_string(share.visibility)},
      {"created_at", format_rfc3339(share.created_at)},
      {"created_by", share.created_by},
      {"expires_at", time_or(share.expires_at, "never")},
      {"max_views", share.max_views ? std::to_string(*share.max_views) : "unlimited"},
      {"view_count", std::to_string(share.view_count)},
      {"last_viewed_at", time_or(share.last_viewed_at)},
      {"revoked_at", time_or(share.revoked_at)},
      {"revoke_reason", or_dash(share.revoke_reason.value_or(""))},
      {"note", or_dash(share.note.value_or(""))},
      {"token_fp", share.token_fp},
  };
  if (report.audit) {
    std::vector<std::string> resolves;
    for (const auto& [outcome, count] : report.audit->resolves_by_outcome) {
      resolves.push_back(outcome + " " + std::to_string(count));
    }
    fields.emplace_back("last_resolve", time_or(report.audit->last_resolve));
    fields.emplace_back("resolves", or_dash(joined(resolves)));
  }
  print_fields(std::cout, fields);
}

// Prints the link after a change (revoke, expire) and records it.
CommandResult finish_change(Context& context, const Share& share, const std::string& action,
                            const std::string& message) {
  const std::string& id = share.id;
  context.record_admin(action, id, message, share.token_fp);
  const auto after = context.admin().share(id);
  if (!after) return unknown_share(id);
  if (context.json()) {
    context.print_json(share_json(report_of(context, *after)));
  } else {
    std::cout << message << '\n';
  }
  return CommandResult::ok();
}

}  // namespace

CommandResult run_share_create(Context& context, const ShareCreateArgs& args) {
  if (args.track && args.collection) {
    throw UsageError(
        "--track and --collection are mutually exclusive (a link shares one track or one collection)");
  }
  if (!args.track && !args.collection) throw UsageError("give --track ID or --collection ID");
  if (args.expires_in_days && args.expires_at) {
    throw UsageError("--expires-in-days and --expires-at are mutually exclusive (give one)");
  }
  const TimePoint now = context.now();
  NewShare request;
  request.visibility = args.visibility ? parse_visibility_arg("--visibility", *args.visibility) : Visibility::link_only;
  if (args.expires_in_days) {
    const std::int64_t max_days = context.config().shares.max_expires_in_days;
    std::int64_t days = parse_whole_number("--expires-in-days", *args.expires_in_days, 1, INT64_MAX, "days");
    if (days > max_days) {
      print_note("--expires-in-days " + *args.expires_in_days + " is above shares.max_expires_in_days (" +
                 std::to_string(max_days) + "): the link expires in " + std::to_string(max_days) + " days");
      days = max_days;
    }
    request.expires_at = now + std::chrono::hours(24 * days);
  }
  if (args.expires_at) {
    const TimePoint at = parse_time_arg("--expires-at", *args.expires_at, now, false);
    if (at <= now) throw UsageError("--expires-at: " + format_rfc3339(at) + " is not in the future");
    request.expires_at = at;
  }
  if (args.max_views) request.max_views = parse_whole_number("--max-views", *args.max_views, 1);
  if (args.note) request.note = parse_text("--note", *args.note, k_max_note_bytes);
  request.created_by = context.actor();

  request.target_type = args.track ? TargetType::track : TargetType::collection;
  request.target_id = args.track ? *args.track : *args.collection;
  std::optional<TimePoint> removed_at;
  if (args.track) {
    const auto track = context.admin().track(*args.track);
    if (!track) return unknown_track(*args.track);
    removed_at = track->removed_at;
  } else {
    const auto collection = context.admin().collection(*args.collection);
    if (!collection) return unknown_collection(*args.collection);
    removed_at = collection->removed_at;
  }
  if (removed_at) {
    print_warning(std::string(to_string(request.target_type)) + " " + request.target_id +
                  " is removed: the link answers available:false until it is restored");
  }

  const CreatedShare created = create_share(context.admin(), request, now);
  const Share& share = created.share;
  // The token goes to stdout once and nowhere else: not to the audit log, not to stderr.
  const std::string url = context.config().public_base_url() + "/v1/music/shared/" + created.token;
  const std::string page_url = context.config().public_base_url() + "/s/" + created.token;
  context.record_admin("share.create", share.id,
                       std::string(to_string(share.target_type)) + " " + share.target_id + ", expires " +
                           time_or(share.expires_at, "never") + ", max views " +
                           (share.max_views ? std::to_string(*share.max_views) : "unlimited"),
                       share.token_fp);
  if (context.json()) {
    context.print_json(created_share_json(created, url, page_url));
    return CommandResult::ok();
  }
  std::cout << "created share link " << share.id << " for " << to_string(share.target_type) << " " << share.target_id
            << "\n";
  // The page link first: it is the one to give people; url is the API's.
  print_fields(std::cout, {{"page_url", page_url},
                           {"url", url},
                           {"visibility", to_string(share.visibility)},
                           {"expires_at", time_or(share.expires_at, "never")},
                           {"max_views", share.max_views ? std::to_string(*share.max_views) : "unlimited"},
                           {"token_fp", share.token_fp}});
  std::cout << "The token in these links is shown only now: shared-link keeps just its digest.\n";
  return CommandResult::ok();
}

CommandResult run_share_list(Context& context, const std::optional<std::string>& status,
                             const std::optional<std::string>& target) {
  std::optional<ShareStatus> wanted;
  if (status) {
    const std::string choice =
        parse_choice("--status", *status, {"active", "revoked", "expired", "exhausted", "all"});
    if (choice != "all") wanted = parse_share_status(choice);
  }
  std::vector<ShareReport> reports;
  for (auto& share : context.admin().shares(target)) {
    if (wanted && share_status(share, context.now()) != *wanted) continue;
    reports.push_back(report_of(context, std::move(share)));
  }
  if (context.json()) {
    std::vector<std::string> documents;
    documents.reserve(reports.size());
    for (const auto& report : reports) documents.push_back(share_json(report));
    context.print_json(json_array(documents));
    return CommandResult::ok();
  }
  Table table({"ID", "STATUS", "TARGET", "VIEWS", "EXPIRES_AT", "CREATED_BY", "NOTE"});
  for (const auto& report : reports) {
    const Share& share = report.share;
    table.add_row({share.id, to_string(report.status),
                   std::string(to_string(share.target_type)) + " " + share.target_id +
                       (report.target_removed ? " (removed)" : ""),
                   views_text(share), time_or(share.expires_at, "never"), share.created_by,
                   or_dash(share.note.value_or(""))});
  }
  table.print(std::cout);
  return CommandResult::ok();
}

CommandResult run_share_inspect(Context& context, const std::string& reference) {
  auto share = find_share(context, reference);
  if (!share) return unknown_share(reference);
  ShareReport report = report_of(context, std::move(*share));
  report.audit = context.audit().share_summary(report.share.id);
  if (context.json()) {
    context.print_json(share_json(report));
  } else {
    print_share(report);
  }
  return CommandResult::ok();
}

CommandResult run_share_revoke(Context& context, const std::string& reference,
                               const std::optional<std::string>& reason) {
  const std::optional<std::string> why =
      reason ? std::optional<std::string>(parse_text("--reason", *reason, k_max_reason_bytes)) : std::nullopt;
  const auto share = find_share(context, reference);
  if (!share) return unknown_share(reference);
  const std::string& id = share->id;
  if (share->revoked_at) {
    return finish_change(
        context, *share, "share.revoke",
        "share link " + id + " was already revoked at " + format_rfc3339(*share->revoked_at));
  }
  if (!context.admin().revoke_share(id, why, context.now())) return unknown_share(id);
  return finish_change(context, *share, "share.revoke",
                       "revoked share link " + id + (why ? " (reason: " + *why + ")" : ""));
}

CommandResult run_share_expire(Context& context, const std::string& reference,
                               const std::optional<std::string>& at) {
  const TimePoint when = at ? parse_time_arg("--at", *at, context.now(), false) : context.now();
  const auto share = find_share(context, reference);
  if (!share) return unknown_share(reference);
  const std::string& id = share->id;
  if (!context.admin().set_share_expiry(id, when)) return unknown_share(id);
  return finish_change(
      context, *share, "share.expire",
      "share link " + id + (when <= context.now() ? " expired at " : " expires at ") + format_rfc3339(when));
}

CommandResult run_resolve(Context& context, const std::string& token) {
  const Config& config = context.config();
  const auto signer = load_playback_signer(config);
  const auto reader = context.storage().open_reader();
  ResolveOptions options;
  options.requester = Requester::operator_check;  // an operator's look never uses up a view
  const ResolveResult result = resolve(*reader, token, options, context.now(), signer.get());

  int status = 200;
  std::string body;
  if (result.outcome == ResolveOutcome::ok || result.outcome == ResolveOutcome::unavailable) {
    body = render_view(result);
  } else {
    const PublicError error = public_error(result.outcome);
    status = http_status(error);
    body = error_body(error, new_request_id());
  }
  context.print_json(context.json() ? resolve_json(status, body) : pretty_json(body));
  return status == 200 ? CommandResult::ok() : CommandResult::resolve_not_ok();
}

}  // namespace sharelink
