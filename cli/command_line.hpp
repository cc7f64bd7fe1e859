// Turning argv into one sharectl command: the CLI11 wiring of SPEC 8's commands, flags and help.
#pragma once

#include <functional>
#include <optional>

#include "cli/command_result.hpp"
#include "cli/context.hpp"

namespace sharelink {

struct CommandLine {
  GlobalOptions globals;
  std::function<CommandResult(Context&)> run;
  bool needs_databases = true;  // every command but init requires both current databases
  // Set when parsing already answered: --help or --version (0), or a rejected
  // command line (2, the error already printed as "sharectl: error: ...").
  std::optional<ExitCode> exit_now;
};

// Parses the command line. Global options are accepted before or after the
// subcommand. Never throws for bad input: that is exit_now = usage_error.
CommandLine parse_command_line(int argc, char** argv);

}  // namespace sharelink
