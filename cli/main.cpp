// sharectl: the operator's CLI (SPEC 8). Parse, run one command, map its outcome to an exit code.
#include <exception>

#include "cli/command_line.hpp"
#include "cli/command_result.hpp"
#include "cli/context.hpp"
#include "cli/human_output.hpp"
#include "common/error.hpp"

namespace {

using sharelink::ExitCode;

int report(std::string_view what, ExitCode code) {
  sharelink::print_error(what);
  return static_cast<int>(code);
}

// The one place where outcomes and exceptions become exit codes.
int run(const sharelink::CommandLine& command) {
  try {
    sharelink::Context context(command.globals);
    if (command.needs_databases) context.require_databases();
    const sharelink::CommandResult result = command.run(context);
    if (!result.message.empty()) sharelink::print_error(result.message);
    return static_cast<int>(sharelink::exit_code(result.kind));
  } catch (const sharelink::ConfigError& e) {
    for (const auto& problem : e.problems()) sharelink::print_error(problem);
    return static_cast<int>(ExitCode::runtime_error);
  } catch (const sharelink::UsageError& e) {
    return report(e.what(), ExitCode::usage_error);
  } catch (const sharelink::Error& e) {
    return report(e.what(), ExitCode::runtime_error);
  } catch (const std::exception& e) {
    return report(std::string("unexpected failure: ") + e.what(), ExitCode::runtime_error);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const sharelink::CommandLine command = sharelink::parse_command_line(argc, argv);
  if (command.exit_now) return static_cast<int>(*command.exit_now);
  return run(command);
}
