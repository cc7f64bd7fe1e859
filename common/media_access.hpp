// The library side of the signed media route (SPEC 5): share/track checks and safe file opening.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/domain.hpp"
#include "common/metrics.hpp"
#include "common/store.hpp"

namespace sharelink {

// What a media request for (share, track) may get, after its signature was
// verified. SPEC 5: the share must be neither revoked nor expired and still
// include the track, and the track must not be removed. A share at its view
// limit still plays: exhaustion stops new views, not the playback of a view
// already counted.
enum class MediaOutcome {
  ok,
  not_found,  // unknown share, track not (or no longer) in the share, track or collection removed or missing
  revoked,    // the share is revoked
  expired,    // the share's expires_at <= now
};

// A share's status as a media outcome: ok where playback_continues (active
// and exhausted, if the share still includes the track); revoked and expired
// refuse the request.
MediaOutcome media_outcome(ShareStatus status);

// The audit and metrics outcome of SPEC 7: ok, not_found, or share_inactive
// for revoked and expired.
MetricOutcome audit_outcome(MediaOutcome outcome);

struct MediaGrant {
  MediaOutcome outcome = MediaOutcome::not_found;
  // Set when outcome is ok.
  std::string
      audio_path;  // as stored: relative to playback.media_root (not yet checked, see open_media_file)
  std::string mime_type;
  // The share's visibility; link_only when the share is unknown.
  Visibility visibility = Visibility::link_only;
};

// The media check of SPEC 5, in this order: the share exists (else
// not_found); its status at now, as media_outcome maps it (revoked, expired;
// an exhausted share plays); its target is track_id, or a collection that is
// available (not removed, not missing) and still lists track_id (else
// not_found); the track is available (else not_found). Reads one snapshot of reader, so a
// change committed before the call (sharectl revoke, track remove,
// collection drop) is seen: revocation is instant for URLs already handed
// out. Never counts a view. Storage failures propagate (DatabaseUnavailable,
// Error); every domain answer is a MediaOutcome. reader: one thread at a time.
MediaGrant check_media(CatalogReader& reader, const std::string& share_id, const std::string& track_id,
                       TimePoint now);

// An open, regular media file. Immutable; read_at may run on any thread.
class MediaFile {
 public:
  // Takes ownership of an open, readable fd of size bytes (open_media_file
  // makes these); the destructor closes it.
  MediaFile(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~MediaFile();
  MediaFile(const MediaFile&) = delete;
  MediaFile& operator=(const MediaFile&) = delete;

  // The file's size when it was opened.
  std::uint64_t size() const { return size_; }
  // Reads up to length bytes at offset into buffer (pread: no shared file
  // position). Returns the bytes read, 0 at end of file. Throws Error on an
  // I/O error (the message names no path).
  std::size_t read_at(std::uint64_t offset, char* buffer, std::size_t length) const;

 private:
  int fd_;
  std::uint64_t size_;
};

enum class MediaFileStatus {
  ok,
  invalid_path,  // empty, absolute, a ".." segment, or a NUL byte: refused without touching the file system
  outside_root,  // resolves (through symlinks) to a place outside media_root
  missing,       // does not exist (or a path component is not a directory)
  unreadable,    // exists but cannot be opened for reading (permissions, I/O error)
  not_regular,   // a directory, device, FIFO...
};
const char* to_string(MediaFileStatus status);

struct MediaFileOpen {
  MediaFileStatus status = MediaFileStatus::missing;
  std::shared_ptr<const MediaFile> file;  // set when status is ok
};

// Opens audio_path (relative to media_root) for streaming, never escaping
// media_root: lexical checks first, then the path is resolved with every
// symlink (realpath) and must lie strictly inside the resolved media_root;
// the resolved path is opened with O_NOFOLLOW and must be a regular file.
// Throws Error only when media_root itself cannot be resolved (the message
// names it). Thread-safe.
MediaFileOpen open_media_file(const std::filesystem::path& media_root, std::string_view audio_path);

}  // namespace sharelink
