#include "common/request_head.hpp"

#include <algorithm>

#include "common/text.hpp"

namespace sharelink {
namespace {

// RFC 9110 5.6.2: tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

// "0", "00", ...: a Content-Length that announces no body.
bool is_zero_length(std::string_view value) {
  return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c == '0'; });
}

}  // namespace

std::size_t RequestHeadScanner::feed(std::string_view input, std::string& out) {
  std::size_t used = 0;
  while (used < input.size() && state_ == State::reading) {
    // What this line may still take: the line limit plus the one byte that
    // shows the library it is over, and never past the head limit.
    const std::size_t line_room = k_max_head_line_bytes + 1 - line_.size();
    const std::size_t head_room = k_max_head_bytes - head_bytes_;
    const std::size_t room = std::min(line_room, head_room);
    const std::string_view rest = input.substr(used);
    const std::size_t lf = rest.find('\n');
    const std::size_t wanted = lf == std::string_view::npos ? rest.size() : lf + 1;
    if (wanted > room) {
      line_.append(rest.substr(0, room));
      used += room;
      head_bytes_ += room;
      if (!request_line_seen_) note_request_line(line_);
      out += line_;
      line_.clear();
      head_.too_large = true;
      state_ = State::stopped;
      break;
    }
    line_.append(rest.substr(0, wanted));
    used += wanted;
    head_bytes_ += wanted;
    if (lf == std::string_view::npos) break;  // the rest of the line comes with later input
    finish_line(out);
  }
  return used;
}

std::string RequestHeadScanner::take_partial_line() {
  std::string partial;
  partial.swap(line_);
  return partial;
}

// method SP request-target SP HTTP-version CRLF (or its start): keeps the start of the target.
void RequestHeadScanner::note_request_line(std::string_view line) {
  request_line_seen_ = true;
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return;
  const std::size_t end = line.find_first_of(" \r\n", space + 1);
  const std::size_t length = (end == std::string_view::npos ? line.size() : end) - (space + 1);
  head_.target = std::string(line.substr(space + 1, std::min(length, k_max_kept_target_bytes)));
}

void RequestHeadScanner::finish_line(std::string& out) {
  // line_ is cleared, not swapped away, so its buffer serves every line.
  const std::string_view line(line_);
  if (!request_line_seen_) {
    note_request_line(line);
    out += line;
  } else if (line == "\r\n") {
    state_ = State::complete;
    out += line;
  } else {
    const bool crlf = line.size() >= 2 && line[line.size() - 2] == '\r';
    if (!crlf) head_.malformed = true;  // LF alone: the library skips the line, a proxy may not
    take_field_line(line.substr(0, line.size() - (crlf ? 2 : 1)), line, out);
  }
  line_.clear();
}

void RequestHeadScanner::take_field_line(std::string_view content, std::string_view line, std::string& out) {
  if (content.find('\r') != std::string_view::npos || content.find('\0') != std::string_view::npos) {
    head_.malformed = true;
  }
  const std::size_t colon = content.find(':');
  const std::string_view name = content.substr(0, colon);
  if (colon == std::string_view::npos || !is_token(name)) head_.malformed = true;
  // The name as the library reads it: everything before the first colon.
  const std::string_view value =
      colon == std::string_view::npos ? std::string_view() : trim_ows(content.substr(colon + 1));
  const std::string_view trimmed_name = trim_ows(name);
  if (colon != std::string_view::npos && equals_ignoring_ascii_case(name, "range")) {
    if (head_.range) {
      head_.range_repeated = true;
    } else {
      head_.range = std::string(value);
    }
    return;  // withheld
  }
  // Body framing counts in any spelling a parser might accept.
  const bool length = equals_ignoring_ascii_case(trimmed_name, "content-length");
  const bool coding = equals_ignoring_ascii_case(trimmed_name, "transfer-encoding");
  if ((length && !is_zero_length(value)) || coding) head_.has_body = true;
  if (length || coding) head_.framed = true;
  out += line;
}

void RequestHeadScanner::reset() { *this = RequestHeadScanner(); }

}  // namespace sharelink
