// shared-linkd: serves GET /v1/music/shared/{token} (and its signed media URLs) from the local database.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>
#include <thread>

#include "common/audit_spill.hpp"
#include "common/audit_store.hpp"
#include "common/audit_writer.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "common/logfmt.hpp"
#include "common/playback_signer.hpp"
#include "common/signing_keys.hpp"
#include "common/store.hpp"
#include "daemon/demo.hpp"
#include "daemon/public_server.hpp"
#include "daemon/server_state.hpp"

namespace sharelink {
namespace {

struct DaemonOptions {
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> listen;
  std::optional<std::filesystem::path> db;
  bool check_config = false;
  bool demo = false;
  bool version = false;
};

// Every problem --check-config can find, beyond the config file's own.
std::vector<std::string> check_installation(const Config& config, const StorageBackend& storage) {
  std::vector<std::string> problems = storage.schema_problems();
  auto check = [&](auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  };
  check([&] { load_playback_signer(config); });
  if (config.playback.mode == PlaybackMode::builtin && !std::filesystem::is_directory(config.playback.media_root)) {
    problems.push_back("playback.media_root " + config.playback.media_root.string() +
                       " is not a directory (run \"sharectl init\" or fix the path)");
  }
  return problems;
}

// Series of /metrics read at scrape time from the limiters and the audit
// writer; they live as long as state and the audit writer, i.e. past serve().
void add_runtime_metrics(ServerState& state) {
  Metrics& metrics = state.metrics();
  const std::pair<const char*, RateLimiter*> limiters[] = {
      {"resolve", &state.resolve_limiter()}, {"media", &state.media_limiter()}, {"miss", &state.miss_limiter()}};
  for (const auto& entry : limiters) {
    RateLimiter* limiter = entry.second;
    metrics.add_gauge({"sharelink_rate_limiter_clients", "Client buckets held by each rate limiter.", "gauge",
                       [limiter] { return static_cast<double>(limiter->size()); }, {{"limiter", entry.first}}});
  }
  AuditWriter& audit = state.audit();
  metrics.add_gauge({"sharelink_audit_queue_depth", "Audit records waiting for the writer thread.", "gauge",
                     [&audit] { return static_cast<double>(audit.queue_depth()); }});
  metrics.add_gauge({"sharelink_audit_records_written_total", "Audit records committed to the audit database.",
                     "counter", [&audit] { return static_cast<double>(audit.records_written()); }});
  metrics.add_gauge({"sharelink_audit_write_errors_total", "Failed audit batch writes and retention runs (retried).",
                     "counter", [&audit] { return static_cast<double>(audit.write_errors()); }});
  metrics.add_gauge({"sharelink_audit_records_lost_total",
                     "Audit records that could be neither written nor spilled (logged when it happens).", "counter",
                     [&audit] { return static_cast<double>(audit.records_lost()); }});
  metrics.add_gauge({"sharelink_audit_records_spilled_total",
                     "Audit records written to the spill file at shutdown (the audit database refused writes).",
                     "counter", [&audit] { return static_cast<double>(audit.records_spilled()); }});
  metrics.add_gauge({"sharelink_audit_requests_refused_total",
                     "Requests answered 503 without a record: the audit queue stayed full for audit.queue_wait_ms.",
                     "counter", [&audit] { return static_cast<double>(audit.requests_refused()); }});
  metrics.add_gauge({"sharelink_audit_commit_timeouts_total",
                     "Requests answered 503 because their record was not committed within audit.queue_wait_ms "
                     "(audit.synchronous); the record is still written.",
                     "counter", [&audit] { return static_cast<double>(audit.commit_timeouts()); }});
  metrics.add_gauge({"sharelink_audit_writer_failing",
                     "1 while the audit database refuses writes (then /readyz answers 503), else 0.", "gauge",
                     [&audit] { return audit.failing() ? 1.0 : 0.0; }});
}

// SIGTERM/SIGINT stop the server; SIGHUP reloads keys and rate limits.
// Runs on its own thread; the signals are blocked everywhere else.
void handle_signals(const sigset_t& signals, PublicServer& server, ServerState& state, const Config& config,
                    const DaemonOptions& options, std::chrono::steady_clock::time_point& stop_requested) {
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      try {
        Config fresh = config.source.empty() ? config : load_config_file(config.source);
        fresh.server.listen = config.server.listen;  // the socket stays where it is
        if (options.db) fresh.database.path = *options.db;
        state.reload(fresh);
        log_event(LogLevel::info, "reloaded signing keys and rate limits");
      } catch (const std::exception& e) {
        log_event(LogLevel::error, "reload failed; keeping the previous settings", {{"error", e.what()}});
      }
      continue;
    }
    stop_requested = std::chrono::steady_clock::now();
    log_event(LogLevel::info, "shutting down", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
    server.stop();
    return;
  }
}

// The spill file a shutdown left (SPEC 7), imported before serving: once, and
// logged with what it held. A failure is logged and the file kept for the
// next start or "sharectl audit import-spill"; serving goes on (the writer
// fails closed by itself if the audit database still refuses writes).
void import_spill_at_start(StorageBackend& storage, const std::filesystem::path& spill) {
  try {
    if (!std::filesystem::exists(spill)) return;
    AuditStore store(storage.open_audit(AuditUse::queries));
    const SpillImport imported = import_audit_spill(spill, store, "shared-linkd", system_clock_now());
    for (const auto& bad : imported.bad_lines) {
      log_event(LogLevel::error, "audit spill line not imported", {{"line", bad}});
    }
    const std::string records = std::to_string(imported.records_imported);
    const std::string already = std::to_string(imported.records_already_imported);
    const std::string bad_lines = std::to_string(imported.bad_lines.size());
    const std::string rejected = imported.rejected_file ? imported.rejected_file->string() : "";
    log_event(imported.bad_lines.empty() ? LogLevel::info : LogLevel::warn, "imported the audit spill file",
              {{"file", spill.string()},
               {"records", records},
               {"records_already_imported", already},
               {"bad_lines", bad_lines},
               {"rejected_file", rejected}});
  } catch (const std::exception& e) {
    log_event(LogLevel::error, "cannot import the audit spill file; kept for the next start or \"sharectl audit import-spill\"",
              {{"file", spill.string()}, {"error", e.what()}});
  }
}

// glibc gives each thread that allocates while the others hold their arenas
// an arena of its own, up to eight per core. Many worker threads then spread
// the same transient allocations over 16 arenas on 2 cores, and each keeps
// its own high-water mark: after a 1M-address flood with 272 worker threads
// that was a quarter of the daemon's resident memory (tests/bench/README.md). One arena per core keeps lock contention low
// (tcache serves most small blocks without the arena lock). An operator's own
// MALLOC_ARENA_MAX, or a glibc.malloc.arena_max in GLIBC_TUNABLES
// ("name=value" entries separated by ':'), wins.
void limit_malloc_arenas() {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  if (const char* tunables = std::getenv("GLIBC_TUNABLES")) {
    std::string_view rest(tunables);
    while (!rest.empty()) {
      const auto end = std::min(rest.find(':'), rest.size());
      const auto entry = rest.substr(0, end);
      if (entry.substr(0, entry.find('=')) == "glibc.malloc.arena_max") return;
      rest.remove_prefix(std::min(end + 1, rest.size()));
    }
  }
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  ::mallopt(M_ARENA_MAX, static_cast<int>(cores));
}

int run(const DaemonOptions& options) {
  limit_malloc_arenas();  // before any thread allocates
  // 1. Signals are blocked before any thread exists, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  prepare_storage_for_threads();  // before the first connection

  // 2. Configuration: the demo's throwaway installation, or the config file.
  std::optional<DemoInstallation> demo;
  Config config;
  if (options.demo) {
    demo = create_demo_installation(options.listen.value_or("127.0.0.1:8787"));
    config = demo->config;
  } else {
    config = load_config(options.config_file);
  }
  if (options.listen) config.server.listen = *options.listen;
  if (options.db) config.database.path = *options.db;

  const auto storage = open_storage(config.database);
  if (options.check_config) {
    const auto problems = check_installation(config, *storage);
    for (const auto& problem : problems) std::cerr << "shared-linkd: error: " << problem << "\n";
    if (problems.empty()) std::cout << "configuration OK" << (config.source.empty() ? " (built-in defaults)" : "") << "\n";
    return problems.empty() ? 0 : 1;
  }

  // 3. Storage: refuse databases of another schema version, with the fix.
  storage->require_current_schema();

  // 4. The audit writer runs for the whole life of the server and is drained
  //    last; what a shutdown cannot write goes to the spill file, which the
  //    next start imports first.
  const std::filesystem::path spill = audit_spill_path(config.database);
  import_spill_at_start(*storage, spill);
  AuditWriterOptions audit_options;
  audit_options.spill = [spill](std::span<const AuditRecord> records) {
    const SpillWrite written = write_audit_spill(spill, records, system_clock_now());
    log_event(LogLevel::warn, "audit records written to the spill file",
              {{"file", spill.string()}, {"records", std::to_string(written.records)}, {"segment", written.segment},
               {"fix", "imported at the next start, or run \"sharectl audit import-spill\""}});
  };
  AuditWriter audit(storage->open_audit(AuditUse::writer), audit_options);
  audit.set_retention(config.audit.retention_days, config.audit.ip_retention_days);

  // 5. Shared state (keys, limiters, metrics) and the HTTP server.
  ServerState state(config, *storage, audit);
  add_runtime_metrics(state);
  PublicServer server(state);
  int port = 0;
  try {
    port = server.bind();
  } catch (const Error& e) {
    log_event(LogLevel::error, "cannot listen", {{"addr", config.server.listen}, {"error", e.what()}});
    throw;
  }
  Config bound = config;
  const std::string host = parse_listen_address(config.server.listen)->host;
  bound.server.listen = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  state.reload(bound);  // playback URLs name the port actually bound
  const auto where = storage->describe();
  const std::string schema_version = std::to_string(storage->schema_version());
  std::vector<LogField> fields = {{"version", SHARELINK_VERSION}, {"addr", bound.server.listen}};
  for (const auto& [key, value] : where) fields.emplace_back(key, value);
  fields.emplace_back("schema_version", schema_version);
  fields.emplace_back("playback_mode", to_string(config.playback.mode));
  log_event(LogLevel::info, "listening", fields);
  if (!server.loopback_only()) {
    // Said once, at start-up: the daemon is built to sit behind a reverse proxy.
    log_event(LogLevel::warn, "listening on a non-loopback address without a reverse proxy in front is unsafe",
              {{"addr", bound.server.listen},
               {"risk", "a worker thread per request being read (server.threads): a few clients that send "
                        "slowly keep every other client waiting, and idle connections take the room of others "
                        "(64 x server.threads open at most); request heads of up to 32 KiB are held per "
                        "connection"},
               {"fix", "listen on 127.0.0.1 and serve the public through nginx with the site in packaging/nginx "
                       "(installed under /usr/share/doc/shared-link/examples/nginx/)"}});
  }
  if (demo) std::cout << demo_instructions(*demo, bound.public_base_url()) << std::flush;

  // 6. Serve until a signal; then finish in-flight requests and flush the audit log.
  auto stop_requested = std::chrono::steady_clock::time_point::max();
  std::thread signal_thread(handle_signals, std::cref(signals), std::ref(server), std::ref(state), std::cref(bound),
                            std::cref(options), std::ref(stop_requested));
  const bool served = server.serve();
  if (!served) {
    log_event(LogLevel::error, "server stopped unexpectedly");
    // The thread waits for SIGTERM in sigwait(): this wakes it, as a signal from outside would.
    pthread_kill(signal_thread.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
  }
  signal_thread.join();
  // At most audit.shutdown_grace_seconds from the signal for a database that
  // refuses writes; then the records left are spilled.
  const auto since = std::min(stop_requested, std::chrono::steady_clock::now());
  audit.stop_by(since + std::chrono::seconds(config.audit.shutdown_grace_seconds));
  log_event(audit.records_lost() == 0 ? LogLevel::info : LogLevel::error, "stopped",
            {{"audit_records_written", std::to_string(audit.records_written())},
             {"audit_records_spilled", std::to_string(audit.records_spilled())},
             {"audit_records_lost", std::to_string(audit.records_lost())},
             {"audit_write_errors", std::to_string(audit.write_errors())},
             {"audit_requests_refused", std::to_string(audit.requests_refused())}});
  return served ? 0 : 1;
}

}  // namespace
}  // namespace sharelink

