// Unit tests of the configuration: defaults, validation messages, path resolution, file lookup.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/common/temp_dir.hpp"
#include "common/config.hpp"
#include "common/error.hpp"

namespace fs = std::filesystem;
using namespace sharelink;

namespace {

using sharelink::testing::TempDir;

// The problems parse_config reports for text (named "x.toml"); empty if it is valid.
std::vector<std::string> problems_of(std::string_view text) {
  try {
    parse_config(text, "x.toml", "/base");
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

// Sets (or unsets, for nullopt) an environment variable, restoring it at scope exit.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The defaults with their relative paths anchored at base.
Config defaults_at(const fs::path& base) {
  Config config;
  config.database.path = base / "shared-link.db";
  config.database.audit_path = base / "shared-link-audit.db";
  config.playback.key_file = base / "signing.keys";
  config.playback.media_root = base / "media";
  return config;
}

fs::path reference_config_file() {
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "etc" / "shared-linkd.toml";
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("Config: built-in defaults follow SPEC 10", "[config]") {
  const Config config;
  CHECK(config.server.listen == "127.0.0.1:8787");
  CHECK(config.server.public_base_url.empty());
  CHECK(config.server.threads == 16);
  CHECK(config.database.path == "shared-link.db");
  CHECK(config.database.audit_path == "shared-link-audit.db");
  CHECK(config.database.backend == DatabaseBackend::sqlite);
  CHECK(config.database.url.empty());
  CHECK(config.database.password_file.empty());
  CHECK(config.shares.max_expires_in_days == 90);
  CHECK(config.shares.preview_user_agents ==
        std::vector<std::string>{"Slackbot", "Discordbot", "facebookexternalhit", "Twitterbot", "WhatsApp",
                                 "TelegramBot", "LinkedInBot", "SkypeUriPreview"});
  CHECK(config.playback.mode == PlaybackMode::builtin);
  CHECK(config.playback.ttl_seconds == 300);
  CHECK(config.playback.key_file == "signing.keys");
  CHECK(config.playback.media_root == "media");
  CHECK(config.playback.x_accel_prefix == "/protected-media");
  CHECK(config.playback.s3.endpoint == "http://127.0.0.1:9000");
  CHECK(config.playback.s3.bucket == "music");
  CHECK(config.playback.s3.region == "us-east-1");
  CHECK(config.playback.s3.access_key_id.empty());
  CHECK(config.playback.s3.secret_access_key_file.empty());
  CHECK(config.rate_limit.requests_per_minute == 60);
  CHECK(config.rate_limit.burst == 30);
  CHECK(config.rate_limit.media_requests_per_minute == 1200);
  CHECK(config.rate_limit.media_burst == 200);
  CHECK(config.rate_limit.misses_per_minute == 10);
  CHECK(config.rate_limit.ipv6_prefix_length == 64);
  CHECK(config.rate_limit.trusted_proxies.empty());
  CHECK(config.rate_limit.max_clients == 100000);
  CHECK(config.audit.retention_days == 90);
  CHECK(config.audit.ip_retention_days == 30);
  CHECK_FALSE(config.audit.synchronous);
  CHECK(config.audit.queue_wait_ms == 2000);
  CHECK(config.audit.shutdown_grace_seconds == 20);
  CHECK(config.source.empty());
  CHECK(config.public_base_url() == "http://127.0.0.1:8787");
}

TEST_CASE("Config: an empty file gives the defaults, paths anchored at base_dir", "[config]") {
  CHECK(parse_config("", "x.toml", "/srv/sl") == defaults_at("/srv/sl"));
  CHECK(parse_config("# only a comment\n[server]\n[playback.s3]\n", "x.toml", "/srv/sl") ==
        defaults_at("/srv/sl"));
}

TEST_CASE("Config: the reference etc/shared-linkd.toml holds every key at its default", "[config]") {
  const fs::path file = reference_config_file();
  REQUIRE(fs::exists(file));
  const std::string text = read_text(file);
  CHECK(parse_config(text, file.string(), "/srv/sl") == defaults_at("/srv/sl"));

  // Every key the parser knows, in its table's section.
  for (const std::string& key : known_config_keys()) {
    const auto dot = key.rfind('.');
    const std::string table = key.substr(0, dot);
    const std::string name = key.substr(dot + 1);
    const auto start = text.find("\n[" + table + "]\n");
    REQUIRE(start != std::string::npos);
    const auto end = text.find("\n[", start + 1);
    const std::string section =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    INFO("[" << table << "] " << name);
    CHECK(section.find("\n" + name + " = ") != std::string::npos);
  }
}

TEST_CASE("Config: known_config_keys lists every key the parser reads, once, in file order", "[config]") {
  const std::vector<std::string> keys = known_config_keys();
  REQUIRE(keys.size() == 37);
  CHECK(keys.front() == "server.listen");
  CHECK(keys.back() == "page.embed_origins");
  CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());
  CHECK(std::find(keys.begin(), keys.end(), "playback.s3.secret_access_key_file") != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "playback.s3") == keys.end());  // tables are not keys

  // Each listed key is one the parser reads: a value of the wrong type is reported under the
  // key's own name, never as an unknown key.
  for (const std::string& key : keys) {
    const auto dot = key.rfind('.');
    const std::string text = "[" + key.substr(0, dot) + "]\n" + key.substr(dot + 1) + " = {}\n";
    INFO(text);
    const auto problems = problems_of(text);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].starts_with("x.toml:2:"));
    CHECK(problems[0].find(": " + key + ": expected ") != std::string::npos);
  }
  // And a key it does not list is unknown.
  CHECK(problems_of("[server]\nlisten_adress = \"x\"\n")[0].find("unknown key") != std::string::npos);
}

