// The X-Accel-Redirect value of playback.mode = "x_accel": where nginx's internal location finds the file.
#pragma once

#include <string>
#include <string_view>

namespace sharelink {

// prefix + "/" + audio_path with every byte of each path segment outside
// A-Za-z0-9-._~ percent-encoded (uppercase hex); '/' separators are kept and
// the prefix is used as given, so the encoded part never holds a control
// character or a byte that would end a header line. Thread-safe.
std::string x_accel_redirect_uri(std::string_view prefix, std::string_view audio_path);

}  // namespace sharelink
