#include "common/signing_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <system_error>

#include "common/crypto.hpp"
#include "common/text.hpp"
#include "common/error.hpp"

namespace sharelink {
namespace {

// A key file is a handful of lines; anything bigger is not one.
constexpr std::size_t k_max_key_file_bytes = 1024 * 1024;
constexpr std::size_t k_max_kid_length = 32;
constexpr std::size_t k_new_secret_bytes = 32;

bool is_kid_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }


// Splits on runs of spaces and tabs.
std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_blank(text[i])) ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

std::string errno_text(int error) { return std::generic_category().message(error); }

std::string mode_text(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

// Why a key set is unusable, or empty when it is fine. Never mentions secrets.
std::string key_set_problem(const std::vector<SigningKey>& keys) {
  if (keys.empty()) return "no signing key";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& key = keys[i];
    if (!is_signing_key_id(key.kid)) return "invalid key id \"" + key.kid + "\" (allowed: [A-Za-z0-9_-]{1,32})";
    if (key.secret.size() < k_min_signing_secret_bytes) {
      return "key \"" + key.kid + "\" has a " + std::to_string(key.secret.size()) + "-byte secret (at least " +
             std::to_string(k_min_signing_secret_bytes) + " bytes are required)";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (keys[j].kid == key.kid) return "duplicate key id \"" + key.kid + "\"";
    }
  }
  return {};
}

// Reads the whole key file after checking that it is a private regular file.
std::string read_private_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) throw Error("signing key file " + name + " does not exist (run \"sharectl init\")");
    throw Error("cannot open signing key file " + name + ": " + errno_text(error));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error("cannot stat signing key file " + name + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw Error("signing key file " + name + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    const char* what = (st.st_mode & 044) != 0 ? "readable" : (st.st_mode & 022) != 0 ? "writable" : "accessible";
    throw Error("signing key file " + name + " is " + what + " by group or others (mode " + mode_text(st.st_mode) +
                "); run \"chmod 600 " + name + "\"");
  }
  if (static_cast<std::uint64_t>(st.st_size) > k_max_key_file_bytes) {
    throw Error("signing key file " + name + " is larger than 1 MiB; it is not a key file");
  }

  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot read signing key file " + name + ": " + errno_text(errno));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > k_max_key_file_bytes) {
      throw Error("signing key file " + name + " is larger than 1 MiB; it is not a key file");
    }
  }
  return content;
}

// A kid for an error message: shown as written when short and printable.
std::string shown_kid(std::string_view kid) {
  if (kid.size() > k_max_kid_length) return "longer than " + std::to_string(k_max_kid_length) + " characters";
  std::string out = "\"";
  for (char c : kid) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + "\"";
}

std::vector<SigningKey> parse_key_file(std::string_view content, const std::string& name) {
  std::vector<SigningKey> keys;
  std::map<std::string, std::size_t, std::less<>> line_of_kid;
  std::map<std::string, TimePoint, std::less<>> created;

  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos <= content.size()) {
    std::size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    const std::string_view line = trim(content.substr(pos, end - pos), " \t\r");
    pos = end + 1;
    ++line_number;
    const std::string where = name + ":" + std::to_string(line_number) + ": ";

    if (line.empty()) continue;
    if (line.front() == '#') {
      const auto fields = split_fields(line.substr(1));
      if (fields.size() == 3 && fields[0] == "created" && is_signing_key_id(fields[1])) {
        if (const auto when = parse_rfc3339(fields[2])) created[std::string(fields[1])] = *when;
      }
      continue;
    }

    const auto fields = split_fields(line);
    if (fields.size() != 2) {
      throw Error(where + "expected \"kid base64url-secret\", found " + std::to_string(fields.size()) +
                  " fields (fix the line or remove it)");
    }
    const std::string_view kid = fields[0];
    if (!is_signing_key_id(kid)) {
      throw Error(where + "invalid key id " + shown_kid(kid) + " (allowed: [A-Za-z0-9_-]{1,32})");
    }
    if (const auto it = line_of_kid.find(kid); it != line_of_kid.end()) {
      throw Error(where + "duplicate key id \"" + std::string(kid) + "\" (first on line " +
                  std::to_string(it->second) + ")");
    }
    auto secret = base64url_decode(fields[1]);
    if (!secret) throw Error(where + "the secret of key \"" + std::string(kid) + "\" is not valid base64url");
    if (secret->size() < k_min_signing_secret_bytes) {
      throw Error(where + "the secret of key \"" + std::string(kid) + "\" is " + std::to_string(secret->size()) +
                  " bytes; at least " + std::to_string(k_min_signing_secret_bytes) +
                  " are required (run \"sharectl keys rotate\" and retire this key)");
    }
    line_of_kid.emplace(std::string(kid), line_number);
    keys.push_back(SigningKey{std::string(kid), std::move(*secret), std::nullopt});
  }

  if (keys.empty()) {
    throw Error("signing key file " + name + " contains no key (delete it and run \"sharectl init\")");
  }
  for (auto& key : keys) {
    if (const auto it = created.find(key.kid); it != created.end()) key.created_at = it->second;
  }
  return keys;
}

