#include "cli/context.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/postgres_url.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_max_detail_bytes = 200;

std::string os_user() {
  if (const passwd* entry = getpwuid(geteuid());
      entry != nullptr && entry->pw_name != nullptr && *entry->pw_name) {
    return entry->pw_name;
  }
  if (const char* user = std::getenv("USER"); user != nullptr && *user) return user;
  return "uid " + std::to_string(geteuid());
}

// Cuts at a UTF-8 boundary so a detail never ends in half a character.
std::string short_text(std::string_view text) {
  if (text.size() <= k_max_detail_bytes) return std::string(text);
  return std::string(utf8_prefix(text, k_max_detail_bytes)) + "...";
}

}  // namespace

Context::Context(const GlobalOptions& options)
    : config_(load_config(options.config_file)),
      json_(options.json),
      now_(system_clock_now()),
      actor_(os_user()),
      request_id_(new_request_id()) {
  if (options.db_file && is_postgres_url(options.db_file->string())) {
    // A URL selects the postgresql backend; one with a password is refused
    // without repeating it (passwords belong in database.password_file).
    const std::string url = options.db_file->string();
    if (const auto problem = postgres_url_problem(url)) {
      throw UsageError("--db " + redact_postgres_url(url) + " " + *problem);
    }
    config_.database.backend = DatabaseBackend::postgresql;
    config_.database.url = url;
  } else if (options.db_file) {
    config_.database.path = std::filesystem::absolute(*options.db_file);
    // A file path selects the sqlite backend, whatever the configuration names.
    config_.database.backend = DatabaseBackend::sqlite;
  }
  if (options.audit_db_file) config_.database.audit_path = std::filesystem::absolute(*options.audit_db_file);
}

Context::~Context() = default;

void Context::require_databases() {
  storage().require_current_schema();
}

StorageBackend& Context::storage() {
  if (!storage_) storage_ = open_storage(config_.database);
  return *storage_;
}

AdminStore& Context::admin() {
  if (!admin_) admin_ = storage().open_admin();
  return *admin_;
}

AuditStore& Context::audit() {
  if (!audit_) audit_ = std::make_unique<AuditStore>(storage().open_audit(AuditUse::queries));
  return *audit_;
}

void Context::record_admin(std::string_view action, std::string_view share_id, std::string_view detail,
                           std::string_view token_fp) {
  AuditRecord record;
  record.ts = system_clock_now();
  record.event = to_string(AuditEvent::admin);
  record.outcome = to_string(AuditOutcome::ok);
  record.share_id = std::string(share_id);
  record.token_fp = std::string(token_fp);
  record.request_id = request_id_;
  record.actor = actor_;
  record.action = std::string(action);
  record.detail = short_text(detail);
  audit().append(record);
}

void Context::print_json(const std::string& document) const { std::cout << document << '\n'; }

}  // namespace sharelink
