#include "common/store.hpp"

#include "common/config.hpp"
#include "common/error.hpp"
#include "common/pg_connection.hpp"
#include "common/store_postgres.hpp"
#include "common/store_sqlite.hpp"

namespace sharelink {

void StorageBackend::require_current_schema() const {
  const auto problems = schema_problems();
  if (!problems.empty()) throw Error(problems.front());
}

void prepare_storage_for_threads() { configure_sqlite_for_threads(); }

std::unique_ptr<StorageBackend> open_storage(const DatabaseConfig& config, const StorageOptions& options) {
  if (config.backend == DatabaseBackend::postgresql) {
    return open_postgres_storage(pg_connect_options(config), options);
  }
  return open_sqlite_storage(config.path, config.audit_path, options);
}

}  // namespace sharelink
