#include "daemon/connection_stream.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "common/blocking_wait.hpp"

namespace sharelink {
namespace {

// One recv(2) at most: a request head is a few hundred bytes; a larger one
// simply takes more reads. Held per open connection, so 256 keep-alive
// connections hold 1 MB.
constexpr std::size_t k_recv_bytes = 4 * 1024;
// Writes are gathered up to this much (a track's answer is about 1 KiB);
// a larger one leaves at once, with what waits before it, in one sendmsg(2).
// Held per open connection once it has answered, like the receive buffer.
constexpr std::size_t k_output_bytes = 4 * 1024;
// Lingering close: at most this long, and this much input discarded.
constexpr std::chrono::milliseconds k_linger_total{1000};
constexpr std::chrono::milliseconds k_linger_idle{200};
constexpr std::size_t k_linger_max_bytes = 256 * 1024;

thread_local ConnectionStream* t_current = nullptr;

// poll(2) for one event, retried on EINTR; > 0 ready, 0 timeout, < 0 error.
int wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd entry{fd, events, 0};
  const BlockingWait waiting;
  for (;;) {
    const int ready = ::poll(&entry, 1, static_cast<int>(std::max<std::int64_t>(0, timeout.count())));
    if (ready >= 0 || errno != EINTR) return ready;
  }
}

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

// Numeric host and port of a socket address, as cpp-httplib writes them.
void numeric_address(const sockaddr_storage& address, socklen_t length, std::string& ip, int& port) {
  if (address.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  } else if (address.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  } else {
    return;
  }
  std::array<char, NI_MAXHOST> host{};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host.data(),
                    static_cast<socklen_t>(host.size()), nullptr, 0, NI_NUMERICHOST) == 0) {
    ip = host.data();
  }
}

}  // namespace

ConnectionStream::ConnectionStream(int fd, std::chrono::milliseconds read_timeout,
                                   std::chrono::milliseconds write_timeout)
    : fd_(fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    numeric_address(address, length, peer_ip_, peer_port_);
  }
  // Read once: httplib asks for it with every request, and it never changes.
  length = sizeof address;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    numeric_address(address, length, local_ip_, local_port_);
  }
  // Every answer leaves at once (Nagle plus delayed ACKs would hold it ~40 ms).
  const int yes = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
}

ConnectionStream::~ConnectionStream() { finish(); }

void ConnectionStream::begin_request() {
  scanner_.reset();
  in_head_ = true;
  head_out_.clear();
  head_out_offset_ = 0;
}

void ConnectionStream::release_idle_memory() {
  if (has_buffered_input()) return;
  input_.clear();
  input_offset_ = 0;
  if (input_.capacity() > k_recv_bytes) std::string().swap(input_);
  head_out_.clear();
  head_out_offset_ = 0;
  if (head_out_.capacity() > k_recv_bytes) std::string().swap(head_out_);
  if (scanner_.held_bytes() > k_recv_bytes) {
    RequestHeadScanner fresh;  // its line buffer and head fields, unallocated
    std::swap(scanner_, fresh);
  }
}

void ConnectionStream::finish() {
  if (finished_) return;
  finished_ = true;
  flush();
  if (closing_) {
    ::shutdown(fd_, SHUT_WR);
    const auto deadline = std::chrono::steady_clock::now() + k_linger_total;
    std::array<char, k_recv_bytes> discard;
    std::size_t discarded = 0;
    while (discarded < k_linger_max_bytes) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || wait_for(fd_, POLLIN, std::min(left, k_linger_idle)) <= 0) break;
      const ssize_t n = ::recv(fd_, discard.data(), discard.size(), MSG_DONTWAIT);
      if (n <= 0) break;  // the client closed (or went away): done
      discarded += static_cast<std::size_t>(n);
    }
  } else {
    ::shutdown(fd_, SHUT_RDWR);
  }
  ::close(fd_);
}

bool ConnectionStream::is_readable() const {
  if (input_offset_ < input_.size()) return true;
  return flush() && wait_for(fd_, POLLIN, read_timeout_) > 0;
}

bool ConnectionStream::is_writable() const { return wait_for(fd_, POLLOUT, write_timeout_) > 0; }

