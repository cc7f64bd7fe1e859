#include "daemon/public_server.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <regex>
#include <string_view>
#include <thread>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/logfmt.hpp"
#include "daemon/audit_gate.hpp"
#include "daemon/connection_loop.hpp"
#include "daemon/connection_stream.hpp"
#include "daemon/http_common.hpp"
#include "daemon/listen_socket.hpp"
#include "daemon/routes.hpp"

namespace sharelink {
namespace {

constexpr int k_listen_backlog = 4096;
constexpr const char* k_resolve_pattern = R"(/v1/music/shared/([^/]*))";
constexpr const char* k_media_pattern = R"(/v1/music/media/([^/]*))";
constexpr const char* k_page_pattern = R"(/s/([^/]*))";
constexpr const char* k_embed_pattern = R"(/s/([^/]*)/embed)";
constexpr const char* k_oembed_path = "/oembed";
constexpr std::string_view k_resolve_prefix = "/v1/music/shared/";
constexpr std::string_view k_media_prefix = "/v1/music/media/";
constexpr std::string_view k_page_prefix = "/s/";

// The {parameter} of prefix + "([^/]*)" matched as std::regex_match matches
// the whole path: the prefix, then anything without a '/' (empty included).
std::optional<std::string_view> path_parameter(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix) || path.find('/', prefix.size()) != std::string_view::npos) return std::nullopt;
  return path.substr(prefix.size());
}

// The parameter httplib's router captured for a pattern route.
std::string_view captured(const httplib::Request& req) {
  return req.matches.size() > 1 ? std::string_view(req.matches[1].first, req.matches[1].second) : std::string_view();
}

// httplib::Server on our listening socket (exclusive, with a real backlog:
// the library binds with SO_REUSEPORT and a backlog of 5), whose connections
// a ConnectionLoop serves. cpp-httplib 0.11's accept loop hands each accepted
// socket to its task queue as a job that calls the virtual
// process_and_close_socket; our queue runs that job at once, on the accept
// thread, and it only adopts the socket into the loop (which waits for room
// when max_connections are open: further clients wait in the kernel's
// listen backlog). The loop then runs the library's keep-alive rules over our
// stream: at most keep_alive_max_count requests, each awaited for
// keep_alive_timeout, none after the server stops, the last one answered
// with Connection: close; it also ends the connection after an answer that
// asked for it (ConnectionStream::close_after_answer). The worker thread that
// serves a request runs all of its handlers, so current_connection() is the
// connection of the request being handled.
class TunedServer : public httplib::Server {
 public:
  // threads: requests handled at once; running: how many of them run at once
  // (ConnectionLoop::Limits); threads * 64 connections open at most.
  TunedServer(std::size_t threads, std::size_t running) : threads_(threads), running_(running) {
    new_task_queue = [this] { return new LoopQueue(*this); };
  }
  ~TunedServer() override {
    if (!listened_ && svr_sock_ != INVALID_SOCKET) ::close(svr_sock_);
  }
  void adopt_listening_socket(int fd) { svr_sock_ = fd; }
  // listen_after_bind(); from then on the library owns (and closes) the socket.
  bool serve() {
    listened_ = true;
    return listen_after_bind();
  }

 private:
  // The task queue of one listen_after_bind(): the connection loop.
  class LoopQueue : public httplib::TaskQueue {
   public:
    explicit LoopQueue(TunedServer& server)
        : server_(server), loop_(server.loop_limits(), [&server](ConnectionStream& connection, bool last) {
            return server.serve_request(connection, last);
          }) {
      server_.loop_ = &loop_;
    }
    ~LoopQueue() override { server_.loop_ = nullptr; }
    void enqueue(std::function<void()> job) override { job(); }  // process_and_close_socket: adopts
    void shutdown() override { loop_.shutdown(); }

   private:
    TunedServer& server_;
    ConnectionLoop loop_;
  };

  ConnectionLoop::Limits loop_limits() const {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    ConnectionLoop::Limits limits;
    limits.threads = threads_;
    limits.running = running_;
    limits.max_connections = threads_ * 64;
    limits.max_requests = keep_alive_max_count_;
    limits.idle_timeout = duration_cast<milliseconds>(seconds(keep_alive_timeout_sec_));
    limits.read_timeout = duration_cast<milliseconds>(seconds(read_timeout_sec_) + microseconds(read_timeout_usec_));
    limits.write_timeout = duration_cast<milliseconds>(seconds(write_timeout_sec_) + microseconds(write_timeout_usec_));
    return limits;
  }

