// Reads, validates and locates the TOML configuration (SPEC 10).
#include "common/config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>
#include <utility>

#include "common/client_address.hpp"
#include "common/error.hpp"
#include "common/postgres_url.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

namespace fs = std::filesystem;

// A config file is a few kilobytes; anything past this is not a config file.
constexpr std::size_t k_max_config_bytes = 1 << 20;
// How much of an offending string value a message quotes.
constexpr std::size_t k_max_quoted_bytes = 64;

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool has_control(std::string_view s) { return std::any_of(s.begin(), s.end(), is_control); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Levenshtein distance, case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return equals_ignoring_ascii_case(text.substr(0, prefix.size()), prefix);
}

// The value as a message shows it: strings quoted, escaped and shortened.
std::string quote(std::string_view s) {
  const bool shortened = s.size() > k_max_quoted_bytes;
  s = utf8_prefix(s, k_max_quoted_bytes);
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (is_control(c)) {
      out += "\\u00";
      append_hex_byte(out, static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  out += shortened ? "\"..." : "\"";
  return out;
}

// What a message says was found instead of an allowed value.
std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return quote(node.as_string()->get());
    case toml::node_type::integer:
      return std::to_string(node.as_integer()->get());
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::floating_point: {
      std::ostringstream out;
      out << *node.as_floating_point();
      return out.str();
    }
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string join_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

// ---- value checks: the normalised value, or nullopt when not allowed ----

std::optional<std::string> check_http_url(std::string_view s) {
  for (const char c : s) {
    if (is_control(c) || c == ' ' || c == '?' || c == '#') return std::nullopt;
  }
  std::string_view rest;
  if (s.starts_with("http://")) {
    rest = s.substr(7);
  } else if (s.starts_with("https://")) {
    rest = s.substr(8);
  } else {
    return std::nullopt;
  }
  if (rest.substr(0, rest.find('/')).empty()) return std::nullopt;  // no host
  while (s.ends_with('/')) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> check_public_base_url(std::string_view s) {
  if (s.empty()) return std::string();
  return check_http_url(s);
}

std::optional<std::string> check_listen(std::string_view s) {
  if (!parse_listen_address(s)) return std::nullopt;
  return std::string(s);
}

std::optional<std::string> check_non_empty(std::string_view s) {
  if (s.empty() || has_control(s)) return std::nullopt;
  return std::string(s);
}

std::optional<std::string> check_x_accel_prefix(std::string_view s) {
  if (!s.starts_with('/') || has_control(s) || s.find(' ') != std::string_view::npos) return std::nullopt;
  while (s.ends_with('/')) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> check_bucket(std::string_view s) {
  if (s.size() < 3 || s.size() > 63) return std::nullopt;
  const auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '-'; };
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c); };
  if (!std::all_of(s.begin(), s.end(), allowed) || !alnum(s.front()) || !alnum(s.back())) return std::nullopt;
  return std::string(s);
}

std::optional<std::string> check_region(std::string_view s) {
  const auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-'; };
  if (s.empty() || s.size() > 64 || !std::all_of(s.begin(), s.end(), allowed)) return std::nullopt;
  return std::string(s);
}

std::optional<std::string> check_access_key_id(std::string_view s) {
  const auto printable = [](char c) { return c > ' ' && c < 0x7f; };
  if (s.size() > 128 || !std::all_of(s.begin(), s.end(), printable)) return std::nullopt;
  return std::string(s);
}

std::optional<std::string> check_mode(std::string_view s) {
  for (const auto mode : {PlaybackMode::builtin, PlaybackMode::x_accel, PlaybackMode::s3}) {
    if (s == to_string(mode)) return std::string(s);
  }
  return std::nullopt;
}

std::optional<std::string> check_backend(std::string_view s) {
  for (const auto backend : {DatabaseBackend::sqlite, DatabaseBackend::postgresql}) {
    if (s == to_string(backend)) return std::string(s);
  }
  return std::nullopt;
}

std::optional<std::string> check_cidr(std::string_view s) {
  if (!parse_cidr(s)) return std::nullopt;
  return std::string(s);
}

// The share page's footer and og:site_name: short, printable text.
std::optional<std::string> check_site_name(std::string_view s) {
  if (s.empty() || s.size() > 100 || has_control(s)) return std::nullopt;
  return std::string(s);
}

bool is_ipv4(const std::string& host);
bool is_ipv6(const std::string& host);
bool is_dns_name(std::string_view host);

// "http(s)://host[:port]" as a browser writes an origin: scheme and host
// lowercased, a default port (80 for http, 443 for https) dropped.
std::optional<std::string> check_origin(std::string_view s) {
  std::string text = ascii_lower(s);
  std::string_view rest(text);
  std::string scheme;
  if (rest.starts_with("http://")) {
    scheme = "http";
  } else if (rest.starts_with("https://")) {
    scheme = "https";
  } else {
    return std::nullopt;
  }
  rest.remove_prefix(scheme.size() + 3);
  std::string host;
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(rest.substr(1, close - 1));
    if (!is_ipv6(host)) return std::nullopt;
    host = "[" + host + "]";
    rest.remove_prefix(close + 1);
  } else {
    const auto colon = rest.find(':');
    host = std::string(rest.substr(0, colon));
    if (!is_ipv4(host) && !is_dns_name(host)) return std::nullopt;
    rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon);
  }
  if (!rest.empty()) {
    if (!rest.starts_with(':')) return std::nullopt;  // a path, query or anything else after the host
    port = rest.substr(1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) return std::nullopt;
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return std::nullopt;
    if ((scheme == "http" && number == 80) || (scheme == "https" && number == 443)) port = {};
  }
  std::string origin = scheme + "://" + host;
  if (!port.empty()) origin += ":" + std::to_string(std::stoi(std::string(port)));
  return origin;
}

