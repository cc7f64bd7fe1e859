// Setting up an installation: both databases, the licence registry seed, the key file, media_root.
#pragma once

#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/domain.hpp"
#include "common/store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

struct InitReport {
  int main_schema_from = 0, main_schema_to = 0;
  int audit_schema_from = 0, audit_schema_to = 0;
  int licences_seeded = 0;         // registry entries added (existing ones are left alone)
  bool key_file_created = false;
  bool media_root_created = false;
};

// The registry sharectl init seeds: version 2026-01 of the four classes.
std::vector<Licence> default_licences();

// Creates or migrates the storage (StorageBackend::migrate), adds the default
// licences that are missing (an operator's later changes are kept), creates
// the key file (0600) and media_root if missing. Idempotent; safe while a
// daemon runs. Throws Error on I/O or database failure.
InitReport initialize_installation(const Config& config, StorageBackend& storage, TimePoint now);

}  // namespace sharelink