TEST_CASE("Config: a full valid file round-trips every key", "[config]") {
  const std::string text = R"(
[server]
listen = "[::1]:9999"
public_base_url = "https://music.example.org/base/"
threads = 4

[database]
path = "/var/lib/sl/catalog.db"
audit_path = "audit/log.db"
backend = "postgresql"
url = "postgresql://shared_link@db.example.org:5432/shared_link?sslmode=verify-full"
password_file = "secrets/db.password"

[shares]
max_expires_in_days = 30
preview_user_agents = ["Botty", "Other Bot/1.0"]

[playback]
mode = "s3"
ttl_seconds = 60
key_file = "keys/signing.keys"
media_root = "/srv/media"
x_accel_prefix = "/internal/"

[playback.s3]
endpoint = "https://s3.example.org/"
bucket = "my.bucket-1"
region = "eu-west-3"
access_key_id = "AKIDEXAMPLE"
secret_access_key_file = "s3.secret"

[rate_limit]
requests_per_minute = 120
burst = 10
media_requests_per_minute = 600
media_burst = 50
misses_per_minute = 5
ipv6_prefix_length = 56
trusted_proxies = ["10.0.0.0/8", "::1"]
max_clients = 5000

[audit]
retention_days = 365
ip_retention_days = 7
synchronous = true
queue_wait_ms = 250
shutdown_grace_seconds = 5

[page]
enabled = false
site_name = "Studio Nord"
session_hours = 48
embed_origins = ["https://blog.example.org", "HTTP://Localhost:8080", "https://shop.example.org:443"]
)";
  const Config config = parse_config(text, "x.toml", "/etc/sl");

  Config expected;
  expected.server = {"[::1]:9999", "https://music.example.org/base", 4};
  expected.database = {"/var/lib/sl/catalog.db", "/etc/sl/audit/log.db", DatabaseBackend::postgresql,
                       "postgresql://shared_link@db.example.org:5432/shared_link?sslmode=verify-full",
                       "/etc/sl/secrets/db.password"};
  expected.shares = {30, {"Botty", "Other Bot/1.0"}};
  expected.playback.mode = PlaybackMode::s3;
  expected.playback.ttl_seconds = 60;
  expected.playback.key_file = "/etc/sl/keys/signing.keys";
  expected.playback.media_root = "/srv/media";
  expected.playback.x_accel_prefix = "/internal";
  expected.playback.s3 = {"https://s3.example.org", "my.bucket-1", "eu-west-3", "AKIDEXAMPLE",
                          "/etc/sl/s3.secret"};
  expected.rate_limit = {120, 10, 600, 50, 5, 56, {"10.0.0.0/8", "::1"}, 5000};
  expected.audit = {365, 7, true, 250, 5};
  expected.page = {false, "Studio Nord", 48,
                   {"https://blog.example.org", "http://localhost:8080", "https://shop.example.org"}};

  CHECK(config.server == expected.server);
  CHECK(config.database == expected.database);
  CHECK(config.shares == expected.shares);
  CHECK(config.playback.s3 == expected.playback.s3);
  CHECK(config.playback == expected.playback);
  CHECK(config.rate_limit == expected.rate_limit);
  CHECK(config.audit == expected.audit);
  CHECK(config.page == expected.page);
  CHECK(config == expected);
  CHECK(config.public_base_url() == "https://music.example.org/base");
}

TEST_CASE("Config: each playback mode is accepted", "[config]") {
  const auto [text, mode] = GENERATE(table<const char*, PlaybackMode>({
      {"[playback]\nmode = \"builtin\"\n", PlaybackMode::builtin},
      {"[playback]\nmode = \"x_accel\"\n", PlaybackMode::x_accel},
      {"[playback]\nmode = \"s3\"\n[playback.s3]\naccess_key_id = \"AK\"\nsecret_access_key_file = \"/s\"\n",
       PlaybackMode::s3},
  }));
  INFO(text);
  CHECK(parse_config(text, "x.toml", "/base").playback.mode == mode);
}

TEST_CASE("Config: valid edge values are accepted", "[config]") {
  const char* text =
      GENERATE("[server]\nthreads = 1\n", "[server]\nthreads = 4096\n",
               "[server]\nlisten = \"127.0.0.1:0\"\n", "[server]\nlisten = \"0.0.0.0:65535\"\n",
               "[server]\nlisten = \"localhost:8787\"\n", "[server]\nlisten = \"[2001:db8::1]:443\"\n",
               "[server]\npublic_base_url = \"\"\n", "[server]\npublic_base_url = \"http://h\"\n",
               "[shares]\npreview_user_agents = []\n", "[rate_limit]\nipv6_prefix_length = 128\n",
               "[rate_limit]\nburst = 1000000\n", "[rate_limit]\nmax_clients = 100000000\n",
               "[rate_limit]\ntrusted_proxies = [\"192.168.1.1\"]\n", "[playback]\nttl_seconds = 86400\n",
               "[playback]\nx_accel_prefix = \"/\"\n", "[audit]\nretention_days = 36500\n",
               "server = { listen = \"127.0.0.1:1\" }\n", "[playback.s3]\nbucket = \"abc\"\n",
               "[page]\nsession_hours = 1\n", "[page]\nsession_hours = 168\n", "[page]\nenabled = true\n",
               "[page]\nembed_origins = []\n", "[page]\nembed_origins = [\"http://[::1]:8080\", \"https://10.0.0.1\"]\n",
               "[page]\nsite_name = \"Studio \u00e9t\u00e9 \u266b\"\n",
               "[database]\nbackend = \"sqlite\"\nurl = \"\"\npassword_file = \"\"\n",
               "[database]\nurl = \"postgresql://u@h/db\"\n",  // unused with sqlite, but still checked
               "[database]\nbackend = \"postgresql\"\nurl = \"postgres://h/db\"\n",
               "[database]\nbackend = \"postgresql\"\nurl = \"postgresql:///db?host=/run/postgresql\"\n",
               "[database]\nbackend = \"postgresql\"\nurl = \"postgresql://u:@h/db\"\n",  // empty password: none
               "[database]\nbackend = \"postgresql\"\n"
               "url = \"postgresql://a:5432,b:5432/db?target_session_attrs=read-write&application_name=d1\"\n");
  INFO(text);
  CHECK(problems_of(text).empty());
}

