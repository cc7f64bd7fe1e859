#include "common/logfmt.hpp"

#include <unistd.h>

#include "common/text.hpp"
#include "common/time_format.hpp"

namespace sharelink {
namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

void append_value(std::string& out, std::string_view value) {
  bool needs_quotes = value.empty();
  for (unsigned char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) needs_quotes = true;
  }
  if (!needs_quotes) {
    out += value;
    return;
  }
  out += '"';
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      append_hex_byte(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

}  // namespace

std::string format_logfmt(LogLevel level, std::string_view message, std::span<const LogField> fields) {
  std::string line = "ts=" + format_rfc3339_millis(system_clock_now()) + " level=" + level_name(level) + " msg=";
  append_value(line, message);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    append_value(line, value);
  }
  line += '\n';
  return line;
}

void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  log_event(level, message, std::span<const LogField>(fields.begin(), fields.size()));
}

void log_event(LogLevel level, std::string_view message, std::span<const LogField> fields) {
  const std::string line = format_logfmt(level, message, fields);
  // One write() per line: lines from concurrent threads never interleave.
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace sharelink
