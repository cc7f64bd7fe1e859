// Unit tests of the checks of operator-supplied texts, and of their escaping for terminals and messages.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/catalog_text.hpp"
#include "common/error.hpp"

namespace sharelink {

TEST_CASE("is_clean_text: UTF-8 without C0, DEL or C1 controls", "[catalog_text]") {
  struct Case {
    std::string text;
    bool clean;
  };
  const std::vector<Case> cases = {
      {"Late Night Study", true},
      {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xb5", true},  // é, 日本, 🎵
      {"\xc2\xa0nbsp", true},                                            // U+00A0 is not a control
      {"", true},
      {"tab\there", false},
      {"esc\x1b[31m", false},
      {"cr\r", false},
      {std::string("nul\0", 4), false},
      {"del\x7f", false},
      {"c1\xc2\x80", false},  // U+0080
      {"c1\xc2\x9b", false},  // U+009B CSI
      {"c1\xc2\x9f", false},  // U+009F
      {"lone\xff", false},
      {"cut\xc3", false},
      {"overlong\xc0\xaf", false},
      {"surrogate\xed\xa0\x80", false},
      {"beyond\xf4\x90\x80\x80", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(is_clean_text(c.text) == c.clean);
  }
}

TEST_CASE("parse_text: the limit is in bytes, an overlong text is named by its length", "[catalog_text]") {
  CHECK(parse_text("--title", std::string(300, 'x'), 300) == std::string(300, 'x'));
  CHECK_THROWS_AS(parse_text("--title", std::string(301, 'x'), 300), UsageError);
  CHECK_THROWS_WITH(parse_text("--title", std::string(301, 'x'), 300),
                    "--title: expected a non-empty text of at most 300 bytes (valid UTF-8, no control "
                    "characters), got 301 bytes");
  std::string e_acute;
  for (int i = 0; i < 151; ++i) e_acute += "\xc3\xa9";
  CHECK_THROWS_WITH(parse_text("--title", e_acute, 300), Catch::EndsWith("got 302 bytes"));
  CHECK_THROWS_WITH(parse_text("--title", "", 300), Catch::EndsWith("got \"\""));
  CHECK_THROWS_WITH(parse_text("--note", "a\x1b[2Jb", 1000), Catch::EndsWith("got \"a\\x1b[2Jb\""));
  CHECK_THROWS_WITH(parse_text("--note", "a\xc2\x9b" "b", 1000), Catch::EndsWith("got \"a\\u009bb\""));
}

TEST_CASE("visible_text: controls and invalid bytes become escapes, the rest stays", "[catalog_text]") {
  CHECK(visible_text("plain caf\xc3\xa9") == "plain caf\xc3\xa9");
  CHECK(visible_text("\x1b]0;t\x07\r\n\t") == "\\x1b]0;t\\x07\\x0d\\x0a\\x09");
  CHECK(visible_text(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(visible_text("\x7f\xc2\x85\xc2\xa0") == "\\x7f\\u0085\xc2\xa0");
  CHECK(visible_text("\xff\xc3") == "\\xff\\xc3");
  CHECK(visible_text("\"q\" \\") == "\"q\" \\");
}

TEST_CASE("quote_value: quoted, escaped, cut at 200 bytes without splitting a character", "[catalog_text]") {
  CHECK(quote_value("a\"b\\c\x1b") == "\"a\\x22b\\x5cc\\x1b\"");
  CHECK(quote_value(std::string(250, 'x')) == "\"" + std::string(200, 'x') + "...\"");
  std::string mixed = std::string(199, 'x') + "\xc3\xa9" + std::string(10, 'y');
  CHECK(quote_value(mixed) == "\"" + std::string(199, 'x') + "...\"");
  CHECK(quote_value("\xc2\x9b") == "\"\\u009b\"");
}

TEST_CASE("parse_mime_type, parse_licence_class_arg, parse_licence_version", "[catalog_text]") {
  CHECK(parse_mime_type("--mime", "audio/ogg") == "audio/ogg");
  CHECK_THROWS_AS(parse_mime_type("--mime", "audio/\x1b"), UsageError);
  CHECK_THROWS_AS(parse_mime_type("--mime", "audio/" + std::string(122, 'x')), UsageError);
  CHECK(parse_mime_type("--mime", "audio/" + std::string(121, 'x')).size() == 127);
  CHECK(parse_licence_class_arg("c", "unclear") == LicenceClass::unclear);
  CHECK_THROWS_AS(parse_licence_class_arg("c", "gold"), UsageError);
  CHECK(parse_licence_version("v", "2026-01") == "2026-01");
  CHECK_THROWS_AS(parse_licence_version("v", "2026/01"), UsageError);
}

}  // namespace sharelink
