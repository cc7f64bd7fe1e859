// Benchmark baseline: a minimal cpp-httplib server answering one fixed body, tuned like daemon/public_server.cpp.
//
// Usage: baseline_server --port N --threads N --body FILE [--content-type TYPE] [--status CODE]
// Port 0 picks a free port. Prints "listening PORT" on stdout once bound, then
// serves every GET path with the file's bytes until SIGTERM or SIGINT. It
// measures the framework's ceiling: no routing work, no database, no audit.
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

namespace {

// Same values as daemon/public_server.cpp.
constexpr int k_listen_backlog = 4096;
constexpr std::size_t k_keep_alive_max_count = 1000;
constexpr time_t k_timeout_seconds = 5;

// httplib::Server with a real listen backlog (the library uses 5).
class TunedServer : public httplib::Server {
 public:
  bool widen_backlog() { return ::listen(svr_sock_, k_listen_backlog) == 0; }
};

struct Options {
  int port = 0;
  int threads = 16;
  std::string body_file;
  std::string content_type = "application/json; charset=utf-8";
  int status = 200;
};

[[noreturn]] void usage(std::string_view problem) {
  std::cerr << "baseline_server: error: " << problem
            << "\nusage: baseline_server --port N --threads N --body FILE [--content-type TYPE] [--status CODE]\n";
  std::exit(2);
}

int parse_int(std::string_view flag, const char* text, int min, int max) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < min || value > max) {
    usage(std::string(flag) + ": expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
          ", got \"" + text + "\"");
  }
  return static_cast<int>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage(std::string(flag) + " needs a value");
    const char* value = argv[++i];
    if (flag == "--port") {
      options.port = parse_int(flag, value, 0, 65535);
    } else if (flag == "--threads") {
      options.threads = parse_int(flag, value, 1, 4096);
    } else if (flag == "--body") {
      options.body_file = value;
    } else if (flag == "--content-type") {
      options.content_type = value;
    } else if (flag == "--status") {
      options.status = parse_int(flag, value, 200, 599);
    } else {
      usage("unknown option " + std::string(flag));
    }
  }
  if (options.body_file.empty()) usage("--body FILE is required");
  return options;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  const std::string body = read_file(options.body_file);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  TunedServer server;
  const auto threads = static_cast<std::size_t>(options.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(k_keep_alive_max_count);
  server.set_keep_alive_timeout(k_timeout_seconds);
  server.set_read_timeout(k_timeout_seconds);
  server.set_write_timeout(k_timeout_seconds);
  server.set_payload_max_length(64 * 1024);
  server.Get(R"(/.*)", [&](const httplib::Request&, httplib::Response& res) {
    res.status = options.status;
    res.set_content(body, options.content_type.c_str());
  });

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) {
    std::cerr << "baseline_server: error: cannot listen on 127.0.0.1:" << options.port << "\n";
    return 1;
  }
  if (!server.widen_backlog()) std::cerr << "baseline_server: warning: could not widen the listen backlog\n";
  std::cout << "listening " << port << std::endl;

  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    server.stop();
  });
  const bool served = server.listen_after_bind();
  if (!served) pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return served ? 0 : 1;
}
