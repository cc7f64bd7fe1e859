// Fuzzes RequestHeadScanner: what the HTTP library reads is bounded, and is the input minus Range lines.
#include <algorithm>
#include <string>

#include "common/request_head.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace sharelink;
using sharelink::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte chooses how the input arrives: in one piece, or in pieces of 1..255 bytes.
  const std::size_t piece = data[0] == 0 ? size : data[0];
  const std::string_view input = sharelink::fuzz::text_of(data + 1, size - 1);

  RequestHeadScanner scanner;
  std::string out;
  std::size_t used = 0;
  while (used < input.size() && !scanner.finished()) {
    const std::size_t offered = std::min(piece, input.size() - used);
    const std::size_t taken = scanner.feed(input.substr(used, offered), out);
    require(taken <= offered, "feed consumes at most what it is given");
    used += taken;
    if (taken < offered) require(scanner.finished(), "feed leaves input only once the head is over");
  }
  const std::string partial = scanner.take_partial_line();
  const RequestHead& head = scanner.head();

  require(used <= k_max_head_bytes, "nothing past the head limit is consumed");
  require(out.size() + partial.size() <= used, "nothing is made up");
  require(partial.size() <= k_max_head_line_bytes + 1, "at most one line is held");
  require(head.target.size() <= k_max_kept_target_bytes, "the kept target is bounded");
  if (head.range) require(head.range->size() <= k_max_head_line_bytes, "the Range value is one line at most");
  // Without a Range field, the library reads exactly what arrived.
  if (!head.range && !head.range_repeated) {
    require(out + partial == input.substr(0, used), "lines pass unchanged");
  }
  if (scanner.complete()) {
    require(out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0, "a complete head ends with CRLF");
  }
  return 0;
}
