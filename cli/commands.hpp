// The sharectl commands of SPEC 8: arguments as the operator typed them, checked inside each command.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/command_result.hpp"
#include "cli/context.hpp"

namespace sharelink {

// Each command prints its human or --json output on stdout and returns an
// outcome; bad values throw UsageError, infrastructure failures throw Error.
// Every command that changes something appends one admin audit record.

// init: create/migrate both databases, seed the licence registry, create the
// key file and media_root when missing. Idempotent.
CommandResult run_init(Context& context);

struct LicenceSetArgs {
  std::string licence_class;
  std::string licence_version;
  std::string commercial_use;        // yes | no
  std::string requires_attribution;  // yes | no
};
CommandResult run_licence_set(Context& context, const LicenceSetArgs& args);
CommandResult run_licence_list(Context& context);

struct TrackAddArgs {
  std::string title;
  std::string engine;
  std::string mode;
  std::string licence;  // CLASS@VERSION
  std::string audio;
  std::optional<std::string> duration;
  bool instrumental = false;
  bool no_commercial = false;
  std::optional<std::string> mime;
  std::optional<std::string> id;
};
CommandResult run_track_add(Context& context, const TrackAddArgs& args);
// file is a path or "-" for standard input.
CommandResult run_track_import(Context& context, const std::string& file);
CommandResult run_track_list(Context& context);
CommandResult run_track_show(Context& context, const std::string& id);
CommandResult run_track_remove(Context& context, const std::string& id);
CommandResult run_track_restore(Context& context, const std::string& id);

struct CollectionCreateArgs {
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> id;
};
CommandResult run_collection_create(Context& context, const CollectionCreateArgs& args);
CommandResult run_collection_add(Context& context, const std::string& collection_id,
                                 const std::vector<std::string>& track_ids);
CommandResult run_collection_drop(Context& context, const std::string& collection_id,
                                  const std::vector<std::string>& track_ids);
CommandResult run_collection_list(Context& context);
CommandResult run_collection_show(Context& context, const std::string& id);
CommandResult run_collection_remove(Context& context, const std::string& id);
CommandResult run_collection_restore(Context& context, const std::string& id);

struct ShareCreateArgs {
  std::optional<std::string> track;
  std::optional<std::string> collection;
  std::optional<std::string> visibility;
  std::optional<std::string> expires_in_days;
  std::optional<std::string> expires_at;
  std::optional<std::string> max_views;
  std::optional<std::string> note;
};
CommandResult run_share_create(Context& context, const ShareCreateArgs& args);
CommandResult run_share_list(Context& context, const std::optional<std::string>& status,
                             const std::optional<std::string>& target);
// reference: a share link id or a raw token (looked up by digest).
CommandResult run_share_inspect(Context& context, const std::string& reference);
// revoke and expire also accept a raw token, like inspect.
CommandResult run_share_revoke(Context& context, const std::string& reference,
                               const std::optional<std::string>& reason);
CommandResult run_share_expire(Context& context, const std::string& reference,
                               const std::optional<std::string>& at);

// Offline resolve through the daemon's resolver: never counts a view.
CommandResult run_resolve(Context& context, const std::string& token);

struct AuditQueryArgs {
  std::optional<std::string> ip;
  std::optional<std::string> share;
  std::optional<std::string> token;
  std::optional<std::string> event;
  std::optional<std::string> outcome;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::optional<std::string> limit;
  std::optional<std::string> format;  // table | json | csv
  bool follow = false;
};
CommandResult run_audit_query(Context& context, const AuditQueryArgs& args);
CommandResult run_audit_stats(Context& context, const std::optional<std::string>& since);
CommandResult run_audit_prune(Context& context, const std::optional<std::string>& older_than);
// audit import-spill: imports the spill file a shutdown left (AUDIT_PATH-spill.jsonl), exactly once; exit 1
// when some lines could not be imported (reported FILE:LINE, kept in a .rejected file).
CommandResult run_audit_import_spill(Context& context);

// keys list | rotate | retire KID: the playback signing key file. A running
// daemon picks up changes on SIGHUP.
CommandResult run_keys_list(Context& context);
CommandResult run_keys_rotate(Context& context);
CommandResult run_keys_retire(Context& context, const std::string& kid);

// db backup FILE: consistent online copies FILE and FILE-audit.
CommandResult run_db_backup(Context& context, const std::string& file);
// db check: integrity and schema version of both databases; problem_found on any problem.
CommandResult run_db_check(Context& context);
// sharectl db copy --to TARGET (SPEC 13).
CommandResult run_db_copy(Context& context, const std::string& target);

}  // namespace sharelink
