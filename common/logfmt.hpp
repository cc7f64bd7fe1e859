// One logfmt line per event on stderr: ts=... level=... msg="..." key=value ...
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace sharelink {

enum class LogLevel { debug, info, warn, error };

using LogField = std::pair<std::string_view, std::string_view>;

// Formats one line (with a trailing newline). Values are quoted when they
// contain spaces, quotes, '=' or control characters; quotes, backslashes and
// control characters are escaped, so one event is always one line.
std::string format_logfmt(LogLevel level, std::string_view message, std::span<const LogField> fields);

// Writes format_logfmt(...) to stderr in one write. Thread-safe. Never pass a
// raw token or a credential as a field.
void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
// The same with fields gathered at run time.
void log_event(LogLevel level, std::string_view message, std::span<const LogField> fields);

}  // namespace sharelink
