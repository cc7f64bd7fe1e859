// sharectl audit, audit stats, audit prune: browsing, following and pruning the audit log.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/commands.hpp"
#include "cli/human_output.hpp"
#include "cli/json_format.hpp"
#include "common/admin.hpp"
#include "common/audit_record.hpp"
#include "common/audit_spill.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"

namespace sharelink {
namespace {

constexpr std::int64_t k_default_limit = 100;
constexpr std::int64_t k_max_limit = 100000;
constexpr auto k_follow_poll_interval = std::chrono::milliseconds(500);
constexpr auto k_follow_signal_check = std::chrono::milliseconds(50);

volatile std::sig_atomic_t g_stop_following = 0;

extern "C" void stop_following(int) { g_stop_following = 1; }

enum class Format { table, json, csv };

// SPEC 7 fields, in the order of the JSON records.
const std::vector<std::string> k_record_fields = {
    "id",       "ts",         "event",      "outcome", "status", "client_ip", "share_id",
    "token_fp", "request_id", "user_agent", "actor",   "action", "detail"};

std::vector<std::string> record_cells(const AuditRecord& record) {
  return {std::to_string(record.id),
          format_rfc3339_millis(record.ts),
          record.event,
          record.outcome,
          record.status ? std::to_string(*record.status) : "",
          record.client_ip,
          record.share_id,
          record.token_fp,
          record.request_id,
          record.user_agent,
          record.actor,
          record.action,
          record.detail};
}

// RFC 4180 quoting. A cell that a spreadsheet would run as a formula (a
// stranger's User-Agent starting with "=") is prefixed with "'".
std::string csv_cell(const std::string& text) {
  std::string cell = text;
  if (!cell.empty() && std::string_view("=+-@\t\r").find(cell.front()) != std::string_view::npos)
    cell = "'" + cell;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void print_csv_row(const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) std::cout << (i ? "," : "") << csv_cell(cells[i]);
  std::cout << '\n';
}

// Prints records in the given order. with_header: the table or CSV header
// first (for --follow, only before the first batch).
void print_records(Format format, const std::vector<AuditRecord>& records, bool with_header, bool follow) {
  switch (format) {
    case Format::json:
      if (follow) {
        for (const auto& record : records) std::cout << audit_record_json(record, true) << '\n';
      } else {
        std::vector<std::string> documents;
        documents.reserve(records.size());
        for (const auto& record : records) documents.push_back(audit_record_json(record));
        std::cout << json_array(documents) << '\n';
      }
      break;
    case Format::csv:
      if (with_header) print_csv_row(k_record_fields);
      for (const auto& record : records) print_csv_row(record_cells(record));
      break;
    case Format::table: {
      std::vector<std::string> headers;
      for (const auto& field : k_record_fields) {
        std::string header = field;
        for (char& c : header) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        headers.push_back(header);
      }
      Table table(headers);
      for (const auto& record : records) {
        auto cells = record_cells(record);
        for (auto& cell : cells) cell = or_dash(std::move(cell));
        table.add_row(std::move(cells));
      }
      table.print(std::cout, with_header);
      break;
    }
  }
  std::cout.flush();
}

Format choose_format(const Context& context, const std::optional<std::string>& format) {
  if (!format) return context.json() ? Format::json : Format::table;
  const std::string choice = parse_choice("--format", *format, {"table", "json", "csv"});
  if (context.json() && choice != "json") {
    throw UsageError("--json and --format " + choice + " disagree (give one)");
  }
  return choice == "json" ? Format::json : choice == "csv" ? Format::csv : Format::table;
}

AuditFilter filter_of(Context& context, const AuditQueryArgs& args) {
  AuditFilter filter;
  if (args.ip) {
    filter.ip = parse_cidr(*args.ip);
    if (!filter.ip) {
      throw UsageError(
          "--ip: expected an address or CIDR (203.0.113.7, 203.0.113.0/24, 2001:db8::/32), got " +
          quote_value(*args.ip));
    }
  }
  if (args.share) {
    if (!is_share_id(*args.share)) {
      throw UsageError("--share: expected a share link id (mslink_ followed by 12 lowercase hex), got " +
                       quote_value(*args.share));
    }
    filter.share_id = *args.share;
  }
  if (args.token) {
    // Never echoed: a malformed token may still be most of a real one.
    if (!is_share_token(*args.token)) {
      throw UsageError("--token: expected a share token (shr_ followed by 32 lowercase hex)");
    }
    filter.token_fp = token_fingerprint(*args.token);
    // The token's own link, if it has one: its records are found through it.
    if (const auto share = find_share_by_token(context.admin(), *args.token)) filter.token_share_id = share->id;
  }
  if (args.event) filter.event = parse_choice("--event", *args.event, k_audit_events);
  if (args.outcome) filter.outcome = parse_choice("--outcome", *args.outcome, k_audit_outcomes);
  if (args.since) filter.since = parse_time_arg("--since", *args.since, context.now(), true);
  if (args.until) filter.until = parse_time_arg("--until", *args.until, context.now(), true);
  filter.limit = static_cast<std::size_t>(
      args.limit ? parse_whole_number("--limit", *args.limit, 1, k_max_limit) : k_default_limit);
  return filter;
}

// Prints what is there (oldest first), then polls for newer records until SIGINT or SIGTERM.
void follow(Context& context, AuditFilter filter, Format format) {
  struct sigaction action = {};
  action.sa_handler = stop_following;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  bool first = true;
  while (!g_stop_following) {
    auto records = context.audit().query(filter);
    if (!records.empty()) {
      filter.after_id = records.front().id;
      std::reverse(records.begin(), records.end());
      print_records(format, records, first, true);
      first = false;
    } else if (first) {
      print_records(format, {}, true, true);
      first = false;
    }
    // Later polls take everything newer than what was printed, so nothing is skipped.
    filter.limit = 0;
    for (auto waited = std::chrono::milliseconds(0); waited < k_follow_poll_interval && !g_stop_following;
         waited += k_follow_signal_check) {
      std::this_thread::sleep_for(k_follow_signal_check);
    }
  }
}

}  // namespace

CommandResult run_audit_query(Context& context, const AuditQueryArgs& args) {
  const Format format = choose_format(context, args.format);
  const AuditFilter filter = filter_of(context, args);
  if (args.follow) {
    follow(context, filter, format);
  } else {
    print_records(format, context.audit().query(filter), true, false);
  }
  return CommandResult::ok();
}

CommandResult run_audit_stats(Context& context, const std::optional<std::string>& since) {
  const std::optional<TimePoint> from =
      since ? std::optional<TimePoint>(parse_time_arg("--since", *since, context.now(), true)) : std::nullopt;
  const AuditStats stats = context.audit().stats(from);
  if (context.json()) {
    context.print_json(audit_stats_json(stats));
    return CommandResult::ok();
  }
  std::cout << stats.total << " records" << (from ? " since " + format_rfc3339(*from) : std::string())
            << "\n\n";
  Table outcomes({"EVENT/OUTCOME", "COUNT"});
  for (const auto& [outcome, count] : stats.by_outcome) outcomes.add_row({outcome, std::to_string(count)});
  outcomes.print(std::cout);
  std::cout << '\n';
  Table clients({"CLIENT_IP", "COUNT"});
  for (const auto& [ip, count] : stats.top_clients) clients.add_row({or_dash(ip), std::to_string(count)});
  clients.print(std::cout);
  return CommandResult::ok();
}

CommandResult run_audit_prune(Context& context, const std::optional<std::string>& older_than) {
  const Config& config = context.config();
  const TimePoint now = context.now();
  const auto retention = older_than
                             ? parse_span_arg("--older-than", *older_than)
                             : std::chrono::seconds(std::chrono::hours(24) * config.audit.retention_days);
  const TimePoint ip_cutoff = now - std::chrono::hours(24) * config.audit.ip_retention_days;
  const PruneReport report = context.audit().prune_before(now - retention, ip_cutoff);
  const std::string summary = "deleted " + std::to_string(report.deleted) + " records older than " +
                              format_rfc3339(now - retention) + ", truncated " +
                              std::to_string(report.ips_truncated) + " client IPs older than " +
                              format_rfc3339(ip_cutoff);
  context.record_admin("audit.prune", "", summary);
  if (context.json()) {
    context.print_json(JsonObject()
                           .add("deleted", report.deleted)
                           .add("ips_truncated", report.ips_truncated)
                           .add("cutoff", format_rfc3339(now - retention))
                           .add("ip_cutoff", format_rfc3339(ip_cutoff))
                           .dump());
  } else {
    std::cout << summary << '\n';
  }
  return CommandResult::ok();
}

CommandResult run_audit_import_spill(Context& context) {
  const std::filesystem::path file = audit_spill_path(context.config().database);
  SpillImport imported;
  if (std::filesystem::exists(file)) {
    imported = import_audit_spill(file, context.audit(), context.actor(), context.now());
  }
  for (const auto& bad : imported.bad_lines) std::cerr << "sharectl: error: " << bad << '\n';
  if (context.json()) {
    JsonObject out;
    out.add("file", file.string())
        .add("found", imported.found)
        .add("records_imported", static_cast<std::int64_t>(imported.records_imported))
        .add("segments_imported", static_cast<std::int64_t>(imported.segments_imported))
        .add("records_already_imported", static_cast<std::int64_t>(imported.records_already_imported))
        .add_raw("bad_lines", json_strings(imported.bad_lines));
    if (imported.rejected_file) {
      out.add("rejected_file", imported.rejected_file->string());
    } else {
      out.add_null("rejected_file");
    }
    context.print_json(out.dump());
  } else if (!imported.found) {
    std::cout << "no spill file at " << file.string() << '\n';
  } else {
    std::cout << "imported " << imported.records_imported << " audit records (" << imported.segments_imported
              << " segments) from " << file.string();
    if (imported.records_already_imported > 0) {
      std::cout << "; " << imported.records_already_imported << " were imported before and were skipped";
    }
    std::cout << '\n';
  }
  if (!imported.bad_lines.empty()) {
    return CommandResult::problem_found(std::to_string(imported.bad_lines.size()) +
                                        " lines of the spill file could not be imported; kept in " +
                                        imported.rejected_file->string());
  }
  return CommandResult::ok();
}

}  // namespace sharelink