  bool process_and_close_socket(socket_t sock) override {
    loop_->adopt(sock);
    return true;
  }

  // One request; whether the connection may carry another.
  bool serve_request(ConnectionStream& connection, bool last) {
    bool client_closes = false;
    const bool ok = process_request(connection, last, client_closes, nullptr);
    return ok && !client_closes && !connection.closing() && svr_sock_ != INVALID_SOCKET;
  }

  const std::size_t threads_;
  const std::size_t running_;
  ConnectionLoop* loop_ = nullptr;  // while listen_after_bind() runs
  bool listened_ = false;
};

// True when the request announces a body: this server never reads one.
bool announces_body(const httplib::Request& req, const ConnectionStream* connection) {
  if (connection != nullptr) return connection->head().has_body;
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

// SPEC 4's code for a status httplib produced by itself (no route, bad request line...).
PublicError error_for_status(int status) {
  switch (status) {
    case 404: return PublicError::not_found;
    case 405: return PublicError::method_not_allowed;
    case 503: return PublicError::service_unavailable;
    default: return status >= 500 ? PublicError::internal_error : PublicError::bad_request;
  }
}

// The routes this configuration serves: the share page's only when page.enabled,
// embedding's only with page.embed_origins.
std::string known_routes(const PageConfig& page) {
  std::string routes = std::string(k_resolve_pattern) + "|" + k_media_pattern + "|/healthz|/readyz|/metrics";
  if (page.enabled) {
    routes += std::string("|") + k_page_pattern + "|" + std::string(k_page_refresh_path);
    if (!page.embed_origins.empty()) routes += std::string("|") + k_embed_pattern + "|" + k_oembed_path;
  }
  return routes;
}

// What answers outside a handler need to know about a public route.
struct PublicRoute {
  std::optional<AuditEvent> event;  // audit event; none: not a public route
  MetricRoute metric = MetricRoute::other;
  bool media_limits = false;      // the media bucket (else the resolve bucket)
  bool media_outcomes = false;    // the media route's outcome vocabulary (no bad_request)
  bool html = false;              // errors as the share page's HTML error page
};

// The path that names a request's route: httplib's, or for a request it
// could not parse (no path), the target as the client sent it, up to its query.
std::string route_path(const httplib::Request& req) {
  if (!req.path.empty()) return req.path;
  const ConnectionStream* connection = current_connection();
  if (connection == nullptr) return {};
  const std::string& target = connection->head().target;
  return target.substr(0, target.find('?'));
}

// How many worker threads run at once (ConnectionLoop::Limits::running). With
// SQLite a request waits for nothing but the CPU (a socket, the audit queue or
// a write lock that makes it wait passes its turn on), so two per core this
// process may use: as many as the reader pool's connections, and some slack
// for a wait no one marks (a page fault, a cold read of an audio file). One
// and two per core gave the same tail in the benchmark (tests/bench/README.md).
// With PostgreSQL every request waits for the server's answers: all run.
std::size_t running_threads(const Config& config) {
  if (config.database.backend == DatabaseBackend::postgresql) return 0;
  constexpr std::size_t k_running_per_core = 2;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const std::size_t cores = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0
                                ? static_cast<std::size_t>(CPU_COUNT(&cpus))
                                : std::thread::hardware_concurrency();
  return k_running_per_core * std::max<std::size_t>(1, cores);
}

}  // namespace

struct PublicServer::Impl {
  ServerState& state;
  TunedServer server{static_cast<std::size_t>(state.config().server.threads),
                     running_threads(state.config())};
  std::atomic<bool> stopping{false};
  std::atomic<bool> serving{false};  // serve() has been called
  std::atomic<bool> served{false};   // serve() is returning
  bool loopback = false;             // bound to a loopback address (set by bind())
  const std::regex resolve_route_{k_resolve_pattern};
  const std::regex media_route_{k_media_pattern};
  const std::regex page_route_{std::string(k_page_pattern) + "|" + k_embed_pattern};
  const std::regex known_routes_{known_routes(state.config().page)};

