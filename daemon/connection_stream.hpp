// One accepted connection as cpp-httplib reads and writes it: request heads through RequestHeadScanner.
#pragma once

#include <httplib.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/request_head.hpp"

namespace sharelink {

// The stream cpp-httplib parses requests from and writes answers to, one per
// accepted connection (ConnectionLoop runs the keep-alive loop itself, so the
// library's own per-request stream is never used):
// - every request head passes through a RequestHeadScanner first: its limits
//   bound what one request can make the daemon hold, and its facts (a body
//   announced, a malformed field line, the Range value) reach the handlers
//   through current_connection();
// - a head with neither Content-Length nor Transfer-Encoding reaches the
//   library with Content-Length: 0 (RFC 9112: its body is empty), so a POST
//   without one is answered at once, not after waiting for a body;
// - one read buffer lives as long as the connection, so every byte after a
//   request's head is read as the next request (the library's own stream
//   drops whatever it read past the end of a request);
// - the peer address is read when the connection is accepted, so an answer
//   to a request the library cannot parse still knows its client (and the
//   local address then too: the library asks for both with every request).
// - reads and writes try the socket first and wait (poll, up to the read or
//   write timeout) only when it would block;
// - small writes wait in an output buffer and leave together, at flush() or
//   with the next write that would overfill it: the library writes an
//   answer's head and its body apart, and one send(2) for both halves the
//   segments, the wake-ups of the client and the system calls per answer
//   (tests/bench/README.md). Before it waits for input the stream flushes.
// Not thread-safe: the worker thread serving the connection owns it.
class ConnectionStream final : public httplib::Stream {
 public:
  // Takes ownership of an accepted socket; finish() closes it.
  ConnectionStream(int fd, std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout);
  ~ConnectionStream() override;
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;

  // Bytes of a next request are already read (the client pipelines).
  bool has_buffered_input() const { return input_offset_ < input_.size(); }
  // Starts reading the next request's head.
  void begin_request();
  // Between requests (nothing buffered): gives back what a large request
  // head made the buffers grow to, so an idle connection holds a few KiB.
  void release_idle_memory();
  // Bytes the connection's text buffers hold (their capacity; the receive and output buffers aside).
  std::size_t held_bytes() const { return input_.capacity() + head_out_.capacity() + scanner_.held_bytes(); }
  // What the scanner learnt of the current request's head so far.
  const RequestHead& head() const { return scanner_.head(); }

  // The socket peer, as cpp-httplib writes it into Request::remote_addr
  // (numeric; "" if the socket had none).
  const std::string& peer_ip() const { return peer_ip_; }

  // The answer being written is the last one: it carries Connection: close,
  // and nothing the client sent after it is read as a request.
  void close_after_answer() { closing_ = true; }
  bool closing() const { return closing_; }

  // Sends what the output buffer holds (waiting up to the write timeout while
  // the socket would block). False if the connection failed; what was
  // buffered is dropped then. Const because is_readable(), which httplib
  // declares const, flushes too: the bytes are already the client's.
  bool flush() const;
  // Bytes written and not yet sent.
  std::size_t pending_output() const { return output_.size(); }

  // Flushes, then closes the socket. After close_after_answer(), lingering: the write side
  // is shut first and what the client still sends is discarded for a short,
  // bounded time, so that the client reads the answer before the connection
  // goes (closing a socket with unread input resets it at once).
  void finish();

  // httplib::Stream
  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  // Reads more from the socket into input_; the recv result (0: closed, -1: error or timeout).
  ssize_t fill();
  ssize_t read_head(char* ptr, size_t size);
  ssize_t read_body(char* ptr, size_t size);
  void say_the_body_is_empty();
  ssize_t hand_out(std::string& from, std::size_t& offset, char* ptr, size_t size);
  ssize_t send_after_output(const char* ptr, size_t size) const;

  int fd_;
  std::chrono::milliseconds read_timeout_;
  std::chrono::milliseconds write_timeout_;
  std::string peer_ip_;
  int peer_port_ = -1;
  std::string local_ip_;  // the socket's own address
  int local_port_ = -1;
  bool closing_ = false;
  bool finished_ = false;

  RequestHeadScanner scanner_;
  bool in_head_ = false;
  std::string input_;  // read from the socket, not yet scanned or handed out
  std::unique_ptr<char[]> recv_buffer_;  // what one recv(2) reads into (allocated on the first read)
  std::size_t input_offset_ = 0;
  std::string head_out_;  // scanned head bytes the library has not read yet
  std::size_t head_out_offset_ = 0;
  mutable std::string output_;  // written, not yet sent (at most k_output_bytes, see write())
};

// The connection the calling worker thread is serving, or nullptr outside one.
ConnectionStream* current_connection();

// Makes connection the calling thread's current_connection() for its lifetime.
class CurrentConnection {
 public:
  explicit CurrentConnection(ConnectionStream& connection);
  ~CurrentConnection();
  CurrentConnection(const CurrentConnection&) = delete;
  CurrentConnection& operator=(const CurrentConnection&) = delete;

 private:
  ConnectionStream* previous_;
};

}  // namespace sharelink
