// The audit record's words, its cleaning and the retention cutoffs.
#include "common/audit_record.hpp"

#include <algorithm>
#include <chrono>

#include "common/error.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_user_agent_max_bytes = 256;
constexpr std::size_t k_actor_max_bytes = 256;
constexpr std::size_t k_detail_max_bytes = 1024;

template <typename Enum, std::size_t N>
std::optional<Enum> parse_word(const std::array<std::string_view, N>& words, std::string_view text) {
  const auto it = std::find(words.begin(), words.end(), text);
  if (it == words.end()) return std::nullopt;
  return static_cast<Enum>(it - words.begin());
}

// A sequence a terminal may act on: C0 controls, DEL, and C1 controls (U+0080..U+009F).
bool is_control(std::string_view text, std::size_t i, std::size_t length) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (length == 1) return lead < 0x20 || lead == 0x7F;
  return length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr const char* k_hex = k_hex_lower;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += "\\x";
    out += k_hex[byte >> 4];
    out += k_hex[byte & 0x0F];
  }
}

// At most max_bytes of text with controls, backslash and malformed UTF-8
// escaped; stops before the first unit (a character or an escape) that does
// not fit whole.
std::string sanitize_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_sequence_length(text, i);
    const std::size_t consumed = length == 0 ? 1 : length;
    const bool escape = length == 0 || is_control(text, i, length) || text[i] == '\\';
    const std::size_t produced = escape ? 4 * consumed : consumed;
    if (out.size() + produced > max_bytes) break;
    if (escape) {
      append_escaped(out, text.substr(i, consumed));
    } else {
      out.append(text.substr(i, consumed));
    }
    i += consumed;
  }
  return out;
}

// True when text would be stored as given: short enough, well-formed UTF-8,
// no controls. Already sanitized text passes (its backslashes are escapes).
bool is_clean(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) return false;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0 || is_control(text, i, length)) return false;
    i += length;
  }
  return true;
}

void clean_field(std::string& text, std::size_t max_bytes) {
  if (!is_clean(text, max_bytes)) text = sanitize_text(text, max_bytes);
}

std::chrono::hours days(int count) { return std::chrono::hours(24) * count; }

}  // namespace

std::optional<AuditEvent> parse_audit_event(std::string_view text) {
  return parse_word<AuditEvent>(k_audit_events, text);
}

std::optional<AuditOutcome> parse_audit_outcome(std::string_view text) {
  return parse_word<AuditOutcome>(k_audit_outcomes, text);
}

std::string sanitize_user_agent(std::string_view user_agent) {
  return sanitize_text(user_agent, k_user_agent_max_bytes);
}

void prepare_audit_record(AuditRecord& record) {
  if (record.event.empty() || record.outcome.empty()) {
    throw Error("audit record without event or outcome (event \"" + record.event + "\", outcome \"" +
                record.outcome + "\")");
  }
  clean_field(record.user_agent, k_user_agent_max_bytes);
  clean_field(record.actor, k_actor_max_bytes);
  clean_field(record.detail, k_detail_max_bytes);
}

void require_retention_days(int retention_days, int ip_retention_days) {
  if (retention_days < 1 || ip_retention_days < 1) {
    throw Error("audit retention must be at least 1 day (got retention_days " + std::to_string(retention_days) +
                ", ip_retention_days " + std::to_string(ip_retention_days) + ")");
  }
}

PruneCutoffs retention_cutoffs(TimePoint now, int retention_days, int ip_retention_days) {
  require_retention_days(retention_days, ip_retention_days);
  return {now - days(retention_days), now - days(ip_retention_days)};
}

}  // namespace sharelink
