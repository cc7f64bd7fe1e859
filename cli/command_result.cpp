#include "cli/command_result.hpp"

#include "cli/arguments.hpp"
#include "common/ids.hpp"

namespace sharelink {

CommandResult unknown_track(std::string_view id) {
  return CommandResult::not_found("unknown track " + quote_value(id) + " (see \"sharectl track list\")");
}

CommandResult unknown_collection(std::string_view id) {
  return CommandResult::not_found("unknown collection " + quote_value(id) +
                                  " (see \"sharectl collection list\")");
}

CommandResult unknown_share(std::string_view reference) {
  if (is_share_token(reference)) {
    return CommandResult::not_found("no share link has a token with fingerprint " +
                                    token_fingerprint(reference) + " (see \"sharectl share list\")");
  }
  if (reference.rfind("shr_", 0) == 0) {
    return CommandResult::not_found("malformed share token (expected shr_ followed by 32 lowercase hex)");
  }
  return CommandResult::not_found("unknown share link " + quote_value(reference) +
                                  " (see \"sharectl share list\")");
}

}  // namespace sharelink
