#include "daemon/listen_socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/client_address.hpp"
#include "common/error.hpp"

namespace sharelink {
namespace {

std::string reason(int error) {
  switch (error) {
    case EADDRINUSE:
      return "address in use (another shared-linkd, or another program, listens there)";
    case EADDRNOTAVAIL:
      return "not an address of this machine";
    case EACCES:
      return "permission denied (ports below 1024 need privileges: put nginx in front)";
    default:
      return std::strerror(error);
  }
}

std::string host_port(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// The address a socket is bound to, parsed; nullopt if it has none we know.
std::optional<IpAddress> bound_address(int fd, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return std::nullopt;
  std::array<char, NI_MAXHOST> text{};
  std::array<char, NI_MAXSERV> service{};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, text.data(),
                    static_cast<socklen_t>(text.size()), service.data(),
                    static_cast<socklen_t>(service.size()), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return std::nullopt;
  }
  const std::string_view digits(service.data());  // NI_NUMERICSERV: the port in decimal
  std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return parse_ip(text.data());
}

}  // namespace

ListeningSocket open_listening_socket(const std::string& host, int port, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found)) {
    throw Error("cannot listen on " + host_port(host, port) + ": " + ::gai_strerror(rc));
  }
  int first_error = 0;
  ListeningSocket bound;
  for (const addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    const int fd =
        ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
    if (fd < 0) {
      if (first_error == 0) first_error = errno;
      continue;
    }
    const int yes = 1;
    const int no = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    if (candidate->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
    if (::bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 && ::listen(fd, backlog) == 0) {
      bound.fd = fd;
      break;
    }
    if (first_error == 0) first_error = errno;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (bound.fd < 0) throw Error("cannot listen on " + host_port(host, port) + ": " + reason(first_error));
  const auto address = bound_address(bound.fd, bound.port);
  bound.loopback = address && is_loopback(*address);
  return bound;
}

}  // namespace sharelink
