// The TOML configuration shared by shared-linkd and sharectl (SPEC 10): fields, defaults, loading.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sharelink {

struct ServerConfig {
  // Address the daemon listens on, "HOST:PORT" ("[v6addr]:PORT" for IPv6).
  // Default "127.0.0.1:8787".
  std::string listen = "127.0.0.1:8787";
  // Base of the URLs handed to clients (share URLs, playback URLs), without a
  // trailing slash. Empty (the default) means "http://" + the listen address
  // in force; see Config::public_base_url().
  std::string public_base_url;
  // HTTP worker threads: each keep-alive connection holds one. 1..4096, default 16.
  int threads = 16;
};

struct DatabaseConfig {
  // The catalogue and share links. Default "shared-link.db".
  std::filesystem::path path = "shared-link.db";
  // The audit log, in its own file. Default "shared-link-audit.db".
  std::filesystem::path audit_path = "shared-link-audit.db";
};

struct SharesConfig {
  // Upper bound of --expires-in-days; larger values are clamped. 1..36500, default 90.
  int max_expires_in_days = 90;
  // A request whose User-Agent contains one of these (case-insensitive) is a
  // link-preview fetcher: same view, null playback URLs, no view counted.
  std::vector<std::string> preview_user_agents = {
      "Slackbot",    "Discordbot",  "facebookexternalhit", "Twitterbot",
      "WhatsApp",    "TelegramBot", "LinkedInBot",         "SkypeUriPreview"};
};

enum class PlaybackMode { builtin, x_accel, s3 };

struct S3Config {
  // S3-compatible endpoint, scheme included, path-style addressing. Default "http://127.0.0.1:9000".
  std::string endpoint = "http://127.0.0.1:9000";
  std::string bucket = "music";        // default "music"
  std::string region = "us-east-1";    // default "us-east-1"
  std::string access_key_id;           // required in s3 mode
  // File holding the secret access key (never put the secret in this config).
  // Required in s3 mode.
  std::filesystem::path secret_access_key_file;
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
  // nginx internal location for x_accel mode; starts with "/". Default "/protected-media".
  std::string x_accel_prefix = "/protected-media";
  S3Config s3;
};

struct RateLimitConfig {
  // Resolve route: bucket refill per minute (1..1000000, default 60) and capacity (1..1000000, default 30).
  int requests_per_minute = 60;
  int burst = 30;
  // Media route: its own buckets. Defaults 1200 per minute, capacity 200.
  int media_requests_per_minute = 1200;
  int media_burst = 200;
  // SHARE_NOT_FOUND answers per minute (also the miss bucket's capacity). Default 10.
  int misses_per_minute = 10;
  // IPv6 clients are keyed by this prefix. 1..128, default 64.
  int ipv6_prefix_length = 64;
  // CIDRs of reverse proxies whose X-Forwarded-For is believed. Default empty.
  std::vector<std::string> trusted_proxies;
  // Upper bound on client buckets kept in memory. 1..100000000, default 100000.
  int max_clients = 100000;
};

struct AuditConfig {
  // Records older than this are deleted. 1..36500, default 90.
  int retention_days = 90;
  // After this many days client_ip is truncated (IPv4 /24, IPv6 /48). 1..36500, default 30.
  int ip_retention_days = 30;
};

struct Config {
  ServerConfig server;
  DatabaseConfig database;
  SharesConfig shares;
  PlaybackConfig playback;
  RateLimitConfig rate_limit;
  AuditConfig audit;

  // The file this was read from; empty for built-in defaults.
  std::filesystem::path source;

  // server.public_base_url, or "http://" + server.listen when that is empty.
  std::string public_base_url() const;
};

// Parses TOML text. Relative paths are resolved against base_dir. Every
// problem (syntax, unknown key with a suggestion, wrong type, out-of-range
// value) is collected and thrown together as ConfigError, each formatted
// "name:line:column: ...". Thread-safe (no shared state).
Config parse_config(std::string_view text, const std::string& name,
                    const std::filesystem::path& base_dir);

// Reads and parses a file (see parse_config). Throws ConfigError, or Error if
// the file cannot be read.
Config load_config_file(const std::filesystem::path& file);

// The SPEC 10 search order: explicit (from --config), else $SHARED_LINKD_CONFIG,
// else /etc/shared-linkd/shared-linkd.toml if it exists, else built-in
// defaults (relative paths then resolved against the working directory).
Config load_config(const std::optional<std::filesystem::path>& explicit_file);

const char* to_string(PlaybackMode mode);

}  // namespace sharelink
