// sharectl init: create or migrate both databases, seed the licence registry, create the key file and media
// root.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/json_format.hpp"
#include "common/config.hpp"
#include "common/installation.hpp"
#include "common/postgres_url.hpp"

namespace sharelink {
namespace {

std::string schema_state(int from, int to) {
  if (from == 0) return "created at schema version " + std::to_string(to);
  if (from != to) return "migrated from schema version " + std::to_string(from) + " to " + std::to_string(to);
  return "already at schema version " + std::to_string(to);
}

std::string database_json(const std::string& where, int from, int to) {
  return JsonObject().add("path", where).add("from_version", from).add("to_version", to).dump();
}

std::string path_json(const std::filesystem::path& path, bool created) {
  return JsonObject().add("path", path.string()).add("created", created).dump();
}

}  // namespace

CommandResult run_init(Context& context) {
  const Config& config = context.config();
  const InitReport report = initialize_installation(config, context.storage(), context.now());
  // Where each part lives: the two files, or (postgresql) the one database, named without a password.
  const bool postgresql = config.database.backend == DatabaseBackend::postgresql;
  const std::string main_name = postgresql ? redact_postgres_url(config.database.url) : config.database.path.string();
  const std::string audit_name =
      postgresql ? redact_postgres_url(config.database.url) : config.database.audit_path.string();
  const std::string licence_state = report.licences_seeded == 0
                                        ? "already seeded"
                                        : "seeded " + std::to_string(report.licences_seeded) + " entries";
  context.record_admin(
      "init", "",
      "licence registry " + licence_state + (report.key_file_created ? ", key file created" : ""));

  if (context.json()) {
    context.print_json(
        JsonObject()
            .add_raw("database",
                     database_json(main_name, report.main_schema_from, report.main_schema_to))
            .add_raw("audit_database", database_json(audit_name, report.audit_schema_from,
                                                     report.audit_schema_to))
            .add("licences_seeded", report.licences_seeded)
            .add_raw("key_file", path_json(config.playback.key_file, report.key_file_created))
            .add_raw("media_root", path_json(config.playback.media_root, report.media_root_created))
            .dump());
    return CommandResult::ok();
  }
  std::cout << "database " << main_name << ": "
            << schema_state(report.main_schema_from, report.main_schema_to) << '\n'
            << "audit database " << audit_name << ": "
            << schema_state(report.audit_schema_from, report.audit_schema_to) << '\n'
            << "licence registry: " << licence_state << " (version 2026-01)\n"
            << "signing key file " << config.playback.key_file.string() << ": "
            << (report.key_file_created ? "created (mode 0600)" : "exists, left unchanged") << '\n'
            << "media root " << config.playback.media_root.string() << ": "
            << (report.media_root_created ? "created" : "exists") << '\n';
  return CommandResult::ok();
}

}  // namespace sharelink
