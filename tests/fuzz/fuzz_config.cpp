// Fuzzes configuration loading (SPEC 10): any text is a Config or a ConfigError, never a crash.
#include <string>

#include "common/config.hpp"
#include "common/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace sharelink;
using sharelink::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = sharelink::fuzz::text_of(data, size);
  try {
    const Config config = parse_config(text, "fuzz.toml", "/srv/shared-link");
    require(config.database.path.is_absolute(), "database.path is made absolute");
    require(config.playback.media_root.is_absolute(), "playback.media_root is made absolute");
    require(parse_listen_address(config.server.listen).has_value(), "server.listen is a valid address");
    require(config.server.threads > 0, "server.threads is positive");
  } catch (const ConfigError& e) {
    require(!e.problems().empty(), "a ConfigError names at least one problem");
    for (const auto& problem : e.problems()) {
      require(problem.rfind("fuzz.toml", 0) == 0, "every problem names the file");
    }
  }
  return 0;
}
