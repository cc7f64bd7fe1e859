// Byte-level text helpers used across the library: ASCII case, trimming, hex,
// percent-encoding, base64url and UTF-8 boundaries. No locale, no allocation
// beyond the result; every function is pure and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sharelink {

// ---- ASCII case ----------------------------------------------------------

// c with A-Z mapped to a-z; every other byte (UTF-8 included) unchanged.
constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
// text with A-Z mapped to a-z.
std::string ascii_lower(std::string_view text);
// True when a and b are equal once A-Z is mapped to a-z (header names, URL
// schemes). Inline: the request-head scanner calls it for every field line.
inline bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// ---- Trimming ------------------------------------------------------------

// RFC 9110 optional whitespace (OWS): space and horizontal tab.
inline constexpr std::string_view k_ows = " \t";
// Space, tab, CR and LF.
inline constexpr std::string_view k_whitespace = " \t\r\n";

// text without the leading and trailing bytes found in chars.
std::string_view trim(std::string_view text, std::string_view chars = k_whitespace);
// text without the trailing bytes found in chars.
std::string_view trim_end(std::string_view text, std::string_view chars = k_whitespace);
// text without leading and trailing OWS (header field values, list elements).
inline std::string_view trim_ows(std::string_view text) { return trim(text, k_ows); }

// ---- Hex -----------------------------------------------------------------

inline constexpr char k_hex_lower[] = "0123456789abcdef";
inline constexpr char k_hex_upper[] = "0123456789ABCDEF";

// Appends the two hex digits of byte (lowercase unless upper).
inline void append_hex_byte(std::string& out, unsigned char byte, bool upper = false) {
  const char* digits = upper ? k_hex_upper : k_hex_lower;
  out += digits[byte >> 4];
  out += digits[byte & 0x0F];
}
// Lowercase hex of bytes (2 characters a byte).
std::string hex_encode(std::string_view bytes);
// True when every byte of text is 0-9 or a-f (so also for empty text).
bool is_lower_hex(std::string_view text);
// Value 0..15 of a hex digit of either case; -1 for any other byte.
int hex_digit_value(char c);

// ---- Percent-encoding (RFC 3986) -----------------------------------------

// RFC 3986 section 2.3 unreserved: A-Z a-z 0-9 - . _ ~
constexpr bool is_url_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}
// Appends text with every byte but the unreserved ones as %XX (uppercase hex,
// as SigV4 and RFC 3986 section 2.1 want); '/' stays as it is when keep_slash
// (paths whose segments are encoded one by one).
void append_percent_encoded(std::string& out, std::string_view text, bool keep_slash = false);
// The same, as a new string.
std::string percent_encode(std::string_view text, bool keep_slash = false);

// ---- Base64 (RFC 4648) ---------------------------------------------------

// Length of the unpadded base64url text of n bytes.
constexpr std::size_t base64url_length(std::size_t n) { return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }
// Writes the base64url text of bytes (section 5 alphabet, no padding),
// base64url_length(bytes.size()) characters, to out; returns the end.
char* base64url_encode_to(std::string_view bytes, char* out);
// RFC 4648 section 5 alphabet, no padding.
std::string base64url_encode(std::string_view bytes);
// RFC 4648 section 4 (standard alphabet, "=" padding), as CSP hash sources want it.
std::string base64_encode(std::string_view bytes);
// Accepts the base64url alphabet with or without '=' padding; nullopt on any
// other character, an impossible length or non-zero leftover bits.
std::optional<std::string> base64url_decode(std::string_view text);

// ---- UTF-8 ---------------------------------------------------------------

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) starting at text[i] (1 for ASCII); 0 if
// there is none. i must be below text.size().
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(text[i + k]);
    const unsigned char min = k == 1 ? second_min : 0x80;
    const unsigned char max = k == 1 ? second_max : 0xBF;
    if (byte < min || byte > max) return 0;
  }
  return length;
}

// The longest prefix of text of at most max_bytes that does not cut a UTF-8
// sequence in two: while the first byte left out is a continuation byte
// (10xxxxxx), one byte less is kept. text itself when it fits.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace sharelink