// Only the command line's setup can throw outside the try blocks below (CLI11 on a programming
// error, such as an option declared twice): terminating then is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  using sharelink::DaemonOptions;
  DaemonOptions options;
  CLI::App app{"shared-linkd: serves public share links from the local shared-link database", "shared-linkd"};
  app.add_option("--config", options.config_file, "TOML configuration file");
  app.add_option("--listen", options.listen, "HOST:PORT to listen on (overrides server.listen)");
  app.add_option("--db", options.db, "database file (overrides database.path)");
  app.add_flag("--check-config", options.check_config, "validate the configuration and installation, then exit");
  app.add_flag("--demo", options.demo, "serve a throwaway demo installation on 127.0.0.1:8787");
  app.add_flag("--version", options.version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "shared-linkd: error: " << e.what() << " (see \"shared-linkd --help\")\n";
    return 2;
  }
  if (options.listen && !sharelink::parse_listen_address(*options.listen)) {
    std::cerr << "shared-linkd: error: --listen: expected HOST:PORT (\"[::1]:8787\" for IPv6), got \"" << *options.listen
              << "\"\n";
    return 2;
  }
  if (options.version) {
    std::cout << "shared-linkd " << SHARELINK_VERSION << "\n";
    return 0;
  }
  try {
    return sharelink::run(options);
  } catch (const sharelink::ConfigError& e) {
    for (const auto& problem : e.problems()) std::cerr << "shared-linkd: error: " << problem << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "shared-linkd: error: " << e.what() << "\n";
    return 1;
  }
}
