#include "common/html.hpp"

#include <array>

#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

// What each ASCII byte becomes; an empty entry means the byte is copied.
constexpr std::array<std::string_view, 128> k_ascii = [] {
  std::array<std::string_view, 128> table{};
  for (int c = 0; c < 0x20; ++c) table[static_cast<std::size_t>(c)] = k_replacement;
  table['\t'] = {};
  table['\n'] = {};
  table[0x7F] = k_replacement;
  table['&'] = "&amp;";
  table['<'] = "&lt;";
  table['>'] = "&gt;";
  table['"'] = "&quot;";
  table['\''] = "&#39;";
  return table;
}();

}  // namespace

void append_html_escaped(std::string& out, std::string_view text) {
  std::size_t run = 0;  // start of the bytes copied as they are
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::string_view replacement;
    std::size_t length = 1;
    if (c < 0x80) {
      replacement = k_ascii[c];
    } else {
      length = utf8_sequence_length(text, i);
      // U+0080..U+009F are encoded C2 80..C2 9F: control characters too.
      if (length == 0 || (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F)) {
        replacement = k_replacement;
        length = length == 0 ? 1 : length;
      }
    }
    if (replacement.empty()) {
      i += length;
      continue;
    }
    out.append(text.substr(run, i - run));
    out.append(replacement);
    i += length;
    run = i;
  }
  out.append(text.substr(run));
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  append_html_escaped(out, text);
  return out;
}

}  // namespace sharelink
