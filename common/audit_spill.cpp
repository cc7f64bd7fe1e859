#include "common/audit_spill.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <variant>
#include <algorithm>

#include "common/config.hpp"
#include "common/crypto.hpp"
#include "common/error.hpp"

namespace sharelink {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* k_import_action = "audit.import-spill";
constexpr std::size_t k_segment_hex = 16;

std::string errno_text() { return std::strerror(errno); }

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

fs::path directory_of(const fs::path& file) {
  const fs::path parent = file.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// An exclusive lock on the spill's directory, held for the scope: spill
// writers and importers (the daemon, sharectl) take turns.
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& file) : fd_(::open(directory_of(file).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_.get() < 0) throw Error("cannot open the directory of " + file.string() + ": " + errno_text());
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw Error("cannot lock the directory of " + file.string() + ": " + errno_text());
    }
  }
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
};

void write_all(int fd, std::string_view data, const fs::path& file) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write " + file.string() + ": " + errno_text());
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Replaces file by content atomically: a temporary file beside it (mode
// 0600), synced, renamed over file, then the directory synced.
void replace_file(const fs::path& file, std::string_view content, int directory_fd) {
  const fs::path temp = file.string() + ".tmp-" + random_hex(6);
  {
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) throw Error("cannot create " + temp.string() + ": " + errno_text());
    try {
      write_all(fd.get(), content, temp);
      if (::fsync(fd.get()) != 0) throw Error("cannot sync " + temp.string() + ": " + errno_text());
    } catch (...) {
      ::unlink(temp.c_str());
      throw;
    }
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temp.c_str());
    throw Error("cannot rename " + temp.string() + " to " + file.string() + ": " + reason);
  }
  if (::fsync(directory_fd) != 0) throw Error("cannot sync the directory of " + file.string() + ": " + errno_text());
}

// The whole file, or nullopt when it does not exist.
std::optional<std::string> read_if_exists(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (!fs::exists(file)) return std::nullopt;
    throw Error("cannot read " + file.string());
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + file.string());
  return content.str();
}

json spill_line(const AuditRecord& record, const std::string& segment, const std::string& spilled_at) {
  json line = json::object();
  line["segment"] = segment;
  line["spilled_at"] = spilled_at;
  line["ts"] = format_rfc3339_millis(record.ts);
  line["event"] = record.event;
  line["outcome"] = record.outcome;
  line["status"] = record.status ? json(*record.status) : json(nullptr);
  line["client_ip"] = record.client_ip;
  line["share_id"] = record.share_id;
  line["token_fp"] = record.token_fp;
  line["request_id"] = record.request_id;
  line["user_agent"] = record.user_agent;
  line["actor"] = record.actor;
  line["action"] = record.action;
  line["detail"] = record.detail;
  return line;
}

struct SpilledRecord {
  std::string segment;
  TimePoint spilled_at;
  AuditRecord record;
};

bool is_segment_id(const std::string& text) {
  if (text.size() != k_segment_hex) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// One spill line, or the reason it is not one.
std::variant<SpilledRecord, std::string> parse_spill_line(const std::string& text) {
  json line;
  try {
    line = json::parse(text);
  } catch (const json::exception&) {
    return std::string("not a JSON object");
  }
  if (!line.is_object()) return std::string("not a JSON object");
  static const std::vector<std::string> k_text_fields = {"client_ip", "share_id", "token_fp", "request_id",
                                                         "user_agent", "actor", "action", "detail"};
  for (const auto& [key, value] : line.items()) {
    const bool known = key == "segment" || key == "spilled_at" || key == "ts" || key == "event" ||
                       key == "outcome" || key == "status" ||
                       std::find(k_text_fields.begin(), k_text_fields.end(), key) != k_text_fields.end();
    if (!known) return "unknown key \"" + key + "\"";
  }
  auto required_text = [&](const char* key, std::string& out) -> std::optional<std::string> {
    const auto it = line.find(key);
    if (it == line.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return std::string("\"") + key + "\" must be a non-empty string";
    }
    out = it->get<std::string>();
    return std::nullopt;
  };
  SpilledRecord spilled;
  std::string spilled_at;
  std::string ts;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"segment", &spilled.segment},
                          {"spilled_at", &spilled_at},
                          {"ts", &ts},
                          {"event", &spilled.record.event},
                          {"outcome", &spilled.record.outcome}}) {
    if (auto problem = required_text(key, *out)) return *problem;
  }
  if (!is_segment_id(spilled.segment)) return std::string("\"segment\" must be 16 lowercase hex digits");
  const auto spilled_time = parse_rfc3339(spilled_at);
  if (!spilled_time) return std::string("\"spilled_at\" must be an RFC 3339 time");
  spilled.spilled_at = *spilled_time;
  const auto ts_time = parse_rfc3339(ts);
  if (!ts_time) return std::string("\"ts\" must be an RFC 3339 time");
  spilled.record.ts = *ts_time;
  if (const auto it = line.find("status"); it != line.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 100 || it->get<std::int64_t>() > 599) {
      return std::string("\"status\" must be an HTTP status or null");
    }
    spilled.record.status = it->get<int>();
  }
  AuditRecord& record = spilled.record;
  std::string* const text_outs[] = {&record.client_ip, &record.share_id,   &record.token_fp, &record.request_id,
                                    &record.user_agent, &record.actor, &record.action, &record.detail};
  for (std::size_t i = 0; i < k_text_fields.size(); ++i) {
    const auto it = line.find(k_text_fields[i]);
    if (it == line.end() || it->is_null()) continue;
    if (!it->is_string()) return "\"" + k_text_fields[i] + "\" must be a string";
    *text_outs[i] = it->get<std::string>();
  }
  return spilled;
}

