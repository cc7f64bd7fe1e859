// The SQLite backend's entry point: an installation of two SQLite files (catalogue and audit log) behind
// common/store.hpp.
#pragma once

#include <filesystem>
#include <memory>

#include "common/store.hpp"

namespace sharelink {

// The backend over db_file (licences, catalogue, share links) and audit_file
// (the audit log). Opens nothing: each connection opens its file when it is
// created. Thread-safe, as StorageBackend requires.
std::unique_ptr<StorageBackend> open_sqlite_storage(std::filesystem::path db_file,
                                                    std::filesystem::path audit_file,
                                                    const StorageOptions& options);

}  // namespace sharelink
