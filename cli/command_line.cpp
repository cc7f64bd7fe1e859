#include "cli/command_line.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/human_output.hpp"
#include "common/catalog_text.hpp"

namespace sharelink {
namespace {

using Run = std::function<CommandResult(Context&)>;

// "N bytes", for the limits named in --help (texts are valid UTF-8 without control characters).
std::string bytes(std::size_t limit) { return std::to_string(limit) + " bytes"; }

// Binds an option whose absence matters (std::optional stays empty unless given).
CLI::Option* add_optional(CLI::App* app, const std::string& name, std::optional<std::string>& target,
                          const std::string& description, const std::string& type_name = "TEXT") {
  return app
      ->add_option_function<std::string>(
          name, [&target](const std::string& value) { target = value; }, description)
      ->type_name(type_name);
}

class Wiring {
 public:
  explicit Wiring(CommandLine& command_line) : command_line_(command_line) {}

  // A subcommand that only groups others.
  CLI::App* group(CLI::App* parent, const std::string& name, const std::string& description) {
    CLI::App* app = parent->add_subcommand(name, description);
    app->require_subcommand(1);
    return app;
  }

  // A subcommand that runs. CLI11 calls a subcommand's callback before its
  // parent's, so the first one called is the innermost (`audit stats` over `audit`).
  CLI::App* command(CLI::App* parent, const std::string& name, const std::string& description, Run run,
                    bool needs_databases = true) {
    CLI::App* app = parent->add_subcommand(name, description);
    app->callback([this, run = std::move(run), needs_databases] {
      if (command_line_.run) return;
      command_line_.run = run;
      command_line_.needs_databases = needs_databases;
    });
    return app;
  }