std::string key_file_text(const std::vector<SigningKey>& keys) {
  std::string text =
      "# shared-link playback signing keys: \"kid base64url-secret\" per line, mode 0600.\n"
      "# The first key signs new playback URLs; every key listed here verifies them.\n";
  for (const auto& key : keys) {
    if (key.created_at) text += "# created " + key.kid + " " + format_rfc3339(*key.created_at) + "\n";
    text += key.kid + " " + base64url_encode(key.secret) + "\n";
  }
  return text;
}

std::filesystem::path directory_of(const std::filesystem::path& file) {
  const auto parent = file.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open directory " + dir.string() + ": " + errno_text(errno));
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) throw Error("cannot sync directory " + dir.string() + ": " + errno_text(error));
}

// A temp file beside target holding text, created 0600 and fsynced. Returns its path.
std::filesystem::path write_temp_beside(const std::filesystem::path& target, std::string_view text) {
  auto temp = directory_of(target) / ("." + target.filename().string() + ".tmp-" + random_hex(8));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    throw Error("cannot create a temporary file beside " + target.string() + ": " + errno_text(errno));
  }
  const auto fail = [&](const char* what, int error) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw Error(std::string("cannot ") + what + " " + temp.string() + ": " + errno_text(error));
  };
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("sync", errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw Error("cannot write " + temp.string() + ": " + errno_text(error));
  }
  return temp;
}

std::string kid_suffix(std::size_t index) {
  constexpr std::size_t k_letters = 26;
  if (index < k_letters) return std::string(1, static_cast<char>('a' + index));
  index -= k_letters;
  return {static_cast<char>('a' + index / k_letters), static_cast<char>('a' + index % k_letters)};
}

}  // namespace

bool is_signing_key_id(std::string_view kid) {
  return !kid.empty() && kid.size() <= k_max_kid_length && std::all_of(kid.begin(), kid.end(), is_kid_char);
}

SigningKeys::SigningKeys(std::vector<SigningKey> keys) : keys_(std::move(keys)) {
  if (const auto problem = key_set_problem(keys_); !problem.empty()) throw Error("signing keys: " + problem);
}

SigningKeys SigningKeys::load(const std::filesystem::path& file) {
  const std::string content = read_private_file(file);
  return SigningKeys(parse_key_file(content, file.string()));
}

const SigningKey* SigningKeys::find(std::string_view kid) const {
  for (const auto& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

SigningKey generate_signing_key(const std::vector<SigningKey>& existing, TimePoint now) {
  using namespace std::chrono;
  const auto created = floor<seconds>(now);
  const year_month_day date{floor<days>(created)};
  char day[16];
  std::snprintf(day, sizeof day, "%04d%02u%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()));
  constexpr std::size_t k_suffixes = 26 + 26 * 26;
  for (std::size_t i = 0; i < k_suffixes; ++i) {
    std::string kid = std::string("k") + day + kid_suffix(i);
    const bool taken =
        std::any_of(existing.begin(), existing.end(), [&](const SigningKey& key) { return key.kid == kid; });
    if (!taken) return SigningKey{std::move(kid), random_bytes(k_new_secret_bytes), created};
  }
  throw Error(std::string("every signing key id of day ") + day + " is taken (retire some keys or try tomorrow)");
}

void write_key_file(const std::filesystem::path& file, const std::vector<SigningKey>& keys) {
  if (const auto problem = key_set_problem(keys); !problem.empty()) {
    throw Error("refusing to write signing key file " + file.string() + ": " + problem);
  }
  const auto temp = write_temp_beside(file, key_file_text(keys));
  // The replacement keeps the owner of the file it replaces: root running
  // `sharectl keys rotate` must not leave a key file the daemon's own user
  // can no longer read. (Only root can give a file away; for anyone else the
  // owner is already the same.)
  struct stat existing {};
  if (::stat(file.c_str(), &existing) == 0 && ::geteuid() == 0 &&
      (existing.st_uid != ::geteuid() || existing.st_gid != ::getegid()) &&
      ::chown(temp.c_str(), existing.st_uid, existing.st_gid) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw Error("cannot give the new signing key file the owner of " + file.string() + ": " + errno_text(error));
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw Error("cannot replace signing key file " + file.string() + ": " + errno_text(error));
  }
  fsync_directory(directory_of(file));
}

bool create_key_file_if_missing(const std::filesystem::path& file, TimePoint now) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(file, ec))) return false;
  if (const auto parent = file.parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error("cannot create directory " + parent.string() + ": " + ec.message());
  }
  const std::vector<SigningKey> keys{generate_signing_key({}, now)};
  const auto temp = write_temp_beside(file, key_file_text(keys));
  // link() publishes the complete file and, unlike rename(), never replaces
  // one that appeared meanwhile (say, a concurrent "sharectl init").
  const int result = ::link(temp.c_str(), file.c_str());
  const int error = errno;
  ::unlink(temp.c_str());
  if (result != 0) {
    if (error == EEXIST) return false;
    throw Error("cannot create signing key file " + file.string() + ": " + errno_text(error));
  }
  fsync_directory(directory_of(file));
  return true;
}

}  // namespace sharelink
