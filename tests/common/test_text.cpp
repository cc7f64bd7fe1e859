// Unit tests of common/text.hpp: ASCII case, trimming, hex, percent-encoding, base64, UTF-8 boundaries.
#include <catch2/catch.hpp>
#include <string>

#include "common/crypto.hpp"
#include "common/text.hpp"

namespace sharelink {

TEST_CASE("Text: ascii_lower maps A-Z only", "[text]") {
  const auto [input, lowered] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"abc", "abc"},
      {"Content-Length", "content-length"},
      {"@[`{", "@[`{"},  // the bytes around A-Z and a-z
      {"AZaz09", "azaz09"},
      {"\xC3\x89T\xC3\xA9", "\xC3\x89t\xC3\xA9"},  // UTF-8 bytes untouched (no locale)
      {std::string("A\0B", 3), std::string("a\0b", 3)},
  }));
  CAPTURE(input);
  CHECK(ascii_lower(input) == lowered);
  for (std::size_t i = 0; i < input.size(); ++i) CHECK(ascii_lower(input[i]) == lowered[i]);
}

TEST_CASE("Text: equals_ignoring_ascii_case", "[text]") {
  const auto [a, b, equal] = GENERATE(table<std::string, std::string, bool>({
      {"", "", true},
      {"Range", "range", true},
      {"RANGE", "range", true},
      {"range", "ranges", false},  // prefix
      {"range", "rangf", false},
      {"bytes", "", false},
      {"\xC3\x89", "\xC3\xA9", false},  // no case folding beyond ASCII
      {"[", "{", false},                // 0x5B and 0x7B differ by 0x20 but are not letters
  }));
  CAPTURE(a, b);
  CHECK(equals_ignoring_ascii_case(a, b) == equal);
  CHECK(equals_ignoring_ascii_case(b, a) == equal);
}

TEST_CASE("Text: trim and trim_end", "[text]") {
  const auto [input, chars, trimmed, end_trimmed] =
      GENERATE(table<std::string, std::string, std::string, std::string>({
          {"", " \t", "", ""},
          {" \t ", " \t", "", ""},  // all trimmable
          {"a", " \t", "a", "a"},
          {" \ta b\t ", " \t", "a b", " \ta b"},
          {"\r\n x \r\n", " \t", "\r\n x \r\n", "\r\n x \r\n"},  // OWS is space and tab only
          {"\r\n x \r\n", " \t\r\n", "x", "\r\n x"},
          {"key\n\n ", "\n ", "key", "key"},
      }));
  CAPTURE(input, chars);
  CHECK(trim(input, chars) == trimmed);
  CHECK(trim_end(input, chars) == end_trimmed);
}

TEST_CASE("Text: trim defaults to space, tab, CR and LF", "[text]") {
  CHECK(trim(" \t\r\nsecret\r\n") == "secret");
  CHECK(trim_end("line\r\n") == "line");
  CHECK(trim(std::string("\0x\0", 3)) == std::string("\0x\0", 3));
  CHECK(trim_ows(" \t\r\nx\r\n\t ") == "\r\nx\r\n");  // OWS is space and tab only
}

TEST_CASE("Text: hex digits and append_hex_byte", "[text]") {
  std::string lower;
  std::string upper;
  for (int b = 0; b < 256; ++b) {
    append_hex_byte(lower, static_cast<unsigned char>(b));
    append_hex_byte(upper, static_cast<unsigned char>(b), true);
  }
  CHECK(lower.substr(0, 6) == "000102");
  CHECK(lower.substr(lower.size() - 4) == "feff");
  CHECK(upper.substr(upper.size() - 4) == "FEFF");
  CHECK(upper.substr(0x9A * 2, 2) == "9A");
  for (int b = 0; b < 256; ++b) {
    CAPTURE(b);
    const auto i = static_cast<std::size_t>(b) * 2;
    CHECK(hex_digit_value(lower[i]) * 16 + hex_digit_value(lower[i + 1]) == b);
    CHECK(hex_digit_value(upper[i]) * 16 + hex_digit_value(upper[i + 1]) == b);
  }
}

