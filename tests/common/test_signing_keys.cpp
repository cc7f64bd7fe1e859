// Unit tests of common/signing_keys.hpp: key file parsing, permission checks, atomic writes, key generation.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/common/temp_dir.hpp"
#include "common/crypto.hpp"
#include "common/text.hpp"
#include "common/error.hpp"
#include "common/signing_keys.hpp"

namespace sharelink {
namespace {

using sharelink::testing::TempDir;

namespace fs = std::filesystem;

// 32 bytes 0x00..0x1f and their base64url text.
const std::string k_secret_a = [] {
  std::string s;
  for (int i = 0; i < 32; ++i) s += static_cast<char>(i);
  return s;
}();
constexpr const char* k_secret_a_text = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const std::string k_secret_b(40, '\x5a');

void write_file(const fs::path& file, const std::string& content, mode_t mode = 0600) {
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ::chmod(file.c_str(), mode);
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

mode_t file_mode(const fs::path& file) {
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::size_t entries_in(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// The message of the Error that load() throws for this file, or "" if it loads.
std::string load_error(const fs::path& file) {
  try {
    SigningKeys::load(file);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

}  // namespace

TEST_CASE("SigningKeys: key id syntax", "[signing_keys]") {
  struct Case {
    std::string kid;
    bool valid;
  };
  const auto c = GENERATE(values<Case>({
      {"k1", true},
      {"k20261124a", true},
      {"A-z_0-9", true},
      {std::string(32, 'k'), true},
      {std::string(33, 'k'), false},
      {"", false},
      {"k.1", false},
      {"k 1", false},
      {"k/1", false},
      {"k\xc3\xa9", false},
  }));
  CAPTURE(c.kid);
  CHECK(is_signing_key_id(c.kid) == c.valid);
}

TEST_CASE("SigningKeys: load reads keys in order, the first signs", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, "# playback keys\n\n  k2 " + base64url_encode(k_secret_b) + "  \r\n\tk1\t" + k_secret_a_text +
                       "\n# trailing comment\n");
  const auto keys = SigningKeys::load(file);
  REQUIRE(keys.keys().size() == 2);
  CHECK(keys.current().kid == "k2");
  CHECK(keys.current().secret == k_secret_b);
  REQUIRE(keys.find("k1") != nullptr);
  CHECK(keys.find("k1")->secret == k_secret_a);
  CHECK(keys.find("k2") == &keys.current());
  CHECK(keys.find("k3") == nullptr);
  CHECK(keys.find("") == nullptr);
  CHECK_FALSE(keys.current().created_at.has_value());
}

TEST_CASE("SigningKeys: secret may carry base64 '=' padding and be longer than 32 bytes", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  const std::string long_secret(100, '\x01');
  std::string padded = base64url_encode(k_secret_a) + "=";  // 43 characters + one '='
  write_file(file, "k1 " + padded + "\nk2 " + base64url_encode(long_secret) + "\n");
  const auto keys = SigningKeys::load(file);
  CHECK(keys.find("k1")->secret == k_secret_a);
  CHECK(keys.find("k2")->secret == long_secret);
}

TEST_CASE("SigningKeys: created comments fill created_at", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file,
             "# created k2 2026-11-24T10:00:00Z\n"
             "k2 " + base64url_encode(k_secret_b) + "\n"
             "k1 " + std::string(k_secret_a_text) + "\n"
             "# created k1 2026-01-02T03:04:05Z\n"    // after its key: still applies
             "# created k9 2026-01-01T00:00:00Z\n"    // no such key: ignored
             "# created k2 yesterday\n"               // does not parse: ignored
             "#created k2 2030-01-01T00:00:00Z extra\n");  // not the form: ignored
  const auto keys = SigningKeys::load(file);
  REQUIRE(keys.keys().size() == 2);
  CHECK(keys.find("k2")->created_at == at("2026-11-24T10:00:00Z"));
  CHECK(keys.find("k1")->created_at == at("2026-01-02T03:04:05Z"));
}

TEST_CASE("SigningKeys: missing file names the file and says to run sharectl init", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  const std::string message = load_error(file);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("does not exist"));
  CHECK_THAT(message, Catch::Contains("run \"sharectl init\""));
}

TEST_CASE("SigningKeys: refuses a key file open to group or others", "[signing_keys]") {
  struct Case {
    mode_t mode;
    const char* shown;
    const char* what;
  };
  const auto c = GENERATE(values<Case>({
      {0644, "0644", "readable"},
      {0640, "0640", "readable"},
      {0604, "0604", "readable"},
      {0660, "0660", "readable"},
      {0620, "0620", "writable"},
      {0602, "0602", "writable"},
      {0610, "0610", "accessible"},
      {0666, "0666", "readable"},
  }));
  CAPTURE(c.shown);
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, std::string("k1 ") + k_secret_a_text + "\n", c.mode);
  const std::string message = load_error(file);
  CHECK(message == "signing key file " + file.string() + " is " + c.what + " by group or others (mode " + c.shown +
                       "); run \"chmod 600 " + file.string() + "\"");
}

TEST_CASE("SigningKeys: owner-only modes load", "[signing_keys]") {
  const mode_t mode = GENERATE(mode_t{0600}, mode_t{0400}, mode_t{0700});
  CAPTURE(mode);
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, std::string("k1 ") + k_secret_a_text + "\n", mode);
  CHECK(load_error(file).empty());
}

TEST_CASE("SigningKeys: refuses something that is not a regular file", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  fs::create_directory(file);
  ::chmod(file.c_str(), 0700);
  CHECK_THAT(load_error(file), Catch::Contains("is not a regular file"));
}

TEST_CASE("SigningKeys: refuses a file larger than 1 MiB", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, std::string("k1 ") + k_secret_a_text + "\n" + std::string(1024 * 1024, '#'));
  CHECK_THAT(load_error(file), Catch::Contains("larger than 1 MiB"));
}

