#include "common/x_accel.hpp"

namespace sharelink {
namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

std::string x_accel_redirect_uri(std::string_view prefix, std::string_view audio_path) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out(prefix);
  out += '/';
  for (const char c : audio_path) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte) || c == '/') {
      out += c;
    } else {
      out += '%';
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0x0F];
    }
  }
  return out;
}

}  // namespace sharelink
