// What every sharectl command shares: global options, configuration, stores, the operator's name and output
// mode.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/audit_store.hpp"
#include "common/config.hpp"
#include "common/store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

// The SPEC 8 global options, accepted before or after the subcommand.
struct GlobalOptions {
  std::optional<std::filesystem::path> config_file;    // --config
  std::optional<std::filesystem::path> db_file;        // --db, overrides database.path
  std::optional<std::filesystem::path> audit_db_file;  // --audit-db, overrides database.audit_path
  bool json = false;                                   // --json
};

// One per sharectl run; single-threaded. Stores are opened on first use.
class Context {
 public:
  // Loads the configuration (SPEC 10 search order) and applies --db and
  // --audit-db. Throws ConfigError or Error when the configuration is unusable.
  explicit Context(const GlobalOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Config& config() const { return config_; }
  // True when --json asked for one JSON document on stdout.
  bool json() const { return json_; }
  // The time of this run, read once so every record of one command agrees.
  TimePoint now() const { return now_; }
  // The OS user running sharectl (getpwuid(geteuid()), else $USER).
  const std::string& actor() const { return actor_; }

  // Throws Error naming the file and the fix (run "sharectl init") unless
  // both databases exist with the schema version this build knows.
  void require_databases();

  // The installation's storage (--db, --audit-db and the configuration's [database]).
  StorageBackend& storage();
  // The licence registry, catalogue and share links; opened on first use.
  AdminStore& admin();
  // The audit log; opened on first use.
  AuditStore& audit();

  // Appends one admin audit record (event "admin", outcome "ok", actor, this
  // run's request id). detail is cut to a short text; never pass a token.
  // share_id and token_fp (the fingerprint, never the token) tie a share
  // change to the link, so "sharectl audit --token" finds it too.
  void record_admin(std::string_view action, std::string_view share_id, std::string_view detail,
                    std::string_view token_fp = {});

  // Writes one JSON document (already serialised) and a newline to stdout.
  void print_json(const std::string& document) const;

 private:
  Config config_;
  bool json_ = false;
  TimePoint now_;
  std::string actor_;
  std::string request_id_;
  std::unique_ptr<StorageBackend> storage_;
  std::unique_ptr<AdminStore> admin_;
  std::unique_ptr<AuditStore> audit_;
};

}  // namespace sharelink