 private:
  CommandLine& command_line_;
};

void add_catalog_commands(CLI::App& app, Wiring& wiring) {
  wiring.command(&app, "init",
                 "Create or migrate both databases, seed licences, create the key file if missing", run_init,
                 /*needs_databases=*/false);

  CLI::App* licence = wiring.group(&app, "licence", "The licence registry");
  auto licence_set = std::make_shared<LicenceSetArgs>();
  CLI::App* set = wiring.command(licence, "set", "Add or change one registry entry",
                                 [licence_set](Context& c) { return run_licence_set(c, *licence_set); });
  set->add_option("CLASS", licence_set->licence_class,
                  "commercial_cleared | commercial_enterprise | personal_only | unclear")
      ->required();
  set->add_option("VERSION", licence_set->licence_version, "Licence version, e.g. 2026-01")->required();
  set->add_option("--commercial-use", licence_set->commercial_use, "yes | no")
      ->required()
      ->type_name("yes|no");
  set->add_option("--requires-attribution", licence_set->requires_attribution, "yes | no")
      ->required()
      ->type_name("yes|no");
  wiring.command(licence, "list", "List the registry", run_licence_list);

  CLI::App* track = wiring.group(&app, "track", "Tracks of the catalogue");
  auto add_args = std::make_shared<TrackAddArgs>();
  CLI::App* add = wiring.command(track, "add", "Add one track",
                                 [add_args](Context& c) { return run_track_add(c, *add_args); });
  add->add_option("--title", add_args->title, "Title (at most " + bytes(k_max_title_bytes) + ")")->required();
  add->add_option("--engine", add_args->engine, "Engine key (at most " + bytes(k_max_engine_bytes) + ")")->required();
  add->add_option("--mode", add_args->mode, "Generation mode (at most " + bytes(k_max_mode_bytes) + ")")->required();
  add->add_option("--licence", add_args->licence, "Licence, e.g. personal_only@2026-01")
      ->required()
      ->type_name("CLASS@VERSION");
  add->add_option("--audio", add_args->audio, "Audio file, relative to playback.media_root")
      ->required()
      ->type_name("PATH");
  add_optional(add, "--duration", add_args->duration, "Measured duration", "SECONDS");
  add->add_flag("--instrumental", add_args->instrumental, "The track is instrumental");
  add->add_flag("--no-commercial", add_args->no_commercial,
                "Never offer commercial use, whatever the licence");
  add_optional(add, "--mime", add_args->mime, "MIME type (default: guessed from the file extension)", "TYPE");
  add_optional(add, "--id", add_args->id, "Track id (default: a new mtrack_ id)", "ID");

  auto import_file = std::make_shared<std::string>();
  CLI::App* import = wiring.command(track, "import", "Upsert tracks from JSON Lines (all or nothing; texts as for track add)",
                                    [import_file](Context& c) { return run_track_import(c, *import_file); });
  import->add_option("FILE", *import_file, "JSON Lines file, or - for standard input")->required();
  wiring.command(track, "list", "List tracks", run_track_list);

  struct IdCommand {
    const char* name;
    const char* description;
    CommandResult (*run)(Context&, const std::string&);
  };
  const IdCommand track_id_commands[] = {
      {"show", "Show one track", run_track_show},
      {"remove", "Mark a track removed: its shares answer available:false", run_track_remove},
      {"restore", "Undo remove", run_track_restore},
  };
  for (const IdCommand& entry : track_id_commands) {
    auto id = std::make_shared<std::string>();
    wiring
        .command(track, entry.name, entry.description,
                 [id, run = entry.run](Context& c) { return run(c, *id); })
        ->add_option("ID", *id, "Track id")
        ->required();
  }

  CLI::App* collection = wiring.group(&app, "collection", "Collections of tracks");
  auto create_args = std::make_shared<CollectionCreateArgs>();
  CLI::App* create =
      wiring.command(collection, "create", "Create an empty collection",
                     [create_args](Context& c) { return run_collection_create(c, *create_args); });
  create->add_option("--name", create_args->name, "Name (at most " + bytes(k_max_collection_name_bytes) + ")")->required();
  add_optional(create, "--description", create_args->description,
               "Description (at most " + bytes(k_max_description_bytes) + ")");
  add_optional(create, "--id", create_args->id, "Collection id (default: a new mcoll_ id)", "ID");

  struct MembershipCommand {
    const char* name;
    const char* description;
    CommandResult (*run)(Context&, const std::string&, const std::vector<std::string>&);
  };
  const MembershipCommand membership_commands[] = {
      {"add", "Append tracks, in the given order", run_collection_add},
      {"drop", "Take tracks out of the collection", run_collection_drop},
  };
  for (const MembershipCommand& entry : membership_commands) {
    auto collection_id = std::make_shared<std::string>();
    auto track_ids = std::make_shared<std::vector<std::string>>();
    CLI::App* change = wiring.command(collection, entry.name, entry.description,
                                      [collection_id, track_ids, run = entry.run](Context& c) {
                                        return run(c, *collection_id, *track_ids);
                                      });
    change->add_option("COLLECTION_ID", *collection_id, "Collection id")->required();
    change->add_option("TRACK_ID", *track_ids, "Track ids")->required();
  }
  wiring.command(collection, "list", "List collections", run_collection_list);
  const IdCommand collection_id_commands[] = {
      {"show", "Show one collection", run_collection_show},
      {"remove", "Mark a collection removed: its shares answer available:false", run_collection_remove},
      {"restore", "Undo remove", run_collection_restore},
  };
  for (const IdCommand& entry : collection_id_commands) {
    auto id = std::make_shared<std::string>();
    wiring
        .command(collection, entry.name, entry.description,
                 [id, run = entry.run](Context& c) { return run(c, *id); })
        ->add_option("ID", *id, "Collection id")
        ->required();
  }
}

void add_share_commands(CLI::App& app, Wiring& wiring) {
  CLI::App* share = wiring.group(&app, "share", "Share links");
  auto create_args = std::make_shared<ShareCreateArgs>();
  CLI::App* create = wiring.command(share, "create", "Create a share link (shows its token once)",
                                    [create_args](Context& c) { return run_share_create(c, *create_args); });
  add_optional(create, "--track", create_args->track, "Share this track", "ID");
  add_optional(create, "--collection", create_args->collection, "Share this collection", "ID");
  add_optional(create, "--visibility", create_args->visibility, "link_only (default) | public", "VISIBILITY");
  add_optional(create, "--expires-in-days", create_args->expires_in_days,
               "Expire after N days (at most shares.max_expires_in_days)", "N");
  add_optional(create, "--expires-at", create_args->expires_at,
               "Expire at an RFC 3339 time or after a span (7d)", "TIME");
  add_optional(create, "--max-views", create_args->max_views, "Serve at most N views", "N");
  add_optional(create, "--note", create_args->note, "Operator note (at most " + bytes(k_max_note_bytes) + ")");

  auto status = std::make_shared<std::optional<std::string>>();
  auto target = std::make_shared<std::optional<std::string>>();
  CLI::App* list =
      wiring.command(share, "list", "List share links, newest first",
                     [status, target](Context& c) { return run_share_list(c, *status, *target); });
  add_optional(list, "--status", *status, "active | revoked | expired | exhausted | all (default)", "STATUS");
  add_optional(list, "--target", *target, "Only links to this track or collection", "ID");

  auto reference = std::make_shared<std::string>();
  wiring
      .command(share, "inspect", "Show one share link, by id or by raw token",
               [reference](Context& c) { return run_share_inspect(c, *reference); })
      ->add_option("REFERENCE", *reference, "mslink_ id or shr_ token")
      ->required()
      ->type_name("ID|TOKEN");

  auto revoke_id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::optional<std::string>>();
  CLI::App* revoke =
      wiring.command(share, "revoke", "Revoke a share link (idempotent)",
                     [revoke_id, reason](Context& c) { return run_share_revoke(c, *revoke_id, *reason); });
  revoke->add_option("ID", *revoke_id, "Share link id")->required();
  add_optional(revoke, "--reason", *reason, "Why, kept with the link (at most " + bytes(k_max_reason_bytes) + ")");

  auto expire_id = std::make_shared<std::string>();
  auto at = std::make_shared<std::optional<std::string>>();
  CLI::App* expire =
      wiring.command(share, "expire", "Set a share link's expiry",
                     [expire_id, at](Context& c) { return run_share_expire(c, *expire_id, *at); });
  expire->add_option("ID", *expire_id, "Share link id")->required();
  add_optional(expire, "--at", *at, "RFC 3339 time or a span from now (default: now)", "TIME");

  auto token = std::make_shared<std::string>();
  wiring
      .command(&app, "resolve", "Resolve a token offline, as the daemon would (never counts a view)",
               [token](Context& c) { return run_resolve(c, *token); })
      ->add_option("TOKEN", *token, "Share token")
      ->required();
}

void add_audit_commands(CLI::App& app, Wiring& wiring) {
  auto query = std::make_shared<AuditQueryArgs>();
  CLI::App* audit = wiring.command(&app, "audit", "Browse the audit log, newest first",
                                   [query](Context& c) { return run_audit_query(c, *query); });
  add_optional(audit, "--ip", query->ip, "Client address or CIDR", "ADDR|CIDR");
  add_optional(audit, "--share", query->share, "Share link id", "ID");
  add_optional(audit, "--token", query->token, "Share token (matched by fingerprint)", "TOKEN");
  add_optional(audit, "--event", query->event, "resolve | page | media | admin", "EVENT");
  add_optional(audit, "--outcome", query->outcome, "Outcome, e.g. not_found", "OUTCOME");
  add_optional(audit, "--since", query->since, "RFC 3339 time or a span back from now (7d)", "TIME");
  add_optional(audit, "--until", query->until, "RFC 3339 time or a span back from now", "TIME");
  add_optional(audit, "--limit", query->limit, "At most N records (default 100)", "N");
  add_optional(audit, "--format", query->format, "table (default) | json | csv", "FORMAT");
  audit->add_flag("--follow", query->follow, "Keep printing new records until interrupted");

  auto since = std::make_shared<std::optional<std::string>>();
  CLI::App* stats = wiring.command(audit, "stats", "Counts per outcome, top client IPs",
                                   [since](Context& c) { return run_audit_stats(c, *since); });
  add_optional(stats, "--since", *since, "RFC 3339 time or a span back from now (7d)", "TIME");

  auto older_than = std::make_shared<std::optional<std::string>>();
  CLI::App* prune = wiring.command(audit, "prune", "Delete old records (default: audit.retention_days)",
                                   [older_than](Context& c) { return run_audit_prune(c, *older_than); });
  add_optional(prune, "--older-than", *older_than, "Span, e.g. 30d", "SPAN");

  wiring.command(audit, "import-spill",
                 "Import the spill file left by a shutdown with an unwritable audit database (exactly once)",
                 run_audit_import_spill);
}

void add_maintenance_commands(CLI::App& app, Wiring& wiring) {
  CLI::App* keys =
      wiring.group(&app, "keys", "Playback signing keys (a running daemon reloads them on SIGHUP)");
  wiring.command(keys, "list", "List the keys; the first signs new URLs", run_keys_list);
  wiring.command(keys, "rotate", "Add a new signing key in front; older keys keep verifying",
                 run_keys_rotate);
  auto kid = std::make_shared<std::string>();
  wiring
      .command(keys, "retire", "Remove a key: URLs signed with it stop verifying",
               [kid](Context& c) { return run_keys_retire(c, *kid); })
      ->add_option("KID", *kid, "Key id")
      ->required();

  CLI::App* db = wiring.group(&app, "db", "Database maintenance");
  auto file = std::make_shared<std::string>();
  wiring
      .command(db, "backup", "Consistent online copy of both databases: FILE and FILE-audit",
               [file](Context& c) { return run_db_backup(c, *file); })
      ->add_option("FILE", *file, "Backup file (must not exist)")
      ->required();
  wiring.command(db, "check", "Integrity check and schema version of both databases (exit 1 on a problem)",
                 run_db_check, /*needs_databases=*/false);
  auto target = std::make_shared<std::string>();
  wiring
      .command(db, "copy",
               "Copy the whole installation to an empty PostgreSQL database (URL) or new SQLite files "
               "(FILE and FILE-audit)",
               [target](Context& c) { return run_db_copy(c, *target); })
      ->add_option("--to", *target, "Target: a postgresql:// URL without a password, or a file that must not exist")
      ->type_name("FILE|URL")
      ->required();
}

// The innermost subcommand the parser reached, and its command path ("sharectl track add").
std::pair<const CLI::App*, std::string> deepest_command(const CLI::App& app) {
  const CLI::App* current = &app;
  std::string path = app.get_name();
  for (;;) {
    const auto parsed = current->get_subcommands();
    if (parsed.empty()) return {current, path};
    current = parsed.front();
    path += " " + current->get_name();
  }
}

std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& error) {
  const auto [command, path] = deepest_command(app);
  const std::string hint = " (see \"" + path + " --help\")";
  std::vector<std::string> subcommands;
  for (const CLI::App* sub : command->get_subcommands([](const CLI::App*) { return true; })) {
    subcommands.push_back(sub->get_name());
  }
  const std::string names = joined(subcommands);
  // An unknown word explains a "missing" option or command better than the
  // requirement it displaced, so it is reported first.
  const auto leftover = app.remaining(true);
  const bool about_requirement = dynamic_cast<const CLI::RequiredError*>(&error) != nullptr;
  const bool about_extras = dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr;
  if (!leftover.empty() && (about_requirement || about_extras)) {
    const std::string& word = leftover.front();
    if (!word.empty() && word.front() == '-')
      return "unknown option \"" + word + "\" for \"" + path + "\"" + hint;
    if (!names.empty()) return "unknown command \"" + word + "\" for \"" + path + "\" (one of " + names + ")";
    return "unexpected argument \"" + word + "\" for \"" + path + "\"" + hint;
  }
  std::string what = error.what();
  if (what == "A subcommand is required") return "\"" + path + "\" needs a command: " + names + hint;
  // CLI11 starts its sentences with a capital ("The following argument..."); ours continue "error: ...".
  if (what.size() > 1 && std::isupper(static_cast<unsigned char>(what[0])) &&
      std::islower(static_cast<unsigned char>(what[1]))) {
    what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
  }
  return what + hint;
}

}  // namespace

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine command_line;
  CLI::App app("sharectl: operate shared-link (tracks, collections, licences, share links, audit log)",
               "sharectl");
  app.fallthrough();  // global options after the subcommand too
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sharectl ") + SHARELINK_VERSION);
  app.footer(
      "Exit codes: 0 success, 1 runtime error (database, I/O, config), 2 usage error, 3 not found,\n"
      "4 resolve answered a non-200 status.");

  GlobalOptions& globals = command_line.globals;
  app.add_option_function<std::string>(
         "--config", [&globals](const std::string& v) { globals.config_file = v; },
         "Configuration file (default: $SHARED_LINKD_CONFIG, else /etc/shared-linkd/shared-linkd.toml)")
      ->type_name("FILE");
  app.add_option_function<std::string>(
         "--db", [&globals](const std::string& v) { globals.db_file = v; },
         "Database file (overrides database.path), or a postgresql:// URL without a password "
         "(selects the postgresql backend)")
      ->type_name("FILE");
  app.add_option_function<std::string>(
         "--audit-db", [&globals](const std::string& v) { globals.audit_db_file = v; },
         "Audit database file (overrides database.audit_path)")
      ->type_name("FILE");
  app.add_flag("--json", globals.json, "Machine output: one JSON document on stdout");

  Wiring wiring(command_line);
  add_catalog_commands(app, wiring);
  add_share_commands(app, wiring);
  add_audit_commands(app, wiring);
  add_maintenance_commands(app, wiring);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    command_line.exit_now = ExitCode::ok;
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e);
    command_line.exit_now = ExitCode::ok;
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    command_line.exit_now = ExitCode::ok;
  } catch (const CLI::ParseError& e) {
    print_error(describe_parse_error(app, e));
    command_line.exit_now = ExitCode::usage_error;
  }
  return command_line;
}

}  // namespace sharelink
