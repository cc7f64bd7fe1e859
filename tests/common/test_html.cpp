// Unit tests of the HTML escaper every catalogue string of the share page passes through.
#include <catch2/catch.hpp>

#include <string>

#include "common/html.hpp"

using namespace sharelink;

TEST_CASE("html_escape: each special or invalid input and what it becomes", "[html]") {
  const std::string fffd = "\xEF\xBF\xBD";
  const auto [input, expected] = GENERATE_COPY(table<std::string, std::string>({
      {"", ""},
      {"Late Night Study", "Late Night Study"},
      {"<", "&lt;"},
      {">", "&gt;"},
      {"&", "&amp;"},
      {"\"", "&quot;"},
      {"'", "&#39;"},
      {"&amp;", "&amp;amp;"},  // never unescaped: text stays text
      {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"\" onmouseover=\"x", "&quot; onmouseover=&quot;x"},
      {"Rock 'n' Roll & <Blues>", "Rock &#39;n&#39; Roll &amp; &lt;Blues&gt;"},
      // Well-formed UTF-8 passes through.
      {"Caf\xC3\xA9 \xE2\x99\xAB \xF0\x9F\x8E\xB5", "Caf\xC3\xA9 \xE2\x99\xAB \xF0\x9F\x8E\xB5"},
      {"\xC2\xA0", "\xC2\xA0"},  // U+00A0 is not a control character
      // Invalid UTF-8: each byte that starts no well-formed sequence is U+FFFD.
      {"a\xFF" "b", "a" + fffd + "b"},
      {"\xC3", fffd},                          // truncated sequence
      {"\xC3(", fffd + "("},                   // bad continuation
      {"\xC0\xAF", fffd + fffd},               // overlong "/"
      {"\xED\xA0\x80", fffd + fffd + fffd},    // UTF-16 surrogate
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\x80", fffd},                          // lone continuation byte
      // Control characters: C0 except tab and line feed, DEL, C1.
      {std::string("a\0b", 3), "a" + fffd + "b"},
      {"a\x01" "b", "a" + fffd + "b"},
      {"a\rb", "a" + fffd + "b"},
      {"a\x1B[31mb", "a" + fffd + "[31mb"},
      {"a\x7F" "b", "a" + fffd + "b"},
      {"a\xC2\x85" "b", "a" + fffd + "b"},  // U+0085 NEL
      {"a\xC2\x9F" "b", "a" + fffd + "b"},  // U+009F
      {"tab\there\nnewline", "tab\there\nnewline"},
  }));
  INFO(input);
  CHECK(html_escape(input) == expected);
}

TEST_CASE("append_html_escaped appends to what is there", "[html]") {
  std::string out = "<p>";
  append_html_escaped(out, "1 < 2");
  out += "</p>";
  CHECK(out == "<p>1 &lt; 2</p>");
}

TEST_CASE("html_escape: the output never holds a raw markup character", "[html]") {
  // Every byte value, alone and between letters.
  for (int b = 0; b < 256; ++b) {
    const std::string input = "x" + std::string(1, static_cast<char>(b)) + "y";
    const std::string out = html_escape(input);
    INFO(b);
    CHECK(out.find_first_of("<>\"'") == std::string::npos);
    CHECK((out.find('&') == std::string::npos || out.find('&') == out.find("&amp;") ||
           out.find("&lt;") != std::string::npos || out.find("&gt;") != std::string::npos ||
           out.find("&quot;") != std::string::npos || out.find("&#39;") != std::string::npos));
  }
}
