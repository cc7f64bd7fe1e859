// ConnectionLoop: idle connections wait without a thread, and every limit holds
// (idle timeout, requests per connection, open connections, shutdown).
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "daemon/connection_loop.hpp"

namespace sharelink {
namespace {

using namespace std::chrono_literals;

constexpr const char* k_request = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
constexpr const char* k_answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// The client end of a connection whose other end the loop serves.
class Client {
 public:
  explicit Client(ConnectionLoop& loop) {
    int ends[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
    fd_ = ends[0];
    loop.adopt(ends[1]);
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& bytes) const {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // What arrives within timeout, until size bytes or the end.
  std::string receive(std::size_t size, std::chrono::milliseconds timeout = 5s) const {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got.size() < size) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd entry{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[256];
      const ssize_t n = ::recv(fd_, buffer, std::min(sizeof buffer, size - got.size()), 0);
      if (n <= 0) break;
      got.append(buffer, static_cast<std::size_t>(n));
    }
    return got;
  }
  // True when the loop closed its end within timeout.
  bool closed_by_server(std::chrono::milliseconds timeout) const {
    pollfd entry{fd_, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char byte;
    return ::recv(fd_, &byte, 1, MSG_DONTWAIT) == 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Reads a request head up to its blank line; false if the connection ended first.
bool read_request_head(ConnectionStream& connection) {
  std::string head;
  char buffer[64];
  while (head.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = connection.read(buffer, sizeof buffer);
    if (n <= 0) return false;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

// Answers each request head with k_answer; counts requests and last ones.
struct Echo {
  std::atomic<int> served{0};
  std::atomic<int> last_ones{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> most_in_flight{0};

  ConnectionLoop::ServeRequest function() {
    return [this](ConnectionStream& connection, bool last) {
      const int now = ++in_flight;
      for (int seen = most_in_flight.load(); now > seen && !most_in_flight.compare_exchange_weak(seen, now);) {
      }
      std::string head;
      char buffer[64];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = connection.read(buffer, sizeof buffer);
        if (n <= 0) {
          --in_flight;
          return false;
        }
        head.append(buffer, static_cast<std::size_t>(n));
      }
      // Counted before the answer leaves: a client that has read it sees the count.
      ++served;
      if (last) ++last_ones;
      --in_flight;
      const std::string answer = k_answer;
      return connection.write(answer.data(), answer.size()) == static_cast<ssize_t>(answer.size());
    };
  }
};

ConnectionLoop::Limits limits(std::size_t threads) {
  ConnectionLoop::Limits l;
  l.threads = threads;
  l.max_connections = 64;
  l.max_requests = 100;
  l.idle_timeout = 5000ms;
  l.read_timeout = 2000ms;
  l.write_timeout = 2000ms;
  return l;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST_CASE("ConnectionLoop: idle connections hold no thread: two threads serve forty clients", "[connection_loop]") {
  Echo echo;
  ConnectionLoop loop(limits(2), echo.function());
  std::vector<std::unique_ptr<Client>> clients;
  clients.reserve(40);
  for (int i = 0; i < 40; ++i) clients.push_back(std::make_unique<Client>(loop));
  CHECK(eventually([&] { return loop.parked_connections() == 40; }));
  // The newest clients ask first: with a thread per connection in arrival
  // order they would wait for the first 38 to close.
  for (int round = 0; round < 3; ++round) {
    for (auto it = clients.rbegin(); it != clients.rend(); ++it) {
      (*it)->send(k_request);
      CHECK((*it)->receive(std::string(k_answer).size()) == k_answer);
    }
  }
  CHECK(echo.served == 120);
  CHECK(echo.most_in_flight <= 2);
  CHECK(eventually([&] { return loop.parked_connections() == 40; }));
  CHECK(loop.open_connections() == 40);
}

TEST_CASE("ConnectionLoop: pipelined requests are answered in order on one connection", "[connection_loop]") {
  Echo echo;
  ConnectionLoop loop(limits(2), echo.function());
  Client client(loop);
  client.send(std::string(k_request) + k_request + k_request);
  const std::string answer = k_answer;
  CHECK(client.receive(3 * answer.size()) == answer + answer + answer);
  CHECK(echo.served == 3);
}

TEST_CASE("ConnectionLoop: an idle connection is closed after idle_timeout", "[connection_loop]") {
  Echo echo;
  auto l = limits(1);
  l.idle_timeout = 300ms;
  ConnectionLoop loop(l, echo.function());
  Client never_asks(loop);
  Client asks_once(loop);
  asks_once.send(k_request);
  CHECK(asks_once.receive(std::string(k_answer).size()) == k_answer);
  const auto start = std::chrono::steady_clock::now();
  CHECK(never_asks.closed_by_server(3s));
  CHECK(asks_once.closed_by_server(3s));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited < 2s);
  CHECK(eventually([&] { return loop.open_connections() == 0; }));
  CHECK(echo.served == 1);
}

TEST_CASE("ConnectionLoop: a connection carries at most max_requests, the last one marked", "[connection_loop]") {
  Echo echo;
  auto l = limits(2);
  l.max_requests = 3;
  ConnectionLoop loop(l, echo.function());
  Client client(loop);
  const std::string answer = k_answer;
  for (int i = 0; i < 3; ++i) {
    client.send(k_request);
    CHECK(client.receive(answer.size()) == answer);
  }
  CHECK(client.closed_by_server(3s));
  CHECK(echo.served == 3);
  CHECK(echo.last_ones == 1);
}

TEST_CASE("ConnectionLoop: a client that closes is closed, and its slot reused", "[connection_loop]") {
  Echo echo;
  ConnectionLoop loop(limits(2), echo.function());
  for (int i = 0; i < 100; ++i) {
    Client client(loop);
    if (i % 2 == 0) {
      client.send(k_request);
      CHECK(client.receive(std::string(k_answer).size()) == k_answer);
    }
  }
  CHECK(eventually([&] { return loop.open_connections() == 0; }));
  CHECK(echo.served == 50);
}

TEST_CASE("ConnectionLoop: adopt() waits while max_connections are open", "[connection_loop]") {
  Echo echo;
  auto l = limits(2);
  l.max_connections = 2;
  ConnectionLoop loop(l, echo.function());
  auto first = std::make_unique<Client>(loop);
  Client second(loop);
  auto third = std::async(std::launch::async, [&] { return std::make_unique<Client>(loop); });
  CHECK(third.wait_for(300ms) == std::future_status::timeout);
  CHECK(loop.open_connections() == 2);
  first.reset();  // the client goes: its connection closes, and makes room
  REQUIRE(third.wait_for(5s) == std::future_status::ready);
  const auto admitted = third.get();
  admitted->send(k_request);
  CHECK(admitted->receive(std::string(k_answer).size()) == k_answer);
}

TEST_CASE("ConnectionLoop: shutdown() answers what arrives on open connections, then ends", "[connection_loop]") {
  Echo echo;
  ConnectionLoop loop(limits(2), echo.function());
  Client client(loop);
  CHECK(eventually([&] { return loop.parked_connections() == 1; }));
  auto shut = std::async(std::launch::async, [&] { loop.shutdown(); });
  CHECK(shut.wait_for(200ms) == std::future_status::timeout);  // a connection is open
  client.send(k_request);
  CHECK(client.receive(std::string(k_answer).size()) == k_answer);
  client.close();
  CHECK(shut.wait_for(5s) == std::future_status::ready);
  // After shutdown(), a new socket is closed at once.
  int ends[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  loop.adopt(ends[1]);
  char byte;
  CHECK(::recv(ends[0], &byte, 1, 0) == 0);
  ::close(ends[0]);
}

// Answers like Echo, and counts the handlers that are computing (past the
// head, before the answer), each for about a millisecond of CPU.
struct Busy {
  std::atomic<int> served{0};
  std::atomic<int> computing{0};
  std::atomic<int> most_computing{0};

  ConnectionLoop::ServeRequest function() {
    return [this](ConnectionStream& connection, bool) {
      if (!read_request_head(connection)) return false;
      const int now = ++computing;
      for (int seen = most_computing.load();
           now > seen && !most_computing.compare_exchange_weak(seen, now);) {
      }
      const auto until = std::chrono::steady_clock::now() + 1ms;
      while (std::chrono::steady_clock::now() < until) {
      }
      --computing;
      ++served;
      const std::string answer = k_answer;
      return connection.write(answer.data(), answer.size()) == static_cast<ssize_t>(answer.size());
    };
  }
};

TEST_CASE("ConnectionLoop: at most `running` threads compute at once", "[connection_loop]") {
  Busy busy;
  auto l = limits(4);
  l.running = GENERATE(1, 2);
  ConnectionLoop loop(l, busy.function());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<Client>(loop));
  for (int round = 0; round < 20; ++round) {
    for (const auto& client : clients) client->send(k_request);
    for (const auto& client : clients) CHECK(client->receive(std::string(k_answer).size()) == k_answer);
  }
  CHECK(busy.served == 160);
  CHECK(busy.most_computing <= static_cast<int>(l.running));
}

TEST_CASE("ConnectionLoop: with every thread computing, all four of them do", "[connection_loop]") {
  // What the test above would see without the limit (on two cores or more).
  Busy busy;
  ConnectionLoop loop(limits(4), busy.function());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<Client>(loop));
  for (int round = 0; round < 20 && busy.most_computing < 2; ++round) {
    for (const auto& client : clients) client->send(k_request);
    for (const auto& client : clients) CHECK(client->receive(std::string(k_answer).size()) == k_answer);
  }
  if (std::thread::hardware_concurrency() >= 2) CHECK(busy.most_computing >= 2);
}

TEST_CASE("ConnectionLoop: a client that stalls in its request passes its thread's turn on",
          "[connection_loop]") {
  Busy busy;
  auto l = limits(4);
  l.running = 1;
  l.read_timeout = 3000ms;
  ConnectionLoop loop(l, busy.function());
  Client stalls(loop);
  Client asks(loop);
  const std::string request = k_request;
  stalls.send(request.substr(0, 10));  // its thread waits for the rest, up to read_timeout
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  asks.send(request);
  CHECK(asks.receive(std::string(k_answer).size(), 2s) == k_answer);
  CHECK(std::chrono::steady_clock::now() - start < 1s);  // not after the stalled read's timeout
  stalls.send(request.substr(10));
  CHECK(stalls.receive(std::string(k_answer).size()) == k_answer);
  // The one that came back from its wait and the one that ran meanwhile take turns again.
  for (int i = 0; i < 10; ++i) {
    stalls.send(request);
    asks.send(request);
    CHECK(stalls.receive(std::string(k_answer).size()) == k_answer);
    CHECK(asks.receive(std::string(k_answer).size()) == k_answer);
  }
  CHECK(busy.served == 22);
  CHECK(busy.most_computing == 1);
}

TEST_CASE("ConnectionLoop: shutdown() ends the threads standing by too", "[connection_loop]") {
  Busy busy;
  auto l = limits(8);
  l.running = 1;
  auto loop = std::make_unique<ConnectionLoop>(l, busy.function());
  {
    Client client(*loop);
    client.send(k_request);
    CHECK(client.receive(std::string(k_answer).size()) == k_answer);
  }
  auto shut = std::async(std::launch::async, [&] { loop->shutdown(); });
  CHECK(shut.wait_for(5s) == std::future_status::ready);
}

TEST_CASE("BlockingWait: tells the calling thread's hooks, and nothing outside a pool", "[connection_loop]") {
  struct Counting final : BlockingWaitHooks {
    int begun = 0;
    int ended = 0;
    void wait_begins() noexcept override { ++begun; }
    void wait_ends() noexcept override { ++ended; }
  } hooks;
  { const BlockingWait outside; }
  set_blocking_wait_hooks(&hooks);
  {
    const BlockingWait waiting;
    CHECK(hooks.begun == 1);
    CHECK(hooks.ended == 0);
  }
  CHECK(hooks.ended == 1);
  std::thread([] { const BlockingWait other_thread; }).join();
  set_blocking_wait_hooks(nullptr);
  { const BlockingWait after; }
  CHECK(hooks.begun == 1);
  CHECK(hooks.ended == 1);
}

TEST_CASE("ConnectionStream: between requests an idle connection gives back what a large head grew", "[connection_loop]") {
  int ends[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  ConnectionStream connection(ends[1], 2000ms, 2000ms);
  // 24 KiB of field lines, each under the 8 KiB line limit and the head under 32 KiB.
  std::string head = "GET / HTTP/1.1\r\nHost: test\r\n";
  for (int i = 0; i < 4; ++i) head += "X-Padding-" + std::to_string(i) + ": " + std::string(6000, 'p') + "\r\n";
  head += "\r\n";
  std::thread sender([&] { CHECK(::send(ends[0], head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())); });
  connection.begin_request();
  std::string read;
  char buffer[4096];
  while (read.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = connection.read(buffer, sizeof buffer);
    REQUIRE(n > 0);
    read.append(buffer, static_cast<std::size_t>(n));
  }
  sender.join();
  CHECK(connection.held_bytes() > 6000);
  connection.release_idle_memory();
  // At most one receive's worth (4 KiB) is kept for the next request.
  CHECK(connection.held_bytes() <= 4096 + 3 * 64);
  ::close(ends[0]);
}

// Bytes the client end can read at once, without waiting.
std::string available(int fd) {
  std::string got;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n <= 0) return got;
    got.append(buffer, static_cast<std::size_t>(n));
  }
}

TEST_CASE("ConnectionStream: small writes wait for flush() and leave together", "[connection_loop]") {
  int ends[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  {
    ConnectionStream connection(ends[1], 2000ms, 2000ms);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    CHECK(connection.write(head.data(), head.size()) == static_cast<ssize_t>(head.size()));
    CHECK(connection.write("ok", 2) == 2);
    CHECK(available(ends[0]).empty());
    CHECK(connection.pending_output() == head.size() + 2);
    CHECK(connection.flush());
    CHECK(connection.pending_output() == 0);
    CHECK(available(ends[0]) == head + "ok");

    // A large write takes what waits with it, in order.
    CHECK(connection.write(head.data(), head.size()) == static_cast<ssize_t>(head.size()));
    const std::string body(64 * 1024, 'b');
    std::size_t written = 0;
    std::string received;
    while (written < body.size()) {
      const ssize_t n = connection.write(body.data() + written, body.size() - written);
      REQUIRE(n >= 0);
      written += static_cast<std::size_t>(n);
      received += available(ends[0]);
    }
    CHECK(connection.flush());
    received += available(ends[0]);
    CHECK(received == head + body);

    // What is written before the connection closes still leaves.
    CHECK(connection.write("bye", 3) == 3);
  }
  CHECK(available(ends[0]) == "bye");
  ::close(ends[0]);
}

TEST_CASE("ConnectionStream: waiting for input sends what was written first", "[connection_loop]") {
  int ends[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  ConnectionStream connection(ends[1], 2000ms, 2000ms);
  connection.begin_request();
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  CHECK(connection.write(interim.data(), interim.size()) == static_cast<ssize_t>(interim.size()));
  // The client answers only what it has received.
  std::thread client([&] {
    pollfd entry{ends[0], POLLIN, 0};
    REQUIRE(::poll(&entry, 1, 2000) == 1);
    CHECK(available(ends[0]) == interim);
    const std::string request = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    CHECK(::send(ends[0], request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  });
  char buffer[64];
  CHECK(connection.read(buffer, sizeof buffer) > 0);
  client.join();
  ::close(ends[0]);
}

TEST_CASE("ConnectionLoop: an answer written in parts leaves before the connection waits",
          "[connection_loop]") {
  // The serve function writes its answer in two parts and never flushes: the loop does.
  ConnectionLoop loop(limits(1), [](ConnectionStream& connection, bool) {
    if (!read_request_head(connection)) return false;
    const std::string answer = k_answer;
    const std::size_t split = answer.size() - 2;
    return connection.write(answer.data(), split) == static_cast<ssize_t>(split) &&
           connection.write(answer.data() + split, 2) == 2;
  });
  Client client(loop);
  for (int i = 0; i < 3; ++i) {
    client.send(k_request);
    CHECK(client.receive(std::string(k_answer).size()) == k_answer);
  }
}

}  // namespace
}  // namespace sharelink