TEST_CASE("Text: hex_digit_value refuses what is not a hex digit", "[text]") {
  const char c = GENERATE('g', 'G', '/', ':', '@', '`', ' ', '\0', '\xff', 'x');
  CAPTURE(static_cast<int>(c));
  CHECK(hex_digit_value(c) == -1);
}

TEST_CASE("Text: percent_encode keeps the RFC 3986 unreserved bytes only", "[text]") {
  const auto [input, encoded, keep_slash] = GENERATE(table<std::string, std::string, bool>({
      {"", "", false},
      {"", "", true},
      {"AZaz09-._~", "AZaz09-._~", false},
      {":/?#[]@!$&'()*+,;=", "%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D",
       false},  // all reserved
      {":/?#[]@!$&'()*+,;=", "%3A/%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D", true},
      {"a b%c", "a%20b%25c", false},
      {"album/one two.ogg", "album%2Fone%20two.ogg", false},
      {"album/one two.ogg", "album/one%20two.ogg", true},
      {"caf\xC3\xA9", "caf%C3%A9", false},  // UTF-8 byte by byte, uppercase hex
      {"\xFF\xFE", "%FF%FE", false},        // invalid UTF-8 too
      {std::string("\0\n\x7F", 3), "%00%0A%7F", false},
  }));
  CAPTURE(input, keep_slash);
  CHECK(percent_encode(input, keep_slash) == encoded);
  std::string appended = "prefix:";
  append_percent_encoded(appended, input, keep_slash);
  CHECK(appended == "prefix:" + encoded);
}

TEST_CASE("Text: percent_encode of every byte", "[text]") {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string encoded = percent_encode(std::string(1, c));
    CAPTURE(b, encoded);
    if (is_url_unreserved(c)) {
      CHECK(encoded == std::string(1, c));
    } else {
      REQUIRE(encoded.size() == 3);
      CHECK(encoded[0] == '%');
      CHECK(hex_digit_value(encoded[1]) * 16 + hex_digit_value(encoded[2]) == b);
      CHECK(encoded.find_first_of("abcdef") == std::string::npos);  // uppercase hex
    }
  }
}

TEST_CASE("Text: base64url_length and base64url_encode_to", "[text]") {
  const auto [n, length] = GENERATE(table<std::size_t, std::size_t>({
      {0, 0},
      {1, 2},
      {2, 3},
      {3, 4},
      {4, 6},
      {5, 7},
      {6, 8},
      {32, 43},
      {33, 44},
  }));
  CAPTURE(n);
  CHECK(base64url_length(n) == length);
  const std::string bytes(n, '\xA5');
  std::string out(length + 1, '#');
  char* end = base64url_encode_to(bytes, out.data());
  CHECK(end == out.data() + length);
  CHECK(out.back() == '#');  // nothing written past the end
  CHECK(out.substr(0, length) == base64url_encode(bytes));
}

TEST_CASE("Text: hex_encode is lowercase, two digits per byte", "[text]") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
}

TEST_CASE("Text: base64url RFC 4648 vectors, no padding", "[text]") {
  struct Case {
    std::string bytes;
    const char* text;
  };
  const auto c = GENERATE(values<Case>({
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
      {"\xfb\xff", "-_8"},  // '+' and '/' of standard base64 become '-' and '_'
      {"\xff\xfe\xfd", "__79"},
  }));
  CAPTURE(c.text);
  CHECK(base64url_encode(c.bytes) == c.text);
  const auto decoded = base64url_decode(c.text);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == c.bytes);
}

TEST_CASE("Text: base64url decode accepts '=' padding", "[text]") {
  CHECK(base64url_decode("Zg==") == std::optional<std::string>("f"));
  CHECK(base64url_decode("Zm8=") == std::optional<std::string>("fo"));
}

