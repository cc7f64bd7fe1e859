// The daemon's listening socket: exclusive to this process, with a real backlog.
#pragma once

#include <string>

namespace sharelink {

struct ListeningSocket {
  int fd = -1;
  int port = 0;           // the port bound (the one chosen when 0 was asked for)
  bool loopback = false;  // bound to a loopback address only (127.0.0.0/8, ::1)
};

// Binds host:port and listens with the given backlog. SO_REUSEADDR is set, so
// a restart need not wait for connections in TIME_WAIT; SO_REUSEPORT is not,
// so a second daemon on the same address fails here instead of sharing the
// traffic. An IPv6 socket accepts IPv4 too ("::" is every address). Throws
// Error "cannot listen on HOST:PORT: REASON" (the reason first the plain
// words "address in use", "not an address of this machine" or "permission
// denied" where they apply). Thread-safe.
ListeningSocket open_listening_socket(const std::string& host, int port, int backlog);

}  // namespace sharelink
