// The TOML configuration shared by shared-linkd and sharectl (SPEC 10): fields, defaults, loading.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sharelink {

struct ServerConfig {
  // Address the daemon listens on, "HOST:PORT" ("[v6addr]:PORT" for IPv6),
  // port 0..65535 (0: any free port); see parse_listen_address. Default "127.0.0.1:8787".
  std::string listen = "127.0.0.1:8787";
  // Base of the URLs handed to clients (share URLs, playback URLs): starts
  // with "http://" or "https://", trailing "/" removed, no query or fragment.
  // Empty (the default) means "http://" + the listen address in force; see
  // Config::public_base_url().
  std::string public_base_url;
  // HTTP worker threads: requests read and answered at once (an idle keep-alive
  // connection holds none; 64 x threads connections open at most). 1..4096, default 16.
  int threads = 16;

  bool operator==(const ServerConfig&) const = default;
};

// Where the licences, catalogue, shares and audit log live (SPEC 13).
enum class DatabaseBackend { sqlite, postgresql };

struct DatabaseConfig {
  // Relative paths are taken from the config file's directory (see parse_config).
  // sqlite: the catalogue and share links. Default "shared-link.db".
  std::filesystem::path path = "shared-link.db";
  // sqlite: the audit log, in its own file. Default "shared-link-audit.db".
  std::filesystem::path audit_path = "shared-link-audit.db";
  // sqlite (two files, path and audit_path) or postgresql (one database at
  // url, path and audit_path unused). Default sqlite.
  DatabaseBackend backend = DatabaseBackend::sqlite;
  // postgresql: a libpq URI, "postgresql://" or "postgres://"
  // (postgres_url_problem in common/postgres_url.hpp says what is accepted),
  // never with a password in it. Required with backend postgresql; "" (the
  // default) otherwise.
  std::string url;
  // postgresql, optional: the file holding the password, mode 0600 (checked
  // when the database is opened: read_password_file in
  // common/pg_connection.hpp). Default "" (none).
  std::filesystem::path password_file;

  bool operator==(const DatabaseConfig&) const = default;
};

struct SharesConfig {
  // Upper bound of --expires-in-days; larger values are clamped. 1..36500, default 90.
  int max_expires_in_days = 90;
  // A request whose User-Agent contains one of these (case-insensitive) is a
  // link-preview fetcher: same view, null playback URLs, no view counted.
  // Each a non-empty string; the list may be empty. Default: the list below.
  std::vector<std::string> preview_user_agents = {"Slackbot",    "Discordbot",     "facebookexternalhit",
                                                  "Twitterbot",  "WhatsApp",       "TelegramBot",
                                                  "LinkedInBot", "SkypeUriPreview"};

  bool operator==(const SharesConfig&) const = default;
};

enum class PlaybackMode { builtin, x_accel, s3 };

struct S3Config {
  // S3-compatible endpoint, "http://" or "https://", path-style addressing,
  // trailing "/" removed. Default "http://127.0.0.1:9000".
  std::string endpoint = "http://127.0.0.1:9000";
  // S3 bucket name: 3..63 of [a-z0-9.-], starting and ending with a letter or digit. Default "music".
  std::string bucket = "music";
  // Signing region: 1..64 of [a-z0-9-]. Default "us-east-1".
  std::string region = "us-east-1";
  // Access key id, printable ASCII without spaces; required (non-empty) in s3 mode. Default "".
  std::string access_key_id;
  // File holding the secret access key (never put the secret in this config).
  // Required in s3 mode. Default "" (unset).
  std::filesystem::path secret_access_key_file;

  bool operator==(const S3Config&) const = default;
};

struct PlaybackConfig {
  // builtin: the daemon streams media; x_accel: nginx serves it after the
  // daemon's checks; s3: presigned S3 URLs. Default builtin.
  PlaybackMode mode = PlaybackMode::builtin;
  // Lifetime of a minted playback URL, capped by the share's expiry. 1..86400, default 300.
  int ttl_seconds = 300;
  // Signing keys, "kid base64url-secret" per line, mode 0600. Default "signing.keys".
  std::filesystem::path key_file = "signing.keys";
  // Directory that holds the audio files; audio paths are relative to it. Default "media".
  std::filesystem::path media_root = "media";
  // nginx internal location for x_accel mode; starts with "/", trailing "/"
  // removed. Default "/protected-media".
  std::string x_accel_prefix = "/protected-media";
  S3Config s3;

  bool operator==(const PlaybackConfig&) const = default;
};

struct RateLimitConfig {
  // Resolve route: bucket refill per minute (1..1000000, default 60) and capacity (1..1000000, default 30).
  int requests_per_minute = 60;
  int burst = 30;
  // Media route: its own buckets. 1..1000000 each; defaults 1200 per minute, capacity 200.
  int media_requests_per_minute = 1200;
  int media_burst = 200;
  // SHARE_NOT_FOUND answers per minute (also the miss bucket's capacity). 1..1000000, default 10.
  int misses_per_minute = 10;
  // IPv6 clients are keyed by this prefix. 1..128, default 64.
  int ipv6_prefix_length = 64;
  // CIDRs (or bare addresses) of reverse proxies whose X-Forwarded-For is
  // believed; each one accepted by parse_cidr (common/client_address.hpp). Default empty.
  std::vector<std::string> trusted_proxies;
  // Upper bound on client buckets kept in memory. 1..100000000, default 100000.
  int max_clients = 100000;

  bool operator==(const RateLimitConfig&) const = default;
};