TEST_CASE("Config: each bad input names file:line:column, the key and what is allowed", "[config]") {
  const auto [text, expected] = GENERATE(table<const char*, const char*>({
      // Unknown keys, with a suggestion, in every table.
      {"[server]\n  listen_adress = \"x\"\n",
       R"(x.toml:2:3: unknown key "listen_adress" in [server] (did you mean "listen"?))"},
      {"[server]\nListen = \"x\"\n",
       R"(x.toml:2:1: unknown key "Listen" in [server] (did you mean "listen"?))"},
      {"[database]\naudit_pth = \"a\"\n",
       R"(x.toml:2:1: unknown key "audit_pth" in [database] (did you mean "audit_path"?))"},
      {"[shares]\nmax_expire_in_days = 5\n",
       R"(x.toml:2:1: unknown key "max_expire_in_days" in [shares] (did you mean "max_expires_in_days"?))"},
      {"[playback]\nttl_second = 5\n",
       R"(x.toml:2:1: unknown key "ttl_second" in [playback] (did you mean "ttl_seconds"?))"},
      {"[playback.s3]\nbuckt = \"music\"\n",
       R"(x.toml:2:1: unknown key "buckt" in [playback.s3] (did you mean "bucket"?))"},
      {"[rate_limit]\nburts = 5\n",
       R"(x.toml:2:1: unknown key "burts" in [rate_limit] (did you mean "burst"?))"},
      {"[audit]\nretention_day = 5\n",
       R"(x.toml:2:1: unknown key "retention_day" in [audit] (did you mean "retention_days"?))"},
      {"[servr]\nlisten = \"x\"\n", R"(x.toml:1:2: unknown table [servr] (did you mean [server]?))"},
      {"[playback.s4]\n", R"(x.toml:1:11: unknown table [playback.s4] (did you mean [playback.s3]?))"},
      {"sever = 1\n", R"(x.toml:1:1: unknown key "sever" at the top level (did you mean [server]?))"},
      {"[audit]\nfoo = 1\n",
       R"(x.toml:2:1: unknown key "foo" in [audit] (known keys: retention_days, ip_retention_days, )"
       R"(synchronous, queue_wait_ms, shutdown_grace_seconds))"},
      {"[server.listn]\n", R"(x.toml:1:9: unknown table [server.listn] (did you mean "listen"?))"},
      // Wrong type of a table.
      {"server = 3\n", R"(x.toml:1:10: server: expected a table, got 3)"},
      {"[[audit]]\n", R"(x.toml:1:1: audit: expected a table, got an array)"},
      {"[playback]\ns3 = \"x\"\n", R"(x.toml:2:6: playback.s3: expected a table, got "x")"},
      // Integers: wrong types and out of range.
      {"[server]\nthreads = \"16\"\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got "16")"},
      {"[server]\nthreads = 0\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got 0)"},
      {"[server]\nthreads = 4097\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got 4097)"},
      {"[server]\nthreads = 2.5\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got 2.5)"},
      {"[server]\nthreads = true\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got true)"},
      {"[server]\nthreads = 1979-05-27\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got a date)"},
      {"[server]\nthreads = 9223372036854775807\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got 9223372036854775807)"},
      {"[shares]\nmax_expires_in_days = 36501\n",
       R"(x.toml:2:23: shares.max_expires_in_days: expected an integer from 1 to 36500, got 36501)"},
      {"[playback]\nttl_seconds = 0\n",
       R"(x.toml:2:15: playback.ttl_seconds: expected an integer from 1 to 86400, got 0)"},
      {"[rate_limit]\nrequests_per_minute = 0\n",
       R"(x.toml:2:23: rate_limit.requests_per_minute: expected an integer from 1 to 1000000, got 0)"},
      {"[rate_limit]\nburst = \"abc\"\n",
       R"(x.toml:2:9: rate_limit.burst: expected an integer from 1 to 1000000, got "abc")"},
      {"[rate_limit]\nmedia_requests_per_minute = 1000001\n",
       R"(x.toml:2:29: rate_limit.media_requests_per_minute: expected an integer from 1 to 1000000, got 1000001)"},
      {"[rate_limit]\nmedia_burst = -1\n",
       R"(x.toml:2:15: rate_limit.media_burst: expected an integer from 1 to 1000000, got -1)"},
      {"[rate_limit]\nmisses_per_minute = 0\n",
       R"(x.toml:2:21: rate_limit.misses_per_minute: expected an integer from 1 to 1000000, got 0)"},
      {"[rate_limit]\nipv6_prefix_length = 129\n",
       R"(x.toml:2:22: rate_limit.ipv6_prefix_length: expected an integer from 1 to 128, got 129)"},
      {"[rate_limit]\nmax_clients = 0\n",
       R"(x.toml:2:15: rate_limit.max_clients: expected an integer from 1 to 100000000, got 0)"},
      {"[audit]\nretention_days = 0\n",
       R"(x.toml:2:18: audit.retention_days: expected an integer from 1 to 36500, got 0)"},
      {"[audit]\nip_retention_days = [30]\n",
       R"(x.toml:2:21: audit.ip_retention_days: expected an integer from 1 to 36500, got an array)"},
      {"[audit]\nsynchronous = 1\n", R"(x.toml:2:15: audit.synchronous: expected true or false, got 1)"},
      {"[audit]\nqueue_wait_ms = -1\n",
       R"(x.toml:2:17: audit.queue_wait_ms: expected an integer from 0 to 60000, got -1)"},
      {"[audit]\nqueue_wait_ms = 60001\n",
       R"(x.toml:2:17: audit.queue_wait_ms: expected an integer from 0 to 60000, got 60001)"},
      {"[audit]\nshutdown_grace_seconds = 601\n",
       R"(x.toml:2:26: audit.shutdown_grace_seconds: expected an integer from 0 to 600, got 601)"},
      {"[audit]\nshutdown_grace_seconds = \"20\"\n",
       R"(x.toml:2:26: audit.shutdown_grace_seconds: expected an integer from 0 to 600, got "20")"},
      // [page].
      {"[page]\nenable = true\n", R"(x.toml:2:1: unknown key "enable" in [page] (did you mean "enabled"?))"},
      {"[page]\nenabled = \"yes\"\n", R"(x.toml:2:11: page.enabled: expected true or false, got "yes")"},
      {"[page]\nenabled = 1\n", R"(x.toml:2:11: page.enabled: expected true or false, got 1)"},
      {"[page]\nsession_hours = 0\n",
       R"(x.toml:2:17: page.session_hours: expected an integer from 1 to 168, got 0)"},
      {"[page]\nsession_hours = 169\n",
       R"(x.toml:2:17: page.session_hours: expected an integer from 1 to 168, got 169)"},
      {"[page]\nsite_name = \"\"\n",
       R"(x.toml:2:13: page.site_name: expected a name of 1 to 100 bytes without control characters, got "")"},
      {"[page]\nsite_name = \"a\\tb\"\n",
       R"(x.toml:2:13: page.site_name: expected a name of 1 to 100 bytes without control characters, got "a\u0009b")"},
      {"[page]\nembed_origins = \"https://a.example\"\n",
       R"(x.toml:2:17: page.embed_origins: expected an array of origins, got "https://a.example")"},
      {"[page]\nembed_origins = [\"https://blog.example.org/\"]\n",
       R"(x.toml:2:18: page.embed_origins[0]: expected an origin "http://host[:port]" or "https://host[:port]" (no path), got "https://blog.example.org/")"},
      {"[page]\nembed_origins = [\"https://a.example\", \"ftp://b.example\"]\n",
       R"(x.toml:2:39: page.embed_origins[1]: expected an origin "http://host[:port]" or "https://host[:port]" (no path), got "ftp://b.example")"},
      {"[page]\nembed_origins = [\"https://a.example/path\"]\n",
       R"(x.toml:2:18: page.embed_origins[0]: expected an origin "http://host[:port]" or "https://host[:port]" (no path), got "https://a.example/path")"},
      {"[page]\nembed_origins = [\"https://a.example:0\"]\n",
       R"(x.toml:2:18: page.embed_origins[0]: expected an origin "http://host[:port]" or "https://host[:port]" (no path), got "https://a.example:0")"},
      {"[page]\nembed_origins = [\"*\"]\n", R"(x.toml:2:18: page.embed_origins[0]: expected an origin "http://host[:port]" or "https://host[:port]" (no path), got "*")"},
      {"[page]\nembed_origins = [\"https://\"]\n",
       R"(x.toml:2:18: page.embed_origins[0]: expected an origin "http://host[:port]" or "https://host[:port]" (no path), got "https://")"},
      {"[server]\nthreads = 07:32:00\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got a time)"},
      {"[server]\nthreads = 1979-05-27T07:32:00Z\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got a date-time)"},
      {"[server]\nthreads = { n = 1 }\n",
       R"(x.toml:2:11: server.threads: expected an integer from 1 to 4096, got a table)"},
      // server.listen.
      {"[server]\nlisten = 8787\n",
       R"(x.toml:2:10: server.listen: expected "HOST:PORT" with a port from 0 to 65535 (IPv6 in brackets: "[::1]:8787"), got 8787)"},
      {"[server]\nlisten = \"127.0.0.1\"\n",
       R"(x.toml:2:10: server.listen: expected "HOST:PORT" with a port from 0 to 65535 (IPv6 in brackets: "[::1]:8787"), got "127.0.0.1")"},
      {"[server]\nlisten = \"127.0.0.1:65536\"\n",
       R"(x.toml:2:10: server.listen: expected "HOST:PORT" with a port from 0 to 65535 (IPv6 in brackets: "[::1]:8787"), got "127.0.0.1:65536")"},
      {"[server]\nlisten = \"::1:8787\"\n",
       R"(x.toml:2:10: server.listen: expected "HOST:PORT" with a port from 0 to 65535 (IPv6 in brackets: "[::1]:8787"), got "::1:8787")"},
      // server.public_base_url.
      {"[server]\npublic_base_url = \"ftp://x\"\n",
       R"(x.toml:2:19: server.public_base_url: expected "" (derive from listen) or a URL starting with "http://" or "https://" (no query or fragment), got "ftp://x")"},
      {"[server]\npublic_base_url = \"https://\"\n",
       R"(x.toml:2:19: server.public_base_url: expected "" (derive from listen) or a URL starting with "http://" or "https://" (no query or fragment), got "https://")"},
      {"[server]\npublic_base_url = \"https://x.org/?a=1\"\n",
       R"(x.toml:2:19: server.public_base_url: expected "" (derive from listen) or a URL starting with "http://" or "https://" (no query or fragment), got "https://x.org/?a=1")"},
      {"[server]\npublic_base_url = \"https://x.org/a b\"\n",
       R"(x.toml:2:19: server.public_base_url: expected "" (derive from listen) or a URL starting with "http://" or "https://" (no query or fragment), got "https://x.org/a b")"},
      // database.backend, database.url, database.password_file.
      {"[database]\npasswordfile = \"p\"\n",
       R"(x.toml:2:1: unknown key "passwordfile" in [database] (did you mean "password_file"?))"},
      {"[database]\nbackend = \"mysql\"\n",
       R"(x.toml:2:11: database.backend: expected one of "sqlite", "postgresql", got "mysql")"},
      {"[database]\nbackend = true\n",
       R"(x.toml:2:11: database.backend: expected one of "sqlite", "postgresql", got true)"},
      {"[database]\nurl = 5\n",
       R"(x.toml:2:7: database.url: expected "" or a libpq URI such as "postgresql://user@host:5432/dbname", got 5)"},
      {"[database]\nurl = \"mysql://db/x\"\n",
       R"(x.toml:2:7: database.url: "mysql://db/x" is not a libpq URI (it must start with "postgresql://" or "postgres://"))"},
      {"[database]\nurl = \"host=db dbname=x\"\n",
       R"(x.toml:2:7: database.url: "host=db dbname=x" is not a libpq URI (it must start with "postgresql://" or "postgres://"))"},
      {"[database]\nurl = \"postgresql://db/x\\u0007\"\n",
       R"(x.toml:2:7: database.url: "postgresql://db/x\u0007" contains a control character)"},
      {"[database]\nurl = \"postgresql://u:hunter2@db/x\"\n",
       R"(x.toml:2:7: database.url: "postgresql://u:***@db/x" carries a password (put the password in the file named by database.password_file))"},
      {"[database]\nurl = \"postgresql://u@db/x?password=hunter2\"\n",
       R"(x.toml:2:7: database.url: "postgresql://u@db/x?password=***" carries a password (put the password in the file named by database.password_file))"},
      {"[database]\nurl = \"postgresql://db/x?sslmode=require&sslpassword=hunter2\"\n",
       R"(x.toml:2:7: database.url: "postgresql://db/x?sslmode=require&sslpassword=***" carries a password (put the password in the file named by database.password_file))"},
      {"[database]\nurl = \"postgresql://u@db/x?foo=bar\"\n",
       R"(x.toml:2:7: database.url: "postgresql://u@db/x?foo=bar" is not a valid libpq URI: invalid URI query parameter: "foo")"},
      {"[database]\nbackend = \"postgresql\"\n",
       R"(x.toml:1:1: database.url: required when database.backend is "postgresql")"},
      {"[database]\nbackend = \"postgresql\"\nurl = \"\"\n",
       R"(x.toml:3:7: database.url: required when database.backend is "postgresql")"},
      {"[database]\npassword_file = 1\n",
       R"(x.toml:2:17: database.password_file: expected a path, or "" for none, got 1)"},
      // Paths.
      {"[database]\npath = \"\"\n", R"(x.toml:2:8: database.path: expected a non-empty path, got "")"},
      {"[database]\naudit_path = 3\n",
       R"(x.toml:2:14: database.audit_path: expected a non-empty path, got 3)"},
      {"[database]\npath = \"a\\u0001b\"\n",
       R"(x.toml:2:8: database.path: expected a non-empty path, got "a\u0001b")"},
      {"[playback]\nkey_file = true\n",
       R"(x.toml:2:12: playback.key_file: expected a non-empty path, got true)"},
      {"[playback]\nmedia_root = \"\"\n",
       R"(x.toml:2:14: playback.media_root: expected a non-empty path, got "")"},
      {"[playback.s3]\nsecret_access_key_file = 1\n",
       R"(x.toml:2:26: playback.s3.secret_access_key_file: expected a path, or "" for none, got 1)"},
      // shares.preview_user_agents.
      {"[shares]\npreview_user_agents = \"Slackbot\"\n",
       R"(x.toml:2:23: shares.preview_user_agents: expected an array of non-empty strings, got "Slackbot")"},
      {"[shares]\npreview_user_agents = [\"ok\", \"\"]\n",
       R"(x.toml:2:30: shares.preview_user_agents[1]: expected a non-empty string, got "")"},
      {"[shares]\npreview_user_agents = [1]\n",
       R"(x.toml:2:24: shares.preview_user_agents[0]: expected a non-empty string, got 1)"},
      {"[shares]\npreview_user_agents = [\"Bot\\u0007\"]\n",
       R"(x.toml:2:24: shares.preview_user_agents[0]: expected a non-empty string, got "Bot\u0007")"},
      // playback.
      {"[playback]\nmode = \"nginx\"\n",
       R"(x.toml:2:8: playback.mode: expected one of "builtin", "x_accel", "s3", got "nginx")"},
      {"[playback]\nmode = 1\n",
       R"(x.toml:2:8: playback.mode: expected one of "builtin", "x_accel", "s3", got 1)"},
      {"[playback]\nx_accel_prefix = \"protected\"\n",
       R"(x.toml:2:18: playback.x_accel_prefix: expected a path starting with "/", got "protected")"},
      {"[playback]\nx_accel_prefix = \"/a b\"\n",
       R"(x.toml:2:18: playback.x_accel_prefix: expected a path starting with "/", got "/a b")"},
      // playback.s3.
      {"[playback.s3]\nendpoint = \"minio:9000\"\n",
       R"(x.toml:2:12: playback.s3.endpoint: expected a URL starting with "http://" or "https://" (no query or fragment), got "minio:9000")"},
      {"[playback.s3]\nbucket = \"Music\"\n",
       R"(x.toml:2:10: playback.s3.bucket: expected a bucket name of 3 to 63 characters from a-z, 0-9, ".", "-", got "Music")"},
      {"[playback.s3]\nbucket = \"-ab\"\n",
       R"(x.toml:2:10: playback.s3.bucket: expected a bucket name of 3 to 63 characters from a-z, 0-9, ".", "-", got "-ab")"},
      {"[playback.s3]\nbucket = \"ab\"\n",
       R"(x.toml:2:10: playback.s3.bucket: expected a bucket name of 3 to 63 characters from a-z, 0-9, ".", "-", got "ab")"},
      {"[playback.s3]\nregion = \"EU\"\n",
       R"(x.toml:2:10: playback.s3.region: expected a region of 1 to 64 characters from a-z, 0-9, "-", got "EU")"},
      {"[playback.s3]\nregion = \"\"\n",
       R"(x.toml:2:10: playback.s3.region: expected a region of 1 to 64 characters from a-z, 0-9, "-", got "")"},
      {"[playback.s3]\naccess_key_id = \"AK ID\"\n",
       R"(x.toml:2:17: playback.s3.access_key_id: expected at most 128 printable ASCII characters without spaces, got "AK ID")"},
      // s3 mode without credentials.
      {"[playback]\nmode = \"s3\"\n[playback.s3]\naccess_key_id = \"AK\"\n",
       R"(x.toml:3:1: playback.s3.secret_access_key_file: required when playback.mode is "s3")"},
      {"[playback]\nmode = \"s3\"\n[playback.s3]\naccess_key_id = \"\"\nsecret_access_key_file = \"s\"\n",
       R"(x.toml:4:17: playback.s3.access_key_id: required when playback.mode is "s3")"},
      // rate_limit.trusted_proxies.
      {"[rate_limit]\ntrusted_proxies = \"10.0.0.0/8\"\n",
       R"(x.toml:2:19: rate_limit.trusted_proxies: expected an array of CIDRs or IP addresses, got "10.0.0.0/8")"},
      {"[rate_limit]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n",
       R"(x.toml:2:34: rate_limit.trusted_proxies[1]: expected a CIDR such as "10.0.0.0/8" or "2001:db8::/32", or an IP address, got "10.0.0.0/33")"},
      {"[rate_limit]\ntrusted_proxies = [\"nonsense\"]\n",
       R"(x.toml:2:20: rate_limit.trusted_proxies[0]: expected a CIDR such as "10.0.0.0/8" or "2001:db8::/32", or an IP address, got "nonsense")"},
  }));
  INFO(text);
  CHECK(problems_of(text) == std::vector<std::string>{expected});
}

TEST_CASE("Config: no problem with database.url ever shows its password", "[config]") {
  // Wherever libpq could find a password, in whatever spelling, the message hides it.
  const char* url = GENERATE("postgresql://u:hunter2@db/x", "postgres://:hunter2@db/x",
                             "postgresql://u:hun/ter2@db/x", "postgresql://u:hunter2?@db/x",
                             "postgresql://u:p%zzhunter2@db/x", "postgresql://u:hunter2@db/x?application_name=a@b",
                             "postgresql://u@db/x?password=hunter2", "postgresql://u@db/x?PASSWORD=hunter2",
                             "postgresql://u@db/x?%70assword=hunter2", "postgresql://u@db/x?a=1&sslpassword=hunter2",
                             "postgresql://u@db/x?password=hunter2&foo=bar");
  INFO(url);
  const auto problems = problems_of(std::string("[database]\nbackend = \"postgresql\"\nurl = \"") + url + "\"\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("hunter2") == std::string::npos);
  CHECK(problems[0].find("carries a password") != std::string::npos);
}

TEST_CASE("Config: database.password_file is resolved against base_dir, \"\" stays empty", "[config]") {
  CHECK(parse_config("[database]\npassword_file = \"db.password\"\n", "x.toml", "/etc/sl").database.password_file ==
        "/etc/sl/db.password");
  CHECK(parse_config("[database]\npassword_file = \"/run/secrets/db\"\n", "x.toml", "/etc/sl")
            .database.password_file == "/run/secrets/db");
  CHECK(parse_config("[database]\npassword_file = \"\"\n", "x.toml", "/etc/sl").database.password_file.empty());
}

TEST_CASE("Config: to_string(DatabaseBackend)", "[config]") {
  CHECK(std::string(to_string(DatabaseBackend::sqlite)) == "sqlite");
  CHECK(std::string(to_string(DatabaseBackend::postgresql)) == "postgresql");
  CHECK(parse_config("[database]\nbackend = \"postgresql\"\nurl = \"postgresql://h/db\"\n", "x.toml", "/b")
            .database.backend == DatabaseBackend::postgresql);
}

TEST_CASE("Config: a long offending value is quoted shortened, on a UTF-8 boundary", "[config]") {
  const auto [value, shown] = GENERATE(table<std::string, std::string>({
      {std::string(100, 'a'), std::string(64, 'a')},
      {std::string(63, 'a') + "\u00e9" + std::string(10, 'b'), std::string(63, 'a')},
  }));
  const auto problems = problems_of("[playback]\nmode = \"" + value + "\"\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "x.toml:2:8: playback.mode: expected one of \"builtin\", \"x_accel\", \"s3\", got \"" +
                           shown + "\"...");
}

TEST_CASE("Config: an over-long access_key_id is rejected", "[config]") {
  CHECK(problems_of("[playback.s3]\naccess_key_id = \"" + std::string(128, 'A') + "\"\n").empty());
  const auto problems = problems_of("[playback.s3]\naccess_key_id = \"" + std::string(129, 'A') + "\"\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].starts_with(
      "x.toml:2:17: playback.s3.access_key_id: expected at most 128 printable ASCII"));
}

TEST_CASE("Config: every problem is reported together, in file order", "[config]") {
  const std::string text =
      "[server]\n"
      "listen_adress = \"x\"\n"
      "threads = 0\n"
      "[playback]\n"
      "mode = \"s3\"\n"
      "[rate_limit]\n"
      "trusted_proxies = [\"bad\", \"10.0.0.1\", \"also bad\"]\n"
      "[audit]\n"
      "retention_days = \"90\"\n";
  const std::vector<std::string> expected = {
      R"(x.toml:2:1: unknown key "listen_adress" in [server] (did you mean "listen"?))",
      R"(x.toml:3:11: server.threads: expected an integer from 1 to 4096, got 0)",
      R"(x.toml:5:8: playback.s3.access_key_id: required when playback.mode is "s3")",
      R"(x.toml:5:8: playback.s3.secret_access_key_file: required when playback.mode is "s3")",
      R"(x.toml:7:20: rate_limit.trusted_proxies[0]: expected a CIDR such as "10.0.0.0/8" or "2001:db8::/32", or an IP address, got "bad")",
      R"(x.toml:7:39: rate_limit.trusted_proxies[2]: expected a CIDR such as "10.0.0.0/8" or "2001:db8::/32", or an IP address, got "also bad")",
      R"(x.toml:9:18: audit.retention_days: expected an integer from 1 to 36500, got "90")",
  };
  try {
    parse_config(text, "x.toml", "/base");
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.problems() == expected);
    std::string joined;
    for (const auto& p : expected) joined += (joined.empty() ? "" : "\n") + p;
    CHECK(std::string(e.what()) == joined);
  }
}

TEST_CASE("Config: a TOML syntax error is reported at its position", "[config]") {
  const auto [text, prefix] = GENERATE(table<const char*, const char*>({
      {"[server\n", "x.toml:1:8: "},
      {"[server]\nthreads = 1\nthreads = 2\n", "x.toml:3:"},
      {"[server]\nlisten = \"unterminated\n", "x.toml:2:"},
  }));
  INFO(text);
  const auto problems = problems_of(text);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].starts_with(prefix));
  CHECK(problems[0].size() > std::string_view(prefix).size() + 2);
}

TEST_CASE("Config: relative paths are resolved against base_dir", "[config]") {
  const std::string text =
      "[database]\npath = \"data/catalog.db\"\naudit_path = \"../audit.db\"\n"
      "[playback]\nkey_file = \"/abs/./keys\"\n"
      "[playback.s3]\nsecret_access_key_file = \"secrets/s3\"\n";
  SECTION("absolute base_dir") {
    const Config config = parse_config(text, "x.toml", "/srv/sl");
    CHECK(config.database.path == "/srv/sl/data/catalog.db");
    CHECK(config.database.audit_path == "/srv/audit.db");
    CHECK(config.playback.key_file == "/abs/keys");
    CHECK(config.playback.media_root == "/srv/sl/media");
    CHECK(config.playback.s3.secret_access_key_file == "/srv/sl/secrets/s3");
  }
  SECTION("relative base_dir is anchored at the working directory") {
    const Config config = parse_config(text, "x.toml", "conf");
    CHECK(config.database.path == fs::current_path() / "conf/data/catalog.db");
    CHECK(config.playback.media_root == fs::current_path() / "conf/media");
  }
  SECTION("an unset secret_access_key_file stays empty") {
    CHECK(parse_config("", "x.toml", "/srv/sl").playback.s3.secret_access_key_file.empty());
  }
}

TEST_CASE("Config: public_base_url drops trailing slashes and falls back to the listen address", "[config]") {
  const auto [text, expected] = GENERATE(table<const char*, const char*>({
      {"", "http://127.0.0.1:8787"},
      {"[server]\nlisten = \"[::1]:0\"\n", "http://[::1]:0"},
      {"[server]\npublic_base_url = \"https://music.example.org/\"\n", "https://music.example.org"},
      {"[server]\npublic_base_url = \"https://x.org/share//\"\n", "https://x.org/share"},
      {"[server]\nlisten = \"0.0.0.0:80\"\npublic_base_url = \"http://x.org\"\n", "http://x.org"},
  }));
  INFO(text);
  CHECK(parse_config(text, "x.toml", "/base").public_base_url() == expected);
}

TEST_CASE("Config: public_base_url follows a listen override made after loading", "[config]") {
  Config config = parse_config("", "x.toml", "/base");
  config.server.listen = "127.0.0.1:0";
  CHECK(config.public_base_url() == "http://127.0.0.1:0");
}

TEST_CASE("Config: to_string(PlaybackMode)", "[config]") {
  const auto [mode, text] = GENERATE(table<PlaybackMode, std::string>({
      {PlaybackMode::builtin, "builtin"},
      {PlaybackMode::x_accel, "x_accel"},
      {PlaybackMode::s3, "s3"},
  }));
  CHECK(to_string(mode) == text);
}

TEST_CASE("Config: parse_listen_address accepts HOST:PORT forms", "[config]") {
  const auto [text, host, port] = GENERATE(table<const char*, const char*, int>({
      {"127.0.0.1:8787", "127.0.0.1", 8787},
      {"0.0.0.0:0", "0.0.0.0", 0},
      {"localhost:65535", "localhost", 65535},
      {"my-host.example.org:443", "my-host.example.org", 443},
      {"[::1]:8787", "::1", 8787},
      {"[2001:db8::1]:00080", "2001:db8::1", 80},
  }));
  INFO(text);
  CHECK(parse_listen_address(text) == ListenAddress{host, port});
}

TEST_CASE("Config: parse_listen_address rejects malformed addresses", "[config]") {
  const char* text =
      GENERATE("", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:123456", "127.0.0.1:-1",
               "127.0.0.1:+80", "127.0.0.1:80 ", " 127.0.0.1:80", ":8787", "::1:8787", "[::1]", "[::1]8787",
               "[::1:8787", "[]:80", "[fe80::1%eth0]:80", "[127.0.0.1]:80", "999.0.0.1:80", "1.2.3:80",
               "-host:80", "host-:80", "a..b:80", "exa_mple:80", "host.:80", "host:8o");
  INFO(text);
  CHECK_FALSE(parse_listen_address(text).has_value());
}

TEST_CASE("Config: find_config_file follows --config, then the environment, then the system file",
          "[config]") {
  TempDir dir;
  const fs::path system_file = dir.write("system.toml", "");
  const fs::path no_system_file = dir.path() / "absent.toml";
  const fs::path explicit_file = "/x/explicit.toml";

  CHECK(find_config_file(explicit_file, "/x/env.toml", system_file) == explicit_file);
  CHECK(find_config_file(std::nullopt, "/x/env.toml", system_file) == fs::path("/x/env.toml"));
  CHECK(find_config_file(std::nullopt, nullptr, system_file) == system_file);
  CHECK(find_config_file(std::nullopt, "", system_file) == system_file);
  CHECK(find_config_file(std::nullopt, nullptr, no_system_file) == std::nullopt);
  CHECK(find_config_file(std::nullopt, "", no_system_file) == std::nullopt);
}

TEST_CASE("Config: load_config prefers --config over $SHARED_LINKD_CONFIG", "[config]") {
  TempDir dir;
  const fs::path env_file = dir.write("env.toml", "[server]\nthreads = 3\n");
  const fs::path explicit_file = dir.write("explicit.toml", "[server]\nthreads = 5\n");
  EnvGuard env(k_config_env_var, env_file.string());

  const Config from_env = load_config(std::nullopt);
  CHECK(from_env.server.threads == 3);
  CHECK(from_env.source == env_file);
  CHECK(from_env.database.path == dir.path() / "shared-link.db");

  const Config from_flag = load_config(explicit_file);
  CHECK(from_flag.server.threads == 5);
  CHECK(from_flag.source == explicit_file);
}

TEST_CASE("Config: load_config without any file gives defaults anchored at the working directory",
          "[config]") {
  EnvGuard env(k_config_env_var, std::nullopt);
  if (fs::exists(k_system_config_file)) {
    WARN("skipped: " << k_system_config_file << " exists on this machine");
    return;
  }
  const Config config = load_config(std::nullopt);
  CHECK(config == defaults_at(fs::current_path()));
  CHECK(config.source.empty());
}

TEST_CASE("Config: a named file that cannot be read is an Error naming the path", "[config]") {
  TempDir dir;
  const fs::path missing = dir.path() / "missing.toml";
  std::string oversized = "# " + std::string(1 << 20, 'x') + "\n";
  const fs::path big = dir.write("big.toml", oversized);

  // A plain loop, not GENERATE: the files live in this run's directory.
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {missing, "config file " + missing.string() + " does not exist"},
      {dir.path(), "config file " + dir.path().string() + " is a directory"},
      {fs::path(), "config file path is empty"},
      {big, "config file " + big.string() + " is larger than 1048576 bytes"},
  };
  for (const auto& [file, message] : cases) {
    INFO(file);
    try {
      load_config(file);
      FAIL_CHECK("no Error");
    } catch (const ConfigError&) {
      FAIL_CHECK("a ConfigError instead of an Error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) == message);
    }
  }
}

TEST_CASE("Config: $SHARED_LINKD_CONFIG naming a missing file is an Error", "[config]") {
  TempDir dir;
  const fs::path missing = dir.path() / "missing.toml";
  EnvGuard env(k_config_env_var, missing.string());
  CHECK_THROWS_WITH(load_config(std::nullopt), "config file " + missing.string() + " does not exist");
}

TEST_CASE("Config: problems in a file are reported with its path", "[config]") {
  TempDir dir;
  const fs::path file = dir.write("bad.toml", "[server]\nlisten_adress = \"x\"\n");
  try {
    load_config_file(file);
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.problems() ==
          std::vector<std::string>{
              file.string() + R"(:2:1: unknown key "listen_adress" in [server] (did you mean "listen"?))"});
  }
}
