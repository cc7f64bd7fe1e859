// Unit tests of the X-Accel-Redirect value of x_accel mode.
#include <catch2/catch.hpp>
#include <vector>

#include "common/x_accel.hpp"

namespace sharelink {

TEST_CASE("x_accel_redirect_uri: prefix plus the percent-encoded path segments", "[x_accel]") {
  struct Case {
    const char* prefix;
    const char* path;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"/protected-media", "album/song.ogg", "/protected-media/album/song.ogg"},
      {"/protected-media", "a b/c?d#e%f.mp3", "/protected-media/a%20b/c%3Fd%23e%25f.mp3"},
      {"/p", "caf\xc3\xa9.mp3", "/p/caf%C3%A9.mp3"},
      {"/p", "x\r\nX-Evil: 1", "/p/x%0D%0AX-Evil%3A%201"},
      {"/p", "A-Z_a.z~0", "/p/A-Z_a.z~0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    CHECK(x_accel_redirect_uri(c.prefix, c.path) == c.expected);
  }
}

}  // namespace sharelink
