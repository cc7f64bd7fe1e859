// Unit tests of RequestHeadScanner: what the HTTP library gets to read of a request head, and what is noted.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/request_head.hpp"

namespace sharelink {
namespace {

struct Scanned {
  std::string out;
  std::size_t used = 0;
  RequestHeadScanner scanner;
};

// The whole input in one feed.
Scanned scan(std::string_view input) {
  Scanned s;
  s.used = s.scanner.feed(input, s.out);
  return s;
}

// The same input one byte per feed, as a slow client sends it.
Scanned scan_bytewise(std::string_view input) {
  Scanned s;
  for (std::size_t i = 0; i < input.size() && !s.scanner.finished(); ++i) {
    s.used += s.scanner.feed(input.substr(i, 1), s.out);
  }
  return s;
}

const std::string k_simple =
    "GET /v1/music/shared/shr_x?a=1 HTTP/1.1\r\nHost: example.org\r\nUser-Agent: t\r\n\r\n";

}  // namespace

TEST_CASE("RequestHeadScanner: a plain head passes unchanged and the rest stays unread", "[request_head]") {
  const std::string next = "GET /healthz HTTP/1.1\r\n\r\n";
  for (const auto& s : {scan(k_simple + next), scan_bytewise(k_simple + next)}) {
    CHECK(s.out == k_simple);
    CHECK(s.used == k_simple.size());
    CHECK(s.scanner.complete());
    CHECK(s.scanner.finished());
    const RequestHead& head = s.scanner.head();
    CHECK(head.target == "/v1/music/shared/shr_x?a=1");
    CHECK_FALSE(head.has_body);
    CHECK_FALSE(head.malformed);
    CHECK_FALSE(head.too_large);
    CHECK_FALSE(head.range);
  }
}

TEST_CASE("RequestHeadScanner: a head in pieces waits for the end of each line", "[request_head]") {
  RequestHeadScanner scanner;
  std::string out;
  CHECK(scanner.feed("GET / HTTP/1.1\r\nHo", out) == 18);
  CHECK(out == "GET / HTTP/1.1\r\n");
  CHECK_FALSE(scanner.finished());
  CHECK(scanner.feed("st: x\r\n\r", out) == 8);
  CHECK(out == "GET / HTTP/1.1\r\nHost: x\r\n");
  CHECK(scanner.feed("\nGET", out) == 1);
  CHECK(scanner.complete());
  CHECK(out == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST_CASE("RequestHeadScanner: Range lines are withheld and their value kept", "[request_head]") {
  SECTION("one Range, any spelling of the name") {
    for (const char* line : {"Range: bytes=0-1\r\n", "range:bytes=0-1\r\n", "RANGE: \t bytes=0-1 \t\r\n"}) {
      CAPTURE(line);
      const auto s = scan(std::string("GET /m HTTP/1.1\r\nHost: x\r\n") + line + "Accept: */*\r\n\r\n");
      CHECK(s.out == "GET /m HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
      REQUIRE(s.scanner.head().range);
      CHECK(*s.scanner.head().range == "bytes=0-1");
      CHECK_FALSE(s.scanner.head().range_repeated);
      CHECK_FALSE(s.scanner.head().malformed);
    }
  }
  SECTION("values the library would refuse reach the route as they are") {
    const auto s = scan("GET /m HTTP/1.1\r\nRange: bytes=0-18446744073709551615\r\n\r\n");
    CHECK(s.out == "GET /m HTTP/1.1\r\n\r\n");
    CHECK(*s.scanner.head().range == "bytes=0-18446744073709551615");
  }
  SECTION("an empty value") {
    const auto s = scan("GET /m HTTP/1.1\r\nRange:\r\n\r\n");
    CHECK(s.out == "GET /m HTTP/1.1\r\n\r\n");
    CHECK(*s.scanner.head().range == "");
  }
  SECTION("twice") {
    const auto s = scan("GET /m HTTP/1.1\r\nRange: bytes=0-1\r\nRange: bytes=5-9\r\n\r\n");
    CHECK(s.out == "GET /m HTTP/1.1\r\n\r\n");
    CHECK(*s.scanner.head().range == "bytes=0-1");
    CHECK(s.scanner.head().range_repeated);
  }
  SECTION("a name that only looks like Range passes, and is malformed") {
    const auto s = scan("GET /m HTTP/1.1\r\nRange : bytes=0-1\r\n\r\n");
    CHECK(s.out == "GET /m HTTP/1.1\r\nRange : bytes=0-1\r\n\r\n");
    CHECK_FALSE(s.scanner.head().range);
    CHECK(s.scanner.head().malformed);
  }
}

TEST_CASE("RequestHeadScanner: anything that announces a body is noted", "[request_head]") {
  struct Case {
    const char* line;
    bool has_body;
    bool malformed;
  };
  const std::vector<Case> cases = {
      {"Content-Length: 0\r\n", false, false},
      {"Content-Length: 000\r\n", false, false},
      {"content-length:0\r\n", false, false},
      {"Content-Length: 1\r\n", true, false},
      {"Content-Length: 18446744073709551616\r\n", true, false},
      {"Content-Length: -1\r\n", true, false},
      {"Content-Length: 0, 0\r\n", true, false},
      {"Content-Length: abc\r\n", true, false},
      {"Content-Length:\r\n", true, false},
      {"Transfer-Encoding: chunked\r\n", true, false},
      {"transfer-encoding: identity\r\n", true, false},
      {"Transfer-Encoding:\r\n", true, false},
      {"Transfer-Encoding : chunked\r\n", true, true},  // whitespace before the colon
      {"Transfer-Encoding: chunked\n", true, true},     // LF alone: the library would skip the line
      {" Transfer-Encoding: chunked\r\n", true, true},  // obs-fold
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    const auto s = scan(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n") + c.line + "\r\n");
    CHECK(s.scanner.complete());
    CHECK(s.scanner.head().has_body == c.has_body);
    CHECK(s.scanner.head().malformed == c.malformed);
    CHECK(s.scanner.head().framed);  // every case names a length or a coding
  }
}

TEST_CASE("RequestHeadScanner: a head without Content-Length or Transfer-Encoding is not framed",
          "[request_head]") {
  for (const char* extra : {"", "X-Content-Length: 5\r\n", "Content-Lengths: 5\r\n", "Range: bytes=0-1\r\n"}) {
    CAPTURE(extra);
    const auto s = scan(std::string("POST /nowhere HTTP/1.1\r\nHost: x\r\n") + extra + "\r\n");
    CHECK(s.scanner.complete());
    CHECK_FALSE(s.scanner.head().framed);
    CHECK_FALSE(s.scanner.head().has_body);
  }
  CHECK(scan("POST /nowhere HTTP/1.1\r\nContent-Length: 0\r\n\r\n").scanner.head().framed);
}

TEST_CASE("RequestHeadScanner: field lines that parsers may read differently are malformed",
          "[request_head]") {
  const std::vector<std::string> lines = {
      " folded: value\r\n", "\tfolded\r\n",
      "no colon here\r\n",  ": empty name\r\n",
      "Bad Name: x\r\n",    "Name\x01: x\r\n",
      "X: a\rb\r\n",        std::string("X: a\0b\r\n", 8),
      "X: lf only\n",       "\n",
  };
  for (const auto& line : lines) {
    CAPTURE(line);
    const auto s = scan("GET / HTTP/1.1\r\n" + line + "Host: x\r\n\r\n");
    CHECK(s.scanner.complete());
    CHECK(s.scanner.head().malformed);
    CHECK(s.out == "GET / HTTP/1.1\r\n" + line + "Host: x\r\n\r\n");  // passed: the library decides too
  }
  const auto fine = scan("GET / HTTP/1.1\r\nX-Odd_Name!#$%&'*+.^`|~: a b\tc\r\n\r\n");
  CHECK_FALSE(fine.scanner.head().malformed);
}

TEST_CASE("RequestHeadScanner: a request line over the limit is cut one byte past it", "[request_head]") {
  const std::string target = "/v1/music/shared/" + std::string(9000, 'a');
  const std::string input = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const auto& s : {scan(input), scan_bytewise(input)}) {
    CHECK(s.scanner.head().too_large);
    CHECK(s.scanner.finished());
    CHECK_FALSE(s.scanner.complete());
    CHECK(s.out.size() == k_max_head_line_bytes + 1);
    CHECK(s.used == k_max_head_line_bytes + 1);
    CHECK(s.out == input.substr(0, k_max_head_line_bytes + 1));
    CHECK(s.scanner.head().target == target.substr(0, k_max_kept_target_bytes));
  }
}

TEST_CASE("RequestHeadScanner: a field line over the limit is cut one byte past it", "[request_head]") {
  const std::string start = "GET /x HTTP/1.1\r\n";
  const std::string input = start + "X-Big: " + std::string(9000, 'a') + "\r\n\r\n";
  const auto s = scan(input);
  CHECK(s.scanner.head().too_large);
  CHECK(s.out.size() == start.size() + k_max_head_line_bytes + 1);
  CHECK(s.scanner.head().target == "/x");
  // A line of exactly the limit, LF included, is still a line.
  const std::string exact = "X-Big: " + std::string(k_max_head_line_bytes - 9, 'a') + "\r\n";
  REQUIRE(exact.size() == k_max_head_line_bytes);
  const auto t = scan(start + exact + "\r\n");
  CHECK(t.scanner.complete());
  CHECK_FALSE(t.scanner.head().too_large);
}

TEST_CASE("RequestHeadScanner: endless field lines stop at the head limit", "[request_head]") {
  RequestHeadScanner scanner;
  std::string out;
  std::size_t used = scanner.feed("GET /healthz HTTP/1.1\r\n", out);
  const std::string line = "X-Flood: " + std::string(90, 'f') + "\r\n";
  std::size_t fed = used;
  for (int i = 0; i < 10000 && !scanner.finished(); ++i) {
    used += scanner.feed(line, out);
    fed += line.size();
  }
  CHECK(scanner.head().too_large);
  CHECK(used == k_max_head_bytes);
  CHECK(out.size() == k_max_head_bytes);
  CHECK(fed < 2 * k_max_head_bytes);
  std::string more;
  CHECK(scanner.feed(line, more) == 0);  // stopped: nothing more is consumed
  CHECK(more.empty());
}

TEST_CASE("RequestHeadScanner: a line cut off by the end of input is handed back", "[request_head]") {
  RequestHeadScanner scanner;
  std::string out;
  scanner.feed("GET / HTTP/1.1\r\nHost: exa", out);
  CHECK(scanner.take_partial_line() == "Host: exa");
  CHECK(scanner.take_partial_line().empty());
}

TEST_CASE("RequestHeadScanner: the request line keeps only the target", "[request_head]") {
  CHECK(scan("GET /a%20b HTTP/1.1\r\n\r\n").scanner.head().target == "/a%20b");
  CHECK(scan("GET /a\r\n\r\n").scanner.head().target == "/a");
  CHECK(scan("GARBAGE\r\n\r\n").scanner.head().target.empty());
  CHECK(scan("\r\n\r\n").scanner.head().target.empty());
}

TEST_CASE("RequestHeadScanner: reset starts the next request afresh", "[request_head]") {
  RequestHeadScanner scanner;
  std::string out;
  scanner.feed("GET /a HTTP/1.1\r\nRange: bytes=1-2\r\nContent-Length: 5\r\n X\r\n\r\n", out);
  REQUIRE(scanner.complete());
  scanner.reset();
  CHECK_FALSE(scanner.finished());
  out.clear();
  scanner.feed(k_simple, out);
  CHECK(out == k_simple);
  CHECK_FALSE(scanner.head().range);
  CHECK_FALSE(scanner.head().has_body);
  CHECK_FALSE(scanner.head().malformed);
  CHECK(scanner.head().target == "/v1/music/shared/shr_x?a=1");
}

}  // namespace sharelink