TEST_CASE("SigningKeys: malformed files name the file and line", "[signing_keys]") {
  const std::string a = k_secret_a_text;
  const std::string short_secret = base64url_encode(std::string(31, 'x'));
  struct Case {
    const char* name;
    std::string content;
    std::string expected;  // after "FILE"
  };
  const auto c = GENERATE_COPY(values<Case>({
      {"kid only", "k1\n", ":1: expected \"kid base64url-secret\", found 1 fields"},
      {"three fields", "# keys\nk1 " + a + " extra\n", ":2: expected \"kid base64url-secret\", found 3 fields"},
      {"bad kid", "k.1 " + a + "\n", ":1: invalid key id \"k.1\" (allowed: [A-Za-z0-9_-]{1,32})"},
      {"long kid", std::string(33, 'k') + " " + a + "\n", ":1: invalid key id longer than 32 characters"},
      {"control in kid", "k\x01 " + a + "\n", ":1: invalid key id \"k?\""},
      {"bad base64", "\n\nk1 " + a + "*\n", ":3: the secret of key \"k1\" is not valid base64url"},
      {"standard base64", "k1 ab+/" + a.substr(4) + "\n", ":1: the secret of key \"k1\" is not valid base64url"},
      {"short secret", "k1 " + short_secret + "\n", ":1: the secret of key \"k1\" is 31 bytes; at least 32"},
      {"duplicate kid", "k1 " + a + "\nk2 " + a + "\nk1 " + a + "\n", ":3: duplicate key id \"k1\" (first on line 1)"},
      {"empty file", "", " contains no key (delete it and run \"sharectl init\")"},
      {"comments only", "# created k1 2026-11-24T10:00:00Z\n\n", " contains no key"},
  }));
  CAPTURE(c.name);
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, c.content);
  const std::string message = load_error(file);
  CHECK_THAT(message, Catch::Contains(file.string() + c.expected));
  // Secret material never appears in a message.
  CHECK_THAT(message, !Catch::Contains(a.substr(0, 16)));
  CHECK_THAT(message, !Catch::Contains(short_secret.substr(0, 16)));
}

