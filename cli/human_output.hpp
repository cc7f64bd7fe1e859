// Human output of sharectl: aligned tables, "key: value" blocks, and the error/warning/note lines on stderr.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time_format.hpp"

namespace sharelink {

// Columns padded to their widest cell (UTF-8 aware), two spaces apart. Every
// cell is shown as visible_text (common/catalog_text.hpp): a value that
// reached the database by other means than sharectl cannot move the cursor,
// recolour or retitle the terminal.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  // A row with as many cells as headers (missing cells print empty).
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  // with_header false leaves the header line out (later batches of a stream).
  void print(std::ostream& out, bool with_header = true) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

// "key: value" lines with the values aligned, each value as visible_text.
void print_fields(std::ostream& out, const Fields& fields);

// "-" for an empty value, so a table never has a blank cell.
std::string or_dash(std::string value);

// RFC 3339, or otherwise when there is no time.
std::string time_or(const std::optional<TimePoint>& t, std::string_view otherwise = "-");

// The words with separator between them.
std::string joined(const std::vector<std::string>& words, std::string_view separator = ", ");

// "sharectl: error: ...", "sharectl: warning: ...", "sharectl: note: ..." on stderr.
void print_error(std::string_view message);
void print_warning(std::string_view message);
void print_note(std::string_view message);

}  // namespace sharelink
