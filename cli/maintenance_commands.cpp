// sharectl keys list/rotate/retire and db backup/check/copy: signing keys and database maintenance.
#include <algorithm>
#include <iostream>

#include "cli/arguments.hpp"
#include "cli/commands.hpp"
#include "cli/human_output.hpp"
#include "cli/json_format.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "common/postgres_url.hpp"
#include "common/store_sqlite.hpp"
#include "common/signing_keys.hpp"

namespace sharelink {
namespace {

// The key list, first (signing) key first. Never the secrets.
void print_keys(Context& context, const std::vector<SigningKey>& keys) {
  if (context.json()) {
    std::vector<std::string> documents;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      JsonObject key;
      key.add("kid", keys[i].kid);
      if (keys[i].created_at) {
        key.add("created_at", format_rfc3339(*keys[i].created_at));
      } else {
        key.add_null("created_at");
      }
      documents.push_back(key.add("current", i == 0).dump());
    }
    context.print_json(json_array(documents));
    return;
  }
  Table table({"KID", "CREATED_AT", "USE"});
  for (std::size_t i = 0; i < keys.size(); ++i) {
    table.add_row(
        {keys[i].kid, time_or(keys[i].created_at), i == 0 ? "signs new URLs, verifies" : "verifies"});
  }
  table.print(std::cout);
}

}  // namespace

CommandResult run_keys_list(Context& context) {
  print_keys(context, SigningKeys::load(context.config().playback.key_file).keys());
  return CommandResult::ok();
}

CommandResult run_keys_rotate(Context& context) {
  const auto& file = context.config().playback.key_file;
  std::vector<SigningKey> keys = SigningKeys::load(file).keys();
  const SigningKey fresh = generate_signing_key(keys, context.now());
  keys.insert(keys.begin(), fresh);
  write_key_file(file, keys);
  context.record_admin("keys.rotate", "",
                       "new signing key " + fresh.kid + ", " + std::to_string(keys.size()) + " keys");
  if (!context.json()) {
    std::cout << "new signing key " << fresh.kid << " signs new playback URLs; older keys still verify "
              << "(send SIGHUP to a running shared-linkd)\n";
  }
  print_keys(context, keys);
  return CommandResult::ok();
}

CommandResult run_keys_retire(Context& context, const std::string& kid) {
  const auto& file = context.config().playback.key_file;
  std::vector<SigningKey> keys = SigningKeys::load(file).keys();
  const auto it =
      std::find_if(keys.begin(), keys.end(), [&](const SigningKey& key) { return key.kid == kid; });
  if (it == keys.end()) {
    return CommandResult::not_found("unknown signing key " + quote_value(kid) +
                                    " (see \"sharectl keys list\")");
  }
  if (keys.size() == 1) {
    throw UsageError("cannot retire " + kid +
                     ": it is the only signing key (run \"sharectl keys rotate\" first)");
  }
  keys.erase(it);
  write_key_file(file, keys);
  context.record_admin("keys.retire", "",
                       "retired signing key " + kid + ", " + std::to_string(keys.size()) + " left");
  if (!context.json()) {
    std::cout << "retired signing key " << kid << ": playback URLs signed with it stop verifying "
              << "(send SIGHUP to a running shared-linkd)\n";
  }
  print_keys(context, keys);
  return CommandResult::ok();
}

CommandResult run_db_backup(Context& context, const std::string& file) {
  if (file.empty()) throw UsageError("FILE: the backup file name is empty");
  const std::vector<BackupResult> copies = context.storage().backup(file);
  context.record_admin("db.backup", "", "copied both databases to " + file);
  if (context.json()) {
    std::vector<std::string> documents;
    documents.reserve(copies.size());
    for (const auto& copy : copies) {
      documents.push_back(JsonObject()
                              .add("source", copy.source)
                              .add("copy", copy.copy.string())
                              .add("bytes", static_cast<std::int64_t>(copy.bytes))
                              .add("schema_version", copy.schema_version)
                              .dump());
    }
    context.print_json(json_array(documents));
    return CommandResult::ok();
  }
  for (const auto& copy : copies) {
    std::cout << "copied " << copy.source << " to " << copy.copy.string() << " (" << copy.bytes
              << " bytes, schema version " << copy.schema_version << ")\n";
  }
  return CommandResult::ok();
}

CommandResult run_db_check(Context& context) {
  const std::vector<DatabaseCheck> checks = context.storage().check();
  std::size_t problems = 0;
  for (const auto& check : checks) problems += check.problems.size();
  if (context.json()) {
    std::vector<std::string> documents;
    documents.reserve(checks.size());
    for (const auto& check : checks) {
      documents.push_back(JsonObject()
                              .add("file", check.location)
                              .add("kind", check.kind)
                              .add("exists", check.exists)
                              .add("schema_version", check.schema_version)
                              .add("expected_schema_version", check.expected_schema_version)
                              .add("ok", check.ok())
                              .add_raw("problems", json_strings(check.problems))
                              .dump());
    }
    context.print_json(json_array(documents));
  } else {
    for (const auto& check : checks) {
      std::cout << check.kind << " database " << check.location << ": ";
      if (check.ok()) {
        std::cout << "ok (schema version " << check.schema_version << ")\n";
        continue;
      }
      std::cout << check.problems.size() << " problem" << (check.problems.size() == 1 ? "" : "s") << '\n';
      for (const auto& problem : check.problems) std::cout << "  " << problem << '\n';
    }
  }
  if (problems == 0) return CommandResult::ok();
  return CommandResult::problem_found("db check found " + std::to_string(problems) + " problem" +
                                      (problems == 1 ? "" : "s"));
}

CommandResult run_db_copy(Context& context, const std::string& target) {
  if (target.empty()) throw UsageError("--to: the copy target is empty");
  DatabaseConfig config;
  std::string shown;
  if (is_postgres_url(target)) {
    if (const auto problem = postgres_url_problem(target)) {
      throw UsageError("--to " + redact_postgres_url(target) + " " + *problem);
    }
    config.backend = DatabaseBackend::postgresql;
    config.url = target;
    // The target's password, if it needs one, comes from the same file as the source's.
    config.password_file = context.config().database.password_file;
    shown = redact_postgres_url(target);
  } else {
    config.backend = DatabaseBackend::sqlite;
    config.path = std::filesystem::absolute(target);
    config.audit_path = audit_backup_path(config.path);
    shown = config.path.string();
  }
  const auto destination = open_storage(config);
  auto import = destination->open_import();
  context.storage().export_rows(*import);
  const CopyCounts counts = import->commit();
  if (context.json()) {
    JsonObject tables;
    for (const auto& [table, count] : counts) tables.add(table, count);
    context.print_json(JsonObject().add_raw("tables", tables.dump()).dump());
    return CommandResult::ok();
  }
  std::cout << "copied to " << shown << "\n";
  for (const auto& [table, count] : counts) std::cout << "  " << table << ": " << count << " rows\n";
  return CommandResult::ok();
}

}  // namespace sharelink