// Records of one segment, in file order.
struct Segment {
  std::string id;
  TimePoint spilled_at;
  std::vector<AuditRecord> records;
};

std::string marker_detail_prefix(const std::string& segment) { return "segment=" + segment + " "; }

// True when the audit log holds the marker of segment (written by an earlier import).
bool segment_imported(AuditStore& store, const Segment& segment) {
  AuditFilter filter;
  filter.event = std::string(to_string(AuditEvent::admin));
  filter.since = segment.spilled_at;
  filter.limit = 0;
  const std::string prefix = marker_detail_prefix(segment.id);
  for (const auto& record : store.query(filter)) {
    if (record.action == k_import_action && record.detail.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

fs::path audit_spill_path(const DatabaseConfig& database) {
  return fs::path(database.audit_path.string() + "-spill.jsonl");
}

SpillWrite write_audit_spill(const fs::path& file, std::span<const AuditRecord> records, TimePoint now) {
  SpillWrite result;
  result.segment = random_hex(k_segment_hex / 2);
  result.records = records.size();
  const std::string spilled_at = format_rfc3339_millis(now);
  std::string lines;
  for (const auto& record : records) {
    lines += spill_line(record, result.segment, spilled_at).dump(-1, ' ', false, json::error_handler_t::replace);
    lines += '\n';
  }
  const DirectoryLock lock(file);
  std::string content = read_if_exists(file).value_or(std::string());
  if (!content.empty() && content.back() != '\n') content += '\n';  // a line cut short stays its own (bad) line
  content += lines;
  replace_file(file, content, lock.fd());
  return result;
}

SpillImport import_audit_spill(const fs::path& file, AuditStore& store, const std::string& actor, TimePoint now) {
  SpillImport result;
  const DirectoryLock lock(file);
  const auto content = read_if_exists(file);
  if (!content) return result;
  result.found = true;

  // Parse every line; segments keep the order of their first line.
  std::vector<Segment> segments;
  std::map<std::string, std::size_t> segment_index;
  std::string rejected;
  std::istringstream in(*content);
  std::string text;
  std::size_t line_number = 0;
  while (std::getline(in, text)) {
    ++line_number;
    if (text.empty()) continue;
    auto parsed = parse_spill_line(text);
    if (auto* problem = std::get_if<std::string>(&parsed)) {
      result.bad_lines.push_back(file.string() + ":" + std::to_string(line_number) + ": " + *problem);
      rejected += text + "\n";
      continue;
    }
    auto& spilled = std::get<SpilledRecord>(parsed);
    auto [it, inserted] = segment_index.try_emplace(spilled.segment, segments.size());
    if (inserted) segments.push_back(Segment{spilled.segment, spilled.spilled_at, {}});
    Segment& segment = segments[it->second];
    segment.spilled_at = std::max(segment.spilled_at, spilled.spilled_at);
    segment.records.push_back(std::move(spilled.record));
  }

  // Bad lines first, kept aside under a name fixed by the spill's content,
  // so that a rerun after a crash rewrites the same file.
  if (!rejected.empty()) {
    const fs::path rejected_file = file.string() + ".rejected-" + sha256_hex(*content).substr(0, 12);
    replace_file(rejected_file, rejected, lock.fd());
    result.rejected_file = rejected_file;
  }

  for (const Segment& segment : segments) {
    if (segment_imported(store, segment)) {
      ++result.segments_already_imported;
      result.records_already_imported += segment.records.size();
      continue;
    }
    std::vector<AuditRecord> batch = segment.records;
    AuditRecord marker;
    marker.ts = std::max(now, segment.spilled_at);  // found by segment_imported's "since"
    marker.event = to_string(AuditEvent::admin);
    marker.outcome = to_string(AuditOutcome::ok);
    marker.actor = actor;
    marker.action = k_import_action;
    marker.detail = marker_detail_prefix(segment.id) + "records=" + std::to_string(segment.records.size()) +
                    " file=" + file.string();
    batch.push_back(std::move(marker));
    store.append_all(batch);  // the segment and its marker: one transaction
    ++result.segments_imported;
    result.records_imported += segment.records.size();
  }

  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    throw Error("imported " + file.string() + " but cannot remove it: " + errno_text());
  }
  if (::fsync(lock.fd()) != 0) throw Error("cannot sync the directory of " + file.string() + ": " + errno_text());
  return result;
}

}  // namespace sharelink