TEST_CASE("SigningKeys: constructor validates the set", "[signing_keys]") {
  struct Case {
    const char* name;
    std::vector<SigningKey> keys;
    const char* expected;
  };
  const auto c = GENERATE_COPY(values<Case>({
      {"empty", {}, "signing keys: no signing key"},
      {"bad kid", {{"k 1", k_secret_a, {}}}, "signing keys: invalid key id \"k 1\""},
      {"short secret", {{"k1", std::string(31, 'x'), {}}}, "signing keys: key \"k1\" has a 31-byte secret"},
      {"duplicate", {{"k1", k_secret_a, {}}, {"k1", k_secret_b, {}}}, "signing keys: duplicate key id \"k1\""},
  }));
  CAPTURE(c.name);
  CHECK_THROWS_WITH(SigningKeys(c.keys), Catch::StartsWith(c.expected));
}

TEST_CASE("SigningKeys: write then load round trip keeps order, secrets and created_at", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  const std::vector<SigningKey> keys{
      {"k20261124a", k_secret_b, at("2026-11-24T10:00:00Z")},
      {"k1", k_secret_a, std::nullopt},
  };
  write_key_file(file, keys);
  CHECK(file_mode(file) == 0600);
  CHECK(entries_in(dir.path()) == 1);  // no temp file left behind

  const auto loaded = SigningKeys::load(file);
  REQUIRE(loaded.keys().size() == 2);
  CHECK(loaded.keys()[0].kid == "k20261124a");
  CHECK(loaded.keys()[0].secret == k_secret_b);
  CHECK(loaded.keys()[0].created_at == at("2026-11-24T10:00:00Z"));
  CHECK(loaded.keys()[1].kid == "k1");
  CHECK(loaded.keys()[1].secret == k_secret_a);
  CHECK_FALSE(loaded.keys()[1].created_at.has_value());

  const std::string text = read_file(file);
  CHECK_THAT(text, Catch::Contains("# created k20261124a 2026-11-24T10:00:00Z\nk20261124a " +
                                   base64url_encode(k_secret_b) + "\n"));
  CHECK_THAT(text, Catch::Contains(std::string("\nk1 ") + k_secret_a_text + "\n"));
}

TEST_CASE("SigningKeys: write replaces an existing file and makes it private", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, "old content\n", 0644);
  write_key_file(file, {{"k2", k_secret_b, {}}});
  CHECK(file_mode(file) == 0600);
  CHECK(entries_in(dir.path()) == 1);
  const auto loaded = SigningKeys::load(file);
  REQUIRE(loaded.keys().size() == 1);
  CHECK(loaded.current().kid == "k2");
}

TEST_CASE("SigningKeys: a rewrite by root keeps the key file's owner", "[signing_keys]") {
  if (::geteuid() != 0) {
    WARN("skipped: only root can give a file to another user");
    return;
  }
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, "k1 " + std::string(k_secret_a_text) + "\n", 0600);
  constexpr uid_t k_service_uid = 65534;
  constexpr gid_t k_service_gid = 65534;
  REQUIRE(::chown(file.c_str(), k_service_uid, k_service_gid) == 0);
  write_key_file(file, {{"k2", k_secret_b, {}}, {"k1", SigningKeys::load(file).current().secret, {}}});
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK(st.st_uid == k_service_uid);
  CHECK(st.st_gid == k_service_gid);
  CHECK(file_mode(file) == 0600);
}

