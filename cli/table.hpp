// Human output of sharectl: aligned tables for lists, "key: value" blocks for single objects.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace sharelink {

// Columns padded to their widest cell (UTF-8 aware), two spaces apart.
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

// "key: value" lines with the values aligned.
void print_fields(std::ostream& out, const Fields& fields);

// "-" for an empty value, so a table never has a blank cell.
std::string or_dash(std::string value);

}  // namespace sharelink
