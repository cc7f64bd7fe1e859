#include "common/installation.hpp"

#include <filesystem>

#include "common/catalog_store.hpp"
#include "common/database.hpp"
#include "common/error.hpp"
#include "common/signing_keys.hpp"

namespace sharelink {
namespace {

bool ensure_directory(const std::filesystem::path& dir) {
  if (dir.empty()) return false;
  std::error_code ec;
  const bool created = std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create directory " + dir.string() + ": " + ec.message());
  return created;
}

}  // namespace

std::vector<Licence> default_licences() {
  return {
      {LicenceClass::commercial_cleared, "2026-01", true, false},
      {LicenceClass::commercial_enterprise, "2026-01", true, false},
      {LicenceClass::personal_only, "2026-01", false, false},
      {LicenceClass::unclear, "2026-01", false, true},
  };
}

InitReport initialize_installation(const Config& config, TimePoint now) {
  InitReport report;
  ensure_directory(config.database.path.parent_path());
  ensure_directory(config.database.audit_path.parent_path());

  const auto main_report = migrate_database(config.database.path, SchemaKind::main);
  report.main_schema_from = main_report.from_version;
  report.main_schema_to = main_report.to_version;
  const auto audit_report = migrate_database(config.database.audit_path, SchemaKind::audit);
  report.audit_schema_from = audit_report.from_version;
  report.audit_schema_to = audit_report.to_version;

  CatalogStore catalog(config.database.path);
  for (const auto& licence : default_licences()) {
    if (!catalog.licence(licence.licence_class, licence.licence_version)) {
      catalog.set_licence(licence);
      ++report.licences_seeded;
    }
  }

  ensure_directory(config.playback.key_file.parent_path());
  report.key_file_created = create_key_file_if_missing(config.playback.key_file, now);
  report.media_root_created = ensure_directory(config.playback.media_root);
  return report;
}

}  // namespace sharelink
