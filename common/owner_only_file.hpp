// Reading a file that holds a secret (database.password_file): refused unless only its owner may access it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace sharelink {

// The whole content of file, which must be a regular file of at most
// max_bytes that neither group nor others may read, write or search (mode
// 0600 or stricter). what names the file in messages (a config key such as
// "database.password_file"). Throws Error naming the file, never its content:
// missing, cannot be opened or read, not a regular file, accessible by group
// or others (with the chmod that fixes it), larger than max_bytes.
// Thread-safe.
std::string read_owner_only_file(const std::filesystem::path& file, std::string_view what,
                                 std::size_t max_bytes);

}  // namespace sharelink
