// Unit tests of common/logfmt.hpp: one logfmt line per event, values quoted and escaped.
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "common/logfmt.hpp"

namespace sharelink {
namespace {

// The line without its "ts=... " prefix, which comes from the wall clock.
std::string after_timestamp(const std::string& line) {
  static const std::regex k_prefix(R"(^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )");
  std::smatch match;
  REQUIRE(std::regex_search(line, match, k_prefix));
  return match.suffix();
}

}  // namespace

TEST_CASE("format_logfmt: a line starts with ts, level and msg and ends with one newline", "[logfmt]") {
  const auto [level, name] = GENERATE(table<LogLevel, std::string>({
      {LogLevel::debug, "debug"},
      {LogLevel::info, "info"},
      {LogLevel::warn, "warn"},
      {LogLevel::error, "error"},
  }));
  const std::string line = format_logfmt(level, "started", {});
  CHECK(after_timestamp(line) == "level=" + name + " msg=started\n");
}

TEST_CASE("format_logfmt: fields in the order given, each key=value", "[logfmt]") {
  const std::vector<LogField> fields = {
      {"request_id", "req_0123456789abcdef"}, {"status", "503"}, {"b", "a"}};
  CHECK(after_timestamp(format_logfmt(LogLevel::error, "resolve failed", fields)) ==
        "level=error msg=\"resolve failed\" request_id=req_0123456789abcdef status=503 b=a\n");
}

TEST_CASE("format_logfmt: values quoted and escaped so that an event is one line", "[logfmt]") {
  const auto [value, written] = GENERATE(table<std::string, std::string>({
      {"plain", "plain"},
      {"", "\"\""},  // empty: quoted, so the field is still visible
      {"two words", "\"two words\""},
      {"a=b", "\"a=b\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"C:\\path", "\"C:\\\\path\""},
      {"line\nbreak", "\"line\\nbreak\""},
      {"tab\there", "\"tab\\x09here\""},
      {"cr\r", "\"cr\\x0d\""},
      {"\x1b[31mred", "\"\\x1b[31mred\""},  // a terminal escape is made harmless
      {"del\x7f", "\"del\\x7f\""},
      {std::string("nul\0", 4), "\"nul\\x00\""},
      {"caf\xC3\xA9", "caf\xC3\xA9"},  // UTF-8 passes as it is
      {"/var/lib/shared-linkd/shared-link.db", "/var/lib/shared-linkd/shared-link.db"},
  }));
  CAPTURE(value);
  const std::vector<LogField> fields = {{"v", value}};
  CHECK(after_timestamp(format_logfmt(LogLevel::info, "m", fields)) ==
        "level=info msg=m v=" + written + "\n");
  // The message is written by the same rule.
  CHECK(after_timestamp(format_logfmt(LogLevel::info, value, {})) == "level=info msg=" + written + "\n");
}

TEST_CASE("format_logfmt: however hostile the values, exactly one newline, at the end", "[logfmt]") {
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  const std::vector<LogField> fields = {{"all", every_byte}, {"again", every_byte}};
  const std::string line = format_logfmt(LogLevel::warn, every_byte, fields);
  CHECK(line.find('\n') == line.size() - 1);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(line.find('\x1b') == std::string::npos);
}

}  // namespace sharelink
