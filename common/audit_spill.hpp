// The audit spill file: records a shutdown could not write, kept as JSON lines and imported exactly once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/audit_record.hpp"
#include "common/audit_store.hpp"
#include "common/time_format.hpp"

namespace sharelink {

struct DatabaseConfig;

// Where an installation's spill file lives: database.audit_path with
// "-spill.jsonl" appended, beside the SQLite audit database. (With the
// postgresql backend audit_path names no database, only this file's place:
// by default the config file's directory.)
std::filesystem::path audit_spill_path(const DatabaseConfig& database);

// What write_audit_spill appended.
struct SpillWrite {
  std::string segment;  // the id shared by the lines of this write
  std::size_t records = 0;
};

// Appends records to file as one segment: one JSON object per line with the
// record's fields (no id; records hold token fingerprints, never tokens),
// the segment id and spilled_at = now. Atomic: the old content and the new
// lines go to a temporary file beside it (mode 0600), which is synced and
// renamed over file, then the directory is synced; a crash leaves the old
// file or the new one, never a part. Serialised with other writers and with
// import_audit_spill by a lock on the directory. Throws Error naming the
// file (the old content is kept). Thread-safe.
SpillWrite write_audit_spill(const std::filesystem::path& file, std::span<const AuditRecord> records, TimePoint now);

// What import_audit_spill did.
struct SpillImport {
  bool found = false;                      // file existed
  std::size_t records_imported = 0;        // written now
  std::size_t segments_imported = 0;       // segments written now
  std::size_t segments_already_imported = 0;  // found imported by an earlier run (skipped)
  std::size_t records_already_imported = 0;
  std::vector<std::string> bad_lines;         // "FILE:LINE: what is wrong", in file order
  std::optional<std::filesystem::path> rejected_file;  // where the bad lines were kept
};

// Imports file into the audit log exactly once, then removes it. Each
// segment is written in one transaction together with an admin record
// (action audit.import-spill, actor, detail "segment=ID records=N file=...")
// that marks it imported; a segment whose marker is already there is
// skipped. So a crash at any point (before, between or after the segments'
// transactions, before the file is removed) neither loses nor duplicates a
// record: running it again finishes the work. Lines that do not parse are
// reported and copied, verbatim, to FILE.rejected-HASH (HASH: of the spill's
// content, so a rerun writes the same file), never dropped. A missing file
// is found = false. Serialised by the lock write_audit_spill takes. Throws
// Error (reading, the rejected file) or the store's DatabaseUnavailable /
// Error; what was committed before stays committed, and the file stays.
SpillImport import_audit_spill(const std::filesystem::path& file, AuditStore& store, const std::string& actor,
                               TimePoint now);

}  // namespace sharelink
