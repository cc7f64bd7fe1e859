#include "common/installation.hpp"

#include <filesystem>

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

InitReport initialize_installation(const Config& config, StorageBackend& storage, TimePoint now) {
  InitReport report;
  const StorageMigration migration = storage.migrate();
  report.main_schema_from = migration.catalogue.from_version;
  report.main_schema_to = migration.catalogue.to_version;
  report.audit_schema_from = migration.audit.from_version;
  report.audit_schema_to = migration.audit.to_version;

  const auto admin = storage.open_admin();
  for (const auto& licence : default_licences()) {
    if (!admin->licence(licence.licence_class, licence.licence_version)) {
      admin->set_licence(licence);
      ++report.licences_seeded;
    }
  }

  ensure_directory(config.playback.key_file.parent_path());
  report.key_file_created = create_key_file_if_missing(config.playback.key_file, now);
  report.media_root_created = ensure_directory(config.playback.media_root);
  return report;
}

}  // namespace sharelink