TEST_CASE("SigningKeys: write refuses an unusable set and leaves the old file", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_key_file(file, {{"k1", k_secret_a, {}}});
  const std::string before = read_file(file);
  const std::vector<SigningKey> bad = GENERATE_COPY(values<std::vector<SigningKey>>({
      {},
      {{"k1", k_secret_a, {}}, {"k1", k_secret_b, {}}},
      {{"k1", "short", {}}},
      {{"bad kid", k_secret_a, {}}},
  }));
  CHECK_THROWS_WITH(write_key_file(file, bad), Catch::StartsWith("refusing to write signing key file " + file.string()));
  CHECK(read_file(file) == before);
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("SigningKeys: write into a missing directory fails naming the file", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "missing" / "signing.keys";
  CHECK_THROWS_WITH(write_key_file(file, {{"k1", k_secret_a, {}}}), Catch::Contains(file.string()));
}

TEST_CASE("SigningKeys: generated keys are 32 random bytes with a dated kid", "[signing_keys]") {
  const TimePoint now = at("2026-11-24T10:00:00Z") + std::chrono::milliseconds(750);
  const auto key = generate_signing_key({}, now);
  CHECK(key.kid == "k20261124a");
  CHECK(key.secret.size() == 32);
  CHECK(key.created_at == at("2026-11-24T10:00:00Z"));
  CHECK(generate_signing_key({}, now).secret != key.secret);
  CHECK(generate_signing_key({}, at("2027-01-05T23:59:59Z")).kid == "k20270105a");
}

TEST_CASE("SigningKeys: generated kid is unique among existing keys", "[signing_keys]") {
  const TimePoint now = at("2026-11-24T10:00:00Z");
  std::vector<SigningKey> existing{{"k20261124a", k_secret_a, {}}, {"k1", k_secret_a, {}}};
  CHECK(generate_signing_key(existing, now).kid == "k20261124b");

  existing.clear();
  for (char c = 'a'; c <= 'z'; ++c) existing.push_back({std::string("k20261124") + c, k_secret_a, {}});
  CHECK(generate_signing_key(existing, now).kid == "k20261124aa");
  existing.push_back({"k20261124aa", k_secret_a, {}});
  CHECK(generate_signing_key(existing, now).kid == "k20261124ab");

  for (char c1 = 'a'; c1 <= 'z'; ++c1) {
    for (char c2 = 'a'; c2 <= 'z'; ++c2) existing.push_back({std::string("k20261124") + c1 + c2, k_secret_a, {}});
  }
  CHECK_THROWS_WITH(generate_signing_key(existing, now), Catch::Contains("every signing key id of day 20261124"));
}

TEST_CASE("SigningKeys: create_key_file_if_missing creates once, never replaces", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "etc" / "keys" / "signing.keys";  // parents created too
  const TimePoint now = at("2026-11-24T10:00:00Z");
  CHECK(create_key_file_if_missing(file, now));
  CHECK(file_mode(file) == 0600);
  CHECK(entries_in(file.parent_path()) == 1);
  const auto keys = SigningKeys::load(file);
  REQUIRE(keys.keys().size() == 1);
  CHECK(keys.current().kid == "k20261124a");
  CHECK(keys.current().secret.size() == 32);
  CHECK(keys.current().created_at == now);

  const std::string before = read_file(file);
  CHECK_FALSE(create_key_file_if_missing(file, now + std::chrono::hours(24)));
  CHECK(read_file(file) == before);
  CHECK(entries_in(file.parent_path()) == 1);
}

TEST_CASE("SigningKeys: create_key_file_if_missing leaves any existing path alone", "[signing_keys]") {
  TempDir dir;
  const auto file = dir.path() / "signing.keys";
  write_file(file, "not a key file\n", 0644);
  CHECK_FALSE(create_key_file_if_missing(file, at("2026-11-24T10:00:00Z")));
  CHECK(read_file(file) == "not a key file\n");

  const auto dangling = dir.path() / "dangling.keys";
  fs::create_symlink(dir.path() / "nowhere", dangling);
  CHECK_FALSE(create_key_file_if_missing(dangling, at("2026-11-24T10:00:00Z")));
  CHECK_FALSE(fs::exists(dir.path() / "nowhere"));
}

}  // namespace sharelink