using Check = std::optional<std::string> (*)(std::string_view);

// How one key of a table is read. Tables are walked key by key: a key with no
// Field is unknown, so the set of accepted keys is exactly the set read.
struct Field {
  std::string_view key;
  bool is_table = false;
  std::function<void(const toml::node& node, const std::string& path)> read;
  std::vector<Field> children;  // a table's fields (what read() reads); empty for a value
};

struct Problem {
  toml::source_position where;
  std::string what;
};

// Collects every problem of one document while reading it into a Config.
class ConfigReader {
 public:
  explicit ConfigReader(std::string name) : name_(std::move(name)) {}

  void add(const toml::source_position& where, std::string what) {
    problems_.push_back({where, std::move(what)});
  }

  void expected(const toml::node& node, const std::string& path, std::string_view allowed) {
    add(node.source().begin, path + ": expected " + std::string(allowed) + ", got " + describe(node));
  }

  // Problems sorted by position, each "name:line:column: what".
  std::vector<std::string> formatted() const {
    auto sorted = problems_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
      return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
    });
    std::vector<std::string> out;
    out.reserve(sorted.size());
    for (const auto& p : sorted) {
      out.push_back(name_ + ":" + std::to_string(p.where.line) + ":" + std::to_string(p.where.column) + ": " +
                    p.what);
    }
    return out;
  }

  // Reads every key of table through fields; unknown keys are problems.
  void read_table(const toml::table& table, const std::string& path, const std::vector<Field>& fields) {
    for (auto&& [key, node] : table) {
      const std::string_view name = key.str();
      const auto field =
          std::find_if(fields.begin(), fields.end(), [name](const Field& f) { return f.key == name; });
      if (field == fields.end()) {
        unknown_key(key, node, path, fields);
      } else {
        field->read(node, join_path(path, key.str()));
      }
    }
  }

  // A key whose value must be a table read through fields.
  Field table_field(std::string_view key, std::vector<Field> fields) {
    Field field{key, true, {}, fields};
    field.read = [this, fields = std::move(fields)](const toml::node& node, const std::string& path) {
      if (const auto* table = node.as_table()) {
        read_table(*table, path, fields);
      } else {
        expected(node, path, "a table");
      }
    };
    return field;
  }

  Field int_field(std::string_view key, int lo, int hi, int& out) {
    return {key,
            false,
            [this, lo, hi, &out](const toml::node& node, const std::string& path) {
              const auto* value = node.as_integer();
              if (value == nullptr || value->get() < lo || value->get() > hi) {
                expected(node, path, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
                return;
              }
              out = static_cast<int>(value->get());
            },
            {}};
  }

  Field bool_field(std::string_view key, bool& out) {
    return {key, false, [this, &out](const toml::node& node, const std::string& path) {
              const auto* value = node.as_boolean();
              if (value == nullptr) {
                expected(node, path, "true or false");
                return;
              }
              out = value->get();
            },
            {}};
  }

  Field string_field(std::string_view key, std::string allowed, Check check, std::string& out) {
    return {
        key,
        false,
        [this, allowed = std::move(allowed), check, &out](const toml::node& node, const std::string& path) {
          if (auto value = read_string(node, path, allowed, check)) out = std::move(*value);
        },
        {}};
  }

  Field path_field(std::string_view key, bool may_be_empty, fs::path& out) {
    return {key,
            false,
            [this, may_be_empty, &out](const toml::node& node, const std::string& path) {
              const auto* value = node.as_string();
              if (value == nullptr || has_control(value->get()) || (value->get().empty() && !may_be_empty)) {
                expected(node, path, may_be_empty ? "a path, or \"\" for none" : "a non-empty path");
                return;
              }
              out = fs::path(value->get());
            },
            {}};
  }

  // database.url: "" or an acceptable libpq URI. Unlike every other string,
  // an offending value is quoted with its password hidden.
  Field postgres_url_field(std::string_view key, std::string& out) {
    return {key, false, [this, &out](const toml::node& node, const std::string& path) {
              const auto* value = node.as_string();
              if (value == nullptr) {
                expected(node, path, "\"\" or a libpq URI such as \"postgresql://user@host:5432/dbname\"");
                return;
              }
              const std::string& url = value->get();
              if (!url.empty()) {
                if (const auto problem = postgres_url_problem(url)) {
                  add(node.source().begin, path + ": " + quote(redact_postgres_url(url)) + " " + *problem);
                  return;
                }
              }
              out = url;
            },
            {}};
  }

  Field string_list_field(std::string_view key, std::string list_allowed, std::string element_allowed,
                          Check check, std::vector<std::string>& out) {
    return {key,
            false,
            [this, list_allowed = std::move(list_allowed), element_allowed = std::move(element_allowed),
             check, &out](const toml::node& node, const std::string& path) {
              const auto* array = node.as_array();
              if (array == nullptr) {
                expected(node, path, list_allowed);
                return;
              }
              std::vector<std::string> values;
              std::size_t index = 0;
              for (const auto& element : *array) {
                const auto element_path = path + "[" + std::to_string(index++) + "]";
                if (auto value = read_string(element, element_path, element_allowed, check)) {
                  values.push_back(std::move(*value));
                }
              }
              out = std::move(values);
            },
            {}};
  }

 private:
  std::optional<std::string> read_string(const toml::node& node, const std::string& path,
                                         std::string_view allowed, Check check) {
    const auto* value = node.as_string();
    std::optional<std::string> checked;
    if (value != nullptr) checked = check(value->get());
    if (!checked) expected(node, path, allowed);
    return checked;
  }

  void unknown_key(const toml::key& key, const toml::node& node, const std::string& path,
                   const std::vector<Field>& fields) {
    const bool is_table = node.is_table();
    std::string what = is_table ? "unknown table [" + join_path(path, key.str()) + "]"
                                : "unknown key " + quote(key.str()) +
                                      (path.empty() ? " at the top level" : " in [" + path + "]");
    if (const Field* close = closest(key.str(), fields)) {
      what += " (did you mean ";
      what += close->is_table ? "[" + join_path(path, close->key) + "]" : quote(close->key);
      what += "?)";
    } else {
      what += " (known keys: ";
      for (const auto& field : fields) {
        if (&field != &fields.front()) what += ", ";
        what += field.key;
      }
      what += ")";
    }
    add(key.source().begin, std::move(what));
  }

  // The known key an unknown one was most likely meant to be: within a small
  // edit distance, or one being a prefix of the other ("listen_adress").
  static const Field* closest(std::string_view key, const std::vector<Field>& fields) {
    const Field* best = nullptr;
    std::size_t best_distance = 0;
    for (const auto& field : fields) {
      const std::size_t distance = edit_distance(key, field.key);
      const bool prefix = std::min(key.size(), field.key.size()) >= 3 &&
                          (starts_with_ci(key, field.key) || starts_with_ci(field.key, key));
      const bool near = distance <= std::max<std::size_t>(2, key.size() / 3);
      if ((near || prefix) && (best == nullptr || distance < best_distance)) {
        best = &field;
        best_distance = distance;
      }
    }
    return best;
  }

  std::string name_;
  std::vector<Problem> problems_;
};

