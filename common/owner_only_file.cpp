#include "common/owner_only_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <system_error>

#include "common/error.hpp"

namespace sharelink {
namespace {

std::string errno_text(int error) { return std::generic_category().message(error); }

std::string mode_text(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

}  // namespace

std::string read_owner_only_file(const std::filesystem::path& file, std::string_view what,
                                 std::size_t max_bytes) {
  const std::string name = std::string(what) + " " + file.string();
  // O_NONBLOCK: a FIFO planted in its place must not hang the open.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) throw Error(name + " does not exist");
    throw Error("cannot open " + name + ": " + errno_text(error));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error("cannot stat " + name + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw Error(name + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    const char* how = (st.st_mode & 044) != 0   ? "readable"
                      : (st.st_mode & 022) != 0 ? "writable"
                                                : "accessible";
    throw Error(name + " is " + how + " by group or others (mode " + mode_text(st.st_mode) +
                "); run \"chmod 600 " + file.string() + "\"");
  }
  const std::string too_large = name + " is larger than " + std::to_string(max_bytes) + " bytes";
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) throw Error(too_large);

  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot read " + name + ": " + errno_text(errno));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) throw Error(too_large);  // grew since fstat
  }
  return content;
}

}  // namespace sharelink
