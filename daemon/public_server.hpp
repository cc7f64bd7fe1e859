// shared-linkd's HTTP server: routes, public headers, error answers, worker pool and lifecycle.
#pragma once

#include <memory>
#include <string>

#include "daemon/server_state.hpp"

namespace sharelink {

// Serves the routes of SPEC 9 on one listening socket. bind() then serve()
// on one thread; stop() from any other thread (signal handling) makes serve()
// return once in-flight requests have finished.
class PublicServer {
 public:
  explicit PublicServer(ServerState& state);
  ~PublicServer();
  PublicServer(const PublicServer&) = delete;
  PublicServer& operator=(const PublicServer&) = delete;

  // Binds server.listen (port 0: any free port), exclusively: a second
  // daemon on the same address fails here. Returns the bound port; throws
  // Error "cannot listen on HOST:PORT: address in use ..." and the like.
  int bind();
  // After bind(): true when the socket is bound to a loopback address only.
  bool loopback_only() const;
  // Accepts and serves until stop(). Returns false if the server failed.
  bool serve();
  // Stops accepting; requests arriving on open connections answer 503.
  // Safe at any time, also before or while serve() starts.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sharelink