// The fields of the whole document (SPEC 10), reading into config (and into
// mode, the spelling of playback.mode) through reader. The one list of the
// keys the configuration has: parse_config reads with it, known_config_keys
// lists it.
std::vector<Field> config_fields(ConfigReader& reader, Config& config, std::string& mode, std::string& backend) {
  auto& server = config.server;
  auto& database = config.database;
  auto& shares = config.shares;
  auto& playback = config.playback;
  auto& s3 = playback.s3;
  auto& rate = config.rate_limit;
  auto& audit = config.audit;
  auto& page = config.page;

  const std::string url_allowed = "a URL starting with \"http://\" or \"https://\" (no query or fragment)";
  return {
      reader.table_field(
          "server",
          {reader.string_field("listen",
                               "\"HOST:PORT\" with a port from 0 to 65535 (IPv6 in brackets: \"[::1]:8787\")",
                               check_listen, server.listen),
           reader.string_field("public_base_url", "\"\" (derive from listen) or " + url_allowed,
                               check_public_base_url, server.public_base_url),
           reader.int_field("threads", 1, 4096, server.threads)}),
      reader.table_field(
          "database",
          {reader.path_field("path", false, database.path),
           reader.path_field("audit_path", false, database.audit_path),
           reader.string_field("backend", "one of \"sqlite\", \"postgresql\"", check_backend, backend),
           reader.postgres_url_field("url", database.url),
           reader.path_field("password_file", true, database.password_file)}),
      reader.table_field(
          "shares",
          {reader.int_field("max_expires_in_days", 1, 36500, shares.max_expires_in_days),
           reader.string_list_field("preview_user_agents", "an array of non-empty strings",
                                    "a non-empty string", check_non_empty, shares.preview_user_agents)}),
      reader.table_field(
          "playback",
          {reader.string_field("mode", "one of \"builtin\", \"x_accel\", \"s3\"", check_mode, mode),
           reader.int_field("ttl_seconds", 1, 86400, playback.ttl_seconds),
           reader.path_field("key_file", false, playback.key_file),
           reader.path_field("media_root", false, playback.media_root),
           reader.string_field("x_accel_prefix", "a path starting with \"/\"", check_x_accel_prefix,
                               playback.x_accel_prefix),
           reader.table_field(
               "s3",
               {reader.string_field("endpoint", url_allowed, check_http_url, s3.endpoint),
                reader.string_field("bucket",
                                    "a bucket name of 3 to 63 characters from a-z, 0-9, \".\", \"-\"",
                                    check_bucket, s3.bucket),
                reader.string_field("region", "a region of 1 to 64 characters from a-z, 0-9, \"-\"",
                                    check_region, s3.region),
                reader.string_field("access_key_id", "at most 128 printable ASCII characters without spaces",
                                    check_access_key_id, s3.access_key_id),
                reader.path_field("secret_access_key_file", true, s3.secret_access_key_file)})}),
      reader.table_field(
          "rate_limit",
          {reader.int_field("requests_per_minute", 1, 1000000, rate.requests_per_minute),
           reader.int_field("burst", 1, 1000000, rate.burst),
           reader.int_field("media_requests_per_minute", 1, 1000000, rate.media_requests_per_minute),
           reader.int_field("media_burst", 1, 1000000, rate.media_burst),
           reader.int_field("misses_per_minute", 1, 1000000, rate.misses_per_minute),
           reader.int_field("ipv6_prefix_length", 1, 128, rate.ipv6_prefix_length),
           reader.string_list_field("trusted_proxies", "an array of CIDRs or IP addresses",
                                    "a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\", or an IP address",
                                    check_cidr, rate.trusted_proxies),
           reader.int_field("max_clients", 1, 100000000, rate.max_clients)}),
      reader.table_field("audit", {reader.int_field("retention_days", 1, 36500, audit.retention_days),
                                   reader.int_field("ip_retention_days", 1, 36500, audit.ip_retention_days),
                                   reader.bool_field("synchronous", audit.synchronous),
                                   reader.int_field("queue_wait_ms", 0, 60000, audit.queue_wait_ms),
                                   reader.int_field("shutdown_grace_seconds", 0, 600, audit.shutdown_grace_seconds)}),
      reader.table_field(
          "page",
          {reader.bool_field("enabled", page.enabled),
           reader.string_field("site_name", "a name of 1 to 100 bytes without control characters",
                               check_site_name, page.site_name),
           reader.int_field("session_hours", 1, 168, page.session_hours),
           reader.string_list_field("embed_origins", "an array of origins",
                                    "an origin \"http://host[:port]\" or \"https://host[:port]\" (no path)",
                                    check_origin, page.embed_origins)}),
  };
}