struct AuditConfig {
  // Records older than this are deleted. 1..36500, default 90.
  int retention_days = 90;
  // After this many days client_ip is truncated (IPv4 /24, IPv6 /48). 1..36500, default 30.
  int ip_retention_days = 30;
  // true: an answer is sent only after its audit record is committed (group
  // commit: the writer commits each batch, then releases the requests in it).
  // false: records are written in batches off the request path. Default false.
  bool synchronous = false;
  // How long a request waits for room in a full audit queue (and, when
  // synchronous, for its record's commit) before it answers 503
  // SERVICE_UNAVAILABLE. 0..60000, default 2000.
  int queue_wait_ms = 2000;
  // At SIGTERM, how long the daemon waits for an audit database that refuses
  // writes before it writes the records left to the spill file (keep it below
  // systemd's TimeoutStopSec). 0..600, default 20.
  int shutdown_grace_seconds = 20;

  bool operator==(const AuditConfig&) const = default;
};

struct PageConfig {
  // Serve the share page (GET /s/{token}) and /oembed. false: both answer
  // 404 NOT_FOUND. Default true.
  bool enabled = true;
  // og:site_name and the page footer: 1..100 bytes, no control characters.
  // Default "shared-link".
  std::string site_name = "shared-link";
  // How long an open page keeps getting fresh playback URLs (the page
  // session), never past the link's expiry. 1..168, default 12.
  int session_hours = 12;
  // Origins allowed to frame /s/{token}/embed, each "http(s)://host[:port]"
  // (no path, no trailing "/"; scheme and host lowercased). Empty (the
  // default): no embedding, /s/{token}/embed and /oembed answer 404.
  std::vector<std::string> embed_origins;

  bool operator==(const PageConfig&) const = default;
};

struct Config {
  ServerConfig server;
  DatabaseConfig database;
  SharesConfig shares;
  PlaybackConfig playback;
  RateLimitConfig rate_limit;
  AuditConfig audit;
  PageConfig page;

  // The file this was read from; empty for built-in defaults.
  std::filesystem::path source;

  // server.public_base_url, or "http://" + server.listen when that is empty
  // (so it follows a --listen override made after loading).
  std::string public_base_url() const;

  bool operator==(const Config&) const = default;
};

// The config file used when neither --config nor $SHARED_LINKD_CONFIG names one.
inline constexpr const char* k_system_config_file = "/etc/shared-linkd/shared-linkd.toml";
// Name of the environment variable that names the config file.
inline constexpr const char* k_config_env_var = "SHARED_LINKD_CONFIG";

// Parses TOML text; name is used in messages, base_dir anchors relative paths.
// Every relative path (database.path, database.audit_path,
// database.password_file, playback.key_file, playback.media_root,
// playback.s3.secret_access_key_file), whether written in the text or left at
// its default, becomes absolute against base_dir (itself made absolute
// against the working directory); an empty password_file or
// secret_access_key_file stays empty. Every problem (syntax, unknown key with
// a suggestion, wrong type of a value or a table, out-of-range value, missing
// s3 credentials, a missing database.url or one carrying a password) is
// collected and thrown together as ConfigError, each formatted
// "name:line:column: ...". No message shows a password: a database.url is
// quoted with its password replaced by "***". Thread-safe (no shared state).
Config parse_config(std::string_view text, const std::string& name, const std::filesystem::path& base_dir);

// Every key parse_config accepts, as dotted paths in file order
// ("server.listen", ..., "playback.s3.endpoint", ...); tables are not listed
// themselves. Read from the parser's own table of fields, so it cannot drift
// from what the parser accepts (the man page test checks
// shared-linkd.toml(5) against it). Thread-safe.
std::vector<std::string> known_config_keys();

// Reads and parses a file (see parse_config); relative paths are resolved
// against the file's directory and Config::source is set to file. Throws
// ConfigError for invalid content, Error naming the path if the file does not
// exist, is not a regular file, cannot be read or is larger than 1 MiB.
Config load_config_file(const std::filesystem::path& file);

// Which file the SPEC 10 search order picks: explicit_file if given, else
// env_value if non-null and non-empty, else system_file if it exists, else
// nullopt (built-in defaults). Does not check that an explicitly named file
// exists: load_config_file reports that. Thread-safe.
std::optional<std::filesystem::path> find_config_file(
    const std::optional<std::filesystem::path>& explicit_file, const char* env_value,
    const std::filesystem::path& system_file);

// The SPEC 10 search order: explicit (from --config), else $SHARED_LINKD_CONFIG,
// else /etc/shared-linkd/shared-linkd.toml if it exists, else built-in
// defaults (relative paths then resolved against the working directory).
// Throws as load_config_file; a named file that does not exist is an Error.
// Reads the environment: not safe against a concurrent setenv.
Config load_config(const std::optional<std::filesystem::path>& explicit_file);

// A server.listen value split for binding: host without brackets, port 0..65535
// (0: any free port).
struct ListenAddress {
  std::string host;
  int port = 0;

  bool operator==(const ListenAddress&) const = default;
};

// Parses "HOST:PORT": HOST is an IPv4 address, a DNS name, or an IPv6 address
// in brackets ("[::1]:8787"); PORT is 0..65535 in decimal. nullopt for
// anything else (empty host, bare IPv6, zone ids, signs, spaces). Use it to
// validate a --listen flag the same way the config does. Thread-safe.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// "builtin", "x_accel" or "s3": the spelling used in the config file.
const char* to_string(PlaybackMode mode);

// "sqlite" or "postgresql": the spelling used in the config file.
const char* to_string(DatabaseBackend backend);

}  // namespace sharelink
