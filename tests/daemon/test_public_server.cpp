// PublicServer's lifecycle: stop() must stop the server whenever it comes,
// also before serve() or while serve() is starting (a SIGTERM right after
// start-up is handled by another thread at an arbitrary point).
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "tests/common/temp_dir.hpp"
#include "common/audit_writer.hpp"
#include "common/installation.hpp"
#include "common/store.hpp"
#include "daemon/public_server.hpp"
#include "daemon/server_state.hpp"

namespace sharelink {
namespace {

using namespace std::chrono_literals;

struct ServerFixture {
  testing::TempDir dir{"sharelink-server-test"};
  Config config = [this] {
    Config c;
    c.server.listen = "127.0.0.1:0";
    c.server.threads = 2;
    c.database.path = dir / "shared-link.db";
    c.database.audit_path = dir / "shared-link-audit.db";
    c.playback.key_file = dir / "signing.keys";
    c.playback.media_root = dir / "media";
    return c;
  }();
  std::unique_ptr<StorageBackend> storage = [this] {
    auto s = open_storage(config.database);
    initialize_installation(config, *s, system_clock_now());
    return s;
  }();
  AuditWriter audit{storage->open_audit(AuditUse::writer)};
  ServerState state{config, *storage, audit};
  PublicServer server{state};
};

// True if serve() (on its own thread) returned true within the deadline.
// Otherwise the lost stop() is repeated, now that the server runs, so that a
// failing test ends instead of hanging.
bool serve_returns(PublicServer& server, std::future<bool>& served) {
  if (served.wait_for(10s) == std::future_status::ready) return served.get();
  server.stop();
  served.wait();
  return false;
}

TEST_CASE("PublicServer: stop() before serve() makes serve() return at once", "[public_server]") {
  ServerFixture f;
  REQUIRE(f.server.bind() > 0);
  f.server.stop();
  auto served = std::async(std::launch::async, [&] { return f.server.serve(); });
  CHECK(serve_returns(f.server, served));
}

TEST_CASE("PublicServer: stop() racing serve()'s start always stops it", "[public_server]") {
  // Each round calls stop() at a different point of serve()'s start-up.
  for (int round = 0; round < 50; ++round) {
    ServerFixture f;
    REQUIRE(f.server.bind() > 0);
    auto served = std::async(std::launch::async, [&] { return f.server.serve(); });
    std::this_thread::sleep_for(std::chrono::microseconds(round * 20));
    f.server.stop();
    INFO("round " << round);
    REQUIRE(serve_returns(f.server, served));
  }
}

}  // namespace
}  // namespace sharelink