void collect_keys(const std::vector<Field>& fields, const std::string& prefix,
                  std::vector<std::string>& keys) {
  for (const Field& field : fields) {
    const std::string path = join_path(prefix, field.key);
    if (field.is_table) {
      collect_keys(field.children, path, keys);
    } else {
      keys.push_back(path);
    }
  }
}

// The node at a dotted path, if present (used to place cross-field problems).
const toml::node* find_node(const toml::table& root, std::initializer_list<std::string_view> keys) {
  const toml::node* node = &root;
  for (const auto key : keys) {
    const auto* table = node->as_table();
    if (table == nullptr) return nullptr;
    node = table->get(key);
    if (node == nullptr) return nullptr;
  }
  return node;
}

// In s3 mode the credentials are required; the problem is placed at the
// empty value if written, else at [playback.s3], else at playback.mode.
void check_s3_credentials(const Config& config, const toml::table& root, ConfigReader& reader) {
  if (config.playback.mode != PlaybackMode::s3) return;
  const auto where = [&](std::string_view key) {
    for (const auto* node : {find_node(root, {"playback", "s3", key}), find_node(root, {"playback", "s3"}),
                             find_node(root, {"playback", "mode"})}) {
      if (node != nullptr) return node->source().begin;
    }
    return toml::source_position{1, 1};
  };
  if (config.playback.s3.access_key_id.empty()) {
    reader.add(where("access_key_id"), "playback.s3.access_key_id: required when playback.mode is \"s3\"");
  }
  if (config.playback.s3.secret_access_key_file.empty()) {
    reader.add(where("secret_access_key_file"),
               "playback.s3.secret_access_key_file: required when playback.mode is \"s3\"");
  }
}