ssize_t ConnectionStream::fill() {
  if (input_offset_ == input_.size()) {
    input_.clear();
    input_offset_ = 0;
  }
  // Received into a buffer of the connection's own, then appended: growing
  // input_ by the whole read size would zero 16 KiB per request.
  if (!recv_buffer_) recv_buffer_ = std::make_unique_for_overwrite<char[]>(k_recv_bytes);
  for (;;) {
    const ssize_t n = ::recv(fd_, recv_buffer_.get(), k_recv_bytes, MSG_DONTWAIT);
    if (n > 0) input_.append(recv_buffer_.get(), static_cast<std::size_t>(n));
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    // The client may wait for what was written before it sends more (100 Continue).
    if (!would_block(errno) || !flush() || wait_for(fd_, POLLIN, read_timeout_) <= 0) return -1;
  }
}

ssize_t ConnectionStream::hand_out(std::string& from, std::size_t& offset, char* ptr, size_t size) {
  const std::size_t n = std::min(size, from.size() - offset);
  std::copy_n(from.data() + offset, n, ptr);
  offset += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::read_head(char* ptr, size_t size) {
  while (head_out_offset_ == head_out_.size()) {
    head_out_.clear();
    head_out_offset_ = 0;
    if (scanner_.complete()) {
      in_head_ = false;
      return read_body(ptr, size);
    }
    // Past a limit the head ends here, as if the client had stopped sending:
    // the library answers the overlong line or the cut head itself.
    if (scanner_.finished()) return 0;
    if (input_offset_ == input_.size()) {
      const ssize_t n = fill();
      if (n <= 0) {
        // The library reads an unterminated last line as a line.
        head_out_ = scanner_.take_partial_line();
        if (head_out_.empty()) return n;
        break;
      }
    }
    const std::string_view unread = std::string_view(input_).substr(input_offset_);
    input_offset_ += scanner_.feed(unread, head_out_);
    if (scanner_.complete() && !scanner_.head().framed) say_the_body_is_empty();
  }
  return hand_out(head_out_, head_out_offset_, ptr, size);
}

// A request without Content-Length or Transfer-Encoding has no body (RFC
// 9112 section 6.3), but cpp-httplib 0.11 reads one until the connection
// closes for POST, PUT, PATCH and DELETE, and answers 400 when the read times
// out. The library is told so in its own terms: the head it reads ends with
// Content-Length: 0. head_out_ ends with the blank line the scanner just
// passed.
void ConnectionStream::say_the_body_is_empty() {
  head_out_.insert(head_out_.size() - 2, "Content-Length: 0\r\n");
}

ssize_t ConnectionStream::read_body(char* ptr, size_t size) {
  if (input_offset_ == input_.size()) {
    const ssize_t n = fill();
    if (n <= 0) return n;
  }
  return hand_out(input_, input_offset_, ptr, size);
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (size == 0) return 0;
  return in_head_ ? read_head(ptr, size) : read_body(ptr, size);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (output_.size() + size <= k_output_bytes) {
    if (output_.capacity() < k_output_bytes) output_.reserve(k_output_bytes);
    output_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  return send_after_output(ptr, size);
}

bool ConnectionStream::flush() const { return send_after_output(nullptr, 0) >= 0; }

// What waits, then as much of ptr as the socket takes, in one system call per
// try. Returns the bytes of ptr sent (0 is no failure: the caller writes the
// rest), or -1 when the connection failed; what waited is dropped then, so
// that closing the connection does not wait for it again.
ssize_t ConnectionStream::send_after_output(const char* ptr, size_t size) const {
  for (;;) {
    if (output_.empty() && size == 0) return 0;
    std::array<iovec, 2> parts{iovec{output_.data(), output_.size()}, iovec{const_cast<char*>(ptr), size}};
    msghdr message{};
    message.msg_iov = output_.empty() ? &parts[1] : parts.data();
    message.msg_iovlen = output_.empty() || size == 0 ? 1 : 2;
    const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      const auto sent = static_cast<std::size_t>(n);
      if (sent < output_.size()) {
        output_.erase(0, sent);
        continue;
      }
      const std::size_t of_this = sent - output_.size();
      output_.clear();
      return static_cast<ssize_t>(of_this);
    }
    if (errno == EINTR) continue;
    if (!would_block(errno) || !is_writable()) {
      output_.clear();
      return -1;
    }
  }
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = peer_ip_;
  port = peer_port_;
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = local_ip_;
  port = local_port_;
}

ConnectionStream* current_connection() { return t_current; }

CurrentConnection::CurrentConnection(ConnectionStream& connection) : previous_(t_current) {
  t_current = &connection;
}

CurrentConnection::~CurrentConnection() { t_current = previous_; }

}  // namespace sharelink
