#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr char k_base64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Value of a base64url character, or -1.
int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim(std::string_view text, std::string_view chars) {
  const std::size_t first = text.find_first_not_of(chars);
  if (first == std::string_view::npos) return text.substr(text.size());
  return trim_end(text.substr(first), chars);
}

std::string_view trim_end(std::string_view text, std::string_view chars) {
  const std::size_t last = text.find_last_not_of(chars);
  return text.substr(0, last == std::string_view::npos ? 0 : last + 1);
}

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) append_hex_byte(out, static_cast<unsigned char>(c));
  return out;
}

bool is_lower_hex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_percent_encoded(std::string& out, std::string_view text, bool keep_slash) {
  // Characters kept as they are go out as whole runs (an id is one run).
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_url_unreserved(c) || (keep_slash && c == '/')) continue;
    out.append(text, run, i - run);
    out += '%';
    append_hex_byte(out, static_cast<unsigned char>(c), true);
    run = i + 1;
  }
  out.append(text, run, text.size() - run);
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size() * 3);
  append_percent_encoded(out, text, keep_slash);
  return out;
}

char* base64url_encode_to(std::string_view bytes, char* out) {
  const auto byte = [&](std::size_t i) {
    return static_cast<unsigned>(static_cast<unsigned char>(bytes[i]));
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    *out++ = k_base64url_alphabet[(v >> 18) & 63];
    *out++ = k_base64url_alphabet[(v >> 12) & 63];
    *out++ = k_base64url_alphabet[(v >> 6) & 63];
    *out++ = k_base64url_alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  const unsigned v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0u);
  *out++ = k_base64url_alphabet[(v >> 18) & 63];
  *out++ = k_base64url_alphabet[(v >> 12) & 63];
  if (rest == 2) *out++ = k_base64url_alphabet[(v >> 6) & 63];
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out(base64url_length(bytes.size()), '\0');
  base64url_encode_to(bytes, out.data());
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out = base64url_encode(bytes);
  for (char& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned accumulator = 0;
  int bits = 0;
  for (const char c : text) {
    const int value = base64url_value(c);
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero for a canonical encoding.
  if (bits > 0 && (accumulator & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

}  // namespace sharelink
