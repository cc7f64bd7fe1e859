// Reads an HTTP/1.1 request head line by line before the HTTP library parses it: limits and framing facts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sharelink {

// A request line or one field line may take this many bytes, LF included
// (cpp-httplib's own limit: it answers 414 / 400 past it).
inline constexpr std::size_t k_max_head_line_bytes = 8192;
// The whole head (request line, field lines, blank line) may take this many
// bytes: the memory one request can make the daemon hold before it answers.
inline constexpr std::size_t k_max_head_bytes = 32 * 1024;
// How much of the request-target is kept in RequestHead::target.
inline constexpr std::size_t k_max_kept_target_bytes = 256;

// What the scanner learnt about one request head.
struct RequestHead {
  // The request-target as sent (not decoded), at most k_max_kept_target_bytes
  // bytes: names the route of a request the HTTP library cannot parse.
  std::string target;
  // A Content-Length other than a run of zeros (a malformed one included) or
  // any Transfer-Encoding, in any field line, also one the library would skip.
  bool has_body = false;
  // A Content-Length (a zero one too) or a Transfer-Encoding field line, in
  // any spelling that counts for has_body. Without one a request's body is
  // empty (RFC 9112 section 6.3).
  bool framed = false;
  // A field line that a proxy in front and the HTTP library could read
  // differently (RFC 9112 section 5): a field name that is not a token
  // (whitespace before the colon, an empty name, a leading space: obs-fold),
  // no colon, a bare CR or a NUL, or a line ended by LF alone.
  bool malformed = false;
  // A line or the whole head went past its limit; the scanner stopped there.
  bool too_large = false;
  // The value of the Range field (surrounding spaces and tabs trimmed), which
  // the scanner withholds from the library; range_repeated when it came twice.
  std::optional<std::string> range;
  bool range_repeated = false;
};

// Splits the bytes of one request head into lines and decides, line by line,
// what the HTTP library gets to read. Every line passes unchanged except the
// Range field lines, which are withheld and kept in head().range: cpp-httplib
// 0.11 parses Range itself and answers an invalid one before routing, where
// RFC 9110 says to ignore it. A line longer than k_max_head_line_bytes, or a
// head longer than k_max_head_bytes, is passed only up to the first byte past
// the limit and the scanner stops (too_large): the library then sees an
// overlong line, or a head that ends early, and answers 414 or 400 itself,
// while nothing past the limit is ever buffered.
// Not thread-safe: one scanner per connection.
class RequestHeadScanner {
 public:
  // Consumes bytes of input and appends to out what the library should read.
  // Stops after the blank line that ends the head (complete()) or at a limit
  // (too_large), leaving the rest of input unconsumed. Returns the number of
  // bytes consumed. A line not yet ended is held (at most one line).
  std::size_t feed(std::string_view input, std::string& out);
  // The input ended inside a line: the held bytes, passed as they are (the
  // library reads an unterminated last line the same way).
  std::string take_partial_line();

  // The blank line was read, or a limit was hit: feed consumes nothing more.
  bool finished() const { return state_ != State::reading; }
  bool complete() const { return state_ == State::complete; }
  const RequestHead& head() const { return head_; }

  // Forgets everything, for the next request on the connection.
  void reset();
  // Bytes its buffers hold (their capacity), which reset() keeps for reuse.
  std::size_t held_bytes() const {
    return line_.capacity() + head_.target.capacity() + (head_.range ? head_.range->capacity() : 0);
  }

 private:
  enum class State { reading, complete, stopped };
  void note_request_line(std::string_view line);
  void finish_line(std::string& out);
  void take_field_line(std::string_view content, std::string_view line, std::string& out);

  State state_ = State::reading;
  bool request_line_seen_ = false;
  std::size_t head_bytes_ = 0;  // consumed so far
  std::string line_;            // the line being read, at most k_max_head_line_bytes + 1 bytes
  RequestHead head_;
};

}  // namespace sharelink