TEST_CASE("Text: base64url round trips every byte value and length", "[text]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 1 + n / 8) {
    const std::string bytes = all.substr(all.size() - n);
    const std::string text = base64url_encode(bytes);
    CAPTURE(n, text);
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(base64url_decode(text) == std::optional<std::string>(bytes));
  }
  const std::string random = random_bytes(1000);
  CHECK(base64url_decode(base64url_encode(random)) == std::optional<std::string>(random));
}

TEST_CASE("Text: base64url decode rejects invalid input", "[text]") {
  const auto text = GENERATE(as<std::string>{},
                             "Z",          // impossible length (4n + 1)
                             "Zm9vY",      // impossible length
                             "Zm9v+A",     // standard-alphabet '+'
                             "Zm9v/A",     // standard-alphabet '/'
                             "Zm 9v",      // space
                             "Zm9v\n",     // newline
                             "Zg=a",       // '=' inside
                             "Zh",         // non-zero leftover bits (not canonical)
                             "Zm9vYmFy!",  // punctuation
                             "\xc3\xa9");  // non-ASCII
  CAPTURE(text);
  CHECK_FALSE(base64url_decode(text).has_value());
}

TEST_CASE("Text: base64_encode, RFC 4648 section 10 vectors and the standard alphabet", "[text]") {
  const auto [bytes, text] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {"\xFB\xFF", "+/8="},
  }));
  CHECK(base64_encode(bytes) == text);
}

TEST_CASE("Text: utf8_sequence_length", "[text]") {
  const auto [input, length] = GENERATE(table<std::string, std::size_t>({
      {"a", 1},
      {std::string(1, '\0'), 1},
      {"\x7F", 1},
      {"\xC3\xA9", 2},          // é
      {"\xE2\x82\xAC", 3},      // €
      {"\xF0\x9F\x8E\xB5", 4},  // 🎵
      {"\xF4\x8F\xBF\xBF", 4},  // U+10FFFF, the last code point
      {"\x80", 0},              // a lone continuation byte
      {"\xC0\x80", 0},          // overlong NUL
      {"\xC1\xBF", 0},          // overlong
      {"\xE0\x80\x80", 0},      // overlong three-byte form
      {"\xED\xA0\x80", 0},      // a surrogate (U+D800)
      {"\xF0\x80\x80\x80", 0},  // overlong four-byte form
      {"\xF4\x90\x80\x80", 0},  // above U+10FFFF
      {"\xF5\x80\x80\x80", 0},  // no such lead byte
      {"\xFF", 0},
      {"\xC3", 0},      // truncated
      {"\xE2\x82", 0},  // truncated
      {"\xC3\x41", 0},  // continuation byte missing
  }));
  CAPTURE(input);
  CHECK(utf8_sequence_length(input, 0) == length);
  CHECK(utf8_sequence_length("x" + input, 1) == length);
}

TEST_CASE("Text: utf8_prefix never cuts a sequence in two", "[text]") {
  const std::string e_acute = "\xC3\xA9";
  const std::string note = "\xF0\x9F\x8E\xB5";
  const auto [input, max_bytes, prefix] = GENERATE_REF(table<std::string, std::size_t, std::string>({
      {"", 0, ""},
      {"", 5, ""},
      {"abc", 3, "abc"},  // fits: itself
      {"abc", 10, "abc"},
      {"abcd", 3, "abc"},
      {"abc", 0, ""},
      {"a" + e_acute, 2, "a"},  // would keep the lead byte alone
      {"a" + e_acute, 3, "a" + e_acute},
      {e_acute + e_acute, 3, e_acute},
      {"a" + note, 2, "a"},
      {"a" + note, 3, "a"},
      {"a" + note, 4, "a"},
      {"a" + note + "b", 5, "a" + note},
      {note, 3, ""},
      {"\x80\x80\x80", 1, ""},    // invalid UTF-8: continuation bytes only
      {"a\xFF\xFE", 2, "a\xFF"},  // bytes that are not continuations are cut anywhere
  }));
  CAPTURE(input, max_bytes);
  CHECK(utf8_prefix(input, max_bytes) == prefix);
}

}  // namespace sharelink
