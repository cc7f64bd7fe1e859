#include "common/x_accel.hpp"

#include "common/text.hpp"

namespace sharelink {

std::string x_accel_redirect_uri(std::string_view prefix, std::string_view audio_path) {
  std::string out(prefix);
  out += '/';
  append_percent_encoded(out, audio_path, true);
  return out;
}

}  // namespace sharelink