// The postgresql backend needs a URL; the problem is placed at the empty
// value if written, else at [database], else at database.backend.
void check_postgres_url_given(const Config& config, const toml::table& root, ConfigReader& reader) {
  if (config.database.backend != DatabaseBackend::postgresql || !config.database.url.empty()) return;
  // A url that was written but refused has its own problem already.
  const toml::node* url = find_node(root, {"database", "url"});
  if (url != nullptr && !(url->is_string() && url->as_string()->get().empty())) return;
  toml::source_position where{1, 1};
  for (const auto* node : {url, find_node(root, {"database"}), find_node(root, {"database", "backend"})}) {
    if (node != nullptr) {
      where = node->source().begin;
      break;
    }
  }
  reader.add(where, "database.url: required when database.backend is \"postgresql\"");
}

fs::path absolute_dir(const fs::path& dir) {
  std::error_code ec;
  fs::path out = dir.empty() ? fs::current_path(ec) : fs::absolute(dir, ec);
  if (ec) throw Error("cannot resolve directory \"" + dir.string() + "\": " + ec.message());
  return out;
}

fs::path resolve_against(const fs::path& path, const fs::path& base) {
  if (path.empty()) return path;
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

void resolve_paths(Config& config, const fs::path& base_dir) {
  const fs::path base = absolute_dir(base_dir);
  for (fs::path* path : {&config.database.path, &config.database.audit_path, &config.database.password_file,
                         &config.playback.key_file, &config.playback.media_root,
                         &config.playback.s3.secret_access_key_file}) {
    *path = resolve_against(*path, base);
  }
}

DatabaseBackend backend_from_string(std::string_view s) {
  return s == "postgresql" ? DatabaseBackend::postgresql : DatabaseBackend::sqlite;
}

PlaybackMode mode_from_string(std::string_view s) {
  if (s == "x_accel") return PlaybackMode::x_accel;
  if (s == "s3") return PlaybackMode::s3;
  return PlaybackMode::builtin;
}

bool is_ipv4(const std::string& host) {
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& host) {
  in6_addr address{};
  return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; })) {
    return false;  // looks numeric: only a valid IPv4 address will do
  }
  std::size_t start = 0;
  while (start <= host.size()) {
    const std::size_t dot = std::min(host.find('.', start), host.size());
    const std::string_view label = host.substr(start, dot - start);
    const auto allowed = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-';
    };
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), allowed)) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

}  // namespace