  bool is_known_route(const std::string& path) const { return std::regex_match(path, known_routes_); }

  PublicRoute public_route(const std::string& path) const {
    if (std::regex_match(path, resolve_route_)) return {AuditEvent::resolve, MetricRoute::resolve, false, false, false};
    if (std::regex_match(path, media_route_)) return {AuditEvent::media, MetricRoute::media, true, true, false};
    if (!is_known_route(path)) return {};
    if (std::regex_match(path, page_route_)) return {AuditEvent::page, MetricRoute::page, false, false, true};
    if (path == k_oembed_path) return {AuditEvent::page, MetricRoute::oembed, false, false, false};
    if (path == k_page_refresh_path) return {AuditEvent::media, MetricRoute::page_refresh, true, true, false};
    return {};
  }

  explicit Impl(ServerState& s) : state(s) { configure(); }

  void configure() {
    server.set_tcp_nodelay(true);
    server.set_keep_alive_max_count(1000);
    server.set_keep_alive_timeout(5);
    server.set_read_timeout(5);
    server.set_write_timeout(5);
    server.set_payload_max_length(64 * 1024);
    // Headers that every answer carries, errors included (SPEC 4).
    server.set_default_headers({
        {"Cache-Control", "no-store"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Content-Type-Options", "nosniff"},
        {"Access-Control-Allow-Origin", "*"},
    });

    // Before any route (so every route, also one added later, gets them):
    // requests during shutdown, request framing, and a wrong method on a
    // known route.
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      // httplib 0.11 applies the Range ranges it parsed to every answer (JSON
      // bodies and errors included) without checking them against the length.
      // It never sees a Range field (ConnectionStream withholds it for the
      // media route, which parses it itself); clearing keeps that true should
      // one ever slip through. The Request is the server's own non-const
      // object; handlers only see it as const.
      const_cast<httplib::Request&>(req).ranges.clear();
      ConnectionStream* connection = current_connection();
      if (stopping.load()) {
        if (connection != nullptr) connection->close_after_answer();
        answer_outside_route(req, res, PublicError::service_unavailable);
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      // Framing (SPEC 4; RFC 9112 section 11.2, request smuggling): this
      // server reads no bodies, and httplib would take an unread body for the
      // next request. A request that announces one, or whose field lines a
      // proxy in front may read differently, is the last one on its
      // connection: nothing the client sent after it is read as a request. On
      // GET, HEAD and OPTIONS (any path) it is refused; other methods get
      // their usual answer (405, 404) and the connection closes after it.
      const bool malformed = connection != nullptr && connection->head().malformed;
      if (malformed || announces_body(req, connection)) {
        if (connection != nullptr) connection->close_after_answer();
        if (malformed || req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") {
          answer_outside_route(req, res, PublicError::bad_request);
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS" && is_known_route(req.path)) {
        answer_outside_route(req, res, PublicError::method_not_allowed);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.method == "GET" || req.method == "HEAD") return route_visitor(req, res);
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // The last answer of a connection says so (httplib writes Keep-Alive
    // unless the request itself asked to close).
    server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      const ConnectionStream* connection = current_connection();
      if (connection == nullptr || !connection->closing()) return;
      res.headers.erase("Keep-Alive");
      res.headers.erase("Connection");
      res.set_header("Connection", "close");
    });

    // route_visitor answers these three for GET and HEAD before httplib's
    // router sees them; the patterns stay its reference and its fallback.
    server.Get(k_resolve_pattern, [this](const httplib::Request& req, httplib::Response& res) {
      handle_resolve(state, req, res, captured(req));
    });
    server.Get(k_media_pattern, [this](const httplib::Request& req, httplib::Response& res) {
      handle_media(state, req, res, captured(req));
    });
    const PageConfig& page = state.config().page;
    if (page.enabled) {
      server.Get(k_page_pattern, [this](const httplib::Request& req, httplib::Response& res) {
        handle_page(state, req, res, captured(req), false);
      });
      server.Get(std::string(k_page_refresh_path), [this](const httplib::Request& req, httplib::Response& res) {
        handle_page_refresh(state, req, res);
      });
      if (!page.embed_origins.empty()) {
        server.Get(k_embed_pattern, [this](const httplib::Request& req, httplib::Response& res) {
          handle_page(state, req, res, captured(req), true);
        });
        server.Get(k_oembed_path, [this](const httplib::Request& req, httplib::Response& res) {
          handle_oembed(state, req, res);
        });
      }
    }
    server.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      const auto started = std::chrono::steady_clock::now();
      set_request_headers(res, new_request_id(), true);
      res.set_content(R"({"status":"ok"})", k_json_content_type);
      observe(MetricRoute::health, MetricOutcome::ok, started);
    });
    server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      const auto started = std::chrono::steady_clock::now();
      const std::string request_id = new_request_id();
      if (state.audit().failing()) {
        // Requests cannot be audited for long: the queue fills, then they
        // answer 503. (The writer logs the failure, rate-limited.)
        send_error(res, PublicError::service_unavailable, request_id);
        observe(MetricRoute::ready, k_unaudited_outcome, started);
        return;
      }
      try {
        auto reader = state.readers().acquire();
        try {
          reader->ping();
        } catch (...) {
          reader.discard();  // the next request reopens the connection
          throw;
        }
        set_request_headers(res, request_id, true);
        res.set_content(R"({"status":"ready"})", k_json_content_type);
        observe(MetricRoute::ready, MetricOutcome::ok, started);
      } catch (const std::exception& e) {
        log_event(LogLevel::warn, "not ready", {{"request_id", request_id}, {"error", e.what()}});
        send_error(res, failure_error(e), request_id);
        observe(MetricRoute::ready, MetricOutcome::unavailable_db, started);
      }
    });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const auto started = std::chrono::steady_clock::now();
      set_request_headers(res, new_request_id(), true);
      res.set_content(state.metrics().render(SHARELINK_VERSION), "text/plain; version=0.0.4; charset=utf-8");
      observe(MetricRoute::metrics, MetricOutcome::ok, started);
    });
    auto preflight = [this](const httplib::Request& req, httplib::Response& res) {
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Range, Content-Type");
      res.set_header("Access-Control-Max-Age", "86400");
      res.set_header("Allow", "GET, HEAD, OPTIONS");
      const auto [request_id, audited] = account_public(req, res, MetricOutcome::ok);
      if (!audited) return send_unaudited(state, req, res, request_id, public_route(route_path(req)).html);
      set_request_headers(res, request_id, true);
    };
    server.Options(k_resolve_pattern, preflight);
    server.Options(k_media_pattern, preflight);
    // The operational routes answer OPTIONS too, as the Allow of their 405
    // says (no rate-limit fields: they are not limited, and leave no audit record).
    server.Options("/healthz|/readyz|/metrics", preflight);
    if (page.enabled) {
      server.Options(k_page_pattern, preflight);
      server.Options(std::string(k_page_refresh_path), preflight);
      if (!page.embed_origins.empty()) {
        server.Options(k_embed_pattern, preflight);
        server.Options(k_oembed_path, preflight);
      }
    }

    // Every status >= 400 passes here, including those our handlers set: keep
    // a body already written, give every other one SPEC 4's JSON. An empty
    // body means httplib answered by itself: no route (404), or a request it
    // could not parse, after which the connection's framing is unknown, so
    // it closes.
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          if (ConnectionStream* connection = current_connection(); connection != nullptr && res.status != 404) {
            connection->close_after_answer();
          }
          answer_outside_route(req, res, error_for_status(res.status));
          return httplib::Server::HandlerResponse::Handled;
        }));
    // Never let exception text reach a client (httplib would put it in a header).
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                    const std::exception_ptr& ep) {
      const std::string request_id = new_request_id();
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      log_event(LogLevel::error, "unhandled exception", {{"request_id", request_id}, {"error", what}});
      send_error(res, PublicError::internal_error, request_id);
    });
  }

  // The routes of a visitor's GET or HEAD, matched without std::regex:
  // httplib's router tries each pattern with std::regex_match, which costs
  // about 0.6 us and touches 23 KB of stack per request (a thread's stack
  // pages stay resident: tests/bench/README.md). Same routes, same order as
  // the patterns registered in configure(); anything else goes on to them.
  httplib::Server::HandlerResponse route_visitor(const httplib::Request& req, httplib::Response& res) {
    if (const auto token = path_parameter(req.path, k_resolve_prefix)) {
      handle_resolve(state, req, res, *token);
    } else if (const auto track = path_parameter(req.path, k_media_prefix)) {
      handle_media(state, req, res, *track);
    } else if (const auto page_token = path_parameter(req.path, k_page_prefix); page_token && state.config().page.enabled) {
      handle_page(state, req, res, *page_token, false);
    } else {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    return httplib::Server::HandlerResponse::Handled;
  }

  // Answers given outside the route handlers (preflight, wrong method,
  // shutting down, a request httplib could not parse) on the public routes
  // still carry the rate-limit fields (read without taking a token) and leave
  // one audit record, like every other request to those routes. Returns the
  // request id for the answer (the caller sets it) and whether the answer
  // may leave as it is: false when its record could not be kept (no room
  // before audit.queue_wait_ms, or with audit.synchronous not committed in
  // time), and the answer must be send_unaudited's 503.
  std::pair<std::string, bool> account_public(const httplib::Request& req, httplib::Response& res,
                                              MetricOutcome outcome) {
    const PublicRoute route = public_route(route_path(req));
    if (!route.event) return {new_request_id(), true};
    const RequestContext ctx(req, state);
    RateLimiter& limiter = route.media_limits ? state.media_limiter() : state.resolve_limiter();
    set_rate_limit_headers(res, limiter, limiter.peek(ctx.client_key, ServerState::monotonic_seconds()));
    AuditGate gate(state);
    if (!gate.admitted()) {
      state.metrics().observe(route.metric, k_unaudited_outcome, ctx.elapsed_seconds());
      return {ctx.request_id, false};
    }
    // The media route's outcomes have no bad_request: anything but ok is an error there.
    const MetricOutcome final_outcome =
        (route.media_outcomes && outcome != MetricOutcome::ok) ? MetricOutcome::error : outcome;
    AuditRecord record = ctx.audit_record(req, *route.event);
    record.outcome = to_string(final_outcome);
    record.status = res.status;
    const bool committed = gate.commit(std::move(record));
    state.metrics().observe(route.metric, committed ? final_outcome : k_unaudited_outcome, ctx.elapsed_seconds());
    return {ctx.request_id, committed};
  }

  // An error answer outside the route handlers (see account_public): JSON,
  // or the HTML error page on the share page's routes.
  void answer_outside_route(const httplib::Request& req, httplib::Response& res, PublicError error) {
    res.status = http_status(error);
    const bool server_side = http_status(error) >= 500;
    const auto [request_id, audited] = account_public(req, res, server_side ? MetricOutcome::error : MetricOutcome::bad_request);
    const bool html = public_route(route_path(req)).html;
    if (!audited) return send_unaudited(state, req, res, request_id, html);
    if (html) {
      send_page_error(state, req, res, error, request_id);
    } else {
      send_error(res, error, request_id);
    }
  }

  void observe(MetricRoute route, MetricOutcome outcome, std::chrono::steady_clock::time_point started) {
    state.metrics().observe(route, outcome,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
};

PublicServer::PublicServer(ServerState& state) : impl_(std::make_unique<Impl>(state)) {}

PublicServer::~PublicServer() = default;

int PublicServer::bind() {
  const std::string& listen = impl_->state.config().server.listen;
  const auto address = parse_listen_address(listen);
  if (!address) throw Error("server.listen: expected HOST:PORT, got \"" + listen + "\"");
  const ListeningSocket socket = open_listening_socket(address->host, address->port, k_listen_backlog);
  impl_->server.adopt_listening_socket(socket.fd);
  impl_->loopback = socket.loopback;
  return socket.port;
}

bool PublicServer::loopback_only() const { return impl_->loopback; }

// httplib's stop() does nothing until listen_after_bind() has marked the
// server running, so a signal that arrives just after "listening" was logged
// could be lost and leave the accept loop running for good. serve() and
// stop() each publish their flag, then read the other's: at least one of them
// sees the other, so either serve() returns at once or stop() waits for the
// loop to be running before stopping it.
bool PublicServer::serve() {
  impl_->serving.store(true);
  bool ok = true;
  if (!impl_->stopping.load()) ok = impl_->server.serve();
  impl_->served.store(true);
  return ok;
}

void PublicServer::stop() {
  impl_->stopping.store(true);
  while (impl_->serving.load() && !impl_->served.load() && !impl_->server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->server.stop();
}

}  // namespace sharelink
