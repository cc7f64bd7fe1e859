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

MediaOutcome media_outcome(ShareStatus status) {
  if (playback_continues(status)) return MediaOutcome::ok;  // active, or exhausted (SPEC 5)
  return status == ShareStatus::revoked ? MediaOutcome::revoked : MediaOutcome::expired;
}

MetricOutcome audit_outcome(MediaOutcome outcome) {
  switch (outcome) {
    case MediaOutcome::ok:
      return MetricOutcome::ok;
    case MediaOutcome::not_found:
      return MetricOutcome::not_found;
    case MediaOutcome::revoked:
    case MediaOutcome::expired:
      return MetricOutcome::share_inactive;
  }
  return MetricOutcome::error;
}

MediaGrant check_media(CatalogReader& reader, const std::string& share_id, const std::string& track_id,
                       TimePoint now) {
  MediaGrant grant;
  ReadSnapshot snapshot(reader);
  const auto share = reader.share_by_id(share_id);
  if (share) {
    grant.visibility = share->visibility;
    grant.outcome = media_outcome(share_status(*share, now));
    if (grant.outcome == MediaOutcome::ok) {
      grant.outcome = MediaOutcome::not_found;  // until the track passes below
      const bool included =
          share->target_type == TargetType::track
              ? share->target_id == track_id
              : content_available(reader.collection(share->target_id)) &&
                    reader.collection_contains(share->target_id, track_id);
      if (included) {
        auto track = reader.track_media(track_id);
        if (content_available(track)) {
          grant.audio_path = std::move(track->audio_path);
          grant.mime_type = std::move(track->mime_type);
          grant.outcome = MediaOutcome::ok;
        }
      }
    }
  }
  snapshot.end();
  return grant;
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