std::string Config::public_base_url() const {
  return server.public_base_url.empty() ? "http://" + server.listen : server.public_base_url;
}

const char* to_string(PlaybackMode mode) {
  switch (mode) {
    case PlaybackMode::builtin:
      return "builtin";
    case PlaybackMode::x_accel:
      return "x_accel";
    case PlaybackMode::s3:
      return "s3";
  }
  return "builtin";
}

const char* to_string(DatabaseBackend backend) {
  switch (backend) {
    case DatabaseBackend::sqlite:
      return "sqlite";
    case DatabaseBackend::postgresql:
      return "postgresql";
  }
  return "sqlite";
}

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  std::string host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return std::nullopt;
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    if (host.size() > 45 || !is_ipv6(host)) return std::nullopt;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (!is_ipv4(host) && !is_dns_name(host)) return std::nullopt;
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit))
    return std::nullopt;
  const int number = std::stoi(std::string(port));
  if (number > 65535) return std::nullopt;
  return ListenAddress{std::move(host), number};
}

Config parse_config(std::string_view text, const std::string& name, const fs::path& base_dir) {
  ConfigReader reader(name);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(name));
  } catch (const toml::parse_error& e) {
    reader.add(e.source().begin, std::string(e.description()));
    throw ConfigError(reader.formatted());
  }

  Config config;
  std::string mode = to_string(config.playback.mode);
  std::string backend = to_string(config.database.backend);
  const std::vector<Field> top = config_fields(reader, config, mode, backend);
  reader.read_table(root, "", top);
  config.playback.mode = mode_from_string(mode);
  config.database.backend = backend_from_string(backend);
  check_s3_credentials(config, root, reader);
  check_postgres_url_given(config, root, reader);

  if (auto problems = reader.formatted(); !problems.empty()) throw ConfigError(std::move(problems));
  resolve_paths(config, base_dir);
  return config;
}

std::vector<std::string> known_config_keys() {
  ConfigReader reader("");
  Config config;
  std::string mode;
  std::string backend;
  std::vector<std::string> keys;
  collect_keys(config_fields(reader, config, mode, backend), "", keys);
  return keys;
}

Config load_config_file(const fs::path& file) {
  if (file.empty()) throw Error("config file path is empty");
  const std::string shown = file.string();
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (status.type() == fs::file_type::not_found) throw Error("config file " + shown + " does not exist");
  if (ec) throw Error("cannot read config file " + shown + ": " + ec.message());
  if (fs::is_directory(status)) throw Error("config file " + shown + " is a directory");

  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read config file " + shown + ": " + std::strerror(errno));
  std::string text(k_max_config_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw Error("cannot read config file " + shown + ": " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_config_bytes) {
    throw Error("config file " + shown + " is larger than " + std::to_string(k_max_config_bytes) + " bytes");
  }

  Config config = parse_config(text, shown, absolute_dir(file.parent_path()));
  config.source = file;
  return config;
}

std::optional<fs::path> find_config_file(const std::optional<fs::path>& explicit_file, const char* env_value,
                                         const fs::path& system_file) {
  if (explicit_file) return explicit_file;
  if (env_value != nullptr && *env_value != '\0') return fs::path(env_value);
  std::error_code ec;
  if (fs::exists(system_file, ec)) return system_file;
  return std::nullopt;
}

Config load_config(const std::optional<fs::path>& explicit_file) {
  const auto file = find_config_file(explicit_file, std::getenv(k_config_env_var), k_system_config_file);
  if (file) return load_config_file(*file);
  Config config;
  resolve_paths(config, fs::path());
  return config;
}

}  // namespace sharelink
