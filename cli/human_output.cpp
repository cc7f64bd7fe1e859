#include "cli/human_output.hpp"

#include <algorithm>
#include <iostream>

#include "common/catalog_text.hpp"

namespace sharelink {
namespace {

// Code points, not bytes: UTF-8 continuation bytes take no column.
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void print_padded(std::ostream& out, const std::string& text, std::size_t width) {
  out << text << std::string(width - std::min(width, display_width(text)), ' ');
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (auto& cell : cells) cell = visible_text(cell);
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out, bool with_header) const {
  std::vector<std::size_t> widths;
  for (const auto& header : headers_) widths.push_back(display_width(header));
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i + 1 == cells.size()) {
        out << cells[i];  // no trailing padding
      } else {
        print_padded(out, cells[i], widths[i]);
        out << "  ";
      }
    }
    out << '\n';
  };
  if (with_header) print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

void print_fields(std::ostream& out, const Fields& fields) {
  std::size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, display_width(key) + 1);
  for (const auto& [key, value] : fields) {
    print_padded(out, key + ":", width);
    out << ' ' << visible_text(value) << '\n';
  }
}

std::string or_dash(std::string value) {
  if (value.empty()) return "-";
  return value;
}

std::string time_or(const std::optional<TimePoint>& t, std::string_view otherwise) {
  return t ? format_rfc3339(*t) : std::string(otherwise);
}

std::string joined(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

void print_error(std::string_view message) { std::cerr << "sharectl: error: " << message << '\n'; }
void print_warning(std::string_view message) { std::cerr << "sharectl: warning: " << message << '\n'; }
void print_note(std::string_view message) { std::cerr << "sharectl: note: " << message << '\n'; }

}  // namespace sharelink
