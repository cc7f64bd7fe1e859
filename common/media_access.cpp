#include "common/media_access.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/error.hpp"
#include "common/sqlite_connection.hpp"

namespace sharelink {
namespace {

// realpath(3) as a std::string; nullopt with errno set on failure.
std::optional<std::string> real_path(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return std::nullopt;
  std::string out(resolved);
  std::free(resolved);
  return out;
}

// True for a stored path that may be joined to media_root at all.
bool is_plain_relative_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (path.substr(start, end - start) == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

const char* audit_outcome(MediaOutcome outcome) {
  switch (outcome) {
    case MediaOutcome::ok:
      return "ok";
    case MediaOutcome::not_found:
      return "not_found";
    case MediaOutcome::revoked:
    case MediaOutcome::expired:
      return "share_inactive";
  }
  return "error";
}

struct MediaAccess::Impl {
  // The connection outlives its statements (declared first, destroyed last).
  std::unique_ptr<SQLite::Database> db;
  SQLite::Statement find_share;
  SQLite::Statement find_collection;
  SQLite::Statement find_track;

  explicit Impl(const std::filesystem::path& file)
      : db(open_connection(file, SchemaKind::main)),
        find_share(*db,
                   "SELECT target_type, target_id, visibility, expires_at, revoked_at FROM shares WHERE id = ?"),
        find_collection(*db,
                        "SELECT removed_at, EXISTS (SELECT 1 FROM collection_tracks "
                        "WHERE collection_id = ?1 AND track_id = ?2) FROM collections WHERE id = ?1"),
        find_track(*db, "SELECT audio_path, mime_type, removed_at FROM tracks WHERE id = ?") {}

  MediaGrant check(std::string_view share_id, std::string_view track_id, TimePoint now) {
    MediaGrant grant;
    std::string target_type;
    std::string target_id;
    {
      StatementScope scope(find_share);
      find_share.bind(1, std::string(share_id));
      if (!find_share.executeStep()) return grant;  // not_found
      target_type = find_share.getColumn(0).getString();
      target_id = find_share.getColumn(1).getString();
      grant.visibility = find_share.getColumn(2).getString();
      const auto expires_at = optional_int(find_share.getColumn(3));
      const bool revoked = !find_share.getColumn(4).isNull();
      // SPEC 3 precedence: revoked, then expired. An exhausted share still
      // plays the URLs it handed out (SPEC 5).
      if (revoked) {
        grant.outcome = MediaOutcome::revoked;
        return grant;
      }
      if (expires_at && *expires_at <= to_unix_seconds(now)) {
        grant.outcome = MediaOutcome::expired;
        return grant;
      }
    }

    if (target_type == "track") {
      if (target_id != track_id) return grant;
    } else {
      StatementScope scope(find_collection);
      find_collection.bind(1, target_id);
      find_collection.bind(2, std::string(track_id));
      if (!find_collection.executeStep()) return grant;              // collection gone
      if (!find_collection.getColumn(0).isNull()) return grant;      // collection removed
      if (find_collection.getColumn(1).getInt() == 0) return grant;  // track dropped from it
    }

    StatementScope scope(find_track);
    find_track.bind(1, std::string(track_id));
    if (!find_track.executeStep() || !find_track.getColumn(2).isNull()) return grant;
    grant.audio_path = find_track.getColumn(0).getString();
    grant.mime_type = find_track.getColumn(1).getString();
    grant.outcome = MediaOutcome::ok;
    return grant;
  }
};

MediaAccess::MediaAccess(const std::filesystem::path& db_file) {
  try {
    impl_ = std::make_unique<Impl>(db_file);
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable("cannot open database " + db_file.string() + ": " + e.what());
  }
}

MediaAccess::~MediaAccess() = default;

MediaGrant MediaAccess::check(std::string_view share_id, std::string_view track_id, TimePoint now) {
  try {
    return impl_->check(share_id, track_id, now);
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable(std::string("media access: ") + e.what());
  }
}

MediaFile::~MediaFile() { ::close(fd_); }

std::size_t MediaFile::read_at(std::uint64_t offset, char* buffer, std::size_t length) const {
  for (;;) {
    const ssize_t n = ::pread(fd_, buffer, length, static_cast<off_t>(offset));
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    throw Error(std::string("reading a media file failed: ") + std::strerror(errno));
  }
}

const char* to_string(MediaFileStatus status) {
  switch (status) {
    case MediaFileStatus::ok:
      return "ok";
    case MediaFileStatus::invalid_path:
      return "invalid_path";
    case MediaFileStatus::outside_root:
      return "outside_root";
    case MediaFileStatus::missing:
      return "missing";
    case MediaFileStatus::unreadable:
      return "unreadable";
    case MediaFileStatus::not_regular:
      return "not_regular";
  }
  return "unknown";
}

MediaFileOpen open_media_file(const std::filesystem::path& media_root, std::string_view audio_path) {
  MediaFileOpen result;
  if (!is_plain_relative_path(audio_path)) {
    result.status = MediaFileStatus::invalid_path;
    return result;
  }
  const auto root = real_path(media_root.string());
  if (!root) {
    throw Error("playback.media_root " + media_root.string() +
                " cannot be resolved: " + std::strerror(errno) + " (create it, or fix the path)");
  }
  const auto resolved = real_path(*root + "/" + std::string(audio_path));
  if (!resolved) {
    result.status =
        (errno == ENOENT || errno == ENOTDIR) ? MediaFileStatus::missing : MediaFileStatus::unreadable;
    return result;
  }
  // Strictly inside: the resolved path extends the root by "/" and a name.
  const std::string inside_prefix = *root == "/" ? "/" : *root + "/";
  if (resolved->size() <= inside_prefix.size() ||
      resolved->compare(0, inside_prefix.size(), inside_prefix) != 0) {
    result.status = MediaFileStatus::outside_root;
    return result;
  }
  // O_NONBLOCK: opening a FIFO must not hang the worker (it is refused below).
  const int fd = ::open(resolved->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    result.status = errno == ENOENT  ? MediaFileStatus::missing
                    : errno == ELOOP ? MediaFileStatus::outside_root  // swapped for a symlink since realpath
                                     : MediaFileStatus::unreadable;
    return result;
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    result.status = MediaFileStatus::not_regular;
    return result;
  }
  result.status = MediaFileStatus::ok;
  result.file = std::make_shared<const MediaFile>(fd, static_cast<std::uint64_t>(info.st_size));
  return result;
}

}  // namespace sharelink
