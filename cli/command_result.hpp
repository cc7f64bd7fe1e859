// What a sharectl command answers (a domain outcome, never an exception) and the one map from outcomes to
// exit codes.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace sharelink {

// SPEC 8 exit codes.
enum class ExitCode : int {
  ok = 0,
  runtime_error = 1,  // database, I/O, configuration
  usage_error = 2,    // unknown flag, bad value (UsageError, CLI parse errors)
  not_found = 3,      // unknown id or token in an admin command
  resolve_not_ok = 4  // `sharectl resolve` answered a status other than 200
};

// The outcome of one command. Infrastructure failures are not outcomes: they
// throw Error (exit 1) or UsageError (exit 2) and are caught once, in main.
struct CommandResult {
  // problem_found: the command ran and reports a problem it found (db check).
  enum class Kind { ok, not_found, resolve_not_ok, problem_found };
  Kind kind = Kind::ok;
  std::string message;  // printed as "sharectl: error: <message>" when not empty

  static CommandResult ok() { return {}; }
  static CommandResult not_found(std::string what) { return {Kind::not_found, std::move(what)}; }
  static CommandResult resolve_not_ok() { return {Kind::resolve_not_ok, {}}; }
  static CommandResult problem_found(std::string what) { return {Kind::problem_found, std::move(what)}; }
};

// The not-found outcomes, each naming the value and the command that lists what exists.
CommandResult unknown_track(std::string_view id);
CommandResult unknown_collection(std::string_view id);
// reference: a share link id, or a raw token (never echoed: only its fingerprint is shown).
CommandResult unknown_share(std::string_view reference);

// The exit code of an outcome: ok 0, problem_found 1, not_found 3, resolve_not_ok 4.
inline ExitCode exit_code(CommandResult::Kind kind) {
  switch (kind) {
    case CommandResult::Kind::ok:
      return ExitCode::ok;
    case CommandResult::Kind::not_found:
      return ExitCode::not_found;
    case CommandResult::Kind::resolve_not_ok:
      return ExitCode::resolve_not_ok;
    case CommandResult::Kind::problem_found:
      return ExitCode::runtime_error;
  }
  return ExitCode::runtime_error;
}

}  // namespace sharelink
